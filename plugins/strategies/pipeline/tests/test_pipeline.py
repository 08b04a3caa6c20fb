"""The six pipeline stages, one by one with hand-checked values, and chained."""

from __future__ import annotations

import math
from importlib.metadata import entry_points
from typing import Any

import attrs
import numpy as np
import pytest
from tradeloop_plugin_pipeline import Arbitrate, Blend, Gate, Predict, Risk, Size, slots
from tradeloop_plugin_pipeline._common import solve_ridge
from tradeloop_sdk import (
    IntentAction,
    OrderState,
    OrderType,
    Side,
    TickKind,
    Universe,
    make_context,
    submit,
)
from tradeloop_sdk import indicators as ind
from tradeloop_sdk.strategy_testing import _call_at, drive, drive_components, make_ticks

U = Universe(venues=("sim",), symbols=("ETH", "BTC"))
VS = {"venue": "sim", "symbol": "BTC"}


def hot(cls: Any, **kw: Any) -> Any:
    return cls(cls.Params(**VS, **kw)).tradeloop_hot_path(U)


@attrs.frozen
class Writer:
    """A duck-typed component that writes signal slots from Python before each tick."""

    fn: Any
    params: Any = None
    state: Any = None

    def on_tick(self, params: Any, state: Any, ctx: Any, tick: Any) -> None:
        self.fn(ctx, tick)


def test_stage_entry_points_listed() -> None:
    eps = {ep.name: ep.value for ep in entry_points(group="tradeloop.stages")}
    for name in ("predict", "blend", "arbitrate", "gate", "size", "risk"):
        assert eps[name].startswith("tradeloop_plugin_pipeline:")


def test_slot_layout_fits_default_context() -> None:
    assert slots.N_SLOTS == 16 == make_context().signals.shape[1]
    assert (slots.PRED, slots.BLEND, slots.SCORE, slots.TARGET) == (0, 9, 12, 15)


def test_predict_matches_reference_indicators() -> None:
    rng = np.random.default_rng(5)
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 300)))
    hp = hot(Predict, horizons=(3, 10))
    ctx = make_context(1, 2)
    drive(hp.on_tick, hp.params, hp.state, ctx, make_ticks(px, symbol=1))
    row = ctx.signals[1]
    x = px[-1]
    r = np.diff(np.log(px))
    for h, H in enumerate((3, 10)):
        mom = (ind.ema(px, H)[-1] - ind.ema(px, 4 * H)[-1]) / x
        rev = -(x - ind.sma(px, H)[-1]) / x
        drift = ind.ema(r, H)[-1] * H
        got = [row[slots.PRED + m * slots.N_HORIZONS + h] for m in range(3)]
        assert got == pytest.approx([mom, rev, drift], rel=1e-9)
    assert ctx.signals[0].tolist() == [0.0] * 16  # the other symbol's row is untouched
    assert row[slots.PRED + 2] == 0.0  # third horizon not configured


def test_predict_leaves_disabled_models_to_others() -> None:
    hp = hot(Predict, horizons=(3,), models=("momentum",))
    ctx = make_context(1, 2)
    ctx.signals[1, slots.PRED + 1 * slots.N_HORIZONS] = 0.123  # supplied by another component
    drive(hp.on_tick, hp.params, hp.state, ctx, make_ticks(np.linspace(100, 110, 30), symbol=1))
    assert ctx.signals[1, slots.PRED + 1 * slots.N_HORIZONS] == 0.123
    assert ctx.signals[1, slots.PRED] > 0  # rising prices: positive momentum


def test_solve_ridge_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    b = rng.normal(size=3)
    out = np.zeros(3)
    assert solve_ridge(a.copy(), b.copy(), 3, out)
    np.testing.assert_allclose(out, np.linalg.solve(a, b), rtol=1e-12)
    assert not solve_ridge(np.zeros((3, 3)), b.copy(), 3, out)


