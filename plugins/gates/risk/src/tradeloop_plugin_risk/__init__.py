"""tradeloop-plugin-risk: risk guards, the per-venue circuit breaker and kill-switch tripwires.

Entry points (group ``tradeloop.guards``): ``position_limit``, ``portfolio_limit``,
``order_limits``, ``drawdown``, ``ewma_var``, ``rate_limit``, ``concurrency``, ``cooldown``,
``blocklist``, ``trading_hours``, ``circuit_breaker``, ``kill_switch``.
"""

from __future__ import annotations

from ._exposure import Drawdown, EwmaVar, OrderLimits, PortfolioLimit, PositionLimit
from ._orderflow import (
    Blocklist,
    CircuitBreakerGuard,
    Concurrency,
    Cooldown,
    KillSwitch,
    RateLimit,
    TradingHours,
)

__all__ = [
    "Blocklist",
    "CircuitBreakerGuard",
    "Concurrency",
    "Cooldown",
    "Drawdown",
    "EwmaVar",
    "KillSwitch",
    "OrderLimits",
    "PortfolioLimit",
    "PositionLimit",
    "RateLimit",
    "TradingHours",
]
