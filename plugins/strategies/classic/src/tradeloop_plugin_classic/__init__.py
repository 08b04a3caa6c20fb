"""Classic technical strategies for tradeloop: SMA/EMA crossover, RSI reversion, Bollinger.

Entry points (group ``tradeloop.strategies``): ``sma_cross``, ``ema_cross``,
``rsi_reversion``, ``bollinger``. Indicators come from :mod:`tradeloop_sdk.indicators`.
"""

from __future__ import annotations

from ._components import Bollinger, EmaCross, RsiReversion, SmaCross

__all__ = ["Bollinger", "EmaCross", "RsiReversion", "SmaCross"]
