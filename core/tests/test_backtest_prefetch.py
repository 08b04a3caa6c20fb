"""Prefetch: a data source read a few chunks ahead on a thread gives the same chunks in the
same order, raises its errors to the consumer, and leaves nothing running once closed.
(Through a whole backtest: tests/test_backtest_e2e.py.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from tradeloop.backtest._prefetch import Prefetch
from tradeloop_sdk import TICK_DTYPE, ConfigError


def _chunks(n: int, log: list[str]) -> Iterator[np.ndarray]:
    try:
        for i in range(n):
            c = np.zeros(3, TICK_DTYPE)
            c["seq"] = i
            log.append(f"read {i}")
            yield c
    finally:
        log.append("closed")


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tradeloop-data"]


def test_chunks_come_in_order_and_the_end_is_none() -> None:
    log: list[str] = []
    pf = Prefetch(_chunks(20, log))
    got = []
    while (c := pf.get()) is not None:
        assert c.flags.c_contiguous
        got.append(int(c["seq"][0]))
    pf.close()
    assert got == list(range(20))
    assert log[-1] == "closed" and not _reader_threads()


def test_reads_at_most_depth_ahead_and_close_stops_the_source() -> None:
    log: list[str] = []
    pf = Prefetch(_chunks(1000, log), depth=2)
    assert pf.get() is not None
    # the reader fills the queue (2) and holds one more chunk it cannot put yet
    for _ in range(100):
        if len(log) >= 4:
            break
        threading.Event().wait(0.01)
    assert len([x for x in log if x.startswith("read")]) <= 4
    pf.close()
    assert log[-1] == "closed"  # the generator's finally ran, in the reader's thread
    assert not _reader_threads()


def test_an_error_of_the_source_is_raised_to_the_consumer_after_the_chunks_before_it() -> None:
    def failing() -> Iterator[np.ndarray]:
        yield np.zeros(2, TICK_DTYPE)
        raise ConfigError(key="data.params.path", found="'x.parquet'", expected="an existing file")

    pf = Prefetch(failing())
    assert pf.get() is not None
    with pytest.raises(ConfigError, match=r"data\.params\.path"):
        pf.get()
    pf.close()
    assert not _reader_threads()


def test_a_source_that_is_not_iterable_is_an_error_not_a_hang() -> None:
    pf = Prefetch(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not iterable"):
        pf.get()
    pf.close()
    assert not _reader_threads()