def test_blend_overweights_the_model_that_predicts() -> None:
    rng = np.random.default_rng(1)
    px = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 600)))
    nxt = np.append(np.diff(np.log(px)), 0.0)  # the return the next tick will realise
    noise = rng.normal(0, 1e-3, px.size)
    k = {"i": 0}

    def write(ctx: Any, tick: Any) -> None:
        i = k["i"]
        k["i"] += 1
        ctx.signals[1, slots.PRED + 0] = nxt[i]  # model 0 knows the future (a test oracle)
        ctx.signals[1, slots.PRED + 3] = noise[i]  # model 1 is noise
        ctx.signals[1, slots.PRED + 6] = -noise[i]  # model 2 is the same noise, inverted

    hp = hot(Blend, horizons=(1,), warmup=20, temperature=1e9)
    ctx = make_context(1, 2)
    drive_components([Writer(write), hp], ctx, make_ticks(px, symbol=1))
    w = hp.state[3]
    w = w / np.abs(w).sum()
    assert w[0] > 0.9
    # uncompressed (huge temperature): the blend is the weighted sum of the last forecasts
    row = ctx.signals[1]
    want = w[0] * nxt[-1] + w[1] * noise[-1] - w[2] * noise[-1]
    assert row[slots.BLEND] == pytest.approx(want, rel=1e-6)


def test_blend_compresses_short_horizons_harder() -> None:
    hp = hot(Blend, horizons=(1, 100), warmup=10_000, temperature=1.0)  # equal weights
    ctx = make_context(1, 2)
    ticks = make_ticks(np.full(50, 100.0), symbol=1)

    def write(ctx: Any, tick: Any) -> None:
        ctx.signals[1, 0:9] = 1e-4  # all models agree

    drive_components([Writer(write), hp], ctx, ticks)
    # steady blend b: RMS s = b; short horizon T = sqrt(1/100) -> 0.1 b tanh(10) ~ 0.1 b
    b = 1e-4
    assert ctx.signals[1, slots.BLEND + 1] == pytest.approx(b * math.tanh(1.0), rel=1e-9)
    assert ctx.signals[1, slots.BLEND + 0] == pytest.approx(0.1 * b * math.tanh(10.0), rel=1e-9)


def _quotes(mids: list[float], size: float = 10.0, spread: float = 0.02) -> np.ndarray:
    return make_ticks(mids, symbol=1, kind=TickKind.QUOTE, spread=spread, size=size)


def test_arbitrate_picks_best_net_score() -> None:
    hp = hot(Arbitrate, horizons=(1, 4, 16), impact_bps=1.0, order_qty=2.5)
    ctx = make_context(1, 2)
    row = ctx.signals[1]
    row[slots.BLEND : slots.BLEND + 3] = [0.004, -0.008, 0.009]
    drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0, 100.1]))
    r2 = math.log(100.1 / 100.0) ** 2  # both variances = first squared return; vt = 1
    cost = 0.02 / 100.1 + 1e-4 * math.sqrt(2.5 / 10.0)
    scores = [(abs(e) - cost) / math.sqrt(r2 * H) for e, H in zip([0.004, -0.008, 0.009], (1, 4, 16), strict=True)]
    assert row[slots.CHOSEN] == 1  # 0.008 over 4 ticks beats 0.004 over 1 and 0.009 over 16
    assert row[slots.SCORE] == pytest.approx(-scores[1], rel=1e-12)


def test_arbitrate_chooses_nothing_when_costs_win() -> None:
    hp = hot(Arbitrate, horizons=(1,))
    ctx = make_context(1, 2)
    ctx.signals[1, slots.BLEND] = 1e-5  # below a 2 bps spread
    drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0, 100.1]))
    assert ctx.signals[1, slots.CHOSEN] == -1 and ctx.signals[1, slots.SCORE] == 0


def test_arbitrate_counts_a_round_trip_of_taker_fees() -> None:
    # the stages trade with market orders: a 5 bps forecast beats a 2 bps spread, but not
    # the spread plus 2 bps of taker fee in and 2 out
    chosen = []
    for fee in (0.0, 0.0002):
        hp = hot(Arbitrate, horizons=(1,), impact_bps=0.0)
        ctx = make_context(1, 2)
        ctx.specs[0, 1]["taker_fee"] = fee
        ctx.signals[1, slots.BLEND] = 5e-4
        drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0, 100.1]))
        chosen.append(ctx.signals[1, slots.CHOSEN])
    assert chosen == [0, -1]


