"""The six pipeline stage components: parameters and HotPaths.

Chain them in config in this order, all on the same venue and symbol: ``predict``,
``blend``, ``arbitrate``, ``gate``, ``size``, ``risk``. They talk through
``ctx.signals[symbol]`` with the layout in :mod:`tradeloop_plugin_pipeline.slots`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, Universe, hookimpl, param, params_array
from tradeloop_sdk import indicators as ind

from . import _decide, _forecast
from .slots import N_HORIZONS, N_MODELS

MODELS = ("momentum", "reversion", "drift")


def _horizons_ok(inst: object, attribute: attrs.Attribute[Any], value: tuple[int, ...]) -> None:
    ok = 1 <= len(value) <= N_HORIZONS and all(isinstance(h, int) and h >= 1 for h in value)
    if not ok or list(value) != sorted(set(value)):
        raise ValueError(
            f"{attribute.name}: need 1 to {N_HORIZONS} increasing tick counts >= 1, got {list(value)}"
        )


def _horizons() -> Any:
    return attrs.field(
        default=(5, 20, 80),
        converter=tuple,
        validator=_horizons_ok,
        metadata={"doc": "forecast horizons in ticks, increasing (1 to 3); same in every stage"},
    )


def _ids(p: Any, universe: Universe) -> dict[str, float | int]:
    return {"venue": universe.venue_id(p.venue), "symbol": universe.symbol_id(p.symbol), "source": 0}


def _floats(p: Any, *names: str) -> dict[str, float | int]:
    """The named params as float64 record fields (config may give an int for a float)."""
    return {n: float(getattr(p, n)) for n in names}


class _Stage:
    Params: ClassVar[type]
    name: ClassVar[str]

    def __init__(self, params: Any) -> None:
        self.params = params

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """The stage kernel with its params and fresh state for ``universe``."""
        params, state, fn = self._build(universe)
        return HotPath(kind=ComponentKind.STAGE, params=params, state=state, on_tick=fn, name=self.name)

    def _build(self, universe: Universe) -> tuple[Any, Any, Any]:
        raise NotImplementedError


@attrs.frozen
class _On:
    """The instrument of the pipeline: the first two parameters of every stage."""

    venue: str = param(doc="venue the pipeline trades on")
    symbol: str = param(doc="symbol the pipeline trades (its row of ctx.signals)")


class Predict(_Stage):
    """Stage 1: per-horizon forecasts of built-in models (momentum, reversion, drift)."""

    @attrs.frozen
    class Params(_On):
        """Parameters of :class:`Predict`."""

        horizons: tuple[int, ...] = _horizons()
        models: tuple[str, ...] = attrs.field(
            default=MODELS,
            converter=tuple,
            validator=attrs.validators.deep_iterable(attrs.validators.in_(MODELS)),
            metadata={"doc": "built-in models to run; the others' slots are left to other components",
                      "choices": MODELS},
        )

    name = "predict"

    def _build(self, universe: Universe) -> tuple[Any, Any, Any]:
        p = self.params
        parts: list[np.ndarray] = [np.zeros(1)]
        at = 1
        offs = np.zeros((len(p.horizons), 6), np.int64)
        for h, H in enumerate(p.horizons):
            blocks = [ind.ema_state(H), ind.ema_state(4 * H), ind.sma_state(H), ind.ema_state(H)]
            starts = []
            for b in blocks:
                starts.append(at)
                parts.append(b)
                at += b.size
            offs[h] = (starts[0], starts[1], starts[2], starts[3], starts[3], H)
        mask = sum(1 << MODELS.index(m) for m in p.models)
        rec = params_array({**_ids(p, universe), "models": mask})
        return (rec, offs), np.concatenate(parts), _forecast.predict_on_tick


class Blend(_Stage):
    """Stage 2: ridge risk-parity blend of the models per horizon, temperature-compressed."""

    @attrs.frozen
    class Params(_On):
        """Parameters of :class:`Blend`."""

        horizons: tuple[int, ...] = _horizons()
        n_models: int = param(N_MODELS, ge=1, le=N_MODELS, doc="models blended (slots 0..n-1)")
        alpha: float = param(0.02, gt=0, le=1, doc="EWMA weight of model returns and blend scale")
        ridge: float = param(1.0, ge=0, doc="ridge lambda, relative to the mean model variance")
        temperature: float = param(2.0, gt=0, doc="compression at the longest horizon, in RMS units")
        warmup: int = param(50, ge=0, doc="ticks of equal weights before the ridge weights")

    name = "blend"

    def _build(self, universe: Universe) -> tuple[Any, Any, Any]:
        p = self.params
        M = p.n_models
        vec = np.zeros(_forecast.B_HEAD + len(p.horizons) * _forecast.blend_block(M))
        state = (vec, np.zeros((M, M)), np.zeros(M), np.zeros(M))
        rec = params_array(
            {**_ids(p, universe), "n_models": M, **_floats(p, "alpha", "ridge", "temperature"),
             "warmup": int(p.warmup)}
        )
        return (rec, np.array(p.horizons, np.float64)), state, _forecast.blend_on_tick


class Arbitrate(_Stage):
    """Stage 3: pick the horizon with the best score net of spread, impact and vol timing."""

    @attrs.frozen
    class Params(_On):
        """Parameters of :class:`Arbitrate`."""

        horizons: tuple[int, ...] = _horizons()
        alpha_fast: float = param(0.1, gt=0, le=1, doc="EWMA weight of the current variance")
        alpha_slow: float = param(0.005, gt=0, le=1, doc="EWMA weight of the long-run variance")
        default_spread_bps: float = param(1.0, ge=0, doc="spread cost when no quotes are known")
        impact_bps: float = param(1.0, ge=0, doc="impact cost of order_qty against the touch size")
        order_qty: float = param(1.0, gt=0, doc="typical order size for the impact cost")

    name = "arbitrate"

    def _build(self, universe: Universe) -> tuple[Any, Any, Any]:
        p = self.params
        rec = params_array(
            {**_ids(p, universe), **_floats(p, "alpha_fast", "alpha_slow", "default_spread_bps",
                                            "impact_bps", "order_qty")}
        )
        state = np.array([0.0, np.nan, np.nan])
        return (rec, np.array(p.horizons, np.float64)), state, _decide.arbitrate_on_tick


class Gate(_Stage):
    """Stage 4: barrier gate on the score (with hysteresis) and a spread gate."""

    @attrs.frozen
    class Params(_On):
        """Parameters of :class:`Gate`."""

        barrier: float = param(0.5, ge=0, doc="|score| needed to open the gate")
        hold_fraction: float = param(0.5, ge=0, le=1, doc="fraction of barrier that keeps it open")
        max_spread_bps: float = param(20.0, gt=0, doc="closed while the spread is wider")

    name = "gate"

    def _build(self, universe: Universe) -> tuple[Any, Any, Any]:
        p = self.params
        rec = params_array({**_ids(p, universe), **_floats(p, "barrier", "hold_fraction", "max_spread_bps")})
        return rec, np.zeros(1), _decide.gate_on_tick


class Size(_Stage):
    """Stage 5: volatility-scaled target position with a no-trade band; emits the orders."""

    @attrs.frozen
    class Params(_On):
        """Parameters of :class:`Size`."""

        max_position: float = param(1.0, gt=0, doc="target at full conviction, base units")
        full_score: float = param(2.0, gt=0, doc="score that earns the full position")
        vol_target_bps: float = param(5.0, gt=0, doc="volatility per sqrt(second) above which size shrinks")
        band: float = param(0.1, ge=0, lt=1, doc="no-trade band, fraction of max_position")
        alpha: float = param(0.05, gt=0, le=1, doc="EWMA weight of the volatility estimate")

    name = "size"

    def _build(self, universe: Universe) -> tuple[Any, Any, Any]:
        p = self.params
        rec = params_array(
            {**_ids(p, universe), **_floats(p, "max_position", "full_score", "vol_target_bps", "band", "alpha")}
        )
        return rec, np.zeros(6), _decide.size_on_tick


class Risk(_Stage):
    """Stage 6: bound the pipeline's intents (position, size, notional) before the guards."""

    @attrs.frozen
    class Params(_On):
        """Parameters of :class:`Risk`."""

        max_position: float = param(1.0, gt=0, doc="absolute position limit, base units")
        max_order_qty: float = param(1.0, gt=0, doc="largest single order, base units")
        max_notional: float = param(0.0, ge=0, doc="largest order notional, quote units (0: off)")

    name = "risk"

    def _build(self, universe: Universe) -> tuple[Any, Any, Any]:
        p = self.params
        rec = params_array(
            {**_ids(p, universe), **_floats(p, "max_position", "max_order_qty", "max_notional")}
        )
        return rec, np.zeros(2), _decide.risk_on_tick
