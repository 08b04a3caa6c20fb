"""A minimal compiled driver for unit-testing strategy and stage kernels without the kernel.

:func:`drive` feeds ticks one by one to a component's ``on_tick`` over a context made by
:func:`~tradeloop_sdk.make_context`, keeping the book and the clock current the way the
fused loop does, and logs every intent with the index of the tick that caused it.
With ``fills=True`` it also plays a naive venue: market and IOC orders fill completely at
the touch (IOC limits only if they cross), resting limits enter ``ctx.orders`` as OPEN,
cancels and replaces apply at once, and fills move ``ctx.positions``. It is a test
harness, not a simulator: no queue, latency, fees or partial fills (set those up by
writing ``ctx.orders`` / ``ctx.positions`` directly).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ._context import N_INTENTS
from ._dtypes import INTENT_DTYPE
from ._enums import IntentAction, OrderState, OrderType, Side, TickKind, TimeInForce

__all__ = ["drive", "drive_components", "make_ticks"]

_QUOTE = int(TickKind.QUOTE)
_BUY = int(Side.BUY)
_MARKET = int(OrderType.MARKET)
_IOC = int(TimeInForce.IOC)
_FOK = int(TimeInForce.FOK)
_NEW = int(IntentAction.NEW)
_CANCEL = int(IntentAction.CANCEL)
_REPLACE = int(IntentAction.REPLACE)
_OPEN = int(OrderState.OPEN)
_FILLED = int(OrderState.FILLED)
_CANCELED = int(OrderState.CANCELED)


@numba.njit(cache=True)
def _apply_tick(ctx: Any, t: Any) -> None:
    ctx.control[0]["now_ns"] = t["ts_recv"]
    ctx.control[0]["ticks_in"] += 1
    b = ctx.books[t["venue"], t["symbol"]]
    if t["kind"] == _QUOTE:
        b["bid"] = t["bid"]
        b["ask"] = t["ask"]
        b["bid_size"] = t["bid_size"]
        b["ask_size"] = t["ask_size"]
    else:
        b["last"] = t["price"]
        b["last_size"] = t["size"]
    b["flags"] = t["flags"]
    b["ts_exch"] = t["ts_exch"]
    b["ts_recv"] = t["ts_recv"]
    b["seq"] = t["seq"]
    b["n_ticks"] += 1


@numba.njit(cache=True)
def _play_venue(ctx: Any, j: int) -> None:
    it = ctx.intents[j]
    cap = ctx.orders.shape[0]
    slot = it["client_id"] & (cap - 1)
    o = ctx.orders[slot]
    if it["action"] == _CANCEL:
        if o["client_id"] == it["client_id"]:
            o["state"] = _CANCELED
        return
    if it["action"] == _REPLACE:
        if o["client_id"] == it["client_id"]:
            o["qty"] = it["qty"]
            o["price"] = it["price"]
        return
    v = it["venue"]
    s = it["symbol"]
    b = ctx.books[v, s]
    buy = it["side"] == _BUY
    touch = b["ask"] if buy else b["bid"]
    if np.isnan(touch):
        touch = b["last"]
    o["client_id"] = it["client_id"]
    o["venue"] = v
    o["symbol"] = s
    o["side"] = it["side"]
    o["type"] = it["type"]
    o["tif"] = it["tif"]
    o["qty"] = it["qty"]
    o["price"] = it["price"]
    o["filled"] = 0.0
    o["source"] = it["source"]
    taker = it["type"] == _MARKET or it["tif"] == _IOC or it["tif"] == _FOK
    if not taker:
        o["state"] = _OPEN
        return
    crosses = it["type"] == _MARKET or (it["price"] >= touch if buy else it["price"] <= touch)
    if not crosses or np.isnan(touch):
        o["state"] = _CANCELED
        return
    o["state"] = _FILLED
    o["filled"] = it["qty"]
    o["avg_fill_price"] = touch
    p = ctx.positions[v, s]
    p["qty"] += it["qty"] if buy else -it["qty"]
    p["n_fills"] += 1


# Drivers taking a kernel as an argument are not disk-cached: numba's cache cannot key
# first-class function types reliably (stale dispatcher references across sessions).
@numba.njit
def _drive(
    kernel: Any, params: Any, state: Any, ctx: Any, ticks: Any, fills: bool,
    log: Any, log_tick: Any,
) -> int:
    n = 0
    for i in range(ticks.shape[0]):
        t = ticks[i]
        _apply_tick(ctx, t)
        ctx.counts[N_INTENTS] = 0
        kernel(params, state, ctx, t)
        for j in range(ctx.counts[N_INTENTS]):
            if n < log.shape[0]:
                log[n] = ctx.intents[j]
                log_tick[n] = i
                n += 1
            if fills:
                _play_venue(ctx, j)
    return n


@numba.njit(cache=True)
def _apply_tick_at(ctx: Any, ticks: Any, i: int) -> None:
    _apply_tick(ctx, ticks[i])


@numba.njit
def _call_at(kernel: Any, params: Any, state: Any, ctx: Any, ticks: Any, i: int) -> None:
    # records with aliased fields cannot cross from Python into numba: index inside
    kernel(params, state, ctx, ticks[i])


@numba.njit(cache=True)
def _play_venue_at(ctx: Any, j: int) -> None:
    _play_venue(ctx, j)


def drive(
    on_tick: Any,
    params: Any,
    state: Any,
    ctx: Any,
    ticks: np.ndarray,
    *,
    fills: bool = True,
    max_intents: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``on_tick`` over ``ticks``; return ``(intents, tick_index_of_each_intent)``."""
    log = np.zeros(max_intents, INTENT_DTYPE)
    log_tick = np.zeros(max_intents, np.int64)
    n = _drive(on_tick, params, state, ctx, ticks, fills, log, log_tick)
    return log[:n].copy(), log_tick[:n].copy()


