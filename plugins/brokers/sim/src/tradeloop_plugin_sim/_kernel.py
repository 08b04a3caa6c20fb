"""The simulated venue's compiled entry points: ``on_intent``, ``on_tick`` and ``flush``.

Venue time is tick time (``ts_exch``, or ``ts_recv`` when a source leaves it 0), never the
wall clock, so a backtest and a paper session over the same ticks and latencies produce the
same reports. An intent created at ``ts`` arrives at ``ts + latency_ns`` and is handled
before the first tick stamped at or after that time (against the book as it stood); every
report is released ``report_latency_ns`` after the venue event that made it. Both wait in
FIFO rings, which are time-ordered because latencies are constant and arrivals are clamped
to be non-decreasing.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ._layout import (
    B_ASK,
    B_ASK_SIZE,
    B_BID,
    B_BID_SIZE,
    B_LAST,
    C_DEAD,
    C_NEXT_VOI,
    C_NLIVE,
    C_NOW,
    C_ORDERS_FULL,
    C_PI_HEAD,
    C_PI_TAIL,
    C_QUEUE_FULL,
    C_REJECTS,
    C_RI_HEAD,
    C_RI_TAIL,
    C_SEEDED,
    F_FILLED,
    F_HOLD_UNIT,
    F_LEAVES,
    F_PRICE,
    F_QTY,
    F_STOP,
    I_CID,
    I_QCUR,
    I_RESTING,
    I_SIDE,
    I_SYMBOL,
    I_TIF,
    I_TRIGGERED,
    I_TS,
    I_TYPE,
    I_VENUE,
    I_VOI,
    PF_PRICE,
    PF_QTY,
    PF_STOP,
    PI_ACTION,
    PI_ARRIVAL,
    PI_CID,
    PI_SIDE,
    PI_SYMBOL,
    PI_TARGET,
    PI_TIF,
    PI_TS,
    PI_TYPE,
    PI_VENUE,
)
from ._match import STOP, on_quote, on_trade, rest, stop_triggered, take
from ._orders import (
    BUY,
    DEAD,
    EPS,
    append,
    compact,
    deliver_due,
    emit,
    find,
    finish,
    move_to_end,
    release_hold,
    seen_before,
    snap,
)

MARKET = 1
LIMIT = 2
POST_ONLY = 4
A_NEW = 1
A_CANCEL = 2
A_REPLACE = 3
K_ACK = 1
K_CANCELED = 4
K_REJECTED = 5
K_REPLACED = 7
QUOTE = 1
TRADE = 2
BAR = 3
R_INSUFFICIENT_BALANCE = 1
R_INVALID_SYMBOL = 2
R_PRICE_PRECISION = 3
R_SIZE_PRECISION = 4
R_MIN_SIZE = 5
R_MAX_SIZE = 6
R_RATE_LIMIT = 7
R_MARKET_CLOSED = 8
R_PRICE_BAND = 9
R_DUPLICATE = 10
R_VENUE_POLICY = 11
R_MIN_NOTIONAL = 13
R_POST_ONLY = 14
R_UNKNOWN_ORDER = 28
R_NO_LIQUIDITY = 30
DAY_NS = 86_400_000_000_000


@numba.njit(cache=True, inline="always")
def _off_grid(x: float, step: float) -> bool:
    if step <= 0.0:
        return False
    k = np.round(x / step)
    return abs(x - k * step) > step * 1e-6


@numba.njit(cache=True)
def _ref_price(st: Any, v: int, s: int, side: int) -> float:
    """What a market order of ``side`` would pay now: the opposite touch, else the last trade."""
    px = st.book[v, s, B_ASK] if side == BUY else st.book[v, s, B_BID]
    return st.book[v, s, B_LAST] if np.isnan(px) else px


@numba.njit(cache=True)
def _check_prices(
    st: Any, ctx: Any, v: int, s: int, side: int, otype: int, tif: int, qty: float,
    price: float, stop: float, now: int,
) -> int:
    """Precision, size, band, notional and post-only rules; 0 when the order passes."""
    sp = ctx.specs[v, s]
    if sp["open_ns"] != sp["close_ns"]:
        t = now % DAY_NS
        opn, cls = sp["open_ns"], sp["close_ns"]
        inside = (opn <= t < cls) if opn < cls else (t >= opn or t < cls)
        if not inside:
            return R_MARKET_CLOSED
    if not qty > 0.0 or _off_grid(qty, sp["lot_step"]):
        return R_SIZE_PRECISION
    if qty < sp["min_qty"] - EPS:
        return R_MIN_SIZE
    if sp["max_qty"] > 0.0 and qty > sp["max_qty"] + EPS:
        return R_MAX_SIZE
    limit = otype == LIMIT or (otype == STOP and not np.isnan(price))
    if limit and (not np.isfinite(price) or price <= 0.0 or _off_grid(price, sp["tick_size"])):
        return R_PRICE_PRECISION
    if otype == STOP and (not np.isfinite(stop) or stop <= 0.0 or _off_grid(stop, sp["tick_size"])):
        return R_PRICE_PRECISION
    m = 0.5 * (st.book[v, s, B_BID] + st.book[v, s, B_ASK])
    if (sp["band_bps"] > 0.0 and limit and not np.isnan(m)
            and abs(price - m) / m * 1e4 > sp["band_bps"] + 1e-9):
        return R_PRICE_BAND
    ref = price if limit else (stop if otype == STOP else _ref_price(st, v, s, side))
    if sp["min_notional"] > 0.0 and not np.isnan(ref) and qty * ref < sp["min_notional"] - EPS:
        return R_MIN_NOTIONAL
    if tif == POST_ONLY and otype == LIMIT:
        opp = st.book[v, s, B_ASK] if side == BUY else st.book[v, s, B_BID]
        if not np.isnan(opp) and ((side == BUY and price >= opp) or (side != BUY and price <= opp)):
            return R_POST_ONLY
    return 0


@numba.njit(cache=True)
def _hold_unit(st: Any, ctx: Any, v: int, s: int, side: int, otype: int, price: float,
               stop: float) -> float:
    """Cash a buy holds per unit: its limit (or trigger, or reference) price plus the fee."""
    if side != BUY:
        return 1.0
    sp = ctx.specs[v, s]
    px = price if not np.isnan(price) else (stop if otype == STOP else _ref_price(st, v, s, BUY))
    return snap(px * (1.0 + max(sp["maker_fee"], sp["taker_fee"], 0.0)))


@numba.njit(cache=True)
def _afford(params: Any, st: Any, ctx: Any, v: int, s: int, side: int, extra: float,
            unit: float) -> bool:
    """Whether the account can hold ``extra`` more units of an order of ``side``."""
    if params[0]["check_balance"] == 0 or extra <= 0.0:
        return True
    if side == BUY:
        q = ctx.specs[v, s]["quote"]
        return st.cash[v, q] - st.held_cash[v, q] >= extra * unit - 1e-9
    if params[0]["allow_short"] != 0:
        return True
    return st.pos[v, s] - st.held_pos[v, s] >= extra - EPS


@numba.njit(cache=True)
def _hold(params: Any, st: Any, ctx: Any, r: int, extra: float) -> None:
    v = st.oi[r, I_VENUE]
    if st.oi[r, I_SIDE] == BUY:
        q = st.oi[r, I_QCUR]
        st.held_cash[v, q] = snap(st.held_cash[v, q] + extra * st.of[r, F_HOLD_UNIT])
    elif params[0]["allow_short"] == 0:
        st.held_pos[v, st.oi[r, I_SYMBOL]] += extra


@numba.njit(cache=True)
def _reject(params: Any, st: Any, ctx: Any, cid: int, v: int, s: int, side: int, reason: int,
            leaves: float, ts: int) -> None:
    st.ctr[C_REJECTS] += 1
    emit(params, st, ctx, K_REJECTED, cid, 0, v, s, side, 0.0, 0.0, 0.0, leaves, 0, reason, ts)


@numba.njit(cache=True)
def _arrive_new(params: Any, st: Any, ctx: Any, ts: int, cid: int, v: int, s: int, side: int,
                otype: int, tif: int, qty: float, price: float, stop: float) -> None:
    if v >= ctx.specs.shape[0] or s >= ctx.specs.shape[1] or ctx.specs[v, s]["active"] == 0:
        _reject(params, st, ctx, cid, v, s, side, R_INVALID_SYMBOL, 0.0, ts)
        return
    if seen_before(st, cid):
        _reject(params, st, ctx, cid, v, s, side, R_DUPLICATE, 0.0, ts)
        return
    sp = ctx.specs[v, s]
    bad_kind = (side != BUY and side != 2) or otype < MARKET or otype > STOP or tif < 1 or tif > 4
    if sp["shadow_only"] != 0 or bad_kind:
        _reject(params, st, ctx, cid, v, s, side, R_VENUE_POLICY, 0.0, ts)
        return
    types, tifs = sp["order_types"], sp["tifs"]
    if (types != 0 and not (types >> otype) & 1) or (tifs != 0 and not (tifs >> tif) & 1):
        _reject(params, st, ctx, cid, v, s, side, R_VENUE_POLICY, 0.0, ts)
        return
    if tif == POST_ONLY and otype != LIMIT:
        _reject(params, st, ctx, cid, v, s, side, R_VENUE_POLICY, 0.0, ts)
        return
    reason = _check_prices(st, ctx, v, s, side, otype, tif, qty, price, stop, ts)
    if reason == 0 and otype == MARKET and np.isnan(_ref_price(st, v, s, side)):
        reason = R_NO_LIQUIDITY
    unit = _hold_unit(st, ctx, v, s, side, otype, price, stop)
    if reason == 0 and not _afford(params, st, ctx, v, s, side, qty, unit):
        reason = R_INSUFFICIENT_BALANCE
    if reason != 0:
        _reject(params, st, ctx, cid, v, s, side, reason, 0.0, ts)
        return
    r = append(st)
    if r < 0:
        st.ctr[C_ORDERS_FULL] += 1
        _reject(params, st, ctx, cid, v, s, side, R_RATE_LIMIT, 0.0, ts)
        return
    st.of[r, F_QTY] = qty
    st.of[r, F_LEAVES] = qty
    st.of[r, F_PRICE] = price if otype != MARKET else np.nan
    st.of[r, F_STOP] = stop if otype == STOP else np.nan
    st.of[r, F_HOLD_UNIT] = unit
    st.oi[r, I_CID] = cid
    st.oi[r, I_VOI] = st.ctr[C_NEXT_VOI]
    st.ctr[C_NEXT_VOI] += 1
    st.oi[r, I_VENUE] = v
    st.oi[r, I_SYMBOL] = s
    st.oi[r, I_SIDE] = side
    st.oi[r, I_TYPE] = otype
    st.oi[r, I_TIF] = tif
    st.oi[r, I_TS] = ts
    st.oi[r, I_QCUR] = sp["quote"]
    _hold(params, st, ctx, r, qty)
    emit(params, st, ctx, K_ACK, cid, st.oi[r, I_VOI], v, s, side, 0.0, 0.0, 0.0, qty, 0, 0, ts)
    if otype == STOP:
        bid, ask = st.book[v, s, B_BID], st.book[v, s, B_ASK]
        if not stop_triggered(st, r, ask, bid):
            return  # waits, off the book, for its trigger
        st.oi[r, I_TRIGGERED] = 1
    if tif == POST_ONLY:
        rest(st, r)
    else:
        take(params, st, ctx, r, ts, True)


@numba.njit(cache=True)
def _arrive_cancel(params: Any, st: Any, ctx: Any, ts: int, target: int, v: int, s: int,
                   side: int) -> None:
    r = find(st, target)
    if r < 0:
        _reject(params, st, ctx, target, v, s, side, R_UNKNOWN_ORDER, 0.0, ts)
        return
    emit(params, st, ctx, K_CANCELED, target, st.oi[r, I_VOI], st.oi[r, I_VENUE],
         st.oi[r, I_SYMBOL], st.oi[r, I_SIDE], 0.0, 0.0, 0.0, 0.0, 0, 0, ts)
    finish(params, st, r)


@numba.njit(cache=True)
def _arrive_replace(params: Any, st: Any, ctx: Any, ts: int, target: int, v: int, s: int,
                    side: int, qty: float, price: float) -> None:
    r = find(st, target)
    if r < 0:
        _reject(params, st, ctx, target, v, s, side, R_UNKNOWN_ORDER, 0.0, ts)
        return
    v, s, side = st.oi[r, I_VENUE], st.oi[r, I_SYMBOL], st.oi[r, I_SIDE]
    otype, tif = st.oi[r, I_TYPE], st.oi[r, I_TIF]
    old_leaves = st.of[r, F_LEAVES]
    filled = st.of[r, F_FILLED]
    if otype == MARKET or np.isnan(price):
        price = st.of[r, F_PRICE]
    reason = 0
    if otype == MARKET or qty <= filled + EPS:
        reason = R_VENUE_POLICY
    if reason == 0:
        reason = _check_prices(st, ctx, v, s, side, otype, tif, qty, price, st.of[r, F_STOP], ts)
    new_leaves = qty - filled
    unit = _hold_unit(st, ctx, v, s, side, otype, price, st.of[r, F_STOP])
    if reason == 0 and side == BUY:
        # the whole new hold must fit beside what the order already holds
        freed = old_leaves * st.of[r, F_HOLD_UNIT]
        need = new_leaves * unit - freed
        if need > 0.0 and not _afford(params, st, ctx, v, s, side, need, 1.0):
            reason = R_INSUFFICIENT_BALANCE
    elif reason == 0 and not _afford(params, st, ctx, v, s, side, new_leaves - old_leaves, 1.0):
        reason = R_INSUFFICIENT_BALANCE
    if reason != 0:
        # the order stays live: leaves_qty > 0 says the refusal concerns the request only
        _reject(params, st, ctx, target, v, s, side, reason, old_leaves, ts)
        return
    release_hold(params, st, r)  # give back the old hold, then take the new one
    loses = price != st.of[r, F_PRICE] or new_leaves > old_leaves + EPS
    st.of[r, F_QTY] = qty
    st.of[r, F_LEAVES] = new_leaves
    st.of[r, F_PRICE] = price
    st.of[r, F_HOLD_UNIT] = unit
    _hold(params, st, ctx, r, new_leaves)
    if loses:
        r = move_to_end(st, r)
    emit(params, st, ctx, K_REPLACED, target, st.oi[r, I_VOI], v, s, side, 0.0, price, 0.0,
         new_leaves, 0, 0, ts)
    if otype == STOP and st.oi[r, I_TRIGGERED] == 0:
        return
    if loses and st.oi[r, I_RESTING] == 1:
        st.oi[r, I_RESTING] = 0
        if tif == POST_ONLY:
            rest(st, r)
        else:
            take(params, st, ctx, r, ts, False)


@numba.njit(cache=True)
def arrive(params: Any, st: Any, ctx: Any, ts: int, action: int, cid: int, target: int, v: int,
           s: int, side: int, otype: int, tif: int, qty: float, price: float,
           stop: float) -> None:
    """Handle one request at the venue at time ``ts``."""
    if ts > st.ctr[C_NOW]:
        st.ctr[C_NOW] = ts
    if action == A_NEW:
        _arrive_new(params, st, ctx, ts, cid, v, s, side, otype, tif, qty, price, stop)
    elif action == A_CANCEL:
        _arrive_cancel(params, st, ctx, ts, target if target != 0 else cid, v, s, side)
    elif action == A_REPLACE:
        _arrive_replace(params, st, ctx, ts, target if target != 0 else cid, v, s, side, qty,
                        price)
    compact(st)


@numba.njit(cache=True)
def _process_arrivals(params: Any, st: Any, ctx: Any, now: int) -> None:
    cap = st.pi.shape[0]
    while st.ctr[C_PI_HEAD] < st.ctr[C_PI_TAIL]:
        k = st.ctr[C_PI_HEAD] % cap
        t = st.pi[k, PI_ARRIVAL]
        if t > now:
            break
        st.ctr[C_PI_HEAD] += 1
        arrive(params, st, ctx, t, st.pi[k, PI_ACTION], st.pi[k, PI_CID], st.pi[k, PI_TARGET],
               st.pi[k, PI_VENUE], st.pi[k, PI_SYMBOL], st.pi[k, PI_SIDE], st.pi[k, PI_TYPE],
               st.pi[k, PI_TIF], st.pf[k, PF_QTY], st.pf[k, PF_PRICE], st.pf[k, PF_STOP])


@numba.njit(cache=True)
def _seed(params: Any, st: Any, ctx: Any) -> None:
    """Take the starting account from the kernel's ledger (backtest cash from the config)."""
    st.ctr[C_SEEDED] = 1
    if params[0]["seed_from_ctx"] == 0:
        return
    for v in range(st.handles.shape[0]):
        if st.handles[v] == 0:
            continue
        for c in range(st.cash.shape[1]):
            st.cash[v, c] = ctx.cash[v, c]
        for s in range(st.pos.shape[1]):
            st.pos[v, s] = ctx.positions[v, s]["qty"]


