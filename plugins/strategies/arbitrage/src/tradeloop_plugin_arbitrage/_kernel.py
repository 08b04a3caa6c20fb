"""Compiled cross-venue arbitrage kernel.

Watches one symbol on N venues. When the best bid on one venue exceeds the best ask on
another by more than both legs' taker fees plus ``threshold_bps`` of the mid, it sends two
IOC limit orders at those touches, sized to the smaller of the two books (and to the
position limit). While the legs are in flight nothing new is opened, and the same pair is
not traded again until both of its books have updated (the quotes it took are gone).
When both legs are done, any difference between their fills is hedged with a market order
on the venue with the best price for it; what a hedge leaves unfilled is hedged again on a
later tick, up to ``max_hedges`` attempts.

``params`` is a tuple ``(record_array, venue_ids)``. State layout (float64)::

    [0] phase (0 idle, 1 legs in flight)  [1] buy cid  [2] sell cid  [3] buy venue
    [4] sell venue  [5] submit ts (ns)  [6] leg qty  [7] arbs opened  [8] hedges sent
    [9] hedge cid in flight  [10] last net edge seen (price units)  [11] hedged qty (signed)
    [12] residual to hedge (signed)  [13] hedge submit ts  [14] hedge attempts
    [15], [16] tick counts of the last pair's ask and bid books when it fired
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from tradeloop_sdk import (
    TAINTED,
    OrderState,
    OrderType,
    Side,
    TimeInForce,
    is_tainted,
    order_filled,
    round_to_lot,
    submit,
)

(S_PHASE, S_BUY, S_SELL, S_BUY_V, S_SELL_V, S_TS, S_QTY, S_ARBS, S_HEDGES, S_HEDGE_CID,
 S_EDGE, S_HEDGED, S_RESID, S_HEDGE_TS, S_ATTEMPTS, S_SEEN_A, S_SEEN_B) = range(17)
STATE_SIZE = 17

_BUY = int(Side.BUY)
_SELL = int(Side.SELL)
_LIMIT = int(OrderType.LIMIT)
_MARKET = int(OrderType.MARKET)
_IOC = int(TimeInForce.IOC)
_CANCELED = int(OrderState.CANCELED)
_FAILED = int(OrderState.FAILED)


@numba.njit(cache=True)
def _leg_done(ctx: Any, cid: int, since_ns: float, timeout_ns: float) -> bool:
    if cid <= 0:  # never sent
        return True
    o = ctx.orders[cid & (ctx.orders.shape[0] - 1)]
    if o["client_id"] == cid:
        s = o["state"]
        # terminal states are CANCELED (5) through FAILED (9)
        return bool(_CANCELED <= s <= _FAILED)
    # never admitted (refused by a guard) or long recycled
    return bool(ctx.control[0]["now_ns"] - since_ns >= timeout_ns)


@numba.njit(cache=True)
def _best(ctx: Any, vids: Any, s: int, bid_side: bool) -> int:
    """Venue with the best clean bid (or ask) for symbol ``s``; -1 if none."""
    best = -1
    bp = 0.0
    for j in range(vids.shape[0]):
        v = vids[j]
        if is_tainted(ctx, v, s):
            continue
        b = ctx.books[v, s]
        px = b["bid"] if bid_side else b["ask"]
        if math.isnan(px) or px <= 0.0:
            continue
        if best < 0 or (px > bp if bid_side else px < bp):
            best = v
            bp = px
    return best


@numba.njit(cache=True)
def settle(params: Any, state: Any, ctx: Any) -> None:
    """Legs done: hedge the difference of their fills, re-hedging what a hedge left, then idle."""
    p = params[0][0]
    tmo = p["leg_timeout_ns"]
    if state[S_PHASE] == 1.0:
        buy = int(state[S_BUY])
        sell = int(state[S_SELL])
        if not (_leg_done(ctx, buy, state[S_TS], tmo) and _leg_done(ctx, sell, state[S_TS], tmo)):
            return
        state[S_RESID] = order_filled(ctx, buy) - order_filled(ctx, sell)
        state[S_ATTEMPTS] = 0.0
        state[S_HEDGE_CID] = 0.0
        state[S_PHASE] = 2.0
    if state[S_PHASE] != 2.0:
        return
    hcid = int(state[S_HEDGE_CID])
    if hcid > 0:
        if not _leg_done(ctx, hcid, state[S_HEDGE_TS], tmo):
            return
        f = order_filled(ctx, hcid)
        # a hedge sells a long residual and buys a short one
        d = -f if state[S_RESID] > 0.0 else f
        state[S_RESID] += d
        state[S_HEDGED] += d
        state[S_HEDGE_CID] = 0.0
    resid = state[S_RESID]
    if abs(resid) <= 1e-12 * max(1.0, state[S_QTY]) or not p["hedge"]:
        state[S_PHASE] = 0.0
        return
    if state[S_ATTEMPTS] >= p["max_hedges"]:
        state[S_PHASE] = 0.0  # give up: the position stays, visible to the risk guards
        return
    s = p["symbol"]
    vids = params[1]
    v = _best(ctx, vids, s, resid > 0.0)
    if v < 0:  # nowhere clean to hedge now: retry on the next tick
        return
    side = _SELL if resid > 0.0 else _BUY
    cid = submit(ctx, p["source"], v, s, side, _MARKET, _IOC, abs(resid), np.nan)
    if cid > 0:
        state[S_HEDGES] += 1
        state[S_ATTEMPTS] += 1
        state[S_HEDGE_CID] = cid
        state[S_HEDGE_TS] = ctx.control[0]["now_ns"]


@numba.njit(cache=True)
def arb_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Look for a cross above fees plus threshold between any two venues and take it."""
    p = params[0][0]
    vids = params[1]
    s = p["symbol"]
    if tick["symbol"] != s or (tick["flags"] & TAINTED):
        return
    if state[S_PHASE] != 0.0:
        settle(params, state, ctx)
        if state[S_PHASE] != 0.0:
            return
    vb = _best(ctx, vids, s, True)
    va = _best(ctx, vids, s, False)
    if vb < 0 or va < 0 or vb == va:
        return
    bb = ctx.books[vb, s]
    ba = ctx.books[va, s]
    if va == state[S_BUY_V] and vb == state[S_SELL_V] and (
        ba["n_ticks"] == state[S_SEEN_A] or bb["n_ticks"] == state[S_SEEN_B]
    ):
        return  # a quote it already took has not been refreshed yet
    bid = bb["bid"]
    ask = ba["ask"]
    m = 0.5 * (bid + ask)
    cost = ask * ctx.specs[va, s]["taker_fee"] + bid * ctx.specs[vb, s]["taker_fee"]
    net = bid - ask - cost - p["extra_cost_bps"] * 1e-4 * m
    state[S_EDGE] = net
    if net <= p["threshold_bps"] * 1e-4 * m:
        return
    qty = min(ba["ask_size"], bb["bid_size"], p["max_qty"])
    lim = p["max_position"]
    qty = min(qty, lim - ctx.positions[va, s]["qty"], lim + ctx.positions[vb, s]["qty"])
    lot = max(ctx.specs[va, s]["lot_step"], ctx.specs[vb, s]["lot_step"])
    qty = round_to_lot(qty, lot)
    if not qty > 0.0 or qty < p["min_qty"]:
        return
    buy = submit(ctx, p["source"], va, s, _BUY, _LIMIT, _IOC, qty, ask)
    if buy < 0:
        return
    sell = submit(ctx, p["source"], vb, s, _SELL, _LIMIT, _IOC, qty, bid)
    state[S_PHASE] = 1.0
    state[S_BUY] = buy
    state[S_SELL] = sell if sell > 0 else 0.0
    state[S_BUY_V] = va
    state[S_SELL_V] = vb
    state[S_TS] = ctx.control[0]["now_ns"]
    state[S_QTY] = qty
    state[S_SEEN_A] = ba["n_ticks"]
    state[S_SEEN_B] = bb["n_ticks"]
    state[S_ARBS] += 1


@numba.njit(cache=True)
def arb_on_report(params: Any, state: Any, ctx: Any, j: int) -> None:
    """Settle (or re-hedge) as soon as the report that finishes a leg or hedge arrives."""
    if state[S_PHASE] != 0.0:
        settle(params, state, ctx)
