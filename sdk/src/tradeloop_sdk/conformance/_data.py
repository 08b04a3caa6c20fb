"""Data-provider conformance: ordering, timestamps, gap reporting, bounded memory.

Fixtures to provide: ``provider`` (a DataProvider with enough data for several chunks),
``universe``, and optionally ``gappy_provider`` (one whose data has a sequence gap).
"""

from __future__ import annotations

import tracemalloc
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

    def test_gaps_are_reported(self, request: pytest.FixtureRequest) -> None:
        try:
            gappy = request.getfixturevalue("gappy_provider")
        except pytest.FixtureLookupError:
            pytest.skip("no gappy_provider fixture: this provider does not claim gap detection")
        flagged = 0
        for chunk in gappy.chunks():
            flagged += int(np.count_nonzero(chunk["flags"] & int(TickFlag.GAP)))
        assert gappy.stats().gaps > 0 or flagged > 0, "a sequence gap must be counted in stats().gaps or flagged GAP"

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

