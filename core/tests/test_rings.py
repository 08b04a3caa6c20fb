"""SPSC rings: FIFO order, no loss, the full policies, and a concurrent producer/consumer."""

from __future__ import annotations

import threading
from collections import deque

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tradeloop._atomics import load_acquire, store_release
from tradeloop._rings import ring_close, ring_closed, ring_pop_batch, ring_push_batch
from tradeloop.loop import BLOCK, DROP_OLDEST, SpscRing
from tradeloop_sdk import INTENT_DTYPE, TICK_DTYPE

ops = st.lists(
    st.tuples(st.sampled_from(["push", "pop"]), st.integers(min_value=0, max_value=11)),
    max_size=60,
)


def _records(start: int, n: int) -> np.ndarray:
    r = np.zeros(n, TICK_DTYPE)
    r["seq"] = np.arange(start, start + n)
    r["bid"] = r["seq"] * 0.5
    return r


@settings(max_examples=150, deadline=None)
@given(ops=ops, cap_log=st.integers(min_value=1, max_value=3))
def test_block_ring_keeps_fifo_order_and_refuses_when_full(ops, cap_log) -> None:
    cap = 1 << cap_log
    ring = SpscRing(TICK_DTYPE, cap, BLOCK)
    model: deque[int] = deque()
    nxt = 0
    for op, n in ops:
        if op == "push":
            pushed = ring.push_many(_records(nxt, n))
            assert pushed == min(n, cap - len(model))  # full: the rest is refused, not dropped
            model.extend(range(nxt, nxt + pushed))
            nxt += pushed
        else:
            got = ring.pop_many(n)
            want = [model.popleft() for _ in range(min(n, len(model)))]
            assert got["seq"].tolist() == want
            assert np.array_equal(got["bid"], got["seq"] * 0.5)
        assert len(ring) == len(model)
    assert ring.dropped == 0


@settings(max_examples=150, deadline=None)
@given(ops=ops, cap_log=st.integers(min_value=1, max_value=3))
def test_drop_oldest_ring_drops_and_counts_the_oldest(ops, cap_log) -> None:
    cap = 1 << cap_log
    ring = SpscRing(TICK_DTYPE, cap, DROP_OLDEST)
    model: deque[int] = deque()
    dropped = 0
    nxt = 0
    for op, n in ops:
        if op == "push":
            pushed = ring.push_many(_records(nxt, n))
            assert pushed == min(n, cap)
            for s in range(nxt, nxt + pushed):
                if len(model) == cap:
                    model.popleft()
                    dropped += 1
                model.append(s)
            nxt += pushed
        else:
            got = ring.pop_many(n)
            want = [model.popleft() for _ in range(min(n, len(model)))]
            assert got["seq"].tolist() == want
        assert ring.dropped == dropped
        assert len(ring) == len(model)


def test_single_record_api_and_errors() -> None:
    ring = SpscRing(INTENT_DTYPE, 2)
    rec = np.zeros(1, INTENT_DTYPE)[0]
    rec["client_id"] = 7
    assert ring.push(rec) and ring.push(rec)
    assert not ring.push(rec)
    assert ring.full_events == 1
    assert int(ring.pop()["client_id"]) == 7
    assert ring.pop() is not None and ring.pop() is None
    with pytest.raises(ValueError, match="power of two"):
        SpscRing(TICK_DTYPE, 6)
    with pytest.raises(TypeError, match="ring holds"):
        ring.push_many(np.zeros(1, TICK_DTYPE))
    assert not ring.closed
    ring.close()
    assert ring.closed


@numba.njit(nogil=True, cache=True)
def _produce(ring, n, batch):  # type: ignore[no-untyped-def]
    buf = np.zeros(batch, ring.buf.dtype)
    i = 0
    while i < n:
        k = min(batch, n - i)
        for m in range(k):
            buf[m]["seq"] = i + m
            buf[m]["ts_exch"] = (i + m) * 3 + 1
        pushed = 0
        while pushed < k:
            pushed += ring_push_batch(ring, buf, pushed, k - pushed)
        i += k
    return i


@numba.njit(nogil=True, cache=True)
def _consume(ring, n, batch):  # type: ignore[no-untyped-def]
    buf = np.zeros(batch, ring.buf.dtype)
    expect = 0
    bad = 0
    while expect < n:
        got = ring_pop_batch(ring, buf, 0, batch)
        for m in range(got):
            if buf[m]["seq"] != expect or buf[m]["ts_exch"] != expect * 3 + 1:
                bad += 1
            expect += 1
    return bad


def test_threads_with_the_gil_released_lose_nothing() -> None:
    ring = SpscRing(TICK_DTYPE, 1024, BLOCK)
    n = 50_000
    out: dict[str, int] = {}
    cons = threading.Thread(target=lambda: out.setdefault("bad", _consume(ring.view, n, 100)))
    cons.start()
    assert _produce(ring.view, n, 64) == n
    cons.join(timeout=60)
    assert out["bad"] == 0 and len(ring) == 0


@numba.njit(nogil=True, cache=True)
def _produce_and_close(ring, n, go):  # type: ignore[no-untyped-def]
    buf = np.zeros(1, ring.buf.dtype)
    while load_acquire(go, 0) == 0:  # start together with the consumer
        pass
    for i in range(n):
        buf[0]["seq"] = i
        buf[0]["ts_exch"] = i * 3 + 1
        buf[0]["bid"] = i * 0.25
        ring_push_batch(ring, buf, 0, 1)
    ring_close(ring)


@numba.njit(nogil=True, cache=True)
def _consume_until_closed(ring, go):  # type: ignore[no-untyped-def]
    buf = np.zeros(16, ring.buf.dtype)
    store_release(go, 0, 1)
    last, got_total, bad = -1, 0, 0
    while True:
        closed = ring_closed(ring)
        got = ring_pop_batch(ring, buf, 0, 16)
        for m in range(got):
            s = buf[m]["seq"]
            if s <= last or buf[m]["ts_exch"] != s * 3 + 1 or buf[m]["bid"] != s * 0.25:
                bad += 1
            last = s
        got_total += got
        if got == 0 and closed:
            return got_total, bad


def test_drop_oldest_under_a_concurrent_fast_producer_never_tears() -> None:
    ring = SpscRing(TICK_DTYPE, 64, DROP_OLDEST)
    n = 1_000_000
    go = np.zeros(1, np.int64)
    out: dict[str, tuple[int, int]] = {}
    cons = threading.Thread(
        target=lambda: out.setdefault("r", _consume_until_closed(ring.view, go))
    )
    cons.start()
    _produce_and_close(ring.view, n, go)
    cons.join(timeout=60)
    consumed, bad = out["r"]
    assert bad == 0  # strictly increasing, every field intact
    assert consumed + ring.dropped == n and len(ring) == 0
    assert ring.dropped > 0  # the producer outran the consumer and dropped
