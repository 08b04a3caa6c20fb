"""Avellaneda-Stoikov market maker: hand-checked quotes, skew, levels, limits and churn."""

from __future__ import annotations

import math
from importlib.metadata import entry_points
from typing import Any

import numpy as np
import pytest
from tradeloop_plugin_market_maker import AvellanedaStoikov
from tradeloop_sdk import (
    IntentAction,
    OrderType,
    Side,
    TickFlag,
    TickKind,
    TimeInForce,
    Universe,
    make_context,
)
from tradeloop_sdk.strategy_testing import drive, make_ticks

U = Universe(venues=("sim",), symbols=("BTC",))


def setup(**kw: Any) -> tuple[Any, Any]:
    base = {"venue": "sim", "symbol": "BTC", "sigma0": 0.0}
    base.update(kw)
    hp = AvellanedaStoikov(AvellanedaStoikov.Params(**base)).tradeloop_hot_path(U)
    return hp, make_context(1, 1)


def quotes_of(intents: np.ndarray) -> tuple[list[float], list[float]]:
    new = intents[intents["action"] == IntentAction.NEW]
    bids = sorted((float(x["price"]) for x in new if x["side"] == Side.BUY), reverse=True)
    asks = sorted(float(x["price"]) for x in new if x["side"] == Side.SELL)
    return bids, asks


def run(hp: Any, ctx: Any, mids: Any, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    ticks = make_ticks(mids, kind=TickKind.QUOTE, spread=0.02, **kw)
    return drive(hp.on_tick, hp.params, hp.state, ctx, ticks)


def test_entry_point_listed() -> None:
    eps = {ep.name: ep.value for ep in entry_points(group="tradeloop.strategies")}
    assert eps["avellaneda_stoikov"] == "tradeloop_plugin_market_maker:AvellanedaStoikov"


def test_flat_inventory_quotes_symmetric_rounded_to_tick() -> None:
    # half spread = (1/gamma) ln(1 + gamma/kappa) = 10 * ln(1.00005) = 4.99988e-4
    hp, ctx = setup()
    ctx.specs[0, 0]["tick_size"] = 0.01
    intents, _ = run(hp, ctx, [100.0])
    assert quotes_of(intents) == ([pytest.approx(99.95)], [pytest.approx(100.05)])
    for it in intents:
        assert it["type"] == OrderType.LIMIT and it["tif"] == TimeInForce.POST_ONLY
        assert it["qty"] == 1.0


@pytest.mark.parametrize("pos", [2.0, -2.0])
def test_inventory_skews_reservation_price(pos: float) -> None:
    hp, ctx = setup(sigma0=1e-3)
    ctx.positions[0, 0]["qty"] = pos
    intents, _ = run(hp, ctx, [100.0])
    var_tau = 1e-6 * 60.0
    res = 100.0 * (1 - pos * 0.1 * var_tau)  # 99.9988 when long 2 lots
    half = 0.5 * (0.1 * var_tau + 20.0 * math.log(1 + 0.1 / 2000.0))
    bids, asks = quotes_of(intents)
    assert bids == [pytest.approx(res - 100.0 * half, rel=1e-12)]
    assert asks == [pytest.approx(res + 100.0 * half, rel=1e-12)]
    # long inventory shades both quotes down (sell more eagerly), short shades them up
    assert (bids[0] + asks[0]) / 2 == pytest.approx(100.0 - pos * 0.0006, rel=1e-12)


def test_levels_are_spaced() -> None:
    hp, ctx = setup(levels=3, spacing_bps=5.0)
    intents, _ = run(hp, ctx, [100.0])
    bids, asks = quotes_of(intents)
    assert np.allclose(np.diff(bids), -0.05) and np.allclose(np.diff(asks), 0.05)
    assert len(bids) == len(asks) == 3


def test_inventory_limit_drops_bid_levels() -> None:
    hp, ctx = setup(levels=2, max_inventory=3.0)
    ctx.positions[0, 0]["qty"] = 2.0  # one more lot fits, two do not
    bids, asks = quotes_of(run(hp, ctx, [100.0])[0])
    assert len(bids) == 1 and len(asks) == 2
    hp, ctx = setup(levels=2, max_inventory=3.0)
    ctx.positions[0, 0]["qty"] = -3.0  # at the short limit: no asks at all
    bids, asks = quotes_of(run(hp, ctx, [100.0])[0])
    assert len(bids) == 2 and asks == []


def test_requote_only_beyond_threshold() -> None:
    hp, ctx = setup(requote_bps=1.0)
    # 0.5 bps move: nothing; 2 bps move: one replace per side; then steady: nothing
    intents, at = run(hp, ctx, [100.0, 100.005, 100.025, 100.025, 100.025])
    acts = [(int(i), int(x["action"])) for x, i in zip(intents, at, strict=True)]
    assert acts == [(0, 1), (0, 1), (2, 3), (2, 3)]
    rep = intents[intents["action"] == IntentAction.REPLACE]
    assert sorted(rep["price"]) == pytest.approx(sorted([100.025 * (1 - 4.99988e-4), 100.025 * (1 + 4.99988e-4)]), rel=1e-6)
    assert hp.state[3:6].tolist() == [2.0, 2.0, 0.0]  # submits, replaces, cancels


def test_reaching_the_limit_cancels_the_resting_bid() -> None:
    hp, ctx = setup(max_inventory=2.0)
    intents, _ = run(hp, ctx, [100.0])
    bid_cid = int(intents[intents["side"] == Side.BUY][0]["client_id"])
    ctx.positions[0, 0]["qty"] = 2.0  # our bids got filled elsewhere
    intents, _ = run(hp, ctx, [100.0])
    assert intents.size == 1
    assert intents[0]["action"] == IntentAction.CANCEL and intents[0]["client_id"] == bid_cid


def test_tainted_data_pulls_quotes_and_places_none() -> None:
    hp, ctx = setup()
    run(hp, ctx, [100.0])
    ticks = make_ticks([100.0, 100.0], kind=TickKind.QUOTE, spread=0.02)
    ticks["flags"] = int(TickFlag.CROSSED)
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, ticks)
    assert intents.size == 2 and (intents["action"] == IntentAction.CANCEL).all()


