"""Order-flow guard kernels: rate limit, concurrency, cooldown, blocklist, trading hours,
circuit breaker and the kill-switch tripwires.

Times are integer ns on the loop clock (``ctx.control[0]['now_ns']``).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from tradeloop_sdk import (
    IntentAction,
    Reason,
    ReportKind,
    breaker_allow,
    breaker_record,
    is_kernel_flatten,
    record_breach,
    trip_kill,
)

from . import _openbook as book
from ._limits import total_pnl

_NEW = int(IntentAction.NEW)
_DAY_NS = 86_400_000_000_000
_MS = 1e-6  # ns -> ms, for breach values people read

_RATE_LIMIT = int(Reason.RATE_LIMIT)
_CONCURRENCY = int(Reason.CONCURRENCY)
_COOLDOWN = int(Reason.COOLDOWN)
_BLOCKLIST = int(Reason.BLOCKLIST)
_MARKET_CLOSED = int(Reason.MARKET_CLOSED)
_CIRCUIT_OPEN = int(Reason.CIRCUIT_OPEN)
_KILL_SWITCH = int(Reason.KILL_SWITCH)
_DRAWDOWN = int(Reason.DRAWDOWN)
_TIMEOUT = int(Reason.TIMEOUT)

_ACK = int(ReportKind.ACK)
_PARTIAL = int(ReportKind.PARTIAL)
_FILL = int(ReportKind.FILL)
_CANCELED = int(ReportKind.CANCELED)
_REJECTED = int(ReportKind.REJECTED)
_REPLACED = int(ReportKind.REPLACED)

KILL_STATE_DTYPE = np.dtype(
    [("reject_pos", "i8"), ("window_start", "i8"), ("guard_rejects_at_start", "i8"),
     ("tripped", "i8"), ("reason", "i8"), ("value", "f8"), ("limit", "f8")],
    align=True,
)


@numba.njit(cache=True, inline="always")
def _ring_admit(ring: Any, pos: Any, idx: Any, now: int, window: int) -> bool:
    # ring holds the last n admission times; the slot to overwrite is the oldest
    oldest = ring[idx][pos[idx]]
    return oldest == 0 or oldest <= now - window


@numba.njit(cache=True)
def rate_limit_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """At most ``venue_max`` orders per venue and ``symbol_max`` per symbol in any window.

    Every intent that reaches this guard and passes uses budget, so put it last. The
    kernel's flatten orders pass without using budget: a kill must be able to get out.
    """
    if is_kernel_flatten(ctx, i):
        return 0
    vring, vpos, sring, spos = state
    p = params[0]
    it = ctx.intents[i]
    v = it["venue"]
    s = it["symbol"]
    now = ctx.control[0]["now_ns"]
    w = p["window_ns"]
    if p["venue_max"] > 0 and not _ring_admit(vring, vpos, v, now, w):
        record_breach(ctx, i, _RATE_LIMIT, float(p["venue_max"] + 1), float(p["venue_max"]), False)
        return _RATE_LIMIT
    if p["symbol_max"] > 0 and not _ring_admit(sring, spos, (v, s), now, w):
        record_breach(ctx, i, _RATE_LIMIT, float(p["symbol_max"] + 1), float(p["symbol_max"]), False)
        return _RATE_LIMIT
    if p["venue_max"] > 0:
        vring[v, vpos[v]] = now
        vpos[v] = (vpos[v] + 1) % vring.shape[1]
    if p["symbol_max"] > 0:
        sring[v, s, spos[v, s]] = now
        spos[v, s] = (spos[v, s] + 1) % sring.shape[2]
    return 0


@numba.njit(cache=True)
def concurrency_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """At most ``venue_max`` live orders per venue and ``symbol_max`` per symbol (NEW only).

    Counts come from the incremental live-order index in ``state`` (O(1) per order).
    """
    it = ctx.intents[i]
    if it["action"] != _NEW or is_kernel_flatten(ctx, i):
        return 0
    p = params[0]
    if p["venue_max"] <= 0 and p["symbol_max"] <= 0:
        return 0
    n_v, n_s = book.live_counts(state, ctx, it["venue"], it["symbol"])
    if p["venue_max"] > 0 and n_v >= p["venue_max"]:
        record_breach(ctx, i, _CONCURRENCY, float(n_v + 1), float(p["venue_max"]), False)
        return _CONCURRENCY
    if p["symbol_max"] > 0 and n_s >= p["symbol_max"]:
        record_breach(ctx, i, _CONCURRENCY, float(n_s + 1), float(p["symbol_max"]), False)
        return _CONCURRENCY
    return 0


@numba.njit(cache=True)
def concurrency_report(params: Any, state: Any, ctx: Any, j: int) -> None:
    """Keep the live-order index in step with the report's order."""
    book.on_report(state, ctx, j)


