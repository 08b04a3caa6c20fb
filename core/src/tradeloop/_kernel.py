"""Kernel steps the generated loop calls between component kernels.

These are the parts of an iteration that do not depend on which components were selected:
applying a report (orders, ledger, log), admitting an intent (kill, pause, order table),
booking a guard's verdict, logging, housekeeping (equity samples, stuck scan, kill
transition) and the live-mode intent push with back-off.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from tradeloop_sdk import EventKind, IntentAction, OrderType, Reason, ReportKind, Side, TimeInForce
from tradeloop_sdk._context import (
    EVENTS_LOST,
    N_EVENTS,
    N_INTENTS,
    cancel,
    is_kernel_flatten,
    record_event,
    submit,
)

from ._atomics import load_acquire
from ._kstate import (
    KC_FULL_BACKOFFS,
    KC_LAST_KILL,
    KC_LOG_LOST,
    KC_MIN_DEADLINE,
    KC_NEQ,
    KC_NEXT_EQ,
    KC_NINT,
    KC_NREP,
    KC_NTRANS,
    KC_SLOT_REFUSALS,
    KERNEL_COMPONENT,
    KP_EQUITY_INTERVAL,
    NO_DEADLINE,
)
from ._ledger import apply_fill, sample_equity
from ._orders import (
    fail_order,
    find_live,
    is_live,
    open_order,
    order_report,
    request_cancel,
    scan_stuck,
)
from ._rings import ring_push

EV_GUARD_REJECT = EventKind.GUARD_REJECT
EV_GUARD_RESIZE = EventKind.GUARD_RESIZE
EV_KILL = EventKind.KILL

_BUY, _SELL = int(Side.BUY), int(Side.SELL)
_MARKET, _IOC = int(OrderType.MARKET), int(TimeInForce.IOC)


@numba.njit(cache=True)
def apply_report(ctx: Any, ks: Any, j: int) -> None:
    """Apply ``ctx.reports[j]``: order state, then ledger for fills, then the report log."""
    slot = order_report(ctx, ks, j)
    r = ctx.reports[j]
    kind = r["kind"]
    if (kind == ReportKind.PARTIAL or kind == ReportKind.FILL) and r["fill_qty"] > 0.0:
        side = r["side"]
        if side == 0 and slot >= 0:
            side = ctx.orders[slot]["side"]
        if side != 0:
            apply_fill(ctx, r["venue"], r["symbol"], side, r["fill_qty"], r["fill_price"], r["fee"])
    ctx.control[0]["reports_in"] += 1
    n = ks.kc[KC_NREP]
    if n < ks.report_log.shape[0]:
        ks.report_log[n] = ctx.reports[j]
        ks.kc[KC_NREP] = n + 1
    else:
        ks.kc[KC_LOG_LOST] += 1


@numba.njit(cache=True)
def admit(ctx: Any, ks: Any, i: int) -> int:
    """Kernel checks before guards: kill and pause (not for cancels), order-table room and
    target existence. Returns 0 or the Reason that refuses intent ``i``."""
    it = ctx.intents[i]
    action = it["action"]
    if action != IntentAction.CANCEL:
        if ctx.control[0]["kill"] != 0 and not is_kernel_flatten(ctx, i):
            return Reason.KILL_SWITCH
        if ctx.control[0]["pause"] != 0:
            return Reason.PAUSED
    if action == IntentAction.NEW:
        slot = it["client_id"] & (ctx.orders.shape[0] - 1)
        if is_live(ctx.orders[slot]["state"]):
            ks.kc[KC_SLOT_REFUSALS] += 1
            record_event(
                ctx, EV_GUARD_REJECT, Reason.UNKNOWN, KERNEL_COMPONENT, it["client_id"],
                it["venue"], it["symbol"], float(ctx.orders[slot]["client_id"]), np.nan,
            )
            return Reason.UNKNOWN
        return 0
    if find_live(ctx, it["target_id"]) < 0:
        return Reason.UNKNOWN_ORDER
    return 0


@numba.njit(cache=True)
def guard_verdict(ctx: Any, i: int, r: int, g: int, comp: int, q_before: float) -> int:
    """Book guard ``g``'s result for intent ``i`` (stats, events); returns the final reason.

    A guard that lowers the quantity to zero or below refuses with MIN_SIZE.
    """
    it = ctx.intents[i : i + 1]
    q = it[0]["qty"]
    if r == 0 and q <= 0.0:
        r = Reason.MIN_SIZE
    if r != 0:
        ctx.guard_stats[g, 2] += 1
        ctx.control[0]["guard_rejects"] += 1
        it[0]["reason"] = r
        it[0]["guard"] = g
        record_event(ctx, EV_GUARD_REJECT, r, comp, it[0]["client_id"], it[0]["venue"],
                     it[0]["symbol"], q, np.nan)
        return r
    # below a relative 1e-9 it is float dust a guard snapped onto the lot grid, not a resize
    if q < q_before * (1.0 - 1e-9):
        ctx.guard_stats[g, 1] += 1
        ctx.control[0]["guard_resizes"] += 1
        record_event(ctx, EV_GUARD_RESIZE, 0, comp, it[0]["client_id"], it[0]["venue"],
                     it[0]["symbol"], q, q_before)
    else:
        ctx.guard_stats[g, 0] += 1
    return 0


@numba.njit(cache=True)
def accept(ctx: Any, ks: Any, i: int) -> int:
    """Enter an admitted intent in the order table; returns 0 or a refusing Reason."""
    it = ctx.intents[i]
    action = it["action"]
    if action == IntentAction.NEW:
        if not open_order(ctx, ks, i):
            return Reason.UNKNOWN
    elif action == IntentAction.CANCEL and not request_cancel(ctx, ks, it["target_id"]):
        return Reason.UNKNOWN_ORDER
    ctx.control[0]["intents_out"] += 1
    return 0


@numba.njit(cache=True)
def refuse(ctx: Any, i: int, r: int) -> None:
    """Mark intent ``i`` refused with reason ``r`` (guard field stays as the guard set it)."""
    ctx.intents[i : i + 1][0]["reason"] = r


@numba.njit(cache=True)
def log_intent(ctx: Any, ks: Any, i: int) -> None:
    """Copy intent ``i`` (accepted or refused) to the intent log."""
    n = ks.kc[KC_NINT]
    if n < ks.intent_log.shape[0]:
        ks.intent_log[n] = ctx.intents[i]
        ks.kc[KC_NINT] = n + 1
    else:
        ks.kc[KC_LOG_LOST] += 1


@numba.njit(cache=True)
def flatten_positions(ctx: Any) -> int:
    """Emit a market IOC intent closing every nonzero position; returns how many.

    Their client ids go to ``control.flatten_from/flatten_to``, which is what lets them
    past the kill refusal (:func:`tradeloop_sdk.is_kernel_flatten`); the guards after the
    kernel's own checks (precision, venue) still judge them, and the intent log keeps them
    with ``source`` = the kernel.
    """
    c = ctx.control[0:1]
    first = c[0]["next_client_id"]
    pos = ctx.positions
    n = 0
    for v in range(pos.shape[0]):
        for s in range(pos.shape[1]):
            q = pos[v, s]["qty"]
            if q == 0.0:
                continue
            side = _SELL if q > 0.0 else _BUY
            if submit(ctx, KERNEL_COMPONENT, v, s, side, _MARKET, _IOC, abs(q), np.nan) < 0:
                break  # intent buffer full: what was emitted still goes out
            n += 1
    c[0]["flatten_from"] = first
    c[0]["flatten_to"] = c[0]["next_client_id"]
    return n


@numba.njit(cache=True, inline="always")
def check_kill(ctx: Any, ks: Any) -> None:
    """Act once on a change of ``control.kill`` (see :func:`act_on_kill`).

    Inlined: the loop calls it on every tick with a guard ``on_tick`` and on every
    dispatch, and the comparison is far cheaper than an out-of-line call with the context.
    """
    if ctx.control[0]["kill"] != ks.kc[KC_LAST_KILL]:
        act_on_kill(ctx, ks)


@numba.njit(cache=True)
def act_on_kill(ctx: Any, ks: Any) -> None:
    """The kill value changed: event, then the kill policy: cancel live orders if
    ``cancel_on_kill``, close positions if ``flatten_on_kill`` (cancels first, so a resting
    order cannot reopen what the flatten closes)."""
    kill = ctx.control[0]["kill"]
    ks.kc[KC_LAST_KILL] = kill
    if kill == 0:
        return
    record_event(ctx, EV_KILL, kill & 0xFF, KERNEL_COMPONENT, 0, 0, 0, float(kill), np.nan)
    if ctx.control[0]["cancel_on_kill"] != 0:
        orders = ctx.orders
        for k in range(orders.shape[0]):
            st = orders[k]["state"]
            if is_live(st) and st != 4 and cancel(ctx, KERNEL_COMPONENT, orders[k]["client_id"]) < 0:
                break
    if ctx.control[0]["flatten_on_kill"] != 0:
        flatten_positions(ctx)


@numba.njit(cache=True)
def housekeeping(ctx: Any, ks: Any, now: int) -> int:
    """Equity sample and stuck scan when due; returns the next time anything is due."""
    kc = ks.kc
    if now >= kc[KC_NEXT_EQ]:
        iv = ks.kp[KP_EQUITY_INTERVAL]
        if iv > 0:
            sample_equity(ctx, ks, now)
            kc[KC_NEXT_EQ] = (now // iv + 1) * iv
        else:
            kc[KC_NEXT_EQ] = NO_DEADLINE
    if now >= kc[KC_MIN_DEADLINE]:
        scan_stuck(ctx, ks, now)
    check_kill(ctx, ks)
    return int(min(kc[KC_NEXT_EQ], kc[KC_MIN_DEADLINE]))


@numba.njit(cache=True)
def next_due(ks: Any) -> int:
    """Earliest time housekeeping has something to do."""
    return int(min(ks.kc[KC_NEXT_EQ], ks.kc[KC_MIN_DEADLINE]))


@numba.njit(cache=True)
def logs_high(ctx: Any, ks: Any) -> bool:
    """True when a log or the event buffer is past half full: return to Python to drain."""
    half = ks.report_log.shape[0] // 2
    kc = ks.kc
    return bool(
        kc[KC_NREP] > half
        or kc[KC_NINT] > half
        or kc[KC_NTRANS] > ks.trans_log.shape[0] // 2
        or kc[KC_NEQ] > ks.equity_log.shape[0] // 2
        or ctx.counts[N_EVENTS] > ctx.events.shape[0] // 2
    )


@numba.njit(cache=True)
def push_intent(ctx: Any, ks: Any, i: int, ring: Any, stop: Any) -> None:
    """Live mode: push accepted intent ``i`` to the intent ring, backing off while full.

    The intent ring never drops. If ``stop`` is raised while the ring stays full, the
    order is failed (Reason.TIMEOUT) rather than silently lost.
    """
    while not ring_push(ring, ctx.intents, i):
        ks.kc[KC_FULL_BACKOFFS] += 1
        if load_acquire(stop, 0) != 0:
            it = ctx.intents[i : i + 1]
            it[0]["reason"] = Reason.TIMEOUT
            if it[0]["action"] == IntentAction.NEW:
                fail_order(ctx, ks, it[0]["client_id"], Reason.TIMEOUT)
            return


__all__ = [
    "EVENTS_LOST",
    "KC_LOG_LOST",
    "KC_NTRANS",
    "N_INTENTS",
    "accept",
    "act_on_kill",
    "admit",
    "apply_report",
    "check_kill",
    "flatten_positions",
    "guard_verdict",
    "housekeeping",
    "log_intent",
    "logs_high",
    "next_due",
    "push_intent",
    "refuse",
]
