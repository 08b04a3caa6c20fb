"""Hot-path kernels for the loop benchmark and the kernel tests.

An EMA-cross strategy, three guards (max order size: resize; position limit: reject;
tainted data: reject) and a venue that fills marketable orders at the touch and rests
limit orders until the book crosses them. Each ``*_component`` builds the HotPath, so the
benchmark's component list can be swapped for the first-party plugins' HotPaths.
"""

from __future__ import annotations

import numba
import numpy as np
from tradeloop_sdk import (
    ComponentKind,
    HotPath,
    IntentAction,
    Liquidity,
    OrderType,
    Reason,
    ReportKind,
    Side,
    TimeInForce,
    cancel,
    is_tainted,
    params_array,
    report,
    submit,
)

# -- EMA cross -------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _ema_step(state: np.ndarray, px: float, af: float, as_: float) -> float:
    """Advance both EMAs; returns +1/-1 for fast above/below slow (0 on the first price)."""
    if state[3] == 0.0:
        state[0] = px
        state[1] = px
        state[3] = 1.0
        return 0.0
    f = state[0] + af * (px - state[0])
    s = state[1] + as_ * (px - state[1])
    state[0] = f
    state[1] = s
    return 1.0 if f > s else -1.0


@numba.njit(cache=True)
def ema_on_tick(params, state, ctx, tick) -> None:  # type: ignore[no-untyped-def]
    """Go long on a golden cross, short on a death cross, with market IOC orders."""
    p = params[0]
    if tick["symbol"] != p["symbol"] or tick["venue"] != p["venue"] or tick["kind"] != 1:
        return
    sign = _ema_step(state, 0.5 * (tick["bid"] + tick["ask"]), p["fast_alpha"], p["slow_alpha"])
    if sign == 0.0 or sign == state[2]:
        return
    prev = state[2]
    state[2] = sign
    if prev == 0.0 or is_tainted(ctx, p["venue"], p["symbol"]):
        return
    qty = p["qty"] - ctx.positions[p["venue"], p["symbol"]]["qty"] * sign
    side = Side.BUY if sign > 0.0 else Side.SELL
    submit(ctx, 0, p["venue"], p["symbol"], side, OrderType.MARKET, TimeInForce.IOC, qty, np.nan)


def ema_component(venue: int = 0, symbol: int = 0, fast: int = 20, slow: int = 100,
                  qty: float = 1.0) -> HotPath:
    """EMA-cross strategy HotPath (alpha = 2 / (n + 1))."""
    params = params_array({
        "fast_alpha": 2.0 / (fast + 1), "slow_alpha": 2.0 / (slow + 1), "qty": float(qty),
        "venue": venue, "symbol": symbol,
    })
    return HotPath(kind=ComponentKind.STRATEGY, params=params, state=np.zeros(4),
                   on_tick=ema_on_tick, name="ema_cross")


@numba.njit(cache=True)
def bare_ema_cross(ticks, fast_alpha: float, slow_alpha: float) -> int:  # type: ignore[no-untyped-def]
    """The reference: only the EMA cross over the same tick array; returns the cross count."""
    state = np.zeros(4)
    crosses = 0
    for i in range(ticks.shape[0]):
        t = ticks[i]
        sign = _ema_step(state, 0.5 * (t["bid"] + t["ask"]), fast_alpha, slow_alpha)
        if sign != 0.0 and sign != state[2]:
            if state[2] != 0.0:
                crosses += 1
            state[2] = sign
    return crosses


# -- guards ----------------------------------------------------------------------------


@numba.njit(cache=True)
def max_qty_check(params, state, ctx, i) -> int:  # type: ignore[no-untyped-def]
    """Resize an order above ``max_qty`` down to it."""
    m = params[0]["max_qty"]
    if ctx.intents[i]["qty"] > m:
        ctx.intents[i : i + 1][0]["qty"] = m
    return 0


@numba.njit(cache=True)
def position_limit_check(params, state, ctx, i) -> int:  # type: ignore[no-untyped-def]
    """Refuse an order that would take |position| above ``limit``."""
    it = ctx.intents[i]
    q = it["qty"] if it["side"] == Side.BUY else -it["qty"]
    if abs(ctx.positions[it["venue"], it["symbol"]]["qty"] + q) > params[0]["limit"] + 1e-12:
        return Reason.POSITION_LIMIT
    return 0


@numba.njit(cache=True)
def tainted_check(params, state, ctx, i) -> int:  # type: ignore[no-untyped-def]
    """Refuse orders on a symbol whose data a gate flagged."""
    it = ctx.intents[i]
    if is_tainted(ctx, it["venue"], it["symbol"]):
        return Reason.TAINTED_DATA
    return 0


