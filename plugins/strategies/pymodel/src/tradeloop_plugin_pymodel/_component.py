"""A strategy in plain Python (python_mode): lagged returns into a model's ``predict``.

It shows the Python mode of the fused loop: the kernel calls :meth:`_Runtime.on_tick`
through ``numba.objmode`` for each tick, so any Python object can decide, a fitted
scikit-learn estimator included. It is much slower than a compiled kernel (see
``bench/bench_strategies.py``), and the SDK's compiled helpers (``submit``,
``is_tainted``, ``order_in_flight``) are called from Python here.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import (
    TAINTED,
    ComponentKind,
    HotPath,
    OrderType,
    Side,
    TickKind,
    TimeInForce,
    Universe,
    hookimpl,
    is_tainted,
    order_in_flight,
    param,
    params_array,
    submit,
)

from . import _conformance
from ._model import LinearModel

# state layout (float64): [0] last price, [1] returns seen, [2] last cid, [3] last forecast,
# [4 ..] lagged log returns, newest first
S_LAST, S_N, S_CID, S_PRED, S_LAGS = range(5)


class _Runtime:
    """Holds the model; its ``on_tick`` is the Python-mode kernel.

    Params and state stay numba-typable (a params record and a float64 array) so the
    fused loop can carry them; only the model lives on the Python side, in this object.
    """

    def __init__(self, model: Any, lags: int) -> None:
        self.model = model
        self.x = np.zeros((1, lags))

    def on_tick(self, params: Any, state: Any, ctx: Any, tick: Any) -> None:
        """Update lagged returns; when the model's forecast passes the threshold, trade."""
        p = params[0]
        v, s = int(p["venue"]), int(p["symbol"])
        if int(tick["venue"]) != v or int(tick["symbol"]) != s:
            return
        if int(tick["flags"]) & TAINTED:
            return
        if int(tick["kind"]) == TickKind.QUOTE:
            px = 0.5 * (float(tick["bid"]) + float(tick["ask"]))
        else:
            px = float(tick["price"])
        if not px > 0.0:
            return
        last = state[S_LAST]
        state[S_LAST] = px
        if not last > 0.0:
            return
        lags = state[S_LAGS:]
        lags[1:] = lags[:-1].copy()
        lags[0] = math.log(px / last)
        state[S_N] += 1
        if state[S_N] < lags.size:
            return
        self.x[0] = lags
        pred = float(self.model.predict(self.x)[0])
        state[S_PRED] = pred
        thr = float(p["threshold_bps"]) * 1e-4
        q = float(p["qty"])
        if pred > thr:
            target = q
        elif pred < -thr:
            target = -q if p["allow_short"] else 0.0
        else:
            return
        lim = float(p["max_position"])
        target = max(-lim, min(lim, target))
        if is_tainted(ctx, v, s):
            return
        # One order in flight at a time: position plus the last order's working quantity
        # forgets any earlier order still out, and the position would run past the limit.
        # A forecast that holds is acted on at the next tick after the fill.
        if order_in_flight(ctx, int(state[S_CID])):
            return
        gap = target - float(ctx.positions[v, s]["qty"])
        if abs(gap) <= 1e-12:
            return
        side = Side.BUY if gap > 0 else Side.SELL
        cid = submit(ctx, int(p["source"]), v, s, int(side), int(OrderType.MARKET),
                     int(TimeInForce.IOC), abs(gap), math.nan)
        if cid > 0:
            state[S_CID] = cid


class PyModel:
    """Python-mode strategy: the last ``lags`` log returns go to ``model.predict``; go long
    above ``threshold_bps``, short (or flat) below minus it.
    """

    @attrs.frozen
    class Params:
        """Parameters of :class:`PyModel`."""

        venue: str = param(doc="venue to trade on (name from the run's universe)")
        symbol: str = param(doc="symbol to trade")
        lags: int = param(3, ge=1, le=64, doc="lagged log returns fed to the model")
        coef: tuple[float, ...] = attrs.field(
            default=(), converter=tuple,
            metadata={"doc": "linear model coefficients, one per lag (empty: pass a model object)"},
        )
        intercept: float = param(0.0, doc="linear model intercept")
        threshold_bps: float = param(1.0, ge=0, doc="|forecast| needed to trade, bps")
        qty: float = param(1.0, gt=0, doc="position taken on a signal, base units")
        max_position: float = param(1.0, gt=0, doc="absolute position limit this strategy owns")
        allow_short: bool = param(True, doc="go short on a negative forecast (else flat)")

        def __attrs_post_init__(self) -> None:
            if self.coef and len(self.coef) != self.lags:
                raise ValueError(f"coef has {len(self.coef)} values but lags is {self.lags}")

    name = "py_model"
    #: the conformance kit's params (a staticmethod: defaults give no model to build)
    tradeloop_conformance_harness = staticmethod(_conformance.harness)

    def __init__(self, params: Params, model: Any = None) -> None:
        self.params = params
        if model is None:
            if not params.coef:
                raise ValueError("py_model: give coef (one per lag) or pass a model object")
            model = LinearModel(params.coef, params.intercept)
        if not callable(getattr(model, "predict", None)):
            raise TypeError(f"py_model: model {model!r} has no predict(X) method")
        self.model = model

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """A python_mode HotPath whose on_tick is a plain Python callable."""
        p = self.params
        rt = _Runtime(self.model, p.lags)
        fields = {
            "venue": universe.venue_id(p.venue),
            "symbol": universe.symbol_id(p.symbol),
            "threshold_bps": float(p.threshold_bps),
            "qty": float(p.qty),
            "max_position": float(p.max_position),
            "allow_short": int(p.allow_short),
            "source": 0,
        }
        state = np.zeros(S_LAGS + p.lags)
        state[S_PRED] = math.nan
        return HotPath(
            kind=ComponentKind.STRATEGY,
            params=params_array(fields),
            state=state,
            on_tick=rt.on_tick,
            python_mode=True,
            name=self.name,
        )
