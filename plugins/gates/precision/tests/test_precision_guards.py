"""Precision, price band, stale reference and slippage guards at, below and above each limit."""

from __future__ import annotations

import math
from typing import Any

import numba
import pytest
import tradeloop_plugin_precision as pp
import tradeloop_sdk as sdk
from tradeloop_sdk import OrderType, Reason, Side, TimeInForce, Universe

U = Universe(venues=("sim",), symbols=("BTC",))
NOW = 1_700_000_000_000_000_000
MS = 1_000_000
NAN = math.nan


@numba.njit(cache=True)
def _check(fn, params, state, ctx, i):  # type: ignore[no-untyped-def]
    return fn(params, state, ctx, i)


def make_ctx(tick: float = 0.01, lot: float = 0.001, min_qty: float = 0.0, min_notional: float = 0.0,
             max_qty: float = 0.0, band_bps: float = 0.0, bid: float = 100.0, ask: float = 100.02,
             size: float = 5.0, age_ms: float = 0.0) -> Any:
    ctx = sdk.make_context(1, 1)
    sp = ctx.specs[0, 0]
    sp["tick_size"], sp["lot_step"], sp["min_qty"] = tick, lot, min_qty
    sp["min_notional"], sp["max_qty"], sp["band_bps"] = min_notional, max_qty, band_bps
    b = ctx.books[0, 0]
    b["bid"], b["ask"], b["bid_size"], b["ask_size"] = bid, ask, size, size
    b["ts_recv"] = b["ts_exch"] = NOW - round(age_ms * MS)
    ctx.control[0]["now_ns"] = NOW
    return ctx


def run(guard: Any, ctx: Any, side: Side, qty: float, price: float = NAN,
        otype: OrderType | None = None) -> tuple[int, Any]:
    hp = guard.tradeloop_hot_path(U)
    assert hp.kind == sdk.ComponentKind.GUARD and hp.name
    ot = otype if otype is not None else (OrderType.MARKET if math.isnan(price) else OrderType.LIMIT)
    sdk.submit(ctx, 0, 0, 0, side, ot, TimeInForce.GTC, qty, price)
    r = int(_check(hp.check, hp.params, hp.state, ctx, 0))
    return r, ctx.intents[0]


@pytest.mark.parametrize(
    ("rounding", "side", "price", "expected"),
    [
        ("passive", Side.BUY, 100.017, 100.01),
        ("passive", Side.SELL, 100.011, 100.02),
        ("passive", Side.BUY, 100.3, 100.3),  # on tick despite float division noise
        ("nearest", Side.BUY, 100.017, 100.02),
        ("nearest", Side.SELL, 100.011, 100.01),
    ],
)
def test_price_rounding(rounding: str, side: Side, price: float, expected: float) -> None:
    r, it = run(pp.Precision(pp.Precision.Params(rounding=rounding)), make_ctx(), side, 1.0, price)
    assert r == 0 and it["price"] == pytest.approx(expected, abs=1e-12)



def test_passing_values_are_written_as_their_grid_decimal() -> None:
    # float dust from a strategy's arithmetic, and n * step products off by an ulp, leave
    # as the float nearest the decimal: what a venue, a fill and a position then carry
    g = pp.Precision()
    dusty = 0.5 - 0.1952
    assert repr(dusty) == "0.30479999999999996"
    ctx = make_ctx(lot=0.0001)
    r, it = run(g, ctx, Side.BUY, dusty)
    assert r == 0 and repr(float(it["qty"])) == "0.3048"
    assert ctx.counts[2] == 0  # events: not a resize, so no breach recorded
    price = 10001951 * 0.01
    assert repr(price) != "100019.51"
    r, it = run(g, make_ctx(lot=0.0001), Side.BUY, 1.0, price)
    assert r == 0 and repr(float(it["price"])) == "100019.51"
    r, it = run(g, make_ctx(lot=0.0001), Side.BUY, 1.23456789, 100.017)  # resized and rounded
    assert r == 0 and repr(float(it["qty"])) == "1.2345" and repr(float(it["price"])) == "100.01"

def test_reject_mode_refuses_off_tick_only() -> None:
    g = pp.Precision(pp.Precision.Params(rounding="reject"))
    assert run(g, make_ctx(), Side.BUY, 1.0, 100.015)[0] == Reason.PRICE_PRECISION
    assert run(g, make_ctx(), Side.BUY, 1.0, 100.01)[0] == 0


def test_size_floors_to_lot_and_min_qty_bounds() -> None:
    g = pp.Precision()
    r, it = run(g, make_ctx(lot=0.01), Side.BUY, 1.2345, 100.0)
    assert r == 0 and it["qty"] == pytest.approx(1.23)
    r, it = run(g, make_ctx(lot=0.1), Side.BUY, 0.3, 100.0)  # 0.3/0.1 is 2.9999...: no resize
    assert r == 0 and it["qty"] == 0.3
    assert run(g, make_ctx(lot=0.01), Side.BUY, 0.004, 100.0)[0] == Reason.MIN_SIZE
    for qty, expected in ((0.5, 0), (0.49, Reason.MIN_SIZE), (0.51, 0)):
        assert run(g, make_ctx(lot=0.01, min_qty=0.5), Side.BUY, qty, 100.0)[0] == expected
    for qty, expected in ((2.0, 0), (1.99, 0), (2.01, Reason.MAX_SIZE)):
        assert run(g, make_ctx(lot=0.01, max_qty=2.0), Side.BUY, qty, 100.0)[0] == expected