@numba.njit(cache=True)
def on_intent(params: Any, st: Any, ctx: Any, i: int) -> None:
    """Venue kernel: take ``ctx.intents[i]``; handled now, or queued for its arrival time."""
    if st.ctr[C_SEEDED] == 0:
        _seed(params, st, ctx)
    it = ctx.intents[i]
    v = it["venue"]
    if v < st.handles.shape[0] and st.handles[v] == 0:
        return  # another venue component simulates this venue
    if it["reason"] != 0:
        return  # refused by a guard: it never leaves the engine
    ts = max(it["ts"], ctx.control[0]["now_ns"])
    lat = params[0]["latency_ns"]
    # The intent's small integer fields go in as int64, the type the arrival queue holds:
    # arrive and _reject then have one signature each, not two (the arrive chain is the
    # venue's largest compile, ~12 s a signature).
    if lat == 0 and st.ctr[C_PI_HEAD] == st.ctr[C_PI_TAIL]:
        arrive(params, st, ctx, max(ts, st.ctr[C_NOW]), np.int64(it["action"]),
               it["client_id"], it["target_id"], np.int64(v), np.int64(it["symbol"]),
               np.int64(it["side"]), np.int64(it["type"]), np.int64(it["tif"]), it["qty"],
               it["price"], it["stop_price"])
        deliver_due(st, ctx, st.ctr[C_NOW])
        return
    cap = st.pi.shape[0]
    head, tail = st.ctr[C_PI_HEAD], st.ctr[C_PI_TAIL]
    if tail - head >= cap:
        st.ctr[C_QUEUE_FULL] += 1
        _reject(params, st, ctx, it["client_id"], np.int64(v), np.int64(it["symbol"]),
                np.int64(it["side"]), R_RATE_LIMIT, 0.0, ts)
        deliver_due(st, ctx, st.ctr[C_NOW])
        return
    arrival = ts + lat
    if tail > head:
        arrival = max(arrival, st.pi[(tail - 1) % cap, PI_ARRIVAL])
    k = tail % cap
    st.pi[k, PI_ARRIVAL] = arrival
    st.pi[k, PI_TS] = it["ts"]
    st.pi[k, PI_CID] = it["client_id"]
    st.pi[k, PI_TARGET] = it["target_id"]
    st.pi[k, PI_VENUE] = v
    st.pi[k, PI_SYMBOL] = it["symbol"]
    st.pi[k, PI_SIDE] = it["side"]
    st.pi[k, PI_TYPE] = it["type"]
    st.pi[k, PI_TIF] = it["tif"]
    st.pi[k, PI_ACTION] = it["action"]
    st.pf[k, PF_QTY] = it["qty"]
    st.pf[k, PF_PRICE] = it["price"]
    st.pf[k, PF_STOP] = it["stop_price"]
    st.ctr[C_PI_TAIL] = tail + 1


