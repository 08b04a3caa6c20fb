"""Compiled kernels of the last four stages: arbitration, gating, sizing and risk.

arbitrate: for each horizon H with blended forecast ``e`` (log return over H ticks)::

    cost  = spread / mid  +  2 * taker fee  +  impact_bps * 1e-4 * sqrt(order_qty / touch size)
    vt    = min(1, sqrt(var_slow / var_fast))        volatility timing
    score = vt * (|e| - cost) / (sigma_tick * sqrt(H))

and the horizon with the best positive score wins (``SCORE`` is signed by ``e``). The
spread and the fee are a round trip's: the stages trade with market orders, in and out.

gate: open when a horizon was chosen, ``|SCORE| >= barrier`` (``barrier * hold_fraction``
to stay open: hysteresis) and the spread is at most ``max_spread_bps``.

size: while the gate is open, ``target = clip(SCORE / full_score, -1, 1) * max_position *
min(1, vol_target / sigma)``; an order goes out only when the target differs from the
position by more than ``band * max_position`` (the no-trade band), and only while no
earlier order of the stage is in flight: position plus the last order's working quantity
forgets any order before it, so several in flight let the position run past its limit. An
order that filled nothing (refused by a guard or the kill switch, rejected, no liquidity)
is not sent again until the target moves by more than the band: no order on every tick
while a guard says no.

risk: bounds every NEW intent on its instrument emitted earlier in this iteration (the
sizing stage's) by the position limit, the order size and notional caps; an intent left
with nothing is withdrawn before the kernel's guards see it.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from tradeloop_sdk import (
    OrderType,
    Side,
    TimeInForce,
    order_in_flight,
    round_to_lot,
    submit,
    tick_price,
)

from ._common import ewma, log_return, mine, own_price
from .slots import BLEND, CHOSEN, GATE, SCORE, TARGET

_BUY = int(Side.BUY)
_SELL = int(Side.SELL)
_MARKET = int(OrderType.MARKET)
_IOC = int(TimeInForce.IOC)


@numba.njit(cache=True, inline="always")
def _spread_rel(ctx: Any, v: int, s: int, default_bps: float) -> float:
    b = ctx.books[v, s]
    m = 0.5 * (b["bid"] + b["ask"])
    if math.isnan(m) or not m > 0.0:
        return default_bps * 1e-4
    return float((b["ask"] - b["bid"]) / m)


# arbitrate state: [last price, var_fast, var_slow]
@numba.njit(cache=True)
def arbitrate_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Choose the horizon whose forecast pays best after costs, per unit of risk."""
    p = params[0][0]
    horizons = params[1]
    x = own_price(p, ctx, tick)
    if not x > 0.0:
        return
    r = log_return(state, 0, x)
    if not math.isnan(r):
        state[1] = ewma(state[1], r * r, p["alpha_fast"])
        state[2] = ewma(state[2], r * r, p["alpha_slow"])
    v = p["venue"]
    s = p["symbol"]
    row = ctx.signals[s]
    vf = state[1]
    best = -1
    best_score = 0.0
    if vf > 0.0:
        b = ctx.books[v, s]
        cost = _spread_rel(ctx, v, s, p["default_spread_bps"]) + 2.0 * ctx.specs[v, s]["taker_fee"]
        depth = min(b["bid_size"], b["ask_size"])
        impact = p["impact_bps"] * 1e-4
        if depth > 0.0:
            impact *= math.sqrt(p["order_qty"] / depth)
        cost += impact
        vt = min(1.0, math.sqrt(state[2] / vf))
        for h in range(horizons.shape[0]):
            e = row[BLEND + h]
            sc = vt * (abs(e) - cost) / math.sqrt(vf * horizons[h])
            if sc > best_score:
                best = h
                best_score = sc
    row[CHOSEN] = best
    row[SCORE] = math.copysign(best_score, row[BLEND + best]) if best >= 0 else 0.0


