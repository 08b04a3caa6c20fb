"""Circuit breaker: the Python class and the compiled transitions follow one spec."""

from __future__ import annotations

import asyncio

import numba
import numpy as np
import pytest
from tradeloop_sdk._breaker import (
    BREAKER_SCENARIOS,
    BREAKER_STATE_DTYPE,
    BreakerSpec,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    breaker_allow,
    breaker_record,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("k", range(len(BREAKER_SCENARIOS)))
def test_python_class_follows_the_spec(k: int) -> None:
    spec, steps = BREAKER_SCENARIOS[k]
    clock = FakeClock()
    cb = CircuitBreaker(spec, clock=clock, name="venue")
    for n, (t, op, expected) in enumerate(steps):
        clock.t = t
        if op == "allow":
            got = cb.allow()
        elif op == "ok":
            got = cb.record_success()
        else:
            got = cb.record_failure()
        assert got == expected, f"step {n} {(t, op)}: expected {expected!r}, got {got!r}"


@numba.njit(cache=True)
def _drive(states, spec, ring, ts, ops, out):  # type: ignore[no-untyped-def]
    for n in range(ts.shape[0]):
        if ops[n] == 0:
            out[n] = 1 if breaker_allow(states[0], spec[0], ts[n]) else 0
        else:
            out[n] = breaker_record(states[0], spec[0], ring, ts[n], ops[n] == 1)


@pytest.mark.parametrize("k", range(len(BREAKER_SCENARIOS)))
def test_compiled_transitions_follow_the_same_spec(k: int) -> None:
    spec, steps = BREAKER_SCENARIOS[k]
    ts = np.array([round(t * 1e9) for t, _, _ in steps], np.int64)
    ops = np.array([{"allow": 0, "ok": 1, "fail": 2}[op] for _, op, _ in steps], np.int64)
    out = np.zeros(len(steps), np.int64)
    states = np.zeros(1, BREAKER_STATE_DTYPE)
    _drive(states, spec.to_record(), np.zeros(spec.ring_size, np.int64), ts, ops, out)
    expected = [int(e) for _, _, e in steps]
    assert out.tolist() == expected


def test_call_counts_failures_and_refuses_when_open() -> None:
    clock = FakeClock()
    cb = CircuitBreaker(BreakerSpec(max_consecutive=2, open_timeout_s=1.0), clock=clock, name="x")

    def boom() -> None:
        raise ConnectionError("down")

    for _ in range(2):
        with pytest.raises(ConnectionError):
            cb.call(boom)
    assert cb.state is BreakerState.OPEN
    with pytest.raises(CircuitOpenError, match="x is OPEN"):
        cb.call(lambda: 1)
    clock.t = 1.0
    assert cb.call(lambda: 7) == 7
    assert cb.state is BreakerState.CLOSED
    assert cb.stats["trips"] == 1 and cb.stats["refused"] == 1


def test_is_failure_filters_and_cancellation_never_counts() -> None:
    cb = CircuitBreaker(
        BreakerSpec(max_consecutive=1), clock=FakeClock(),
        is_failure=lambda e: not isinstance(e, ValueError),
    )

    async def bad_input() -> None:
        raise ValueError("client error")

    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(ValueError):
        asyncio.run(cb.acall(bad_input))
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cb.acall(cancelled))
    assert cb.state is BreakerState.CLOSED and cb.stats["failures"] == 0

    async def timeout() -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        asyncio.run(cb.acall(timeout))
    assert cb.state is BreakerState.OPEN


def test_reset_and_spec_validation() -> None:
    cb = CircuitBreaker(BreakerSpec(max_consecutive=1), clock=FakeClock())
    cb.record_failure()
    cb.reset()
    assert cb.state is BreakerState.CLOSED and cb.allow()
    with pytest.raises(ValueError, match="max_consecutive or max_failures"):
        BreakerSpec(max_consecutive=0, max_failures=0)
    with pytest.raises(ValueError, match="open_timeout_s"):
        BreakerSpec(open_timeout_s=-1)
    with pytest.raises(ValueError, match="half_open_max_calls"):
        BreakerSpec(half_open_max_calls=0)
