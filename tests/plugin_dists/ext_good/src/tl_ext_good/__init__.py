"""A third-party plugin: a Python-mode momentum strategy (test fixture)."""

from __future__ import annotations

from typing import Any

import attrs
from tradeloop_sdk import hookimpl, param


class Momentum:
    """Buys after ``lookback`` rising ticks (a minimal Python-mode strategy)."""

    @attrs.frozen
    class Params:
        lookback: int = param(5, ge=1, le=1000, doc="rising ticks before buying")
        symbol: str = param("BTC-USD", doc="symbol to trade")

    def __init__(self, params: Params) -> None:
        self.params = params

    @hookimpl
    def tradeloop_python_strategy(self, universe: Any) -> Any:
        return {"lookback": self.params.lookback, "symbol": self.params.symbol}