# gate state: [open]
@numba.njit(cache=True)
def gate_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Barrier gate on the score (with hysteresis) and spread gate on the book."""
    p = params[0]
    if not mine(p, ctx, tick):
        return
    v = p["venue"]
    s = p["symbol"]
    row = ctx.signals[s]
    thr = p["barrier"] * (p["hold_fraction"] if state[0] > 0.5 else 1.0)
    spread_bps = _spread_rel(ctx, v, s, 0.0) * 1e4
    is_open = row[CHOSEN] >= 0 and abs(row[SCORE]) >= thr and spread_bps <= p["max_spread_bps"]
    state[0] = 1.0 if is_open else 0.0
    row[GATE] = state[0]


# size state: [last price, last ts, variance rate per second, last cid, target and position
# when it was sent]
@numba.njit(cache=True)
def size_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Volatility-scaled target with a no-trade band; emits a market order for the gap."""
    p = params[0]
    x = own_price(p, ctx, tick)
    if not x > 0.0:
        return
    ts = tick["ts_recv"]
    if state[0] > 0.0 and ts > state[1]:
        r = math.log(x / state[0])
        state[2] = ewma(state[2], r * r / ((ts - state[1]) * 1e-9), p["alpha"])
    state[0] = x
    state[1] = ts
    v = p["venue"]
    s = p["symbol"]
    row = ctx.signals[s]
    if row[GATE] < 0.5:
        return
    c = max(-1.0, min(1.0, row[SCORE] / p["full_score"]))
    sig_bps = math.sqrt(state[2]) * 1e4 if state[2] > 0.0 else 0.0
    scale = min(1.0, p["vol_target_bps"] / sig_bps) if sig_bps > 0.0 else 1.0
    target = c * scale * p["max_position"]
    row[TARGET] = target
    if order_in_flight(ctx, int(state[3])):
        return  # the target is recomputed on every tick: the next one after the fill trades
    pos = ctx.positions[v, s]["qty"]
    gap = target - pos
    band = p["band"] * p["max_position"]
    if abs(gap) <= band:
        return
    if state[3] > 0 and pos == state[5] and abs(target - state[4]) <= band:
        return  # the last order filled nothing: not again for (about) the same target
    qty = round_to_lot(abs(gap), ctx.specs[v, s]["lot_step"])
    if not qty > 0.0:
        return
    cid = submit(ctx, p["source"], v, s, _BUY if gap > 0 else _SELL, _MARKET, _IOC, qty, np.nan)
    if cid > 0:
        state[3] = cid
        state[4] = target
        state[5] = pos


@numba.njit(cache=True)
def _withdraw(ctx: Any, i: int) -> None:
    n = ctx.counts[0]
    for j in range(i, n - 1):
        ctx.intents[j] = ctx.intents[j + 1]
    ctx.counts[0] = n - 1


# risk state: [intents resized, intents withdrawn]
@numba.njit(cache=True)
def risk_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Bound this iteration's NEW intents on the instrument; withdraw the empty ones."""
    p = params[0]
    v = p["venue"]
    s = p["symbol"]
    if tick["venue"] != v or tick["symbol"] != s:
        return
    pos = ctx.positions[v, s]["qty"]
    ref = tick_price(tick)
    i = 0
    while i < ctx.counts[0]:
        it = ctx.intents[i]
        if it["venue"] != v or it["symbol"] != s or it["action"] != 1:
            i += 1
            continue
        buy = it["side"] == _BUY
        room = p["max_position"] - pos if buy else p["max_position"] + pos
        q = min(it["qty"], room, p["max_order_qty"])
        px = it["price"] if not math.isnan(it["price"]) else ref
        if px > 0.0 and p["max_notional"] > 0.0:
            q = min(q, p["max_notional"] / px)
        q = round_to_lot(q, ctx.specs[v, s]["lot_step"])
        if not q > 0.0:
            _withdraw(ctx, i)
            state[1] += 1
            continue
        if q < it["qty"]:
            it["qty"] = q
            state[0] += 1
        pos += q if buy else -q
        i += 1