@numba.njit(cache=True)
def cooldown_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Refuse a NEW order on a symbol within ``cooldown_ns`` of its last trade."""
    it = ctx.intents[i]
    if it["action"] != _NEW or is_kernel_flatten(ctx, i):
        return 0
    p = params[0]
    v = it["venue"]
    s = it["symbol"]
    now = ctx.control[0]["now_ns"]
    last = state[v, s]
    if last > 0 and now - last < p["cooldown_ns"]:
        record_breach(ctx, i, _COOLDOWN, (now - last) * _MS, p["cooldown_ns"] * _MS, False)
        return _COOLDOWN
    if p["on_order"] != 0:
        state[v, s] = now
    return 0


@numba.njit(cache=True)
def cooldown_report(params: Any, state: Any, ctx: Any, j: int) -> None:
    """A fill starts the cooldown of its symbol."""
    r = ctx.reports[j]
    if (r["kind"] == _FILL or r["kind"] == _PARTIAL) and r["fill_qty"] > 0.0:
        t = r["ts"] if r["ts"] > 0 else ctx.control[0]["now_ns"]
        if t > state[r["venue"], r["symbol"]]:
            state[r["venue"], r["symbol"]] = t


@numba.njit(cache=True)
def blocklist_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Refuse symbols and venues on the blocklist, and (optionally) inactive symbols.

    The kernel's flatten orders pass: closing a position on a blocked symbol is wanted.
    """
    if is_kernel_flatten(ctx, i):
        return 0
    it = ctx.intents[i]
    v = it["venue"]
    s = it["symbol"]
    if state[v, s] != 0 or (params[0]["refuse_inactive"] != 0 and ctx.specs[v, s]["active"] == 0):
        record_breach(ctx, i, _BLOCKLIST, float(s), float(v), False)
        return _BLOCKLIST
    return 0


@numba.njit(cache=True)
def trading_hours_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Refuse outside [open, close) of the UTC day (from ``state`` hours or the spec).

    ``open == close`` means around the clock; ``open > close`` wraps past midnight.
    """
    it = ctx.intents[i]
    v = it["venue"]
    s = it["symbol"]
    now = ctx.control[0]["now_ns"]
    days = now // _DAY_NS
    if params[0]["weekdays_only"] != 0 and (days + 3) % 7 >= 5:  # 1970-01-01 was a Thursday
        record_breach(ctx, i, _MARKET_CLOSED, float((days + 3) % 7), 4.0, False)
        return _MARKET_CLOSED
    op = state[v, s, 0]
    cl = state[v, s, 1]
    if op < 0:
        op = ctx.specs[v, s]["open_ns"]
        cl = ctx.specs[v, s]["close_ns"]
    if op == cl:
        return 0
    t = now - days * _DAY_NS
    inside = (op <= t < cl) if op < cl else (t >= op or t < cl)
    if not inside:
        record_breach(ctx, i, _MARKET_CLOSED, t * _MS, op * _MS, False)
        return _MARKET_CLOSED
    return 0


@numba.njit(cache=True)
def breaker_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Refuse with CIRCUIT_OPEN while the venue's breaker is OPEN (or its trials are used)."""
    st, spec, _ring = state
    v = ctx.intents[i]["venue"]
    if breaker_allow(st[v], spec[v], ctx.control[0]["now_ns"]):
        return 0
    record_breach(ctx, i, _CIRCUIT_OPEN, float(st[v]["consecutive"]), float(spec[v]["max_consecutive"]), False)
    return _CIRCUIT_OPEN


