"""Strategies inside the real fused loop (tradeloop.loop) with the simulated venue.

One loop carries three strategies on separate instruments, so a single compile covers
them: an SMA crossover on (x, ETH), the market maker on (y, ETH) and the arbitrage on BTC
across x and y. A second loop runs the Python-mode model strategy.
"""

from __future__ import annotations

import numpy as np
import pytest
from tradeloop.loop import build_loop
from tradeloop_plugin_arbitrage import CrossVenueArb
from tradeloop_plugin_classic import SmaCross
from tradeloop_plugin_market_maker import AvellanedaStoikov
from tradeloop_plugin_pymodel import PyModel
from tradeloop_plugin_sim import Sim
from tradeloop_sdk import TICK_DTYPE, IntentAction, OrderType, Side, TickKind, TimeInForce, Universe
from tradeloop_sdk.strategy_testing import make_ticks

pytestmark = pytest.mark.slow  # compiles two fused loops

U = Universe(venues=("x", "y"), symbols=("BTC", "ETH"), currencies=("USD", "BTC", "ETH"))


def _sim() -> object:
    return Sim(Sim.Params(allow_short=True, check_balance=False)).tradeloop_hot_path(U)


def _merge(*parts: np.ndarray) -> np.ndarray:
    # via raw bytes: numpy will not concatenate a dtype whose fields alias (price/bid)
    raw = np.concatenate([p.view(np.uint8).reshape(-1, TICK_DTYPE.itemsize) for p in parts])
    ts = np.concatenate([p["ts_recv"] for p in parts])
    raw = np.ascontiguousarray(raw[np.argsort(ts, kind="stable")])
    return raw.reshape(-1).view(TICK_DTYPE)


def test_three_strategies_in_one_fused_loop() -> None:
    comps = [
        SmaCross(SmaCross.Params(venue="x", symbol="ETH", fast=2, slow=4)).tradeloop_hot_path(U),
        AvellanedaStoikov(
            AvellanedaStoikov.Params(venue="y", symbol="ETH", sigma0=0.0, requote_bps=1.0)
        ).tradeloop_hot_path(U),
        CrossVenueArb(CrossVenueArb.Params(venues=("x", "y"), symbol="BTC", threshold_bps=1.0)).tradeloop_hot_path(U),
        _sim(),
    ]
    loop = build_loop(U, comps, mode="backtest", initial_cash={"USD": 1_000_000})
    dt = 1_000_000_000
    sma = make_ticks([10, 10, 10, 10, 10, 11, 12, 13, 9, 8], venue=0, symbol=1,
                     kind=TickKind.QUOTE, spread=0.001, size=100.0, dt_ns=dt)
    mm = make_ticks([2000.0] * 5 + [2000.1] * 5, venue=1, symbol=1, kind=TickKind.QUOTE,
                    spread=0.2, size=100.0, dt_ns=dt)
    mm["ts_recv"] += 1
    arb_x = make_ticks([100.0] * 10, venue=0, symbol=0, kind=TickKind.QUOTE, spread=0.02, size=0.5, dt_ns=dt)
    arb_y = make_ticks([100.0] * 10, venue=1, symbol=0, kind=TickKind.QUOTE, spread=0.02, size=0.5, dt_ns=dt)
    arb_y["bid"][3], arb_y["ask"][3] = 100.3, 100.32  # y's bid crosses x's ask (100.01) at tick 3
    arb_x["ts_recv"] += 2
    arb_y["ts_recv"] += 3
    loop.run(_merge(sma, mm, arb_x, arb_y))
    it = loop.drain_intents()
    assert (it["reason"] == 0).all()

    s = it[(it["venue"] == 0) & (it["symbol"] == 1)]
    assert [(int(x["side"]), float(x["qty"])) for x in s] == [(Side.BUY, 1.0), (Side.SELL, 2.0)]
    assert loop.ctx.positions[0, 1]["qty"] == pytest.approx(-1.0)

    m = it[(it["venue"] == 1) & (it["symbol"] == 1)]
    assert (m["type"] == OrderType.LIMIT).all() and (m["tif"] == TimeInForce.POST_ONLY).all()
    actions = [int(a) for a in m["action"]]
    # two quotes, then one replace per side when the mid moves 0.5 bps? no: 0.1/2000 = 0.5 bps
    # stays under the 1 bps threshold, so nothing but the two initial quotes
    assert actions == [IntentAction.NEW, IntentAction.NEW]
    live = [o for o in loop.snapshot()["open_orders"] if o["venue"] == "y" and o["symbol"] == "ETH"]
    assert len(live) == 2

    a = it[it["symbol"] == 0]
    legs = a[a["action"] == IntentAction.NEW]
    assert [(int(x["venue"]), int(x["side"])) for x in legs[:2]] == [(0, Side.BUY), (1, Side.SELL)]
    assert legs[0]["qty"] == 0.5 and legs[0]["price"] == pytest.approx(100.01)
    p = loop.ctx.positions
    assert p[0, 0]["qty"] + p[1, 0]["qty"] == pytest.approx(0.0)  # hedged or both filled


def test_python_mode_strategy_in_fused_loop() -> None:
    hp = PyModel(PyModel.Params(venue="x", symbol="BTC", lags=1, coef=(1.0,), threshold_bps=10.0)).tradeloop_hot_path(U)
    loop = build_loop(U, [hp, _sim()], mode="backtest", initial_cash={"USD": 1_000_000})
    loop.run(make_ticks([100.0, 101.0, 101.0, 98.98, 98.98], kind=TickKind.QUOTE, spread=0.01, size=10.0))
    it = loop.drain_intents()
    assert [(int(x["side"]), float(x["qty"])) for x in it] == [(Side.BUY, 1.0), (Side.SELL, 2.0)]
    assert loop.ctx.positions[0, 0]["qty"] == pytest.approx(-1.0)
