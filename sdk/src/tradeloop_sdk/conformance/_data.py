"""Data-provider conformance: ordering, timestamps, gap reporting, bounded memory.

Fixtures to provide: ``provider`` (a DataProvider with enough data for several chunks),
``universe``, and optionally ``gappy_provider`` (one whose data has a sequence gap).
A live provider (one that only streams) is checked through :class:`LiveChunks`, which
turns its ``stream()`` into the ``chunks()`` the checks read, chunk by chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from .._dtypes import TICK_DTYPE
from .._enums import TickFlag
from .._hotpath import Universe
from .._protocols import DataStats

_YEAR_2000_NS = 946_684_800 * 10**9
_YEAR_2100_NS = 4_102_444_800 * 10**9


class DataProviderConformance:
    """Checks every DataProvider plugin must pass."""

    #: the largest chunk a provider may yield, in rows (bounded memory)
    max_chunk_rows = 1_000_000

    def test_chunks_are_tick_records_in_time_order(self, provider: Any, universe: Universe) -> None:
        last = -1
        total = 0
        for n, chunk in enumerate(provider.chunks()):
            assert chunk.dtype == TICK_DTYPE, f"chunk {n} has dtype {chunk.dtype}, expected TICK_DTYPE"
            if len(chunk) == 0:
                continue
            ts = chunk["ts_recv"]
            assert np.all(np.diff(ts) >= 0), f"chunk {n}: ts_recv goes backwards inside the chunk"
            assert ts[0] >= last, f"chunk {n} starts at {ts[0]}, before the previous chunk ended at {last}"
            last = int(ts[-1])
            total += len(chunk)
            assert np.all(chunk["venue"] < len(universe.venues)), f"chunk {n}: venue id outside the universe"
            assert np.all(chunk["symbol"] < len(universe.symbols)), f"chunk {n}: symbol id outside the universe"
        assert total > 0, "the provider yielded no ticks"

    def test_timestamps_are_epoch_nanoseconds(self, provider: Any) -> None:
        for n, chunk in enumerate(provider.chunks()):
            for f in ("ts_recv", "ts_exch"):
                col = chunk[f]
                bad = (col < _YEAR_2000_NS) | (col > _YEAR_2100_NS)
                assert not bad.any(), (
                    f"chunk {n}: {f}={int(col[bad][0])} is not ns since the epoch in 2000-2100 "
                    "(seconds or milliseconds not converted?)"
                )

    def test_stats_are_reported(self, provider: Any) -> None:
        for _ in provider.chunks():
            pass
        st = provider.stats()
        assert isinstance(st, DataStats), "stats() must return tradeloop_sdk.DataStats"
        assert st.rows > 0, "stats().rows must count what was read"

    def test_gaps_are_reported(self, request: pytest.FixtureRequest, provider: Any) -> None:
        # (``provider`` ties this check to the provider under test, parametrized suites included)
        try:
            gappy = request.getfixturevalue("gappy_provider")
        except pytest.FixtureLookupError:
            pytest.skip("no gappy_provider fixture: this provider does not claim gap detection")
        gaps = _gaps(gappy)
        assert gaps > 0, "a sequence gap must be counted in stats().gaps or flagged GAP"
        clean = _gaps(provider)
        assert clean < gaps, f"the gap-free data reports {clean} gaps, the gappy data {gaps}: gaps are misdetected"

    def test_memory_is_bounded(self, provider: Any) -> None:
        tracemalloc.start()
        try:
            peaks = []
            for n, chunk in enumerate(provider.chunks()):
                assert len(chunk) <= self.max_chunk_rows, f"chunk {n} has {len(chunk)} rows > {self.max_chunk_rows}"
                del chunk
                peaks.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()
        if len(peaks) >= 4:
            early = max(peaks[:2])
            assert peaks[-1] <= 2 * early + 8 * 2**20, (
                f"memory held grows with the data: {early} bytes after 2 chunks, {peaks[-1]} after {len(peaks)}"
            )



def _gaps(provider: Any) -> int:
    """Gaps a provider reports over all its data: counted in stats, or ticks flagged GAP."""
    flagged = 0
    for chunk in provider.chunks():
        flagged += int(np.count_nonzero(chunk["flags"] & int(TickFlag.GAP)))
    return max(int(provider.stats().gaps), flagged)


_END = object()
_READY = object()


class LiveChunks:
    """``chunks()`` over a live provider's ``stream()``, for the checks above.

    ``harness.serve()`` is an async context manager giving a session with ``params`` (what
    the provider is built from, via ``build``) and ``publish()`` (send the scenario's ticks,
    then end the stream). The stream runs in an event loop on a worker thread and hands
    each batch over through a queue of two, so the checks see it as it arrives.
    """

    def __init__(self, harness: Any, build: Callable[[Any], Any], timeout_s: float = 30.0,
                 setup_timeout_s: float = 600.0) -> None:
        self.harness = harness
        self.build = build
        self.timeout_s = timeout_s
        # entering serve() may compile (a venue's kernels, cold, on a busy CI machine)
        self.setup_timeout_s = setup_timeout_s
        self.provider: Any = None

    def chunks(self) -> Iterator[np.ndarray]:
        """Every batch the live provider streams for one publication of the scenario."""
        handoff: queue.Queue[Any] = queue.Queue(maxsize=2)
        worker = threading.Thread(target=self._work, args=(handoff,), daemon=True)
        worker.start()
        try:
            wait, what = self.setup_timeout_s, "serve() did not start"
            while True:
                try:
                    item = handoff.get(timeout=wait)
                except queue.Empty:
                    pytest.fail(f"{what} within {wait}s")
                wait, what = self.timeout_s, "the live stream produced nothing"
                if item is _READY:
                    continue
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # a check that stopped early: drain so the worker can finish and close the stream
            deadline = threading.Event()
            timer = threading.Timer(self.timeout_s, deadline.set)
            timer.start()
            while worker.is_alive() and not deadline.is_set():
                with contextlib.suppress(queue.Empty):
                    handoff.get(timeout=0.05)
            timer.cancel()

    def _work(self, handoff: queue.Queue[Any]) -> None:
        async def pump(stream: Any) -> None:
            loop = asyncio.get_running_loop()
            async for batch in stream:
                await loop.run_in_executor(None, handoff.put, batch)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            async with self.harness.serve() as session:
                await loop.run_in_executor(None, handoff.put, _READY)
                self.provider = self.build(session.params)
                consumer = asyncio.ensure_future(pump(self.provider.stream()))
                await asyncio.wait_for(session.publish(), self.timeout_s)
                await asyncio.wait_for(consumer, self.timeout_s)

        try:
            asyncio.run(main())
        except BaseException as exc:
            handoff.put(exc)
        handoff.put(_END)

    def stats(self) -> DataStats:
        """The live provider's stats after a stream."""
        assert self.provider is not None, "stats() before chunks()"
        st: DataStats = self.provider.stats()
        return st
