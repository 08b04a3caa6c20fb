"""Guard kernels: ``check(params, state, ctx, i) -> reason`` over ``ctx.intents[i]``.

Cancels always pass (they only ever reduce risk). Prices and sizes are float64 here; the
exact Decimal view is the Python side's (``SymbolSpec``). Float division is compared with
a relative tolerance ``_EPS`` so that 0.3 / 0.1 counts as exactly three ticks, and a price
or size that passes is written back as its grid value (see :func:`_grid`), so float dust
from a strategy's arithmetic (0.5 - 0.1952 = 0.30479999999999996) never reaches a venue,
a fill or a position.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from tradeloop_sdk import IntentAction, OrderType, Reason, Side, is_tainted, record_breach

_CANCEL = int(IntentAction.CANCEL)
_MARKET = int(OrderType.MARKET)
_BUY = int(Side.BUY)
_EPS = 1e-9
_DUST = 1e-12

_PRICE_PRECISION = int(Reason.PRICE_PRECISION)
_MIN_SIZE = int(Reason.MIN_SIZE)
_MAX_SIZE = int(Reason.MAX_SIZE)
_SIZE_PRECISION = int(Reason.SIZE_PRECISION)
_MIN_NOTIONAL = int(Reason.MIN_NOTIONAL)
_PRICE_BAND = int(Reason.PRICE_BAND)
_STALE_QUOTE = int(Reason.STALE_QUOTE)
_TAINTED_DATA = int(Reason.TAINTED_DATA)
_SLIPPAGE = int(Reason.SLIPPAGE)
_NO_LIQUIDITY = int(Reason.NO_LIQUIDITY)

#: Price rounding modes of the precision guard.
ROUND_PASSIVE = 0  # buy rounds down, sell rounds up: never more aggressive than asked
ROUND_NEAREST = 1
ROUND_REJECT = 2  # refuse an off-tick price instead of moving it


@numba.njit(cache=True, inline="always")
def _has_price(it: Any) -> bool:
    return it["type"] != _MARKET and np.isfinite(it["price"])


@numba.njit(cache=True, inline="always")
def _grid(n: float, step: float) -> float:
    """``n`` steps as the float nearest the decimal ``n * step``: ``n / 100`` for a step of
    0.01 (``n * 0.01`` is off by an ulp for many ``n``) when ``1 / step`` is a whole
    number, else ``n * step``."""
    inv = np.round(1.0 / step)
    if inv >= 1.0 and abs(inv * step - 1.0) <= _EPS:
        return n / inv
    return n * step


@numba.njit(cache=True)
def _ref_price(ctx: Any, it: Any) -> float:
    """Price a notional is judged at: the limit, else the touch, else the mid (NaN if none)."""
    if _has_price(it):
        return it["price"]
    b = ctx.books[it["venue"], it["symbol"]]
    touch = b["ask"] if it["side"] == _BUY else b["bid"]
    if touch > 0.0:
        return touch
    return 0.5 * (b["bid"] + b["ask"])


@numba.njit(cache=True)
def precision_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Round the price to the tick, floor the size to the lot step, enforce min/max size
    and min notional from ``ctx.specs[v, s]``."""
    it = ctx.intents[i : i + 1]
    if it[0]["action"] == _CANCEL:
        return 0
    p = params[0]
    v = it[0]["venue"]
    s = it[0]["symbol"]
    spec = ctx.specs[v, s]
    tick = spec["tick_size"]
    if _has_price(it[0]) and tick > 0.0:
        price = it[0]["price"]
        x = price / tick
        near = np.round(x)
        on_tick = abs(x - near) <= _EPS * max(1.0, abs(x))
        if on_tick:
            k = near
        elif p["rounding"] == ROUND_REJECT:
            record_breach(ctx, i, _PRICE_PRECISION, price, tick, False)
            return _PRICE_PRECISION
        elif p["rounding"] == ROUND_NEAREST:
            k = near
        elif it[0]["side"] == _BUY:
            k = np.floor(x)
        else:
            k = np.ceil(x)
        if k <= 0.0:
            record_breach(ctx, i, _PRICE_PRECISION, price, tick, False)
            return _PRICE_PRECISION
        snapped = _grid(k, tick)
        if not on_tick:
            state[v, s] += 1
        if snapped != price:
            it[0]["price"] = snapped
    qty = it[0]["qty"]
    step = spec["lot_step"]
    if step > 0.0:
        y = qty / step
        n = np.floor(y + _EPS * max(1.0, y))
        q2 = _grid(n, step)
        if q2 < qty and abs(q2 - qty) > _EPS * qty:
            if q2 <= 0.0:
                record_breach(ctx, i, _MIN_SIZE, qty, step, False)
                return _MIN_SIZE
            record_breach(ctx, i, _SIZE_PRECISION, q2, qty, True)
        # a guard never raises a size: up to the grid value only by float dust (the
        # conformance kit's bound), as for 0.5 - 0.1952 = 0.30479999999999996
        if q2 != qty and q2 - qty <= _DUST:
            it[0]["qty"] = q2
            qty = q2
    if spec["min_qty"] > 0.0 and qty < spec["min_qty"] * (1.0 - _EPS):
        record_breach(ctx, i, _MIN_SIZE, qty, spec["min_qty"], False)
        return _MIN_SIZE
    if spec["max_qty"] > 0.0 and qty > spec["max_qty"] * (1.0 + _EPS):
        record_breach(ctx, i, _MAX_SIZE, qty, spec["max_qty"], False)
        return _MAX_SIZE
    if spec["min_notional"] > 0.0:
        ref = _ref_price(ctx, it[0])
        if not ref > 0.0:
            record_breach(ctx, i, _STALE_QUOTE, np.nan, spec["min_notional"], False)
            return _STALE_QUOTE
        notional = qty * ref
        if notional < spec["min_notional"] * (1.0 - _EPS):
            record_breach(ctx, i, _MIN_NOTIONAL, notional, spec["min_notional"], False)
            return _MIN_NOTIONAL
    return 0