def test_min_notional_at_limit_price_or_touch() -> None:
    g = pp.Precision()
    for qty, expected in ((0.1, 0), (0.099, Reason.MIN_NOTIONAL), (0.101, 0)):
        assert run(g, make_ctx(min_notional=10.0), Side.BUY, qty, 100.0)[0] == expected
    # market buy is judged at the ask (100.02): 0.1 * 100.02 > 10
    assert run(g, make_ctx(min_notional=10.0), Side.BUY, 0.1)[0] == 0
    assert run(g, make_ctx(min_notional=10.0, bid=NAN, ask=NAN), Side.BUY, 0.1)[0] == Reason.STALE_QUOTE


def test_passive_rounding_can_push_notional_below_the_minimum() -> None:
    # 0.09995 @ 100.059 is 10.0009 >= 10, but the buy rounds down to 100.05 -> 9.99999 < 10
    assert 0.09995 * 100.059 >= 10.0
    ctx = make_ctx(tick=0.01, lot=0.00001, min_notional=10.0)
    r, _ = run(pp.Precision(), ctx, Side.BUY, 0.09995, 100.059)
    assert r == Reason.MIN_NOTIONAL
    ev = ctx.events[ctx.counts[2] - 1]
    assert ev["value"] == pytest.approx(0.09995 * 100.05) and ev["limit"] == 10.0


def test_price_band_at_and_around_the_band() -> None:
    g = pp.PriceBand(pp.PriceBand.Params(band_bps=100.0))
    ctx_kw = {"bid": 99.0, "ask": 101.0}  # mid 100, band +-1.0
    for price, expected in ((101.0, 0), (100.99, 0), (101.01, Reason.PRICE_BAND), (98.99, Reason.PRICE_BAND)):
        assert run(g, make_ctx(**ctx_kw), Side.BUY, 1.0, price)[0] == expected
    assert run(g, make_ctx(**ctx_kw), Side.BUY, 1.0)[0] == 0  # market orders: slippage's job
    spec_band = pp.PriceBand()  # band from the symbol spec
    assert run(spec_band, make_ctx(band_bps=50.0, **ctx_kw), Side.SELL, 1.0, 100.6)[0] == Reason.PRICE_BAND
    assert run(spec_band, make_ctx(**ctx_kw), Side.SELL, 1.0, 150.0)[0] == 0  # no band anywhere
    assert run(g, make_ctx(bid=NAN, ask=NAN), Side.BUY, 1.0, 1.0)[0] == Reason.PRICE_BAND


def test_stale_reference_age_bound_and_taint() -> None:
    g = pp.StaleReference(pp.StaleReference.Params(max_age_ms=100.0))
    for age, expected in ((100.0, 0), (99.0, 0), (100.001, Reason.STALE_QUOTE)):
        assert run(g, make_ctx(age_ms=age), Side.BUY, 1.0, 100.0)[0] == expected
    ctx = make_ctx()
    ctx.books[0, 0]["tainted_until"] = NOW + 1
    assert run(g, ctx, Side.BUY, 1.0, 100.0)[0] == Reason.TAINTED_DATA
    assert run(g, make_ctx(bid=NAN, ask=NAN), Side.BUY, 1.0, 100.0)[0] == Reason.STALE_QUOTE


def test_cancels_always_pass() -> None:
    ctx = make_ctx(bid=NAN, ask=NAN, min_notional=1e9)
    ctx.orders[1]["client_id"], ctx.orders[1]["qty"] = 1, 1e-9
    sdk.cancel(ctx, 0, 1)
    for g in (pp.Precision(), pp.PriceBand(), pp.StaleReference(), pp.Slippage()):
        hp = g.tradeloop_hot_path(U)
        assert _check(hp.check, hp.params, hp.state, ctx, 0) == 0


def test_slippage_limit_reach_past_touch() -> None:
    g = pp.Slippage(pp.Slippage.Params(max_bps=10.0))
    ask = 100.0  # 10 bps past it is 100.1
    for price, expected in ((100.1, 0), (100.09, 0), (100.11, Reason.SLIPPAGE)):
        assert run(g, make_ctx(bid=99.9, ask=ask), Side.BUY, 1.0, price)[0] == expected
    assert run(g, make_ctx(bid=100.0, ask=100.1), Side.SELL, 1.0, 99.89)[0] == Reason.SLIPPAGE
    clamp = pp.Slippage(pp.Slippage.Params(max_bps=10.0, clamp=True))
    r, it = run(clamp, make_ctx(bid=99.9, ask=ask), Side.BUY, 1.0, 101.0)
    assert r == 0 and it["price"] == pytest.approx(100.1) and clamp.state[0, 0] == 1


def test_slippage_market_vs_touch() -> None:
    g = pp.Slippage(pp.Slippage.Params(max_bps=10.0, max_touch_multiple=2.0))
    # half-spread 10 bps of mid exactly at the cap; 12 bps above it
    assert run(g, make_ctx(bid=99.9, ask=100.1), Side.BUY, 1.0)[0] == 0
    assert run(g, make_ctx(bid=99.88, ask=100.12), Side.BUY, 1.0)[0] == Reason.SLIPPAGE
    for qty, expected in ((10.0, 0), (9.9, 0), (10.1, Reason.SLIPPAGE)):  # touch size 5, x2
        assert run(g, make_ctx(bid=99.99, ask=100.01, size=5.0), Side.SELL, qty)[0] == expected
    assert run(g, make_ctx(bid=NAN, ask=NAN), Side.BUY, 1.0)[0] == Reason.NO_LIQUIDITY


def test_params_are_bounded() -> None:
    with pytest.raises(ValueError, match="rounding"):
        pp.Precision.Params(rounding="up")
    with pytest.raises(ValueError, match="max_age_ms"):
        pp.StaleReference.Params(max_age_ms=0)