def test_gate_barrier_hysteresis_and_spread() -> None:
    hp = hot(Gate, barrier=1.0, hold_fraction=0.5, max_spread_bps=5.0)
    ctx = make_context(1, 2)
    row = ctx.signals[1]
    seen = []
    for score in (0.8, 1.2, 0.6, 0.4, 0.9):
        row[slots.CHOSEN], row[slots.SCORE] = 0, -score
        drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0]))
        seen.append(row[slots.GATE])
    assert seen == [0, 1, 1, 0, 0]
    row[slots.SCORE] = 2.0
    drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0], spread=0.1))  # 10 bps wide
    assert row[slots.GATE] == 0


def test_size_scales_with_score_and_vol_and_respects_band() -> None:
    hp = hot(Size, max_position=4.0, full_score=2.0, vol_target_bps=1e9, band=0.1)
    ctx = make_context(1, 2)
    row = ctx.signals[1]
    row[slots.GATE], row[slots.SCORE] = 1, 1.0
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0, 100.0]))
    assert [(int(x["side"]), float(x["qty"])) for x in intents] == [(int(Side.BUY), 2.0)]
    assert intents[0]["type"] == OrderType.MARKET and row[slots.TARGET] == 2.0
    row[slots.SCORE] = 1.15  # target 2.3: inside the 0.4 band, no trade
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0]))
    assert intents.size == 0
    row[slots.SCORE] = -4.0  # clipped at -1: target -4, sell 6
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0]))
    assert [(int(x["side"]), float(x["qty"])) for x in intents] == [(int(Side.SELL), 6.0)]
    row[slots.GATE] = 0  # closed gate: hold whatever we have
    row[slots.SCORE] = 2.0
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0]))
    assert intents.size == 0


def test_size_waits_while_its_order_works() -> None:
    # a second order sized from position + the last one's working qty would forget any
    # earlier order still out: the stage keeps one in flight and trades after the fill
    hp = hot(Size, max_position=4.0, full_score=2.0, vol_target_bps=1e9, band=0.1)
    ctx = make_context(1, 2)
    row = ctx.signals[1]
    row[slots.GATE], row[slots.SCORE] = 1, 1.0
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0]), fills=False)
    cid = int(intents[0]["client_id"])
    o = ctx.orders[cid & (ctx.orders.shape[0] - 1)]
    o["client_id"], o["qty"], o["side"], o["state"] = cid, 2.0, int(Side.BUY), int(OrderState.OPEN)
    row[slots.SCORE] = -4.0  # target -4 while the buy of 2 works: nothing yet
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0, 100.0]), fills=False)
    assert intents.size == 0
    o["filled"], o["state"] = 2.0, int(OrderState.FILLED)
    ctx.positions[0, 1]["qty"] = 2.0
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0]), fills=False)
    assert [(int(x["side"]), float(x["qty"])) for x in intents] == [(int(Side.SELL), 6.0)]


def test_size_does_not_resend_an_order_that_filled_nothing() -> None:
    # refused by a guard or the kill switch (no order is kept here: fills=False), the same
    # target would ask again on every tick
    hp = hot(Size, max_position=4.0, full_score=2.0, vol_target_bps=1e9, band=0.1)
    ctx = make_context(1, 2)
    row = ctx.signals[1]
    row[slots.GATE], row[slots.SCORE] = 1, 1.0
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0] * 5), fills=False)
    assert [(int(x["side"]), float(x["qty"])) for x in intents] == [(int(Side.BUY), 2.0)]
    row[slots.SCORE] = 1.15  # target 2.3: within the band (0.4) of the refused 2.0
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0] * 5), fills=False)
    assert intents.size == 0
    row[slots.SCORE] = -1.0  # target -2: a new decision, asked once
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0] * 5), fills=False)
    assert [(int(x["side"]), float(x["qty"])) for x in intents] == [(int(Side.SELL), 2.0)]