# Inlined into _tick_full: an out-of-line call passes every array of the venue's state and
# of the Context, and on a tick with quotes resting that cost more than the work it does.
@numba.njit(cache=True, inline="always")
def _apply_tick(params: Any, st: Any, ctx: Any, tick: Any, now: int) -> None:
    v = tick["venue"]
    s = tick["symbol"]
    kind = tick["kind"]
    b = st.book
    if kind == QUOTE:
        pb, pbs, pa, pas = b[v, s, B_BID], b[v, s, B_BID_SIZE], b[v, s, B_ASK], b[v, s, B_ASK_SIZE]
        b[v, s, B_BID] = tick["bid"]
        b[v, s, B_ASK] = tick["ask"]
        b[v, s, B_BID_SIZE] = tick["bid_size"]
        b[v, s, B_ASK_SIZE] = tick["ask_size"]
        if st.ctr[C_NLIVE] > 0:
            on_quote(params, st, ctx, v, s, pb, pbs, pa, pas, now)
        return
    price = tick["price"]
    size = tick["size"]
    if np.isnan(price):
        return
    b[v, s, B_LAST] = price
    if kind == BAR:
        # a bar is all a bar-only source knows: quote the close both ways with the volume
        pb, pbs, pa, pas = b[v, s, B_BID], b[v, s, B_BID_SIZE], b[v, s, B_ASK], b[v, s, B_ASK_SIZE]
        b[v, s, B_BID] = price
        b[v, s, B_ASK] = price
        b[v, s, B_BID_SIZE] = size
        b[v, s, B_ASK_SIZE] = size
        if st.ctr[C_NLIVE] > 0:
            on_quote(params, st, ctx, v, s, pb, pbs, pa, pas, now)
        return
    if st.ctr[C_NLIVE] > 0:
        on_trade(params, st, ctx, v, s, price, size, tick["side"], now)
    # the printed volume left the displayed queue at that price
    if price == b[v, s, B_BID]:
        b[v, s, B_BID_SIZE] = max(0.0, b[v, s, B_BID_SIZE] - size)
    if price == b[v, s, B_ASK]:
        b[v, s, B_ASK_SIZE] = max(0.0, b[v, s, B_ASK_SIZE] - size)


