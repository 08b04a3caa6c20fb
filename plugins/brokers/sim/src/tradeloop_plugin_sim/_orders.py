"""Compiled bookkeeping of the simulated venue: reports queue, order table, dedup set, fills.

The live-order table keeps rows in time-priority order (rows 0..n-1, earliest first):
appends go to the end and removal compacts stably, so iterating rows is iterating by
priority. Finished rows are marked dead (``I_RESTING = DEAD``) while a tick is processed and
compacted once at the end, so loops never see rows move under them.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from tradeloop_sdk import report

from ._layout import (
    C_DEAD,
    C_FILLS,
    C_MAX_CID,
    C_NEXT_PRIO,
    C_NLIVE,
    C_RI_HEAD,
    C_RI_TAIL,
    C_SEEN,
    C_SEEN_FLOOR,
    EMPTY,
    F_FILLED,
    F_HOLD_UNIT,
    F_LEAVES,
    F_NOTIONAL,
    I_CID,
    I_PRIO,
    I_QCUR,
    I_RESTING,
    I_SIDE,
    I_SYMBOL,
    I_VENUE,
    I_VOI,
    N_OF,
    N_OI,
    RF_FEE,
    RF_LEAVES,
    RF_PRICE,
    RF_QTY,
    RI_CID,
    RI_KIND,
    RI_LIQ,
    RI_REASON,
    RI_RELEASE,
    RI_SIDE,
    RI_SYMBOL,
    RI_TS,
    RI_VENUE,
    RI_VOI,
)

BUY = 1
SELL = 2
MAKER = 1
TAKER = 2
K_PARTIAL = 2
K_FILL = 3
DEAD = -1
#: Quantities and money are snapped to this many decimals so float noise (1e-17) never
#: reaches a report or a balance.
QDEC = 10
EPS = 1e-9


@numba.njit(cache=True, inline="always")
def snap(x: float) -> float:
    """Round a quantity to QDEC decimals (removes float noise of sums and differences)."""
    return np.round(x, QDEC)


@numba.njit(cache=True, inline="always")
def floor_lot(x: float, lot: float) -> float:
    """Largest multiple of ``lot`` not above ``x`` (``x`` itself when there is no lot)."""
    if lot <= 0.0:
        return snap(x)
    return snap(np.floor(x / lot + EPS) * lot)


@numba.njit(cache=True)
def emit(
    params: Any, st: Any, ctx: Any, kind: int, cid: int, voi: int, v: int, s: int, side: int,
    qty: float, price: float, fee: float, leaves: float, liq: int, reason: int, ts: int,
) -> None:
    """Queue a report for release at ``ts + report_latency_ns`` (never dropped)."""
    cap = st.ri.shape[0]
    if st.ctr[C_RI_TAIL] - st.ctr[C_RI_HEAD] >= cap:
        # The ring is full: deliver the oldest early rather than lose anything.
        _deliver(st, ctx, np.iinfo(np.int64).max, 1)
    t = st.ctr[C_RI_TAIL]
    k = t % cap
    st.ri[k, RI_RELEASE] = ts + params[0]["report_latency_ns"]
    st.ri[k, RI_TS] = ts
    st.ri[k, RI_CID] = cid
    st.ri[k, RI_VOI] = voi
    st.ri[k, RI_VENUE] = v
    st.ri[k, RI_SYMBOL] = s
    st.ri[k, RI_KIND] = kind
    st.ri[k, RI_SIDE] = side
    st.ri[k, RI_LIQ] = liq
    st.ri[k, RI_REASON] = reason
    st.rf[k, RF_QTY] = qty
    st.rf[k, RF_PRICE] = price
    st.rf[k, RF_FEE] = fee
    st.rf[k, RF_LEAVES] = leaves
    st.ctr[C_RI_TAIL] = t + 1


@numba.njit(cache=True)
def _deliver(st: Any, ctx: Any, now: int, limit: int) -> int:
    cap = st.ri.shape[0]
    n = 0
    while st.ctr[C_RI_HEAD] < st.ctr[C_RI_TAIL] and n < limit:
        k = st.ctr[C_RI_HEAD] % cap
        if st.ri[k, RI_RELEASE] > now:
            break
        j = report(
            ctx, st.ri[k, RI_KIND], st.ri[k, RI_CID], st.ri[k, RI_VENUE], st.ri[k, RI_SYMBOL],
            st.ri[k, RI_SIDE], st.rf[k, RF_QTY], st.rf[k, RF_PRICE], st.rf[k, RF_FEE],
            st.rf[k, RF_LEAVES], st.ri[k, RI_LIQ], st.ri[k, RI_REASON], st.ri[k, RI_VOI],
            st.ri[k, RI_TS],
        )
        if j < 0:
            break  # ctx.reports is full this iteration: keep the rest queued
        st.ctr[C_RI_HEAD] += 1
        n += 1
    return n


@numba.njit(cache=True)
def deliver_due(st: Any, ctx: Any, now: int) -> int:
    """Move queued reports whose release time has come into ``ctx.reports``."""
    if st.ctr[C_RI_HEAD] == st.ctr[C_RI_TAIL]:
        return 0
    return _deliver(st, ctx, now, np.iinfo(np.int64).max)


# --- client-id dedup: open addressing, recycled into a watermark when half full ---


@numba.njit(cache=True)
def seen_before(st: Any, cid: int) -> bool:
    """Record ``cid``; True if it was already used (it must then be refused)."""
    if cid <= st.ctr[C_SEEN_FLOOR]:
        return True
    mask = st.seen.shape[0] - 1
    h = cid & mask
    while st.seen[h] != EMPTY:
        if st.seen[h] == cid:
            return True
        h = (h + 1) & mask
    if st.ctr[C_SEEN] + 1 > (mask + 1) // 2:
        # Full enough: forget the set, remember the largest id; monotonic ids stay exact.
        st.seen[:] = EMPTY
        st.ctr[C_SEEN] = 0
        st.ctr[C_SEEN_FLOOR] = st.ctr[C_MAX_CID]
        h = cid & mask
    st.seen[h] = cid
    st.ctr[C_SEEN] += 1
    if cid > st.ctr[C_MAX_CID]:
        st.ctr[C_MAX_CID] = cid
    return False


# --- order table ---


@numba.njit(cache=True)
def find(st: Any, cid: int) -> int:
    """Row of live order ``cid``, or -1."""
    for r in range(st.ctr[C_NLIVE]):
        if st.oi[r, I_CID] == cid and st.oi[r, I_RESTING] != DEAD:
            return r
    return -1


@numba.njit(cache=True)
def append(st: Any) -> int:
    """A fresh row at the end (lowest priority), or -1 when the table is full."""
    n = st.ctr[C_NLIVE]
    if n >= st.oi.shape[0]:
        return -1
    st.ctr[C_NLIVE] = n + 1
    st.of[n, :] = 0.0
    st.oi[n, :] = 0
    st.oi[n, I_PRIO] = st.ctr[C_NEXT_PRIO]
    st.ctr[C_NEXT_PRIO] += 1
    return n


@numba.njit(cache=True)
def move_to_end(st: Any, r: int) -> int:
    """Give row ``r`` the lowest priority (a replace that loses its place); returns its new row."""
    # Rotated column by column: no temporary row to allocate, and no slice assignment,
    # whose shape check alone took ~4 s of the venue's first compile.
    n = st.ctr[C_NLIVE]
    of, oi = st.of, st.oi
    for c in range(of.shape[1]):
        tf = of[r, c]
        for k in range(r, n - 1):
            of[k, c] = of[k + 1, c]
        of[n - 1, c] = tf
    for c in range(oi.shape[1]):
        ti = oi[r, c]
        for k in range(r, n - 1):
            oi[k, c] = oi[k + 1, c]
        oi[n - 1, c] = ti
    st.oi[n - 1, I_PRIO] = st.ctr[C_NEXT_PRIO]
    st.ctr[C_NEXT_PRIO] += 1
    return n - 1


@numba.njit(cache=True)
def compact(st: Any) -> None:
    """Drop dead rows, keeping priority order."""
    if st.ctr[C_DEAD] == 0:
        return
    st.ctr[C_DEAD] = 0
    n = st.ctr[C_NLIVE]
    w = 0
    for r in range(n):
        if st.oi[r, I_RESTING] == DEAD:
            continue
        if w != r:
            for c in range(N_OF):
                st.of[w, c] = st.of[r, c]
            for c in range(N_OI):
                st.oi[w, c] = st.oi[r, c]
        w += 1
    st.ctr[C_NLIVE] = w


@numba.njit(cache=True)
def release_hold(params: Any, st: Any, r: int) -> None:
    """Give back what order row ``r`` still holds (it is finishing)."""
    leaves = st.of[r, F_LEAVES]
    v = st.oi[r, I_VENUE]
    if st.oi[r, I_SIDE] == BUY:
        q = st.oi[r, I_QCUR]
        st.held_cash[v, q] = snap(max(0.0, st.held_cash[v, q] - leaves * st.of[r, F_HOLD_UNIT]))
    elif params[0]["allow_short"] == 0:
        s = st.oi[r, I_SYMBOL]
        st.held_pos[v, s] = max(0.0, st.held_pos[v, s] - leaves)


@numba.njit(cache=True)
def finish(params: Any, st: Any, r: int) -> None:
    """Release row ``r``'s hold and mark it dead (compacted later)."""
    release_hold(params, st, r)
    st.of[r, F_LEAVES] = 0.0
    st.oi[r, I_RESTING] = DEAD
    st.ctr[C_DEAD] += 1


