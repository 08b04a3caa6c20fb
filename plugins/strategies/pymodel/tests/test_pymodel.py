"""The Python-mode model strategy, driven tick by tick from Python."""

from __future__ import annotations

import math
from importlib.metadata import entry_points

import numpy as np
import pytest
from tradeloop_plugin_pymodel import LinearModel, PyModel
from tradeloop_sdk import OrderState, Side, TickFlag, Universe, make_context
from tradeloop_sdk.strategy_testing import drive_components, make_ticks

U = Universe(venues=("sim",), symbols=("BTC",))


def test_entry_point_listed() -> None:
    eps = {ep.name: ep.value for ep in entry_points(group="tradeloop.strategies")}
    assert eps["py_model"] == "tradeloop_plugin_pymodel:PyModel"


def test_linear_model_fits_and_predicts() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([0.5, -0.2, 0.1]) + 0.03
    m = LinearModel().fit(x, y)
    np.testing.assert_allclose(m.coef_, [0.5, -0.2, 0.1], atol=1e-12)
    assert m.intercept_ == pytest.approx(0.03)
    with pytest.raises(ValueError, match="shape"):
        m.predict(np.zeros((1, 2)))


def test_hot_path_is_python_mode_with_typable_params() -> None:
    hp = PyModel(PyModel.Params(venue="sim", symbol="BTC", lags=2, coef=(1.0, 0.0))).tradeloop_hot_path(U)
    assert hp.python_mode and callable(hp.on_tick)
    assert hp.params.dtype.names is not None and hp.state.dtype == np.float64


def test_momentum_model_trades_hand_checked() -> None:
    # forecast = last return: up 1% -> long 1; down 2% -> short (sell 2); flat -> hold
    p = PyModel.Params(venue="sim", symbol="BTC", lags=1, coef=(1.0,), threshold_bps=10.0)
    hp = PyModel(p).tradeloop_hot_path(U)
    ctx = make_context(1, 1)
    px = [100.0, 101.0, 101.0, 98.98, 98.98]
    intents, at = drive_components([hp], ctx, make_ticks(px))
    got = [(int(i), int(x["side"]), float(x["qty"])) for x, i in zip(intents, at, strict=True)]
    assert got == [(1, int(Side.BUY), 1.0), (3, int(Side.SELL), 2.0)]
    assert hp.state[3] == pytest.approx(math.log(98.98 / 98.98))


def test_one_order_in_flight() -> None:
    # the buy from tick 1 stays working: the short signal at 3 waits for it; once it has
    # filled the next signal sells from the position (+1), not from position + working
    p = PyModel.Params(venue="sim", symbol="BTC", lags=1, coef=(1.0,), threshold_bps=10.0)
    hp = PyModel(p).tradeloop_hot_path(U)
    ctx = make_context(1, 1)
    ticks = make_ticks([100.0, 101.0, 101.0, 98.98, 96.0])
    intents, at = drive_components([hp], ctx, ticks[:2], fills=False)
    assert at.tolist() == [1]
    cid = int(intents[0]["client_id"])
    o = ctx.orders[cid & (ctx.orders.shape[0] - 1)]
    o["client_id"], o["qty"], o["side"], o["state"] = cid, 1.0, int(Side.BUY), int(OrderState.OPEN)
    intents, _ = drive_components([hp], ctx, ticks[2:4], fills=False)
    assert intents.size == 0
    o["filled"], o["state"] = 1.0, int(OrderState.FILLED)
    ctx.positions[0, 0]["qty"] = 1.0
    intents, _ = drive_components([hp], ctx, ticks[4:], fills=False)
    assert [(int(x["side"]), float(x["qty"])) for x in intents] == [(int(Side.SELL), 2.0)]


def test_any_predict_object_and_taint() -> None:
    class Always:
        def predict(self, X: np.ndarray) -> np.ndarray:
            return np.full(len(X), 0.01)

    p = PyModel.Params(venue="sim", symbol="BTC", lags=2)
    hp = PyModel(p, model=Always()).tradeloop_hot_path(U)
    ticks = make_ticks([100.0, 100.0, 100.0, 100.0])
    ticks["flags"][2] = int(TickFlag.GAP)
    _, at = drive_components([hp], make_context(1, 1), ticks)
    assert at.tolist() == [3]  # tick 2 was tainted: the second return arrives at tick 3


def test_bad_params() -> None:
    with pytest.raises(ValueError, match="coef"):
        PyModel.Params(venue="sim", symbol="BTC", lags=2, coef=(1.0,))
    with pytest.raises(ValueError, match="coef"):
        PyModel(PyModel.Params(venue="sim", symbol="BTC"))
    with pytest.raises(TypeError, match="predict"):
        PyModel(PyModel.Params(venue="sim", symbol="BTC"), model=object())