@numba.njit(cache=True)
def _tick_full(params: Any, st: Any, ctx: Any, tick: Any) -> None:
    """The whole tick: arrivals due by now, the tick and its matching, then due reports."""
    if st.ctr[C_SEEDED] == 0:
        _seed(params, st, ctx)
    v = tick["venue"]
    if v >= st.handles.shape[0] or st.handles[v] == 0:
        return
    now = tick["ts_exch"]
    if now == 0:
        now = tick["ts_recv"]
    if st.ctr[C_PI_HEAD] != st.ctr[C_PI_TAIL]:
        _process_arrivals(params, st, ctx, now)
    if now > st.ctr[C_NOW]:
        st.ctr[C_NOW] = now
    _apply_tick(params, st, ctx, tick, now)
    if st.ctr[C_NLIVE] > 0 and st.ctr[C_DEAD] != 0:
        compact(st)
    if st.ctr[C_RI_HEAD] != st.ctr[C_RI_TAIL]:  # tested here: a call to learn "none" costs more
        deliver_due(st, ctx, now)


@numba.njit(cache=True, inline="always")
def on_tick(params: Any, st: Any, ctx: Any, tick: Any) -> None:
    """Venue kernel: arrivals due by this tick, then the tick itself, then due reports.

    Inlined into the caller: when nothing is pending or live it only copies the quote into
    the venue's book, with no call at all (it runs on every tick of a backtest).
    """
    ctr = st.ctr
    if (ctr[C_NLIVE] != 0 or ctr[C_PI_HEAD] != ctr[C_PI_TAIL] or ctr[C_RI_HEAD] != ctr[C_RI_TAIL]
            or ctr[C_SEEDED] == 0):
        _tick_full(params, st, ctx, tick)
        return
    v = tick["venue"]
    if v >= st.handles.shape[0] or st.handles[v] == 0:
        return
    now = tick["ts_exch"]
    if now == 0:
        now = tick["ts_recv"]
    if now > ctr[C_NOW]:
        ctr[C_NOW] = now
    s = tick["symbol"]
    b = st.book
    kind = tick["kind"]
    if kind == QUOTE:
        b[v, s, B_BID] = tick["bid"]
        b[v, s, B_ASK] = tick["ask"]
        b[v, s, B_BID_SIZE] = tick["bid_size"]
        b[v, s, B_ASK_SIZE] = tick["ask_size"]
        return
    price = tick["price"]
    if np.isnan(price):
        return
    size = tick["size"]
    b[v, s, B_LAST] = price
    if kind == BAR:
        b[v, s, B_BID] = price
        b[v, s, B_ASK] = price
        b[v, s, B_BID_SIZE] = size
        b[v, s, B_ASK_SIZE] = size
        return
    if price == b[v, s, B_BID]:
        b[v, s, B_BID_SIZE] = max(0.0, b[v, s, B_BID_SIZE] - size)
    if price == b[v, s, B_ASK]:
        b[v, s, B_ASK_SIZE] = max(0.0, b[v, s, B_ASK_SIZE] - size)


@numba.njit(cache=True)
def flush(params: Any, st: Any, ctx: Any, now: int) -> None:
    """Advance venue time to ``now`` with no tick: arrivals, then reports due by then."""
    if st.ctr[C_PI_HEAD] != st.ctr[C_PI_TAIL]:
        _process_arrivals(params, st, ctx, now)
    if now > st.ctr[C_NOW]:
        st.ctr[C_NOW] = now
    deliver_due(st, ctx, now)


@numba.njit(cache=True)
def live_count(st: Any) -> int:
    """Live orders at the venue (excluding dead rows awaiting compaction)."""
    n = 0
    for r in range(st.ctr[C_NLIVE]):
        if st.oi[r, I_RESTING] != DEAD:
            n += 1
    return n