@numba.njit(cache=True)
def breaker_report(params: Any, state: Any, ctx: Any, j: int) -> None:
    """Venue rejects and timeouts are failures; acks, fills and cancels are successes."""
    st, spec, ring = state
    r = ctx.reports[j]
    v = r["venue"]
    kind = r["kind"]
    now = ctx.control[0]["now_ns"]
    if kind == _REJECTED or r["reason"] == _TIMEOUT:
        if params[0]["ignore_reason"] != 0 and r["reason"] == params[0]["ignore_reason"]:
            return
        breaker_record(st[v], spec[v], ring[v], now, False)
    elif kind == _ACK or kind == _FILL or kind == _PARTIAL or kind == _CANCELED or kind == _REPLACED:  # noqa: SIM109
        breaker_record(st[v], spec[v], ring[v], now, True)


@numba.njit(cache=True)
def _kill_trip(st: Any, ctx: Any, reason: int, value: float, limit: float) -> None:
    if trip_kill(ctx, reason):
        st[0]["tripped"] += 1
        st[0]["reason"] = reason
        st[0]["value"] = value
        st[0]["limit"] = limit


@numba.njit(cache=True)
def _kill_eval(params: Any, state: Any, ctx: Any) -> None:
    st = state[0][0:1]
    p = params[0]
    c = ctx.control[0]
    now = c["now_ns"]
    if p["max_loss"] > 0.0:
        pnl = total_pnl(ctx)
        if -pnl > p["max_loss"]:
            _kill_trip(st, ctx, _DRAWDOWN, -pnl, p["max_loss"])
    if p["max_stuck"] > 0 and c["stuck_orders"] >= p["max_stuck"]:
        _kill_trip(st, ctx, _TIMEOUT, float(c["stuck_orders"]), float(p["max_stuck"]))
    if p["max_guard_rejects"] > 0:
        if now - st[0]["window_start"] >= p["window_ns"]:
            st[0]["window_start"] = now
            st[0]["guard_rejects_at_start"] = c["guard_rejects"]
        n = c["guard_rejects"] - st[0]["guard_rejects_at_start"]
        if n >= p["max_guard_rejects"]:
            _kill_trip(st, ctx, _KILL_SWITCH, float(n), float(p["max_guard_rejects"]))


@numba.njit(cache=True)
def kill_switch_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Evaluate the tripwires; refuse with KILL_SWITCH whenever the switch is set (except
    the kernel's own flatten orders, which the kill policy sends)."""
    _kill_eval(params, state, ctx)
    k = ctx.control[0]["kill"]
    if k != 0 and not is_kernel_flatten(ctx, i):
        st = state[0][0]
        record_breach(ctx, i, _KILL_SWITCH, st["value"], st["limit"], False)
        return _KILL_SWITCH
    return 0


@numba.njit(cache=True)
def kill_switch_report(params: Any, state: Any, ctx: Any, j: int) -> None:
    """Count venue rejects in a sliding window (reject storm); re-check loss and stuck orders."""
    p = params[0]
    st = state[0][0:1]
    ring = state[1]
    if p["max_rejects"] > 0 and ctx.reports[j]["kind"] == _REJECTED:
        now = ctx.control[0]["now_ns"]
        pos = st[0]["reject_pos"]
        ring[pos] = now
        pos = (pos + 1) % ring.shape[0]
        st[0]["reject_pos"] = pos
        # the ring holds the last max_rejects reject times; the next slot is the oldest
        oldest = ring[pos]
        if oldest > 0 and now - oldest < p["window_ns"]:
            _kill_trip(st, ctx, _KILL_SWITCH, (now - oldest) * _MS, p["window_ns"] * _MS)
    _kill_eval(params, state, ctx)
