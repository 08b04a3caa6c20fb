"""The order state machine, run inside the fused loop over ``ctx.orders``.

The order table is direct-mapped: slot = client_id & (capacity - 1). A slot is reusable
once its order is terminal (or EMPTY).

Transitions are driven by events: a venue report (ReportKind) or a kernel action (a NEW
intent, a cancel request, a failure). :data:`NEXT` maps (event, current state) to the next
state; ``INVALID`` entries are refused: the state does not change, ``control.invalid_transitions``
is incremented and an ``EventKind.INVALID_TRANSITION`` event is recorded. Terminal states
(Canceled, Filled, Rejected, Expired, Failed) accept no event, so they stay terminal.

Money is not the state machine's to refuse: a fill that arrives for an order in a state
that cannot take it (a late fill after a cancel, an unknown client id) is still booked in
the ledger, because the venue says the trade happened; only the state change is refused.

Every attempted transition goes to the transition log (``ks.trans_log``), drained into
Python so that :meth:`FusedLoop.order_history` can show an order's life.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from tradeloop_sdk import EventKind, OrderState, ReportKind
from tradeloop_sdk._context import record_event

from ._kstate import (
    CAUSE_CANCEL_REQUEST,
    CAUSE_FAIL,
    CAUSE_NEW,
    KC_MIN_DEADLINE,
    KC_NTRANS,
    KERNEL_COMPONENT,
    KP_ORDER_TIMEOUT,
    NO_DEADLINE,
)

INVALID = 255
REVERT = 254  # cancel rejected: back to OPEN, or PARTIALLY_FILLED if anything filled

S = OrderState
EV_INVALID = EventKind.INVALID_TRANSITION
EV_STUCK = EventKind.STUCK_ORDER
# plain ints for compiled code
ST_EMPTY = int(S.EMPTY)
ST_OPEN = int(S.OPEN)
ST_PF = int(S.PARTIALLY_FILLED)
ST_PC = int(S.PENDING_CANCEL)
ST_CREATING = int(S.CREATING)
_LIVE = (S.CREATING, S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL)

# Event rows: 0..7 are ReportKind values (0 unused); then kernel actions.
EV_NEW = 8
EV_CANCEL_REQUEST = 9
EV_FAIL = 10
N_EV = 11


def _build_next() -> np.ndarray:
    t = np.full((N_EV, 10), INVALID, np.uint8)
    t[ReportKind.ACK, S.CREATING] = S.OPEN
    t[ReportKind.ACK, S.PENDING_CANCEL] = S.PENDING_CANCEL
    for s in (S.CREATING, S.OPEN, S.PARTIALLY_FILLED):
        t[ReportKind.PARTIAL, s] = S.PARTIALLY_FILLED
    t[ReportKind.PARTIAL, S.PENDING_CANCEL] = S.PENDING_CANCEL
    for s in _LIVE:
        t[ReportKind.FILL, s] = S.FILLED
        t[ReportKind.CANCELED, s] = S.CANCELED
        t[ReportKind.EXPIRED, s] = S.EXPIRED
        t[EV_FAIL, s] = S.FAILED
    t[ReportKind.REJECTED, S.CREATING] = S.REJECTED
    t[ReportKind.REJECTED, S.PENDING_CANCEL] = REVERT
    # a rejected replace leaves a working order as it was
    t[ReportKind.REJECTED, S.OPEN] = S.OPEN
    t[ReportKind.REJECTED, S.PARTIALLY_FILLED] = S.PARTIALLY_FILLED
    t[ReportKind.REPLACED, S.OPEN] = S.OPEN
    t[ReportKind.REPLACED, S.PARTIALLY_FILLED] = S.PARTIALLY_FILLED
    for s in (S.EMPTY, S.CANCELED, S.FILLED, S.REJECTED, S.EXPIRED, S.FAILED):
        t[EV_NEW, s] = S.CREATING
    for s in (S.CREATING, S.OPEN, S.PARTIALLY_FILLED):
        t[EV_CANCEL_REQUEST, s] = S.PENDING_CANCEL
    return t


#: NEXT[event, state] -> next state, INVALID or REVERT. Frozen into compiled code.
NEXT = _build_next()

#: (from, to) pairs the machine can produce, for tests and docs.
VALID_PAIRS = frozenset(
    (int(s), int(n) if n != REVERT else int(r))
    for ev in range(N_EV)
    for s in range(10)
    for n in [NEXT[ev, s]]
    if n != INVALID
    for r in ((S.OPEN, S.PARTIALLY_FILLED) if n == REVERT else (n,))
)


@numba.njit(cache=True, inline="always")
def is_live(state: int) -> bool:
    """True for CREATING, OPEN, PARTIALLY_FILLED and PENDING_CANCEL."""
    return 1 <= state <= 4


@numba.njit(cache=True)
def log_transition(ks: Any, ts: int, cid: int, frm: int, to: int, cause: int, valid: bool) -> None:
    """Append to the transition log (sized by the loop so it cannot overflow in a chunk)."""
    n = ks.kc[KC_NTRANS]
    if n < ks.trans_log.shape[0]:
        r = ks.trans_log[n : n + 1]
        r[0]["ts"] = ts
        r[0]["client_id"] = cid
        r[0]["from_state"] = frm
        r[0]["to_state"] = to
        r[0]["cause"] = cause
        r[0]["valid"] = valid
        ks.kc[KC_NTRANS] = n + 1


@numba.njit(cache=True)
def refuse_transition(ctx: Any, ks: Any, cid: int, frm: int, to: int, cause: int, v: int, s: int) -> None:
    """Count, log and report an invalid transition (the state is left unchanged)."""
    ctx.control[0]["invalid_transitions"] += 1
    log_transition(ks, ctx.control[0]["now_ns"], cid, frm, to, cause, False)
    record_event(ctx, EV_INVALID, cause, KERNEL_COMPONENT, cid, v, s, np.nan, np.nan)
    n = ctx.counts[2]
    if n > 0 and ctx.events[n - 1]["client_id"] == cid:
        ctx.events[n - 1]["from_state"] = frm
        ctx.events[n - 1]["to_state"] = to


@numba.njit(cache=True)
def step(ctx: Any, ks: Any, slot: int, event: int, cause: int) -> bool:
    """Drive order ``slot`` through ``event``; returns False (and counts it) if invalid."""
    o = ctx.orders[slot : slot + 1]
    frm = o[0]["state"]
    to = NEXT[event, frm]
    cid = o[0]["client_id"]
    if to == INVALID:
        refuse_transition(ctx, ks, cid, frm, frm, cause, o[0]["venue"], o[0]["symbol"])
        return False
    if to == REVERT:
        to = ST_PF if o[0]["filled"] > 0.0 else ST_OPEN
    now = ctx.control[0]["now_ns"]
    o[0]["state"] = to
    o[0]["ts_updated"] = now
    if to == ST_PC:
        if frm != ST_PC:
            dl = now + ks.kp[KP_ORDER_TIMEOUT]
            o[0]["deadline"] = dl
            _schedule_scan(ks, dl)
    elif to == ST_CREATING:
        dl = now + ks.kp[KP_ORDER_TIMEOUT]
        o[0]["deadline"] = dl
        _schedule_scan(ks, dl)
    else:
        o[0]["deadline"] = NO_DEADLINE
        o[0]["stuck"] = 0
    log_transition(ks, now, cid, frm, to, cause, True)
    return True


@numba.njit(cache=True)
def open_order(ctx: Any, ks: Any, i: int) -> bool:
    """Enter NEW intent ``ctx.intents[i]`` in the order table as CREATING.

    False if its slot holds a live order (the caller refuses the intent).
    """
    it = ctx.intents[i]
    cid = it["client_id"]
    slot = cid & (ctx.orders.shape[0] - 1)
    o = ctx.orders[slot : slot + 1]
    if is_live(o[0]["state"]):
        return False
    frm = o[0]["state"]
    o[0]["client_id"] = cid
    o[0]["venue_order_id"] = 0
    o[0]["ts_created"] = ctx.control[0]["now_ns"]
    o[0]["qty"] = it["qty"]
    o[0]["price"] = it["price"]
    o[0]["stop_price"] = it["stop_price"]
    o[0]["filled"] = 0.0
    o[0]["avg_fill_price"] = np.nan
    o[0]["venue"] = it["venue"]
    o[0]["symbol"] = it["symbol"]
    o[0]["side"] = it["side"]
    o[0]["type"] = it["type"]
    o[0]["tif"] = it["tif"]
    o[0]["reason"] = 0
    o[0]["source"] = it["source"]
    o[0]["stuck"] = 0
    o[0]["state"] = frm
    return step(ctx, ks, slot, EV_NEW, CAUSE_NEW)


@numba.njit(cache=True)
def find_live(ctx: Any, cid: int) -> int:
    """Slot of live order ``cid``, or -1."""
    slot = cid & (ctx.orders.shape[0] - 1)
    o = ctx.orders[slot]
    if o["client_id"] == cid and is_live(o["state"]):
        return int(slot)
    return -1


@numba.njit(cache=True)
def request_cancel(ctx: Any, ks: Any, cid: int) -> bool:
    """CANCEL intent: move live order ``cid`` to PENDING_CANCEL (with a deadline)."""
    slot = find_live(ctx, cid)
    if slot < 0:
        return False
    if ctx.orders[slot]["state"] == ST_PC:
        return True  # a repeated cancel is harmless; keep the first deadline
    return step(ctx, ks, slot, EV_CANCEL_REQUEST, CAUSE_CANCEL_REQUEST)


@numba.njit(cache=True)
def fail_order(ctx: Any, ks: Any, cid: int, reason: int) -> bool:
    """Move live order ``cid`` to FAILED (e.g. it could not be sent)."""
    slot = find_live(ctx, cid)
    if slot < 0:
        return False
    ctx.orders[slot]["reason"] = reason
    return step(ctx, ks, slot, EV_FAIL, CAUSE_FAIL)


@numba.njit(cache=True)
def order_report(ctx: Any, ks: Any, j: int) -> int:
    """Apply report ``ctx.reports[j]`` to the order table.

    Returns the order's slot, or -1 if the report names no known order (an invalid
    transition from EMPTY is recorded). Fill quantities are accumulated even when the
    state change is refused.
    """
    r = ctx.reports[j]
    cid = r["client_id"]
    kind = r["kind"]
    slot = cid & (ctx.orders.shape[0] - 1)
    o = ctx.orders[slot : slot + 1]
    if o[0]["client_id"] != cid or o[0]["state"] == ST_EMPTY:
        refuse_transition(ctx, ks, cid, ST_EMPTY, ST_EMPTY, kind, r["venue"], r["symbol"])
        return -1
    if r["venue_order_id"] != 0:
        o[0]["venue_order_id"] = r["venue_order_id"]
    if (kind == ReportKind.PARTIAL or kind == ReportKind.FILL) and r["fill_qty"] > 0.0:
        f0 = o[0]["filled"]
        q = r["fill_qty"]
        if f0 > 0.0:
            o[0]["avg_fill_price"] = (o[0]["avg_fill_price"] * f0 + r["fill_price"] * q) / (f0 + q)
        else:
            o[0]["avg_fill_price"] = r["fill_price"]
        o[0]["filled"] = f0 + q
    if kind == ReportKind.REPLACED and is_live(o[0]["state"]):
        o[0]["qty"] = o[0]["filled"] + r["leaves_qty"]
        if not np.isnan(r["fill_price"]):
            o[0]["price"] = r["fill_price"]
    if kind == ReportKind.REJECTED or kind == ReportKind.EXPIRED:
        o[0]["reason"] = r["reason"]
    step(ctx, ks, slot, kind, kind)
    return int(slot)


@numba.njit(cache=True, inline="always")
def _schedule_scan(ks: Any, dl: int) -> None:
    """Have the stuck scan run by ``dl``, rounded up to a sixteenth of the order timeout.

    The scan walks the whole order table; with one deadline per order it would run once per
    order. Rounding batches the deadlines that fall in one grain into one scan, at the price
    of flagging a stuck order up to 1/16 of its timeout late.
    """
    g = max(ks.kp[KP_ORDER_TIMEOUT] >> 4, 1)
    t = (dl + g - 1) // g * g
    if t < ks.kc[KC_MIN_DEADLINE]:
        ks.kc[KC_MIN_DEADLINE] = t


@numba.njit(cache=True)
def scan_stuck(ctx: Any, ks: Any, now: int) -> None:
    """Flag live orders past their deadline (once each) and recompute the earliest deadline."""
    orders = ctx.orders
    nxt = NO_DEADLINE
    for k in range(orders.shape[0]):
        st = orders[k]["state"]
        if not is_live(st):
            continue
        dl = orders[k]["deadline"]
        if orders[k]["stuck"] != 0 or dl == NO_DEADLINE:
            continue
        if dl <= now:
            orders[k]["stuck"] = 1
            ctx.control[0]["stuck_orders"] += 1
            record_event(
                ctx,
                EV_STUCK,
                st,
                KERNEL_COMPONENT,
                orders[k]["client_id"],
                orders[k]["venue"],
                orders[k]["symbol"],
                float(now - dl),
                float(ks.kp[KP_ORDER_TIMEOUT]),
            )
        elif dl < nxt:
            nxt = dl
    ks.kc[KC_MIN_DEADLINE] = NO_DEADLINE
    if nxt != NO_DEADLINE:
        _schedule_scan(ks, nxt)