def drive_components(
    components: list[Any], ctx: Any, ticks: np.ndarray, *, fills: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Run several components in order (e.g. pipeline stages) tick by tick, from Python.

    Each needs ``on_tick``, ``params`` and ``state`` (a HotPath, or any object with them);
    compiled kernels are called through a compiled trampoline, plain Python callables
    directly with the tick record. Slower than :func:`drive`; for small tests.
    """
    from numba.core.registry import CPUDispatcher

    logs, idx = [], []
    for i in range(ticks.shape[0]):
        _apply_tick_at(ctx, ticks, i)
        ctx.counts[N_INTENTS] = 0
        for hp in components:
            if isinstance(hp.on_tick, CPUDispatcher):
                _call_at(hp.on_tick, hp.params, hp.state, ctx, ticks, i)
            else:
                hp.on_tick(hp.params, hp.state, ctx, ticks[i])
        for j in range(int(ctx.counts[N_INTENTS])):
            logs.append(ctx.intents[j].copy())
            idx.append(i)
            if fills:
                _play_venue_at(ctx, j)
    out = np.array(logs, INTENT_DTYPE) if logs else np.zeros(0, INTENT_DTYPE)
    return out, np.array(idx, np.int64)


def make_ticks(
    prices: Any,
    *,
    venue: int = 0,
    symbol: int = 0,
    kind: TickKind = TickKind.TRADE,
    spread: float = 0.0,
    size: float = 1.0,
    t0_ns: int = 1_700_000_000_000_000_000,
    dt_ns: int = 1_000_000_000,
) -> np.ndarray:
    """Tick records for a price series: trades (or bars) at ``prices``, or quotes around them.

    Quotes get ``bid = price - spread/2`` and ``ask = price + spread/2``.
    """
    from ._dtypes import TICK_DTYPE

    px = np.asarray(prices, np.float64)
    t = np.zeros(px.size, TICK_DTYPE)
    t["ts_exch"] = t0_ns + dt_ns * np.arange(px.size, dtype=np.int64)
    t["ts_recv"] = t["ts_exch"]
    t["seq"] = np.arange(1, px.size + 1)
    t["venue"] = venue
    t["symbol"] = symbol
    t["kind"] = int(kind)
    if kind == TickKind.QUOTE:
        t["bid"] = px - spread / 2
        t["ask"] = px + spread / 2
        t["bid_size"] = size
        t["ask_size"] = size
    else:
        t["price"] = px
        t["size"] = size
        t["ask"] = np.nan
    return t
