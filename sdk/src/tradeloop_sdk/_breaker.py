"""Circuit breaker: one state machine for the fused loop and for Python broker calls.

States: CLOSED (calls flow) -> OPEN (calls refused) after ``max_consecutive`` failures in
a row or ``max_failures`` failures within ``window_s``; OPEN -> HALF_OPEN once
``open_timeout_s`` has passed (checked when a call asks to go through); HALF_OPEN lets at
most ``half_open_max_calls`` trial calls through, then a success closes the breaker and a
failure opens it again (restarting the timeout).

The transition functions :func:`breaker_allow` and :func:`breaker_record` are written once
as ``numba.njit`` functions over a state record, a spec record and a ring of failure
timestamps. The in-loop guard (``tradeloop-plugin-risk``'s ``circuit_breaker``) runs them
compiled; :class:`CircuitBreaker` runs the very same source as plain Python
(``.py_func``), so both sides share one specification and one implementation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import Any, TypeVar

import attrs
import numba
import numpy as np

T = TypeVar("T")


class BreakerState(IntEnum):
    """Circuit-breaker states (stored as integers in kernel state)."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


_CLOSED = 0
_OPEN = 1
_HALF_OPEN = 2

#: Per-breaker state record.
BREAKER_STATE_DTYPE = np.dtype(
    [
        ("state", "i8"),
        ("consecutive", "i8"),  # failures in a row
        ("opened_at", "i8"),  # ns
        ("half_open_at", "i8"),  # ns: start of the current trial window
        ("trials", "i8"),  # calls let through while HALF_OPEN
        ("ring_pos", "i8"),  # next slot in the failure-timestamp ring
        ("ring_len", "i8"),  # valid slots in the ring
        ("trips", "i8"),  # CLOSED/HALF_OPEN -> OPEN transitions
        ("successes", "i8"),
        ("failures", "i8"),
        ("refused", "i8"),  # calls refused while OPEN / HALF_OPEN saturated
    ],
    align=True,
)

#: Breaker configuration as a record (times in ns).
BREAKER_SPEC_DTYPE = np.dtype(
    [
        ("max_consecutive", "i8"),  # 0 disables the consecutive rule
        ("max_failures", "i8"),  # 0 disables the window rule
        ("window_ns", "i8"),
        ("open_timeout_ns", "i8"),
        ("half_open_max", "i8"),
    ],
    align=True,
)

