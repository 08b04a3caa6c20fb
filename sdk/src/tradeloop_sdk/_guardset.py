"""The standard guard set: the ordered gates and guards examples and end-to-end tests use.

Entry-point names (group ``tradeloop.guards``). Gates run on every tick in this order
before strategies; guards run on every NEW/REPLACE intent in this order, and the first
refusal wins. The order is deliberate (see ``docs/guards.md``): the kill switch and the
drawdown stop first, so nothing else runs once trading must stop; cheap refusals
(breaker, blocklist, hours, stale data) before exposure maths; every guard that resizes
before ``precision``, so the quantity that leaves is on the lot step; ``rate_limit`` last,
so only orders that really leave use the venue's request budget.
"""

from __future__ import annotations

#: Data-quality gates, in order.
STANDARD_GATES: tuple[str, ...] = (
    "crossed_book",
    "sequence_gap",
    "stale_quote",
    "time_skew",
    "wide_spread",
    "price_jump",
)

#: Intent guards, in order.
STANDARD_GUARDS: tuple[str, ...] = (
    "kill_switch",
    "drawdown",
    "circuit_breaker",
    "blocklist",
    "trading_hours",
    "stale_reference",
    "price_band",
    "slippage",
    "order_limits",
    "position_limit",
    "portfolio_limit",
    "ewma_var",
    "concurrency",
    "cooldown",
    "precision",
    "rate_limit",
)
