"""tradeloop-plugin-precision: guards that fit orders to venue rules and cap slippage.

Entry points (group ``tradeloop.guards``): ``precision``, ``price_band``,
``stale_reference``, ``slippage``.
"""

from __future__ import annotations

from ._components import Precision, PriceBand, Slippage, StaleReference

__all__ = ["Precision", "PriceBand", "Slippage", "StaleReference"]
