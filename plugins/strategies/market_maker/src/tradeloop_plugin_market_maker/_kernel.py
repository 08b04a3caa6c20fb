"""Compiled Avellaneda-Stoikov quoting kernel.

Everything is in relative (return) units of the mid price ``s`` so parameters do not depend
on the price scale::

    sigma^2   EWMA of squared log mid returns per second (variance rate)
    q         inventory in lots: position / order_qty
    r         reservation price   = s * (1 - q * gamma * sigma^2 * tau)
    delta     total spread (rel.) = gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / kappa)
    bid_i     = r - s * (delta / 2 + i * spacing),   ask_i = r + s * (delta / 2 + i * spacing)

Quotes are reconciled against what rests: an order is replaced only when its desired price
moved more than ``requote_bps`` from the price last asked for it, cancelled when its level is
no longer wanted (inventory limit), and submitted when its level is empty.

State layout (float64)::

    [0] sigma2  [1] last mid  [2] last ts (ns)  [3] submits  [4] replaces  [5] cancels
    [6] last reservation price  [7] last half spread (rel.)
    [8 + 2*k], [9 + 2*k]: client id and last requested price of quote slot k;
    slots 0..L-1 are bids (level 0 innermost), L..2L-1 asks;
    then 2L scratch values (desired prices of the current tick).
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
    cancel,
    is_tainted,
    order_live,
    replace,
    round_to_tick,
    submit,
)

S_SIGMA2, S_MID, S_TS, S_SUBMITS, S_REPLACES, S_CANCELS, S_RES, S_HALF, S_SLOTS = range(9)

_BUY = int(Side.BUY)
_SELL = int(Side.SELL)
_LIMIT = int(OrderType.LIMIT)
_POST = int(TimeInForce.POST_ONLY)
_PENDING_CANCEL = int(OrderState.PENDING_CANCEL)
_CREATING = int(OrderState.CREATING)


def state_size(levels: int) -> int:
    """Length of the state array for ``levels`` quote levels per side."""
    return S_SLOTS + 6 * levels


@numba.njit(cache=True)
def _update_vol(p: Any, state: Any, m: float, ts: int) -> None:
    last = state[S_MID]
    if not math.isnan(last) and ts > state[S_TS]:
        r = math.log(m / last)
        dt = (ts - state[S_TS]) * 1e-9
        a = p["vol_alpha"]
        state[S_SIGMA2] = (1.0 - a) * state[S_SIGMA2] + a * (r * r / dt)
    state[S_MID] = m
    state[S_TS] = ts


@numba.njit(cache=True)
def _pull_all(p: Any, state: Any, ctx: Any) -> None:
    for k in range(2 * p["levels"]):
        cid = int(state[S_SLOTS + 2 * k])
        if order_live(ctx, cid) and ctx.orders[cid & (ctx.orders.shape[0] - 1)]["state"] != _PENDING_CANCEL:
            cancel(ctx, p["source"], cid)
            state[S_CANCELS] += 1


@numba.njit(cache=True)
def _reconcile(p: Any, state: Any, ctx: Any, k: int, side: int, px: float, m: float) -> None:
    at = S_SLOTS + 2 * k
    cid = int(state[at])
    if order_live(ctx, cid):
        o = ctx.orders[cid & (ctx.orders.shape[0] - 1)]
        if o["state"] == _PENDING_CANCEL:
            return
        if math.isnan(px):
            cancel(ctx, p["source"], cid)
            state[S_CANCELS] += 1
        elif abs(px - state[at + 1]) > p["requote_bps"] * 1e-4 * m:
            replace(ctx, p["source"], cid, o["qty"], px)
            state[at + 1] = px
            state[S_REPLACES] += 1
        return
    if math.isnan(px):
        return
    new = submit(ctx, p["source"], p["venue"], p["symbol"], side, _LIMIT, _POST, p["qty"], px)
    if new > 0:
        state[at] = new
        state[at + 1] = px
        state[S_SUBMITS] += 1


@numba.njit(cache=True, inline="always")
def _settled(p: Any, state: Any, ctx: Any, k: int, px: float, m: float) -> bool:
    """Nothing for :func:`_reconcile` to do on slot ``k``, decided as it decides: the quote
    rests within ``requote_bps`` of ``px`` or is being cancelled, or none rests and none is
    wanted. Inlined, so a settled slot costs no call: an out-of-line call passes every array
    of the Context, four times a tick."""
    at = S_SLOTS + 2 * k
    cid = int(state[at])
    o = ctx.orders[cid & (ctx.orders.shape[0] - 1)]
    if cid <= 0 or o["client_id"] != cid or not _CREATING <= o["state"] <= _PENDING_CANCEL:
        return math.isnan(px)
    if o["state"] == _PENDING_CANCEL:
        return True
    return not math.isnan(px) and not abs(px - state[at + 1]) > p["requote_bps"] * 1e-4 * m


@numba.njit(cache=True)
def quotes(p: Any, state: Any, m: float, pos: float, best_bid: float, best_ask: float,
           tick_size: float, out: Any) -> None:
    """Desired prices of every quote slot into ``out`` (NaN: level not wanted)."""
    L = p["levels"]
    q = pos / p["qty"]
    var_tau = state[S_SIGMA2] * p["horizon_s"]
    g = p["gamma"]
    res = m * (1.0 - q * g * var_tau)
    half = 0.5 * (g * var_tau + (2.0 / g) * math.log(1.0 + g / p["kappa"]))
    lo = 0.5e-4 * p["min_spread_bps"]
    hi = 0.5e-4 * p["max_spread_bps"]
    half = min(max(half, lo), hi)
    state[S_RES] = res
    state[S_HALF] = half
    lim = p["max_inventory"]
    for i in range(L):
        off = m * (half + i * p["spacing_bps"] * 1e-4)
        b = round_to_tick(res - off, tick_size, False)
        a = round_to_tick(res + off, tick_size, True)
        # post-only: never at or through the opposite touch
        if not math.isnan(best_ask) and b >= best_ask:
            b = round_to_tick(best_ask - max(tick_size, 1e-4 * m * p["spacing_bps"]), tick_size, False)
        if not math.isnan(best_bid) and a <= best_bid:
            a = round_to_tick(best_bid + max(tick_size, 1e-4 * m * p["spacing_bps"]), tick_size, True)
        out[i] = b if pos + (i + 1) * p["qty"] <= lim + 1e-12 else np.nan
        out[L + i] = a if pos - (i + 1) * p["qty"] >= -lim - 1e-12 else np.nan


@numba.njit(cache=True)
def as_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Update volatility from the mid; re-derive quotes; reconcile them with resting orders."""
    p = params[0]
    v = p["venue"]
    s = p["symbol"]
    if tick["venue"] != v or tick["symbol"] != s:
        return
    if (tick["flags"] & TAINTED) or is_tainted(ctx, v, s):
        if p["cancel_on_taint"]:
            _pull_all(p, state, ctx)
        return
    b = ctx.books[v, s]
    m = 0.5 * (b["bid"] + b["ask"])
    if math.isnan(m) or m <= 0.0:
        return
    _update_vol(p, state, m, tick["ts_recv"])
    L = p["levels"]
    desired = state[S_SLOTS + 4 * L : S_SLOTS + 6 * L]  # scratch: no allocation per tick
    quotes(p, state, m, ctx.positions[v, s]["qty"], b["bid"], b["ask"], ctx.specs[v, s]["tick_size"], desired)
    for k in range(2 * L):
        if not _settled(p, state, ctx, k, desired[k], m):
            _reconcile(p, state, ctx, k, _BUY if k < L else _SELL, desired[k], m)