@numba.njit(cache=True)
def fill(
    params: Any, st: Any, ctx: Any, r: int, qty: float, price: float, liq: int, ts: int
) -> None:
    """Execute ``qty`` of row ``r`` at ``price``: account, fee, report; finish it if done."""
    v = st.oi[r, I_VENUE]
    s = st.oi[r, I_SYMBOL]
    side = st.oi[r, I_SIDE]
    sp = ctx.specs[v, s]
    rate = sp["maker_fee"] if liq == MAKER else sp["taker_fee"]
    notional = snap(qty * price)
    fee = snap(notional * rate)
    q = st.oi[r, I_QCUR]
    if side == BUY:
        st.cash[v, q] = snap(st.cash[v, q] - (notional + fee))
        st.pos[v, s] = snap(st.pos[v, s] + qty)
        st.held_cash[v, q] = snap(max(0.0, st.held_cash[v, q] - qty * st.of[r, F_HOLD_UNIT]))
    else:
        st.cash[v, q] = snap(st.cash[v, q] + (notional - fee))
        st.pos[v, s] = snap(st.pos[v, s] - qty)
        if params[0]["allow_short"] == 0:
            st.held_pos[v, s] = max(0.0, st.held_pos[v, s] - qty)
    leaves = snap(st.of[r, F_LEAVES] - qty)
    if leaves <= EPS:
        leaves = 0.0
    st.of[r, F_LEAVES] = leaves
    st.of[r, F_FILLED] = snap(st.of[r, F_FILLED] + qty)
    st.of[r, F_NOTIONAL] += notional
    st.ctr[C_FILLS] += 1
    kind = K_FILL if leaves == 0.0 else K_PARTIAL
    emit(params, st, ctx, kind, st.oi[r, I_CID], st.oi[r, I_VOI], v, s, side, qty, price, fee,
         leaves, liq, 0, ts)
    if leaves == 0.0:
        finish(params, st, r)