_S = 1_000_000_000


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"BreakerSpec.{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class BreakerSpec:
    """Circuit-breaker configuration, shared by the in-loop guard and the Python class."""

    #: open after this many failures in a row (0: rule off)
    max_consecutive: int = attrs.field(default=5, validator=_positive)
    #: open after this many failures within ``window_s`` (0: rule off)
    max_failures: int = attrs.field(default=0, validator=_positive)
    window_s: float = attrs.field(default=60.0, validator=_positive)
    #: how long OPEN lasts before trial calls are allowed
    open_timeout_s: float = attrs.field(default=30.0, validator=_positive)
    #: trial calls allowed while HALF_OPEN
    half_open_max_calls: int = attrs.field(default=1, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_consecutive == 0 and self.max_failures == 0:
            raise ValueError("BreakerSpec: set max_consecutive or max_failures (both are 0)")
        if self.max_failures and self.window_s <= 0:
            raise ValueError("BreakerSpec.window_s must be > 0 when max_failures is set")
        if self.half_open_max_calls < 1:
            raise ValueError("BreakerSpec.half_open_max_calls must be >= 1")

    def to_record(self) -> np.ndarray:
        """One-element BREAKER_SPEC_DTYPE array (times converted to integer ns)."""
        rec = np.zeros(1, BREAKER_SPEC_DTYPE)
        rec[0]["max_consecutive"] = self.max_consecutive
        rec[0]["max_failures"] = self.max_failures
        rec[0]["window_ns"] = round(self.window_s * _S)
        rec[0]["open_timeout_ns"] = round(self.open_timeout_s * _S)
        rec[0]["half_open_max"] = self.half_open_max_calls
        return rec

    @property
    def ring_size(self) -> int:
        """Failure timestamps a breaker of this spec must remember."""
        return max(1, self.max_failures)


@numba.njit(cache=True)
def breaker_allow(st: Any, spec: Any, now: int) -> bool:
    """May a call go through now? Moves OPEN -> HALF_OPEN once the timeout has passed."""
    if st["state"] == _OPEN:
        if now - st["opened_at"] < spec["open_timeout_ns"]:
            st["refused"] += 1
            return False
        st["state"] = _HALF_OPEN
        st["trials"] = 0
        st["half_open_at"] = now
    if st["state"] == _HALF_OPEN:
        if st["trials"] >= spec["half_open_max"]:
            if now - st["half_open_at"] < spec["open_timeout_ns"]:
                st["refused"] += 1
                return False
            # trials with no outcome for a whole timeout are lost: open a new trial window
            st["trials"] = 0
            st["half_open_at"] = now
        st["trials"] += 1
    return True


@numba.njit(cache=True)
def breaker_record(st: Any, spec: Any, ring: Any, now: int, ok: bool) -> int:
    """Record a call outcome (``ok`` False: failure); returns the resulting state."""
    if ok:
        st["successes"] += 1
        st["consecutive"] = 0
        if st["state"] == _HALF_OPEN:
            st["state"] = _CLOSED
            st["trials"] = 0
            st["ring_len"] = 0
        return int(st["state"])
    st["failures"] += 1
    st["consecutive"] += 1
    cap = ring.shape[0]
    ring[st["ring_pos"] % cap] = now
    st["ring_pos"] = (st["ring_pos"] + 1) % cap
    if st["ring_len"] < cap:
        st["ring_len"] += 1
    trip = False
    if st["state"] == _HALF_OPEN:
        trip = True
    elif st["state"] == _CLOSED:
        if spec["max_consecutive"] > 0 and st["consecutive"] >= spec["max_consecutive"]:
            trip = True
        if spec["max_failures"] > 0:
            n = 0
            for k in range(st["ring_len"]):
                if ring[k] > now - spec["window_ns"]:
                    n += 1
            if n >= spec["max_failures"]:
                trip = True
    if trip:
        st["state"] = _OPEN
        st["opened_at"] = now
        st["trials"] = 0
        st["trips"] += 1
    return int(st["state"])


#: The executable specification both implementations are tested against: a spec and a
#: list of steps ``(t_seconds, op, expected)``; ``op`` is "allow" (expected: bool) or
#: "ok"/"fail" (expected: the BreakerState after recording).
BREAKER_SCENARIOS: tuple[tuple[BreakerSpec, tuple[tuple[float, str, Any], ...]], ...] = (
    (
        BreakerSpec(max_consecutive=3, open_timeout_s=10.0, half_open_max_calls=1),
        (
            (0.0, "allow", True),
            (0.0, "fail", BreakerState.CLOSED),
            (1.0, "fail", BreakerState.CLOSED),
            (2.0, "ok", BreakerState.CLOSED),  # a success resets the run of failures
            (3.0, "fail", BreakerState.CLOSED),
            (4.0, "fail", BreakerState.CLOSED),
            (5.0, "fail", BreakerState.OPEN),  # third in a row: trips
            (6.0, "allow", False),
            (14.999, "allow", False),  # just below the timeout
            (15.0, "allow", True),  # at the timeout: HALF_OPEN, one trial
            (15.0, "allow", False),  # trial budget used
            (16.0, "ok", BreakerState.CLOSED),
            (16.0, "allow", True),
            (17.0, "fail", BreakerState.CLOSED),
            (17.0, "fail", BreakerState.CLOSED),
            (20.0, "fail", BreakerState.OPEN),
            (30.0, "allow", True),
            (31.0, "fail", BreakerState.OPEN),  # failed trial: back to OPEN, timeout restarts
            (40.0, "allow", False),
            (41.0, "allow", True),
            (41.5, "ok", BreakerState.CLOSED),
            (42.0, "fail", BreakerState.CLOSED),
            (42.0, "fail", BreakerState.CLOSED),
            (42.0, "fail", BreakerState.OPEN),
            (52.0, "allow", True),  # trial that never reports back
            (61.999, "allow", False),
            (62.0, "allow", True),  # written off after a timeout: a new trial
            (63.0, "ok", BreakerState.CLOSED),
        ),
    ),
    (
        BreakerSpec(max_consecutive=0, max_failures=3, window_s=10.0, open_timeout_s=5.0,
                    half_open_max_calls=2),
        (
            (0.0, "fail", BreakerState.CLOSED),
            (1.0, "ok", BreakerState.CLOSED),
            (2.0, "fail", BreakerState.CLOSED),
            (3.0, "ok", BreakerState.CLOSED),
            (10.0, "fail", BreakerState.CLOSED),  # the failure at 0 is exactly window old: out
            (11.0, "fail", BreakerState.OPEN),  # 2, 10, 11: three within 10 s
            (15.999, "allow", False),
            (16.0, "allow", True),
            (16.0, "allow", True),  # two trials while HALF_OPEN
            (16.0, "allow", False),
            (17.0, "ok", BreakerState.CLOSED),
            (18.0, "fail", BreakerState.CLOSED),  # the ring was cleared on closing
            (19.0, "fail", BreakerState.CLOSED),
            (20.0, "fail", BreakerState.OPEN),
        ),
    ),
)


class CircuitOpenError(RuntimeError):
    """A call was refused because the circuit breaker is open."""

    def __init__(self, name: str, state: BreakerState) -> None:
        super().__init__(f"circuit breaker {name or '(unnamed)'} is {state.name}: call refused")
        self.name = name
        self.state = state


_allow_py = breaker_allow.py_func
_record_py = breaker_record.py_func


class CircuitBreaker:
    """Pure-Python circuit breaker around broker calls, with an injectable clock.

    ``clock`` returns seconds (``time.monotonic`` by default). Use :meth:`call` /
    :meth:`acall` to wrap a call, or :meth:`allow` then :meth:`record_success` /
    :meth:`record_failure` by hand. ``is_failure`` decides which exceptions count as
    failures (every ``Exception`` by default; cancellation never counts); exceptions that
    do not count are re-raised unrecorded. Thread-safe.
    """

    def __init__(
        self,
        spec: BreakerSpec | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
        is_failure: Callable[[BaseException], bool] | None = None,
    ) -> None:
        self.spec = spec if spec is not None else BreakerSpec()
        self.name = name
        self._clock = clock
        self._is_failure = is_failure
        self._spec_rec = self.spec.to_record()[0]
        self._state = np.zeros(1, BREAKER_STATE_DTYPE)
        self._ring = np.zeros(self.spec.ring_size, np.int64)
        self._lock = threading.Lock()

    def _now(self) -> int:
        return round(self._clock() * _S)

    @property
    def state(self) -> BreakerState:
        """Current state as stored (an elapsed OPEN timeout shows on the next :meth:`allow`)."""
        return BreakerState(int(self._state[0]["state"]))

    @property
    def stats(self) -> dict[str, int]:
        """Counters: trips, successes, failures, refused, consecutive."""
        s = self._state[0]
        return {k: int(s[k]) for k in ("trips", "successes", "failures", "refused", "consecutive")}

    def allow(self) -> bool:
        """True if a call may go through now (consumes a trial slot while HALF_OPEN)."""
        with self._lock:
            return bool(_allow_py(self._state[0], self._spec_rec, self._now()))

    def record_success(self) -> BreakerState:
        """Record a successful call; returns the new state."""
        with self._lock:
            return BreakerState(int(_record_py(self._state[0], self._spec_rec, self._ring, self._now(), True)))

    def record_failure(self) -> BreakerState:
        """Record a failed call; returns the new state."""
        with self._lock:
            return BreakerState(int(_record_py(self._state[0], self._spec_rec, self._ring, self._now(), False)))

    def reset(self) -> None:
        """Force CLOSED and forget failures (an operator action; counters are kept)."""
        with self._lock:
            s = self._state[0]
            s["state"], s["consecutive"], s["trials"], s["ring_len"] = _CLOSED, 0, 0, 0

    def _counts(self, exc: BaseException) -> bool:
        return self._is_failure is None or self._is_failure(exc)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` through the breaker; raises CircuitOpenError when refused."""
        if not self.allow():
            raise CircuitOpenError(self.name, self.state)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # cancellation (BaseException) is not a venue failure
            if self._counts(exc):
                self.record_failure()
            raise
        self.record_success()
        return result

    async def acall(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Await ``fn`` through the breaker; raises CircuitOpenError when refused."""
        if not self.allow():
            raise CircuitOpenError(self.name, self.state)
        try:
            result = await fn(*args, **kwargs)
        except Exception as exc:  # cancellation (BaseException) is not a venue failure
            if self._counts(exc):
                self.record_failure()
            raise
        self.record_success()
        return result

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self.name!r}, state={self.state.name})"