def test_size_shrinks_in_high_volatility() -> None:
    hp = hot(Size, max_position=1.0, full_score=1.0, vol_target_bps=1.0, band=0.0, alpha=1.0)
    ctx = make_context(1, 2)
    ctx.signals[1, slots.GATE], ctx.signals[1, slots.SCORE] = 1, 1.0
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, _quotes([100.0, 100.04]), fills=False)
    # one 1-second return of ~4 bps: sigma 4 bps/sqrt(s) -> a quarter of the position
    sig = abs(math.log(100.04 / 100.0)) * 1e4
    assert intents[-1]["qty"] == pytest.approx(1.0 / sig, rel=1e-9)


def _emit(ctx: Any, side: Side, qty: float, symbol: int = 1) -> None:
    submit(ctx, 0, 0, symbol, int(side), int(OrderType.MARKET), 2, qty, np.nan)


def test_risk_trims_and_withdraws() -> None:
    hp = hot(Risk, max_position=2.0, max_order_qty=1.5, max_notional=120.0)
    ctx = make_context(1, 2)
    ctx.positions[0, 1]["qty"] = 1.0
    t = _quotes([100.0])
    ctx.counts[0] = 0
    _emit(ctx, Side.BUY, 5.0)  # room 1.0 -> 1.0
    _emit(ctx, Side.BUY, 1.0)  # no room left -> withdrawn
    _emit(ctx, Side.BUY, 1.0, symbol=0)  # other symbol: untouched
    _emit(ctx, Side.SELL, 5.0)  # room 4 after the buy, order cap 1.5, notional 1.2 -> 1.2
    _call_at(hp.on_tick, hp.params, hp.state, ctx, t, 0)
    got = [(int(x["symbol"]), int(x["side"]), float(x["qty"])) for x in ctx.intents[: ctx.counts[0]]]
    assert got == [(1, 1, 1.0), (0, 1, 1.0), (1, 2, pytest.approx(1.2))]
    assert hp.state.tolist() == [2.0, 1.0]
    assert (ctx.intents[: ctx.counts[0]]["action"] == IntentAction.NEW).all()


@pytest.mark.slow
def test_whole_chain_trades_a_trend_within_limits() -> None:
    rng = np.random.default_rng(11)
    drift = np.concatenate([np.full(400, 2e-4), np.full(400, -2e-4)])
    px = 100 * np.exp(np.cumsum(drift + rng.normal(0, 2e-4, drift.size)))
    hz = (2, 8, 32)
    chain = [
        hot(Predict, horizons=hz),
        hot(Blend, horizons=hz, warmup=20),
        hot(Arbitrate, horizons=hz, default_spread_bps=0.5, impact_bps=0.0),
        hot(Gate, barrier=0.2),
        hot(Size, max_position=3.0, full_score=1.0, vol_target_bps=1e9),
        hot(Risk, max_position=2.0, max_order_qty=2.0),
    ]
    ctx = make_context(1, 2)
    intents, at = drive_components(chain, ctx, make_ticks(px, symbol=1, kind=TickKind.QUOTE, spread=0.002))
    assert intents.size >= 2
    assert (intents["qty"] <= 2.0 + 1e-12).all()
    pos = np.cumsum(np.where(intents["side"] == Side.BUY, intents["qty"], -intents["qty"]))
    assert np.abs(pos).max() <= 2.0 + 1e-9
    # long in the up-trend, short in the down-trend at some point
    assert pos[at < 400].max() > 0 and pos[at >= 400].min() < 0
    assert chain[5].state[1] > 0  # the risk stage withdrew orders beyond its limit


def test_params_validation() -> None:
    with pytest.raises(ValueError, match="horizons"):
        Predict.Params(**VS, horizons=(5, 3))
    with pytest.raises(ValueError, match="horizons"):
        Blend.Params(**VS, horizons=(1, 2, 3, 4))
    with pytest.raises(ValueError, match="models"):
        Predict.Params(**VS, models=("astrology",))
