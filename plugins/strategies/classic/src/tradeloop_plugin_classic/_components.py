"""The four classic strategy components: parameters, validation and their HotPath."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, Universe, hookimpl, param, params_array
from tradeloop_sdk import indicators as ind

from . import _kernels as k

_TICK_KINDS = {"any": 0, "quote": 1, "trade": 2, "bar": 3}


def _base(p: Any, universe: Universe) -> dict[str, float | int]:
    return {
        "venue": universe.venue_id(p.venue),
        "symbol": universe.symbol_id(p.symbol),
        "tick_kind": _TICK_KINDS[p.tick_kind],
        "qty": float(p.qty),
        "max_position": float(p.max_position),
        "allow_short": int(p.allow_short),
        "max_reorders": int(p.max_reorders),
        # index of this component in the fused loop; the loop may overwrite it
        "source": 0,
    }


def _check_qty(p: Any) -> None:
    if p.qty > p.max_position:
        raise ValueError(
            f"qty ({p.qty}) must not exceed max_position ({p.max_position}): "
            "the strategy could never reach its target"
        )


def _state(*indicator_states: np.ndarray) -> tuple[np.ndarray, list[int]]:
    head = np.array([np.nan, 0.0, 0.0, 0.0, 0.0, 0.0])  # see _kernels' state layout
    offs, at = [], head.size
    for s in indicator_states:
        offs.append(at)
        at += s.size
    return np.concatenate((head, *indicator_states)), offs


class _Classic:
    Params: ClassVar[type]
    name: ClassVar[str]

    def __init__(self, params: Any) -> None:
        self.params = params

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """The compiled kernel, its params array and fresh state for ``universe``."""
        fields, state, kernel = self._build(universe)
        return HotPath(
            kind=ComponentKind.STRATEGY,
            params=params_array(fields),
            state=state,
            on_tick=kernel,
            name=self.name,
        )

    def _build(self, universe: Universe) -> tuple[dict[str, float | int], np.ndarray, Any]:
        raise NotImplementedError


@attrs.frozen
class _CrossParams:
    """Parameters of the SMA and EMA crossover strategies."""

    venue: str = param(doc="venue to trade on (name from the run's universe)")
    symbol: str = param(doc="symbol to trade")
    fast: int = param(10, ge=1, doc="fast average period, in ticks of the chosen kind")
    slow: int = param(30, ge=2, doc="slow average period, in ticks; must exceed fast")
    qty: float = param(1.0, gt=0, doc="position size taken on a signal, base units")
    max_position: float = param(1.0, gt=0, doc="absolute position limit this strategy owns")
    allow_short: bool = param(True, doc="go short on a bearish signal (else flat)")
    max_reorders: int = param(
        10, ge=0, doc="orders for the rest of a partly filled IOC, per target (0: none)"
    )
    tick_kind: str = param("any", choices=tuple(_TICK_KINDS), doc="ticks that feed the averages")

    def __attrs_post_init__(self) -> None:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        _check_qty(self)


class SmaCross(_Classic):
    """Simple-moving-average crossover: long on a golden cross, short on a death cross."""

    Params = _CrossParams
    name = "sma_cross"

    def _build(self, universe: Universe) -> tuple[dict[str, float | int], np.ndarray, Any]:
        p = self.params
        state, offs = _state(ind.sma_state(p.fast), ind.sma_state(p.slow))
        return {**_base(p, universe), "off_a": offs[0], "off_b": offs[1]}, state, k.sma_cross_on_tick


class EmaCross(_Classic):
    """Exponential-moving-average crossover (SMA-seeded EMAs, TA-Lib convention)."""

    Params = _CrossParams
    name = "ema_cross"

    def _build(self, universe: Universe) -> tuple[dict[str, float | int], np.ndarray, Any]:
        p = self.params
        state, offs = _state(ind.ema_state(p.fast), ind.ema_state(p.slow))
        return {**_base(p, universe), "off_a": offs[0], "off_b": offs[1]}, state, k.ema_cross_on_tick


class RsiReversion(_Classic):
    """RSI mean reversion: long below ``oversold``, short above ``overbought``, exit at ``exit_level``."""

    @attrs.frozen
    class Params:
        """Parameters of :class:`RsiReversion`."""

        venue: str = param(doc="venue to trade on (name from the run's universe)")
        symbol: str = param(doc="symbol to trade")
        period: int = param(14, ge=2, doc="Wilder RSI period, in ticks")
        oversold: float = param(30.0, gt=0, lt=100, doc="enter long when RSI falls below")
        overbought: float = param(70.0, gt=0, lt=100, doc="enter short when RSI rises above")
        exit_level: float = param(50.0, gt=0, lt=100, doc="close the position when RSI reaches it")
        qty: float = param(1.0, gt=0, doc="position size taken on a signal, base units")
        max_position: float = param(1.0, gt=0, doc="absolute position limit this strategy owns")
        allow_short: bool = param(True, doc="go short when overbought (else only exit longs)")
        max_reorders: int = param(
            10, ge=0, doc="orders for the rest of a partly filled IOC, per target (0: none)"
        )
        tick_kind: str = param("any", choices=tuple(_TICK_KINDS), doc="ticks that feed the RSI")

        def __attrs_post_init__(self) -> None:
            if not self.oversold < self.exit_level < self.overbought:
                raise ValueError(
                    "need oversold < exit_level < overbought, got "
                    f"{self.oversold} / {self.exit_level} / {self.overbought}"
                )
            _check_qty(self)

    name = "rsi_reversion"

    def _build(self, universe: Universe) -> tuple[dict[str, float | int], np.ndarray, Any]:
        p = self.params
        state, offs = _state(ind.rsi_state(p.period))
        fields = {
            **_base(p, universe),
            "off_a": offs[0],
            "oversold": float(p.oversold),
            "overbought": float(p.overbought),
            "exit_level": float(p.exit_level),
        }
        return fields, state, k.rsi_reversion_on_tick


class Bollinger(_Classic):
    """Bollinger bands: fade the bands (``reversion``) or follow a break (``breakout``)."""

    @attrs.frozen
    class Params:
        """Parameters of :class:`Bollinger`."""

        venue: str = param(doc="venue to trade on (name from the run's universe)")
        symbol: str = param(doc="symbol to trade")
        period: int = param(20, ge=2, doc="SMA window of the middle band, in ticks")
        width: float = param(2.0, gt=0, doc="band half-width in population std-devs")
        mode: str = param("reversion", choices=("reversion", "breakout"), doc="fade or follow")
        qty: float = param(1.0, gt=0, doc="position size taken on a signal, base units")
        max_position: float = param(1.0, gt=0, doc="absolute position limit this strategy owns")
        allow_short: bool = param(True, doc="take short signals (else only exit longs)")
        max_reorders: int = param(
            10, ge=0, doc="orders for the rest of a partly filled IOC, per target (0: none)"
        )
        tick_kind: str = param("any", choices=tuple(_TICK_KINDS), doc="ticks that feed the bands")

        def __attrs_post_init__(self) -> None:
            _check_qty(self)

    name = "bollinger"

    def _build(self, universe: Universe) -> tuple[dict[str, float | int], np.ndarray, Any]:
        p = self.params
        state, offs = _state(ind.bbands_state(p.period, p.width))
        fields = {**_base(p, universe), "off_a": offs[0], "mode": int(p.mode == "breakout")}
        return fields, state, k.bollinger_on_tick
