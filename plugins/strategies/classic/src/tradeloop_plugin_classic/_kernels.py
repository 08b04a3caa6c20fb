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

State layout (float64), shared by all four::

    [0] prev      previous signal value (crossover: fast - slow), NaN until known
    [1] target    current target position
    [2] cid       client id of the last order sent (0: none)
    [3] pending   1 while a target waits for the last order to finish, else 0
    [4..]         indicator states (offsets in params: ``off_a``, ``off_b``)
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

S_PREV, S_TARGET, S_CID, S_PENDING, S_IND = 0, 1, 2, 3, 4

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
    delta = target - ctx.positions[v, s]["qty"]
    if abs(delta) <= 1e-12 * max(1.0, abs(target)):
        return
    side = _BUY if delta > 0 else _SELL
    cid = submit(ctx, p["source"], v, s, side, _MARKET, _IOC, abs(delta), np.nan)
    if cid > 0:
        state[S_CID] = cid
    else:
        # the intent buffer is full this iteration: nothing went out, try on the next tick
        state[S_PENDING] = 1.0


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
    if order_in_flight(ctx, int(state[S_CID])):
        state[S_PENDING] = 1.0
        return
    _send(p, state, ctx)


@numba.njit(cache=True)
def _resume(p: Any, state: Any, ctx: Any) -> None:
    """Send the deferred target once the last order is done."""
    if not order_in_flight(ctx, int(state[S_CID])):
        _send(p, state, ctx)


@numba.njit(cache=True, inline="always")
def _pending(p: Any, state: Any, ctx: Any) -> None:
    # One well-predicted flag test per accepted tick; the order lookup runs only while a
    # target is deferred. Called after the tick's signal: a target the signal has just
    # replaced is never sent first.
    if state[S_PENDING] != 0.0:
        _resume(p, state, ctx)


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
    _pending(p, state, ctx)


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
    _pending(p, state, ctx)


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
    _rsi_signal(p, state, ctx, ind.rsi_update(state[p["off_a"] :], tick_price(tick)))
    _pending(p, state, ctx)


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
    _pending(p, state, ctx)
