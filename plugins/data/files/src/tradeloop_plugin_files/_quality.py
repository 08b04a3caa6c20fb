"""Data-quality checks on TICK arrays: out-of-order timestamps, crossed quotes, duplicates.

Every problem is counted; what happens to the tick is a policy per check: ``flag`` sets the
TickFlag bit, ``drop`` removes the tick (counted as rejected), ``error`` raises
:class:`~tradeloop_sdk.DataError` naming the file and line. The checks are vectorised and
carry their state (latest ``ts_recv``, highest ``seq`` per stream) across chunks, so the
result does not depend on where chunk boundaries fall.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
from tradeloop_sdk import DataError, DataStats, TickFlag, TickKind, copy_ticks

POLICIES = ("flag", "drop", "error")

#: Maps a row index within a chunk to a (file, line) pair for error messages.
Locator = Callable[[int], tuple[str | None, int | None]]


@attrs.define
class QualityChecker:
    """Applies the three policies to consecutive chunks of one stream of ticks.

    ``check_seq`` enables duplicate/gap checks: only when the source has real sequence
    numbers (a mapped column), since generated row numbers cannot repeat.
    """

    on_out_of_order: str = "flag"
    on_crossed: str = "flag"
    on_duplicate: str = "flag"
    check_seq: bool = False
    _last_ts: int = attrs.field(default=np.iinfo(np.int64).min, init=False)
    _last_seq: dict[tuple[int, int], int] = attrs.field(factory=dict, init=False)
    _counts: dict[str, int] = attrs.field(
        factory=lambda: dict.fromkeys(
            ("rows", "out_of_order", "crossed", "duplicates", "gaps", "rejected"), 0
        ),
        init=False,
    )

    def __attrs_post_init__(self) -> None:
        for name in ("on_out_of_order", "on_crossed", "on_duplicate"):
            if getattr(self, name) not in POLICIES:
                raise ValueError(
                    f"{name}: found {getattr(self, name)!r}, expected one of {', '.join(POLICIES)}"
                )

    def stats(self) -> DataStats:
        """Counts so far."""
        return DataStats(**self._counts)

    def apply(self, ticks: np.ndarray, locate: Locator | None = None) -> np.ndarray:
        """Check ``ticks`` (in stream order); returns the kept ticks, flagged per policy."""
        n = len(ticks)
        if n == 0:
            return ticks
        self._counts["rows"] += n
        ts = ticks["ts_recv"]
        prev_max = np.maximum.accumulate(np.concatenate(([self._last_ts], ts[:-1])))
        ooo = ts < prev_max
        self._last_ts = max(self._last_ts, int(ts.max()))

        is_quote = ticks["kind"] == TickKind.QUOTE
        # NaN compares false, so a one-sided quote is never called crossed
        crossed = is_quote & (ticks["bid"] > ticks["ask"])

        dup = np.zeros(n, bool)
        if self.check_seq:
            dup = self._duplicates(ticks)

        drop = np.zeros(n, bool)
        for mask, policy, flag, key, what in (
            (ooo, self.on_out_of_order, TickFlag.OUT_OF_ORDER, "out_of_order",
             "timestamp out of order (ts_recv earlier than a previous tick)"),
            (crossed, self.on_crossed, TickFlag.CROSSED, "crossed", "crossed quote (bid > ask)"),
            (dup, self.on_duplicate, TickFlag.DUPLICATE, "duplicates",
             "duplicate sequence number (seq not above the previous one)"),
        ):
            count = int(mask.sum())
            if not count:
                continue
            self._counts[key] += count
            if policy == "error":
                row = int(np.argmax(mask))
                file, line = locate(row) if locate else (None, None)
                raise DataError(what, file=file, line=line)
            if policy == "drop":
                drop |= mask
            else:
                ticks["flags"][mask] |= np.uint8(flag)
        if drop.any():
            self._counts["rejected"] += int(drop.sum())
            ticks = copy_ticks(ticks, ~drop)
        return ticks

    def _duplicates(self, ticks: np.ndarray) -> np.ndarray:
        dup = np.zeros(len(ticks), bool)
        key = ticks["venue"].astype(np.int64) << 16 | ticks["symbol"].astype(np.int64)
        for k in np.unique(key):
            idx = np.flatnonzero(key == k)
            seq = ticks["seq"][idx]
            stream = (int(k) >> 16, int(k) & 0xFFFF)
            last = self._last_seq.get(stream, np.iinfo(np.int64).min)
            prev_max = np.maximum.accumulate(np.concatenate(([last], seq[:-1])))
            dup[idx] = seq <= prev_max
            if last != np.iinfo(np.int64).min or len(seq) > 1:
                gap = (seq > prev_max + 1) & (prev_max != np.iinfo(np.int64).min)
                self._counts["gaps"] += int(gap.sum())
            self._last_seq[stream] = max(last, int(seq.max()))
        return dup
