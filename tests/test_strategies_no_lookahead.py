"""No look-ahead: changing the future of a series never changes decisions made before it.

Every first-party strategy and the whole pipeline chain run on a series, then on the same
series with everything from tick ``K`` on replaced; the intents emitted before ``K`` must be
identical field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from tradeloop_plugin_arbitrage import CrossVenueArb
from tradeloop_plugin_classic import Bollinger, EmaCross, RsiReversion, SmaCross
from tradeloop_plugin_market_maker import AvellanedaStoikov
from tradeloop_plugin_pipeline import Arbitrate, Blend, Gate, Predict, Risk, Size
from tradeloop_plugin_pymodel import PyModel
from tradeloop_sdk import TickKind, Universe, make_context
from tradeloop_sdk.strategy_testing import drive_components, make_ticks

pytestmark = pytest.mark.slow  # compiles every strategy's kernels; ~30 s on a cold cache

U = Universe(venues=("x", "y"), symbols=("BTC",))
N, K = 400, 250
VS = {"venue": "x", "symbol": "BTC"}


def _series(seed: int) -> np.ndarray:
    return 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 2e-3, N)))


def quotes(seed: int, change_from: int | None = None) -> np.ndarray:
    px = _series(seed)
    if change_from is not None:
        alt = _series(seed + 1000)
        px[change_from:] = px[change_from - 1] * alt[change_from:] / alt[change_from - 1]
    return make_ticks(px, kind=TickKind.QUOTE, spread=0.01, size=3.0)


def two_venues(seed: int, change_from: int | None = None) -> np.ndarray:
    a = quotes(seed, change_from)
    b = quotes(seed + 1, change_from)
    b["venue"] = 1
    b["ts_recv"] += 1
    t = np.empty(2 * N, a.dtype)
    t[0::2], t[1::2] = a, b
    return t


Factory = Callable[[], list[Any]]
CASES: dict[str, tuple[Factory, Callable[..., np.ndarray]]] = {
    "sma_cross": (lambda: [SmaCross(SmaCross.Params(**VS, fast=3, slow=9))], quotes),
    "ema_cross": (lambda: [EmaCross(EmaCross.Params(**VS, fast=3, slow=9))], quotes),
    "rsi_reversion": (lambda: [RsiReversion(RsiReversion.Params(**VS, period=5))], quotes),
    "bollinger": (lambda: [Bollinger(Bollinger.Params(**VS, period=10, width=1.0))], quotes),
    "avellaneda_stoikov": (
        lambda: [AvellanedaStoikov(AvellanedaStoikov.Params(**VS, levels=2, requote_bps=2.0))],
        quotes,
    ),
    "cross_venue_arb": (
        lambda: [CrossVenueArb(CrossVenueArb.Params(venues=("x", "y"), symbol="BTC", threshold_bps=1.0))],
        two_venues,
    ),
    "pipeline": (
        lambda: [
            Predict(Predict.Params(**VS, horizons=(2, 8))),
            Blend(Blend.Params(**VS, horizons=(2, 8), warmup=10)),
            Arbitrate(Arbitrate.Params(**VS, horizons=(2, 8), impact_bps=0.0)),
            Gate(Gate.Params(**VS, barrier=0.1, max_spread_bps=50.0)),
            Size(Size.Params(**VS, max_position=2.0, full_score=0.5, vol_target_bps=1e9)),
            Risk(Risk.Params(**VS, max_position=2.0, max_order_qty=2.0)),
        ],
        quotes,
    ),
    "py_model": (lambda: [PyModel(PyModel.Params(**VS, lags=2, coef=(-1.0, -0.5)))], quotes),
}


def _run(make: Factory, ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hps = [c.tradeloop_hot_path(U) for c in make()]
    return drive_components(hps, make_context(2, 1), ticks)


@pytest.mark.parametrize("name", list(CASES))
def test_changed_future_leaves_past_decisions_identical(name: str) -> None:
    make, feed = CASES[name]
    base = feed(7)
    alt = feed(7, change_from=K)
    cut = int(np.argmax(base["ask"] != alt["ask"]))
    assert cut > 0 and (base[:cut] == alt[:cut]).all()
    a, at_a = _run(make, base)
    b, at_b = _run(make, alt)
    early_a, early_b = a[at_a < cut], b[at_b < cut]
    assert early_a.size > 0, f"{name} made no decision before tick {cut}: the test would be vacuous"
    assert early_a.tobytes() == early_b.tobytes()
    assert (at_a[at_a < cut] == at_b[at_b < cut]).all()
