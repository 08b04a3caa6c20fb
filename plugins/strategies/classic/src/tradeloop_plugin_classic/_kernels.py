"""Compiled on_tick kernels of the classic strategies.

All four are target-position strategies: a signal sets a target (+qty, -qty or 0, clamped
to the position limit the strategy owns) and the strategy sends one market IOC order for
the difference between the target and its position. They act only when the target changes
(an event, not every tick), so a refused order is not re-sent on every following tick.

At most one order is in flight per strategy. Position plus the last order's working
quantity is not the exposure once several orders are outstanding (a venue with latency,
crossings faster than fills): the earlier ones are forgotten and the position runs past
``max_position``. So a target that changes while the last order is live is only recorded
(the pending flag), and the first accepted tick after that order is done orders the gap
from the position the fills left. The flag is cleared before that order goes out, so a
refused one is not retried on every tick.

A market IOC takes only the liquidity displayed when it arrives; the rest is cancelled.
Once such an order is done having filled part of its quantity, the strategy orders the rest
of the gap (up to ``max_reorders`` times per target), so a thin book delays the target
instead of leaving the position short of it until the next signal. An order that filled
nothing (refused, rejected, no liquidity) ends the chase, as does a rest smaller than a
lot or the minimum notional: neither a reject storm nor dust orders.

State layout (float64), shared by all four::

    [0] prev      previous signal value (crossover: fast - slow), NaN until known
    [1] target    current target position
    [2] cid       client id of the last order sent (0: none)
    [3] pending   0, or 1 while a target waits for the last order to finish, or 2 while
                  the last order is watched (if it fills only part, the rest is ordered)
    [4] sent_pos  position when the last order was sent
    [5] reorders  re-orders sent for the current target
    [6..]         indicator states (offsets in params: ``off_a``, ``off_b``)
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from tradeloop_sdk import (
    TAINTED,
    OrderType,
    Side,
    TimeInForce,
    is_tainted,
    order_in_flight,
    submit,
    tick_price,
)
from tradeloop_sdk import indicators as ind

S_PREV, S_TARGET, S_CID, S_PENDING, S_SENT_POS, S_REORDERS, S_IND = 0, 1, 2, 3, 4, 5, 6

#: ``state[S_PENDING]`` values besides 0.
_DEFERRED, _WATCH = 1.0, 2.0

# The SDK's SMA update, inlined at numba-IR level into these on_tick kernels (same code,
# same results): as an out-of-line call it took a state-slice array, a few ns per tick.
_sma_update = numba.njit(inline="always")(ind.sma_update.py_func)


# Likewise the SDK's EMA update.
_ema_update = numba.njit(inline="always")(ind.ema_update.py_func)


_BUY = int(Side.BUY)
_SELL = int(Side.SELL)
_MARKET = int(OrderType.MARKET)
_IOC = int(TimeInForce.IOC)


@numba.njit(cache=True, inline="always")
def _accept(p: Any, ctx: Any, tick: Any) -> bool:
    """This strategy's instrument, the wanted tick kind, and clean data."""
    if tick["venue"] != p["venue"] or tick["symbol"] != p["symbol"]:
        return False
    if p["tick_kind"] != 0 and tick["kind"] != p["tick_kind"]:
        return False
    return not tick["flags"] & TAINTED


@numba.njit(cache=True)
def _send(p: Any, state: Any, ctx: Any) -> None:
    """Order the gap between the target and the position (nothing of ours is in flight)."""
    state[S_PENDING] = 0.0
    v = p["venue"]
    s = p["symbol"]
    if is_tainted(ctx, v, s):
        return
    target = state[S_TARGET]
    pos = ctx.positions[v, s]["qty"]
    delta = target - pos
    if abs(delta) <= 1e-12 * max(1.0, abs(target)):
        return
    side = _BUY if delta > 0 else _SELL
    cid = submit(ctx, p["source"], v, s, side, _MARKET, _IOC, abs(delta), np.nan)
    if cid > 0:
        state[S_CID] = cid
        state[S_SENT_POS] = pos
        if state[S_REORDERS] < p["max_reorders"]:
            state[S_PENDING] = _WATCH
    else:
        # the intent buffer is full this iteration: nothing went out, try on the next tick
        state[S_PENDING] = _DEFERRED


@numba.njit(cache=True)
def rebalance(p: Any, state: Any, ctx: Any, target: float) -> None:
    """Set the target (clamped to +-max_position); order the gap, or defer it while the
    last order is in flight."""
    lim = p["max_position"]
    if target > lim:
        target = lim
    elif target < -lim:
        target = -lim
    state[S_TARGET] = target
    state[S_REORDERS] = 0.0
    if order_in_flight(ctx, int(state[S_CID])):
        state[S_PENDING] = _DEFERRED
        return
    _send(p, state, ctx)


@numba.njit(cache=True)
def _rest_worth_ordering(state: Any, ctx: Any, v: int, s: int, px: float) -> bool:
    """The last order filled something and the rest of the gap is a tradable quantity
    (its notional judged at ``px``, this tick's price)."""
    pos = ctx.positions[v, s]["qty"]
    if pos == state[S_SENT_POS]:
        return False  # nothing filled: refused, rejected or no liquidity at all
    target = state[S_TARGET]
    rest = abs(target - pos)
    spec = ctx.specs[v, s]
    if rest <= 1e-12 * max(1.0, abs(target)) or rest < spec["lot_step"] or rest < spec["min_qty"]:
        return False
    return not rest * px < spec["min_notional"]


