"""Stream plumbing over TICK arrays: rebatching, k-way merge by ``ts_recv``, paced replay.

Everything here holds at most a bounded number of chunks in memory: the merge keeps one
buffer per input stream, rebatching keeps less than one output chunk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator

import numpy as np
from tradeloop_sdk import TICK_DTYPE, copy_ticks

#: TICK records as opaque 64-byte items: numpy copies these with one memcpy per record,
#: while structured copies go field by field (and the aliased fields make that slower).
RAW = np.dtype((np.void, TICK_DTYPE.itemsize))


def concat(parts: list[np.ndarray]) -> np.ndarray:
    """Concatenate TICK arrays keeping TICK_DTYPE (np.concatenate would drop the field aliases)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p.view(RAW) for p in parts]).view(TICK_DTYPE)


def rebatch(chunks: Iterable[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """Re-cut a stream of TICK arrays into chunks of exactly ``rows`` (the last may be short)."""
    pending: list[np.ndarray] = []
    have = 0
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        pending.append(chunk)
        have += len(chunk)
        if have < rows:
            continue
        joined = concat(pending)
        cut = (have // rows) * rows
        for start in range(0, cut, rows):
            yield joined[start : start + rows]
        rest = joined[cut:]
        pending = [rest] if len(rest) else []
        have = len(rest)
    if have:
        yield concat(pending)


def _next_nonempty(it: Iterator[np.ndarray]) -> np.ndarray | None:
    for chunk in it:
        if len(chunk):
            return chunk
    return None


def merge_sorted(streams: list[Iterator[np.ndarray]]) -> Iterator[np.ndarray]:
    """Merge streams of TICK arrays, each sorted by ``ts_recv``, into one sorted stream.

    Every round emits, from all buffers, the ticks at or before the smallest buffer-end
    timestamp: no later tick of any stream can be earlier than that. Ties keep stream order,
    so the output is deterministic.
    """
    bufs: list[np.ndarray | None] = [_next_nonempty(s) for s in streams]
    while True:
        active = [i for i, b in enumerate(bufs) if b is not None]
        if not active:
            return
        if len(active) == 1:
            i = active[0]
            yield bufs[i]  # type: ignore[misc]
            yield from streams[i]
            return
        cutoff = min(bufs[i]["ts_recv"][-1] for i in active)  # type: ignore[index]
        parts = []
        for i in active:
            b = bufs[i]
            assert b is not None
            k = int(np.searchsorted(b["ts_recv"], cutoff, side="right"))
            parts.append(b[:k])
            bufs[i] = b[k:] if k < len(b) else _next_nonempty(streams[i])
        merged = concat(parts)
        yield copy_ticks(merged, np.argsort(merged["ts_recv"], kind="stable"))


def empty_ticks() -> np.ndarray:
    """A zero-length TICK array."""
    return np.zeros(0, TICK_DTYPE)


async def paced(
    chunks: Iterable[np.ndarray], *, speed: float = 0.0, batch_rows: int = 1024
) -> AsyncIterator[np.ndarray]:
    """Replay chunks as small batches: at ``speed`` x recorded time, or as fast as possible (0).

    Timing follows ``ts_recv``; the first tick is sent at once. Between batches control goes
    back to the event loop even when not pacing, so other tasks keep running.
    """
    t0_data: int | None = None
    t0_wall = time.monotonic()
    for chunk in chunks:
        for start in range(0, len(chunk), batch_rows):
            batch = chunk[start : start + batch_rows]
            if speed > 0:
                if t0_data is None:
                    t0_data = int(batch["ts_recv"][0])
                due = t0_wall + (int(batch["ts_recv"][0]) - t0_data) / 1e9 / speed
                delay = due - time.monotonic()
                await asyncio.sleep(max(0.0, delay))
            else:
                await asyncio.sleep(0)
            yield batch