def guard_components(max_qty: float = 5.0, limit: float = 10.0) -> list[HotPath]:
    """The three benchmark guards."""
    return [
        HotPath(kind=ComponentKind.GUARD, params=params_array({"max_qty": max_qty}),
                state=np.zeros(1), check=max_qty_check, name="max_qty"),
        HotPath(kind=ComponentKind.GUARD, params=params_array({"limit": limit}),
                state=np.zeros(1), check=position_limit_check, name="position_limit"),
        HotPath(kind=ComponentKind.GUARD, params=params_array({"x": 0.0}),
                state=np.zeros(1), check=tainted_check, name="tainted"),
    ]


# -- venue: fills at the touch -----------------------------------------------------------
# state: float64[cap + 1, 8]; row 0 = [n_resting, next_venue_order_id, ...]; rows 1..n are
# resting limit orders: [client_id, side, leaves, price, venue, symbol, vid, 0]


@numba.njit(cache=True)
def _fill(ctx, cid, v, s, side, qty, px, liq, vid, fee_rate) -> None:  # type: ignore[no-untyped-def]
    report(ctx, ReportKind.FILL, cid, v, s, side, qty, px, abs(qty * px) * fee_rate, 0.0, liq,
           0, vid, ctx.control[0]["now_ns"])


@numba.njit(cache=True)
def touch_on_intent(params, state, ctx, i) -> None:  # type: ignore[no-untyped-def]
    """Market/IOC fill at the touch now; limit orders fill if marketable, else rest."""
    it = ctx.intents[i]
    v, s, cid = it["venue"], it["symbol"], it["client_id"]
    now = ctx.control[0]["now_ns"]
    b = ctx.books[v, s]
    if it["action"] == IntentAction.CANCEL:
        n = int(state[0, 0])
        for k in range(1, n + 1):
            if state[k, 0] == cid:
                report(ctx, ReportKind.CANCELED, cid, v, s, int(state[k, 1]), 0.0, np.nan, 0.0,
                       0.0, 0, 0, int(state[k, 6]), now)
                state[k, :] = state[n, :]
                state[0, 0] = n - 1
                return
        report(ctx, ReportKind.REJECTED, cid, v, s, it["side"], 0.0, np.nan, 0.0, 0.0, 0,
               Reason.UNKNOWN_ORDER, 0, now)
        return
    if it["action"] != IntentAction.NEW:
        report(ctx, ReportKind.REJECTED, cid, v, s, it["side"], 0.0, np.nan, 0.0, 0.0, 0,
               Reason.VENUE_POLICY, 0, now)
        return
    vid = int(state[0, 1]) + 1
    state[0, 1] = vid
    side = it["side"]
    touch = b["ask"] if side == Side.BUY else b["bid"]
    if np.isnan(touch):
        report(ctx, ReportKind.REJECTED, cid, v, s, side, 0.0, np.nan, 0.0, 0.0, 0,
               Reason.NO_LIQUIDITY, vid, now)
        return
    report(ctx, ReportKind.ACK, cid, v, s, side, 0.0, np.nan, 0.0, it["qty"], 0, 0, vid, now)
    marketable = it["type"] == OrderType.MARKET or (
        (side == Side.BUY and it["price"] >= touch) or (side == Side.SELL and it["price"] <= touch)
    )
    if marketable:
        _fill(ctx, cid, v, s, side, it["qty"], touch, Liquidity.TAKER, vid,
              ctx.specs[v, s]["taker_fee"])
        return
    if it["tif"] == TimeInForce.IOC or it["tif"] == TimeInForce.FOK:
        report(ctx, ReportKind.CANCELED, cid, v, s, side, 0.0, np.nan, 0.0, 0.0, 0, 0, vid, now)
        return
    n = int(state[0, 0])
    if n + 1 >= state.shape[0]:
        report(ctx, ReportKind.CANCELED, cid, v, s, side, 0.0, np.nan, 0.0, 0.0, 0,
               Reason.VENUE_POLICY, vid, now)
        return
    n += 1
    state[n, 0] = cid
    state[n, 1] = side
    state[n, 2] = it["qty"]
    state[n, 3] = it["price"]
    state[n, 4] = v
    state[n, 5] = s
    state[n, 6] = vid
    state[0, 0] = n