@numba.njit(cache=True)
def _resume(p: Any, state: Any, ctx: Any, px: float) -> None:
    """Once the last order is done: send the deferred target, or order the rest of a
    partial fill."""
    if order_in_flight(ctx, int(state[S_CID])):
        return
    if state[S_PENDING] == _WATCH:
        if not _rest_worth_ordering(state, ctx, p["venue"], p["symbol"], px):
            state[S_PENDING] = 0.0
            return
        state[S_REORDERS] += 1.0
    _send(p, state, ctx)


@numba.njit(cache=True, inline="always")
def _pending(p: Any, state: Any, ctx: Any, px: float) -> None:
    # One well-predicted flag test per accepted tick; the order lookup runs only while a
    # target is deferred or the last order is watched. Called after the tick's signal: a target the signal has just
    # replaced is never sent first.
    if state[S_PENDING] != 0.0:
        _resume(p, state, ctx, px)


@numba.njit(cache=True)
def _on_cross(p: Any, state: Any, ctx: Any, prev: float, diff: float) -> None:
    q = p["qty"]
    if prev <= 0.0 < diff:
        rebalance(p, state, ctx, q)
    else:
        rebalance(p, state, ctx, -q if p["allow_short"] else 0.0)


@numba.njit(cache=True, inline="always")
def _cross(p: Any, state: Any, ctx: Any, fast: float, slow: float) -> None:
    if math.isnan(fast) or math.isnan(slow):
        return
    diff = fast - slow
    prev = state[S_PREV]
    state[S_PREV] = diff
    # A crossing is rare: one out-of-line call site for it keeps the per-tick path short
    # (two inlined rebalance calls, each marshalling the whole Context, cost ~5 ns a tick).
    # A NaN prev fails both comparisons, as before.
    if (prev <= 0.0 < diff) or (prev >= 0.0 > diff):
        _on_cross(p, state, ctx, prev, diff)


@numba.njit(cache=True)
def sma_cross_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Long when SMA(fast) crosses above SMA(slow); short (or flat) when it crosses below."""
    p = params[0]
    if not _accept(p, ctx, tick):
        return
    x = tick_price(tick)
    fast = _sma_update(state[p["off_a"] : p["off_b"]], x)
    slow = _sma_update(state[p["off_b"] :], x)
    _cross(p, state, ctx, fast, slow)
    _pending(p, state, ctx, x)


@numba.njit(cache=True)
def ema_cross_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Long when EMA(fast) crosses above EMA(slow); short (or flat) when it crosses below."""
    p = params[0]
    if not _accept(p, ctx, tick):
        return
    x = tick_price(tick)
    fast = _ema_update(state[p["off_a"] : p["off_b"]], x)
    slow = _ema_update(state[p["off_b"] :], x)
    _cross(p, state, ctx, fast, slow)
    _pending(p, state, ctx, x)


@numba.njit(cache=True, inline="always")
def _rsi_signal(p: Any, state: Any, ctx: Any, r: float) -> None:
    if math.isnan(r):
        return
    target = state[S_TARGET]
    new = target
    if r < p["oversold"]:
        new = p["qty"]
    elif r > p["overbought"]:
        new = -p["qty"] if p["allow_short"] else 0.0
    elif (target > 0.0 and r >= p["exit_level"]) or (target < 0.0 and r <= p["exit_level"]):
        new = 0.0
    if new != target:
        rebalance(p, state, ctx, new)


@numba.njit(cache=True)
def rsi_reversion_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Buy oversold, sell overbought, go flat when RSI returns to the exit level."""
    p = params[0]
    if not _accept(p, ctx, tick):
        return
    x = tick_price(tick)
    _rsi_signal(p, state, ctx, ind.rsi_update(state[p["off_a"] :], x))
    _pending(p, state, ctx, x)


@numba.njit(cache=True, inline="always")
def _band_signal(p: Any, state: Any, ctx: Any, x: float, mid: float, up: float, lo: float) -> None:
    if math.isnan(mid):
        return
    q = p["qty"]
    short = -q if p["allow_short"] else 0.0
    target = state[S_TARGET]
    new = target
    if p["mode"] == 0:
        if x < lo:
            new = q
        elif x > up:
            new = short
        elif (target > 0.0 and x >= mid) or (target < 0.0 and x <= mid):
            new = 0.0
    else:
        if x > up:
            new = q
        elif x < lo:
            new = short
        elif (target > 0.0 and x < mid) or (target < 0.0 and x > mid):
            new = 0.0
    if new != target:
        rebalance(p, state, ctx, new)


@numba.njit(cache=True)
def bollinger_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Band strategy: mode 0 fades the bands (reversion), mode 1 follows them (breakout).

    Both exit at the middle band: reversion when price gets back to it, breakout when
    price falls back through it.
    """
    p = params[0]
    if not _accept(p, ctx, tick):
        return
    x = tick_price(tick)
    mid, up, lo = ind.bbands_update(state[p["off_a"] :], x)
    _band_signal(p, state, ctx, x, mid, up, lo)
    _pending(p, state, ctx, x)
