"""Exposure and loss guards: position, portfolio, order limits, drawdown, EWMA VaR."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import Universe, param

from . import _limits as k
from . import _openbook as book
from ._base import Guard, ns, pairs


class PositionLimit(Guard):
    """Cap each symbol's position (units and/or notional at the mark) in the intent's
    direction, counting same-side open orders (POSITION_LIMIT).

    ``per_symbol`` overrides the defaults: keys ``SYM``, ``venue:SYM`` or ``venue:*``,
    values ``{"max_qty": ..., "max_notional": ...}``. Reducing intents always pass; with
    ``resize`` an intent is cut to the remaining headroom instead of refused. Open orders
    come from an incremental index of live orders (O(1) per order, see ``_openbook``).
    """

    name = "position_limit"
    _check = k.position_limit_check
    _on_report = k.position_limit_report
    _fields = ("include_open", "resize")

    @attrs.frozen
    class Params:
        """Position-limit guard parameters (0: no limit)."""

        max_qty: float = param(0.0, ge=0.0, doc="largest |position| per symbol, base units")
        max_notional: float = param(0.0, ge=0.0, doc="largest |position| per symbol at the mark, quote units")
        per_symbol: dict[str, dict[str, float]] = param(factory=dict, doc="overrides by SYM / venue:SYM / venue:*")
        include_open: bool = param(True, doc="count same-side open orders as position")
        resize: bool = param(False, doc="cut to the headroom instead of refusing")

    def _state(self, universe: Universe) -> Any:
        p = self.params
        lim = np.zeros((len(universe.venues), len(universe.symbols), 2), np.float64)
        lim[:, :, 0] = p.max_qty
        lim[:, :, 1] = p.max_notional
        for key, over in p.per_symbol.items():
            unknown = set(over) - {"max_qty", "max_notional"}
            if unknown:
                raise ValueError(f"position_limit.per_symbol[{key!r}]: unknown keys {sorted(unknown)}")
            for v, s in pairs(universe, key):
                if "max_qty" in over:
                    lim[v, s, 0] = float(over["max_qty"])
                if "max_notional" in over:
                    lim[v, s, 1] = float(over["max_notional"])
        return (lim, book.make(len(universe.venues), len(universe.symbols)))


class PortfolioLimit(Guard):
    """Cap gross (sum of |position| at the mark) and net exposure across all symbols and
    venues after the intent (NOTIONAL_LIMIT); ``resize`` cuts to the headroom."""

    name = "portfolio_limit"
    _check = k.portfolio_limit_check
    _fields = ("max_gross", "max_net", "resize")

    @attrs.frozen
    class Params:
        """Portfolio-limit guard parameters (0: no limit)."""

        max_gross: float = param(0.0, ge=0.0, doc="largest gross exposure, quote units")
        max_net: float = param(0.0, ge=0.0, doc="largest |net| exposure, quote units")
        resize: bool = param(False, doc="cut to the headroom instead of refusing")


class OrderLimits(Guard):
    """Cap one order's size (MAX_SIZE) and notional at its limit or the mark
    (NOTIONAL_LIMIT); ``resize`` cuts the order instead of refusing it."""

    name = "order_limits"
    _check = k.order_limits_check
    _fields = ("max_qty", "max_notional", "resize")

    @attrs.frozen
    class Params:
        """Order-limits guard parameters (0: no limit)."""

        max_qty: float = param(0.0, ge=0.0, doc="largest order size, base units")
        max_notional: float = param(0.0, ge=0.0, doc="largest order notional, quote units")
        resize: bool = param(False, doc="cut to the cap instead of refusing")


class Drawdown(Guard):
    """Refuse and trip the kill switch (Reason.DRAWDOWN) when equity falls too far from its
    peak: in total, or since the start of the UTC day.

    Equity = ``capital`` + realized - fees + unrealized at the mark, evaluated on every
    intent, every report and every (untainted) tick of a symbol with a position: a price
    that falls through the limit trips the kill switch on that tick, before strategies
    see it. Limits are amounts and/or percentages of the peak; set any combination
    (0: off). With ``kill`` off the guard only refuses while in breach. ``state`` is the
    one-record ``DRAWDOWN_STATE_DTYPE`` array (peaks, equity, worst drawdowns).
    """

    name = "drawdown"
    _check = k.drawdown_check
    _on_report = k.drawdown_report
    _on_tick = k.drawdown_tick
    _fields = ("capital", "max_total", "max_daily", "max_total_pct", "max_daily_pct", "kill")

    @attrs.frozen
    class Params:
        """Drawdown guard parameters."""

        capital: float = param(0.0, ge=0.0, doc="equity at the start, quote units")
        max_total: float = param(0.0, ge=0.0, doc="largest drawdown from the all-time peak, quote units")
        max_daily: float = param(0.0, ge=0.0, doc="largest drawdown from the day's peak, quote units")
        max_total_pct: float = param(0.0, ge=0.0, le=100.0, doc="largest drawdown, % of the peak")
        max_daily_pct: float = param(0.0, ge=0.0, le=100.0, doc="largest daily drawdown, % of the day's peak")
        kill: bool = param(True, doc="trip the kill switch on a breach")

        def __attrs_post_init__(self) -> None:
            if (self.max_total_pct or self.max_daily_pct) and self.capital <= 0.0:
                raise ValueError("drawdown: percentage limits need capital > 0")

    def _state(self, universe: Universe) -> Any:
        # each position's last PnL, so a tick re-marks one position instead of all
        self._contrib = np.zeros((len(universe.venues), len(universe.symbols)), np.float64)
        return np.zeros(1, k.DRAWDOWN_STATE_DTYPE)

    def _hot_state(self) -> Any:
        return (self.state, self._contrib)


class EwmaVar(Guard):
    """Refuse (or cut) intents that lift portfolio value-at-risk above ``max_var`` (VAR_LIMIT).

    Each symbol's variance rate is an exponentially weighted average (half-life
    ``halflife_s``, in time) of squared log moves of its mark, sampled on ticks (and on
    intents and reports) at most every ``sample_s``, floored at ``floor_daily_vol``.
    VaR = z * sqrt(horizon) * sum |exposure| * sigma: no diversification credit, so it
    errs on the safe side. ``max_var`` 0 turns the limit off (the estimate still runs).
    """

    name = "ewma_var"
    _check = k.var_check
    _on_report = k.var_report
    _on_tick = k.var_tick

    @attrs.frozen
    class Params:
        """EWMA VaR guard parameters."""

        max_var: float = param(0.0, ge=0.0, doc="largest VaR, quote units (0: no limit)")
        z: float = param(2.326, gt=0.0, doc="quantile multiplier (2.326: 99% one-sided normal)")
        horizon_s: float = param(86400.0, gt=0.0, doc="VaR horizon (s)")
        halflife_s: float = param(3600.0, gt=0.0, doc="EWMA half-life of the variance (s)")
        min_samples: int = param(20, ge=0, doc="moves seen before the estimate counts")
        floor_daily_vol: float = param(0.0, ge=0.0, doc="volatility floor, per day (0.02 = 2%)")
        sample_s: float = param(1.0, ge=0.0, doc="shortest time between two samples of a mark (s)")
        resize: bool = param(False, doc="cut to the headroom instead of refusing")

    def _params(self) -> dict[str, float | int]:
        p = self.params
        return {"max_var": p.max_var, "z": p.z, "horizon_s": p.horizon_s,
                "inv_tau": math.log(2.0) / p.halflife_s, "min_samples": p.min_samples,
                "floor_rate": p.floor_daily_vol**2 / 86400.0, "sample_ns": ns(p.sample_s),
                "resize": int(p.resize)}

    def _state(self, universe: Universe) -> Any:
        return np.zeros((len(universe.venues), len(universe.symbols)), k.VAR_STATE_DTYPE)
