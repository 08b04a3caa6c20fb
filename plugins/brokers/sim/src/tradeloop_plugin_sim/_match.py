"""Compiled matching against a top-of-book: taking, joining the queue, resting fills, stops.

The queue model (see docs/sim-venue.md) in one paragraph: a resting limit order joins
behind the displayed size at its price (``ahead``), or at the front when it improves the
touch, or with an unknown place (inf) when it sits behind the touch, learnt as the displayed
size when its price becomes the touch. Trades at its price and size decreases at the touch
consume ``ahead`` first; volume beyond ``ahead`` fills the order, as maker, at its price. A
quote whose opposite side crosses the order's price fills it, as maker, at its price, up to
the displayed size.
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
    C_NLIVE,
    F_AHEAD,
    F_LEAVES,
    F_PRICE,
    F_STOP,
    I_RESTING,
    I_SIDE,
    I_SYMBOL,
    I_TIF,
    I_TRIGGERED,
    I_TYPE,
    I_VENUE,
)
from ._orders import BUY, DEAD, EPS, MAKER, TAKER, emit, fill, finish, floor_lot

STOP = 3
IOC = 2
FOK = 3
K_EXPIRED = 6
R_FOK_UNFILLABLE = 29
R_NO_LIQUIDITY = 30
INF = np.inf


@numba.njit(cache=True)
def join_ahead(st: Any, v: int, s: int, side: int, price: float) -> float:
    """Displayed volume ahead of a limit order joining at ``price`` now."""
    if side == BUY:
        touch = st.book[v, s, B_BID]
        size = st.book[v, s, B_BID_SIZE]
        if np.isnan(touch) or price > touch:
            return 0.0
        return size if price == touch else INF
    touch = st.book[v, s, B_ASK]
    size = st.book[v, s, B_ASK_SIZE]
    if np.isnan(touch) or price < touch:
        return 0.0
    return size if price == touch else INF


@numba.njit(cache=True)
def rest(st: Any, r: int) -> None:
    """Put row ``r`` on the book as a maker, behind the displayed size at its price."""
    st.oi[r, I_RESTING] = 1
    st.of[r, F_AHEAD] = join_ahead(
        st, st.oi[r, I_VENUE], st.oi[r, I_SYMBOL], st.oi[r, I_SIDE], st.of[r, F_PRICE]
    )


@numba.njit(cache=True)
def take(params: Any, st: Any, ctx: Any, r: int, ts: int, first: bool) -> None:
    """Execute row ``r`` as a taker against the opposite touch, then rest, expire or wait.

    ``first`` is true on arrival (or trigger): IOC/FOK leftovers expire only then, and a
    FOK that the displayed size cannot fill entirely expires unfilled.
    """
    v = st.oi[r, I_VENUE]
    s = st.oi[r, I_SYMBOL]
    side = st.oi[r, I_SIDE]
    tif = st.oi[r, I_TIF]
    limit = st.of[r, F_PRICE]
    lot = ctx.specs[v, s]["lot_step"]
    if side == BUY:
        px = st.book[v, s, B_ASK]
        szcol = B_ASK_SIZE
        marketable = not np.isnan(px) and (np.isnan(limit) or px <= limit)
    else:
        px = st.book[v, s, B_BID]
        szcol = B_BID_SIZE
        marketable = not np.isnan(px) and (np.isnan(limit) or px >= limit)
    avail = floor_lot(st.book[v, s, szcol], lot) if marketable else 0.0
    leaves = st.of[r, F_LEAVES]
    if first and tif == FOK and avail < leaves - EPS:
        emit(params, st, ctx, K_EXPIRED, st.oi[r, 0], st.oi[r, 1], v, s, side, 0.0, 0.0, 0.0,
             0.0, 0, R_FOK_UNFILLABLE, ts)
        finish(params, st, r)
        return
    q = min(leaves, avail)
    if q > 0.0:
        st.book[v, s, szcol] = max(0.0, st.book[v, s, szcol] - q)
        fill(params, st, ctx, r, q, px, TAKER, ts)
    if st.oi[r, I_RESTING] == DEAD:
        return
    if first and (tif == IOC or tif == FOK):  # noqa: SIM109 (plain compares for numba)
        reason = R_NO_LIQUIDITY if q == 0.0 else 0
        emit(params, st, ctx, K_EXPIRED, st.oi[r, 0], st.oi[r, 1], v, s, side, 0.0, 0.0, 0.0,
             0.0, 0, reason, ts)
        finish(params, st, r)
        return
    if not np.isnan(limit):
        rest(st, r)
    # a market order's remainder stays a taker and meets the next quotes


@numba.njit(cache=True, inline="always")
def stop_triggered(st: Any, r: int, px_buy: float, px_sell: float) -> bool:
    """Whether a buy stop sees ``px_buy`` at or above, or a sell stop ``px_sell`` at or below."""
    stop = st.of[r, F_STOP]
    if st.oi[r, I_SIDE] == BUY:
        return not np.isnan(px_buy) and px_buy >= stop
    return not np.isnan(px_sell) and px_sell <= stop


@numba.njit(cache=True)
def on_quote(
    params: Any, st: Any, ctx: Any, v: int, s: int, prev_bid: float, prev_bsz: float,
    prev_ask: float, prev_asz: float, ts: int,
) -> None:
    """Match live orders of (v, s) against the quote just applied to ``st.book``.

    The per-order logic is written out in the loop on purpose: an inlined helper taking the
    state tuples would copy (and refcount) every array of them on each iteration.
    """
    oi, of, book = st.oi, st.of, st.book
    bid = book[v, s, B_BID]
    ask = book[v, s, B_ASK]
    lot = ctx.specs[v, s]["lot_step"]
    for r in range(st.ctr[C_NLIVE]):
        if oi[r, I_VENUE] != v or oi[r, I_SYMBOL] != s or oi[r, I_RESTING] == DEAD:
            continue
        if oi[r, I_TYPE] == STOP and oi[r, I_TRIGGERED] == 0:
            if not stop_triggered(st, r, ask, bid):
                continue
            oi[r, I_TRIGGERED] = 1
            take(params, st, ctx, r, ts, True)
            continue
        if oi[r, I_RESTING] == 0:
            take(params, st, ctx, r, ts, False)  # a market remainder
            continue
        p = of[r, F_PRICE]
        if oi[r, I_SIDE] == BUY:
            if ask <= p:  # crossed (False for a NaN ask)
                _cross_fill(params, st, ctx, r, v, s, B_ASK_SIZE, lot, ts)
                continue
            touch, size, ptouch, psize = bid, book[v, s, B_BID_SIZE], prev_bid, prev_bsz
            improves = not (bid >= p)  # a NaN bid: nobody there either
        else:
            if bid >= p:
                _cross_fill(params, st, ctx, r, v, s, B_BID_SIZE, lot, ts)
                continue
            touch, size, ptouch, psize = ask, book[v, s, B_ASK_SIZE], prev_ask, prev_asz
            improves = not (ask <= p)
        if improves:
            of[r, F_AHEAD] = 0.0  # the level at p emptied: we are alone at the front
        elif touch == p:
            ahead = of[r, F_AHEAD]
            if ptouch == p and psize > size:
                ahead -= psize - size  # cancels and unseen fills at the touch come from ahead
            of[r, F_AHEAD] = max(0.0, min(ahead, size))


@numba.njit(cache=True)
def _cross_fill(params: Any, st: Any, ctx: Any, r: int, v: int, s: int, col: int, lot: float,
                ts: int) -> None:
    """A quote crossed resting row ``r``: fill it as maker at its price from ``book[col]``."""
    book = st.book
    q = min(st.of[r, F_LEAVES], floor_lot(book[v, s, col], lot))
    if q > 0.0:
        book[v, s, col] = max(0.0, book[v, s, col] - q)
        fill(params, st, ctx, r, q, st.of[r, F_PRICE], MAKER, ts)


@numba.njit(cache=True)
def on_trade(
    params: Any, st: Any, ctx: Any, v: int, s: int, price: float, size: float, aggressor: int,
    ts: int,
) -> None:
    """Match live orders of (v, s) against a trade of ``size`` at ``price``."""
    oi, of = st.oi, st.of  # locals: no refcount traffic per access
    used_buy = 0.0  # volume our own orders at the trade price took from this trade
    used_sell = 0.0
    budget_through_buy = size
    budget_through_sell = size
    n = st.ctr[C_NLIVE]
    lot = ctx.specs[v, s]["lot_step"]
    for r in range(n):
        if oi[r, I_VENUE] != v or oi[r, I_SYMBOL] != s or oi[r, I_RESTING] == DEAD:
            continue
        if (oi[r, I_TYPE] == STOP and oi[r, I_TRIGGERED] == 0
                and stop_triggered(st, r, price, price)):
            oi[r, I_TRIGGERED] = 1
            take(params, st, ctx, r, ts, True)
    # Trade-throughs first (price priority), then the queue at the trade price (time priority).
    for pas in range(2):
        for r in range(n):
            if oi[r, I_VENUE] != v or oi[r, I_SYMBOL] != s or oi[r, I_RESTING] != 1:
                continue
            side = oi[r, I_SIDE]
            if (side == BUY and aggressor == BUY) or (side != BUY and aggressor == 2):
                continue  # an aggressor never trades against its own side of the book
            p = of[r, F_PRICE]
            through = (side == BUY and price < p) or (side != BUY and price > p)
            if pas == 0 and through:
                budget = budget_through_buy if side == BUY else budget_through_sell
                q = min(of[r, F_LEAVES], floor_lot(budget, lot))
                if q > 0.0:
                    if side == BUY:
                        budget_through_buy -= q
                    else:
                        budget_through_sell -= q
                    fill(params, st, ctx, r, q, p, MAKER, ts)
            elif pas == 1 and price == p:
                ahead = of[r, F_AHEAD]
                used = used_buy if side == BUY else used_sell
                past = size - used - (ahead if ahead < INF else size)
                of[r, F_AHEAD] = max(0.0, ahead - size)
                q = min(of[r, F_LEAVES], floor_lot(max(0.0, past), lot))
                if q > 0.0:
                    if side == BUY:
                        used_buy += q
                    else:
                        used_sell += q
                    fill(params, st, ctx, r, q, p, MAKER, ts)