def test_volatility_widens_spread() -> None:
    hp, ctx = setup(vol_alpha=0.5)
    rng = np.random.default_rng(0)
    mids = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 50)))
    run(hp, ctx, mids)
    assert hp.state[0] > 0.0
    half_vol = hp.state[7]
    assert half_vol > 0.5 * (20.0 * math.log(1 + 0.1 / 2000.0))


def test_bad_params() -> None:
    with pytest.raises(ValueError, match="min_spread_bps"):
        AvellanedaStoikov.Params(venue="sim", symbol="BTC", min_spread_bps=10, max_spread_bps=5)
    with pytest.raises(ValueError, match="levels"):
        AvellanedaStoikov.Params(venue="sim", symbol="BTC", levels=0)


def test_a_settled_slot_is_exactly_one_reconcile_leaves_alone() -> None:
    """The inlined pre-check decides as _reconcile does: over every case of a slot (nothing
    resting, live, pending cancel, another order in the table row; a price wanted or not,
    near or beyond requote_bps), it says "settled" exactly when _reconcile sends nothing
    and changes nothing."""
    from tradeloop_plugin_market_maker._kernel import S_SLOTS, _reconcile, _settled
    from tradeloop_sdk import OrderState

    hp, _ = setup(requote_bps=1.0, levels=1)
    p = hp.params[0]
    m = 100.0
    cases = 0
    for cid in (0, 5):
        for row_cid in (5, 4101):  # 4101 shares row 5 of a 4096-row table
            for state in (OrderState.CREATING, OrderState.OPEN, OrderState.PENDING_CANCEL, OrderState.FILLED):
                for asked in (100.0, 99.995, 99.99, 99.98):
                    for px in (100.0, math.nan):
                        ctx = make_context(1, 1)
                        st = hp.state.copy()
                        st[S_SLOTS], st[S_SLOTS + 1] = cid, asked
                        o = ctx.orders[5 & (ctx.orders.shape[0] - 1)]
                        o["client_id"], o["state"], o["qty"] = row_cid, int(state), 1.0
                        settled = _settled(p, st, ctx, 0, px, m)
                        before = st.copy()
                        ctx.counts[0] = 0
                        _reconcile(p, st, ctx, 0, int(Side.BUY), px, m)
                        acted = ctx.counts[0] > 0 or not np.array_equal(st, before, equal_nan=True)
                        assert settled == (not acted), (cid, row_cid, state, asked, px)
                        cases += 1
    assert cases == 128
