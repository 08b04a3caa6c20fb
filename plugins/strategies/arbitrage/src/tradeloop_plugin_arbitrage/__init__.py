"""Cross-venue arbitrage for tradeloop (entry point ``cross_venue_arb``)."""

from __future__ import annotations

from ._component import CrossVenueArb

__all__ = ["CrossVenueArb"]