@numba.njit(cache=True)
def touch_on_tick(params, state, ctx, tick) -> None:  # type: ignore[no-untyped-def]
    """Fill resting limits the new touch crosses; returns at once when nothing rests."""
    n = int(state[0, 0])
    if n == 0:
        return
    v, s = tick["venue"], tick["symbol"]
    b = ctx.books[v, s]
    k = 1
    while k <= n:
        if state[k, 4] == v and state[k, 5] == s:
            side = int(state[k, 1])
            px = state[k, 3]
            if (side == Side.BUY and b["ask"] <= px) or (side == Side.SELL and b["bid"] >= px):
                _fill(ctx, int(state[k, 0]), v, s, side, state[k, 2], px, Liquidity.MAKER,
                      int(state[k, 6]), ctx.specs[v, s]["maker_fee"])
                state[k, :] = state[n, :]
                n -= 1
                continue
        k += 1
    state[0, 0] = n


def venue_component(capacity: int = 1024) -> HotPath:
    """The touch-filling venue."""
    return HotPath(kind=ComponentKind.VENUE, params=params_array({"x": 0.0}),
                   state=np.zeros((capacity + 1, 8)), on_tick=touch_on_tick,
                   on_intent=touch_on_intent, name="touch_venue")


def synthetic_ticks(n: int, *, seed: int = 7, n_symbols: int = 1, start_ns: int = 1_700_000_000_000_000_000,
                    step_ns: int = 1_000_000) -> np.ndarray:
    """A random-walk quote stream (TICK_DTYPE) over ``n_symbols`` symbols of venue 0."""
    from tradeloop_sdk import TICK_DTYPE

    rng = np.random.default_rng(seed)
    t = np.zeros(n, TICK_DTYPE)
    mid = 100.0 + np.cumsum(rng.normal(0.0, 0.02, n))
    spread = 0.01 + 0.01 * rng.random(n)
    t["ts_exch"] = start_ns + np.arange(n, dtype=np.int64) * step_ns
    t["ts_recv"] = t["ts_exch"] + 1000
    t["seq"] = np.arange(1, n + 1)
    t["bid"] = np.round(mid - spread / 2, 2)
    t["ask"] = np.round(mid + spread / 2, 2) + 0.01
    t["bid_size"] = 1.0 + rng.random(n)
    t["ask_size"] = 1.0 + rng.random(n)
    t["kind"] = 1
    t["symbol"] = np.arange(n) % n_symbols
    return t


# -- test helpers: a crossed-book gate and a scripted strategy -----------------------------


@numba.njit(cache=True)
def crossed_gate_on_tick(params, state, ctx, tick) -> int:  # type: ignore[no-untyped-def]
    """Flag a quote whose bid is not below its ask as CROSSED (the loop taints the book)."""
    if tick["kind"] == 1 and tick["bid"] >= tick["ask"]:
        state[0] += 1
        return 1
    return 0


def crossed_gate_component(taint_ns: int = 0) -> HotPath:
    """The crossed-book gate; ``taint_ns`` keeps the book tainted that long after a flag."""
    return HotPath(kind=ComponentKind.GATE, params=params_array({"taint_ns": int(taint_ns)}),
                   state=np.zeros(1), on_tick=crossed_gate_on_tick, name="crossed")


# script rows: [tick_no, action, side, type, tif, qty, price_or_target_row, cid_out]
# row 0: [next_row, ticks_seen, n_rows, 0...]
@numba.njit(cache=True)
def script_on_tick(params, state, ctx, tick) -> None:  # type: ignore[no-untyped-def]
    """Emit the scripted intents due at this tick (count of ticks seen so far)."""
    n_seen = state[0, 1]
    state[0, 1] = n_seen + 1
    r = int(state[0, 0])
    while r <= int(state[0, 2]) and state[r, 0] == n_seen:
        act = int(state[r, 1])
        v, s = tick["venue"], tick["symbol"]
        if act == IntentAction.NEW:
            state[r, 7] = submit(ctx, 1, v, s, int(state[r, 2]), int(state[r, 3]), int(state[r, 4]),
                                 state[r, 5], state[r, 6])
        elif act == IntentAction.CANCEL:
            cancel(ctx, 1, int(state[int(state[r, 6]), 7]))
        r += 1
    state[0, 0] = r


def script_component(rows: list[tuple[float, ...]], capacity: int = 64) -> HotPath:
    """Scripted strategy: each row (tick_no, action, side, type, tif, qty, price|target_row)."""
    st = np.zeros((capacity + 1, 8))
    st[0, 0] = 1
    st[0, 2] = len(rows)
    for k, row in enumerate(rows, start=1):
        st[k, : len(row)] = row
    return HotPath(kind=ComponentKind.STRATEGY, params=params_array({"x": 0.0}), state=st,
                   on_tick=script_on_tick, name="script")