@numba.njit(cache=True)
def price_band_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Refuse a limit price further than the band (bps) from mid; market orders pass."""
    it = ctx.intents[i]
    if it["action"] == _CANCEL or not _has_price(it):
        return 0
    p = params[0]
    v = it["venue"]
    s = it["symbol"]
    band = p["band_bps"] if p["band_bps"] > 0.0 else ctx.specs[v, s]["band_bps"]
    if band <= 0.0:
        return 0
    b = ctx.books[v, s]
    m = 0.5 * (b["bid"] + b["ask"])
    if not m > 0.0:
        if p["require_mid"] != 0:
            record_breach(ctx, i, _PRICE_BAND, np.nan, band, False)
            return _PRICE_BAND
        return 0
    dev = abs(it["price"] - m) / m * 1e4
    if dev > band * (1.0 + _EPS):
        record_breach(ctx, i, _PRICE_BAND, dev, band, False)
        return _PRICE_BAND
    return 0


@numba.njit(cache=True)
def stale_reference_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Refuse when the symbol's quote is older than ``max_age_ns`` at the loop clock, missing,
    or (``refuse_tainted``) flagged by a gate."""
    it = ctx.intents[i]
    if it["action"] == _CANCEL:
        return 0
    p = params[0]
    v = it["venue"]
    s = it["symbol"]
    b = ctx.books[v, s]
    t = b["ts_recv"] if b["ts_recv"] > 0 else b["ts_exch"]
    if t <= 0 or not (b["bid"] > 0.0 or b["ask"] > 0.0):
        record_breach(ctx, i, _STALE_QUOTE, np.nan, p["max_age_ns"] * 1e-6, False)
        return _STALE_QUOTE
    age = ctx.control[0]["now_ns"] - t
    if age > p["max_age_ns"]:
        record_breach(ctx, i, _STALE_QUOTE, age * 1e-6, p["max_age_ns"] * 1e-6, False)
        return _STALE_QUOTE
    if p["refuse_tainted"] != 0 and is_tainted(ctx, v, s):
        record_breach(ctx, i, _TAINTED_DATA, float(b["flags"]), float(b["tainted_until"]), False)
        return _TAINTED_DATA
    return 0


@numba.njit(cache=True)
def slippage_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Cap how far an order may reach past the touch, in bps.

    Limit orders: a buy limit above the ask (a sell below the bid) by more than
    ``max_bps`` of the touch is refused, or with ``clamp`` pulled back to that distance.
    Market orders: refused when the touch is more than ``max_bps`` from mid, or the size
    exceeds ``max_touch_multiple`` times the size shown at the touch (0: unchecked).
    """
    it = ctx.intents[i : i + 1]
    if it[0]["action"] == _CANCEL:
        return 0
    p = params[0]
    v = it[0]["venue"]
    s = it[0]["symbol"]
    b = ctx.books[v, s]
    buy = it[0]["side"] == _BUY
    touch = b["ask"] if buy else b["bid"]
    if not touch > 0.0:
        record_breach(ctx, i, _NO_LIQUIDITY, np.nan, p["max_bps"], False)
        return _NO_LIQUIDITY
    cap = p["max_bps"]
    if _has_price(it[0]):
        price = it[0]["price"]
        over = (price - touch) / touch * 1e4 if buy else (touch - price) / touch * 1e4
        if over > cap * (1.0 + _EPS):
            if p["clamp"] != 0:
                it[0]["price"] = touch * (1.0 + cap * 1e-4) if buy else touch * (1.0 - cap * 1e-4)
                state[v, s] += 1
                return 0
            record_breach(ctx, i, _SLIPPAGE, over, cap, False)
            return _SLIPPAGE
        return 0
    m = 0.5 * (b["bid"] + b["ask"])
    if m > 0.0:
        cost = abs(touch - m) / m * 1e4
        if cost > cap * (1.0 + _EPS):
            record_breach(ctx, i, _SLIPPAGE, cost, cap, False)
            return _SLIPPAGE
    mult = p["max_touch_multiple"]
    if mult > 0.0:
        shown = b["ask_size"] if buy else b["bid_size"]
        if it[0]["qty"] > mult * shown * (1.0 + _EPS):
            record_breach(ctx, i, _SLIPPAGE, it[0]["qty"], mult * shown, False)
            return _SLIPPAGE
    return 0
