"""What the SDK conformance kit needs to exercise ``cross_venue_arb``: two venues that cross.

The kit's default scenario has one venue, where arbitrage can neither be built nor fire;
the harness (a staticmethod: the component needs two venues to exist) gives a universe
of two venues quoting one symbol, whose books now and then cross by more than fees.
"""

from __future__ import annotations

import numpy as np
from tradeloop_sdk import TICK_DTYPE, TickKind, Universe, hookimpl
from tradeloop_sdk.strategy_testing import make_ticks

UNIVERSE = Universe(("a", "b"), ("BTCUSDT",), ("USDT", "BTC"))


def scenario_ticks(n: int = 2000) -> np.ndarray:
    """Quotes on both venues around one random walk; venue b jumps 0.5% away now and then."""
    rng = np.random.default_rng(11)
    mid = np.round(30_000 + np.cumsum(rng.normal(0, 2, n)), 2)
    bump = np.where(rng.random(n) < 0.05, rng.choice([-1.0, 1.0], n) * mid * 0.005, 0.0)
    a = make_ticks(mid, venue=0, kind=TickKind.QUOTE, spread=1.0)
    b = make_ticks(np.round(mid + bump, 2), venue=1, kind=TickKind.QUOTE, spread=1.0,
                   t0_ns=1_700_000_000_500_000_000)
    # np.concatenate would drop TICK_DTYPE's field aliases: fill one array instead
    both = np.zeros(2 * n, TICK_DTYPE)
    both[:n], both[n:] = a, b
    out: np.ndarray = both[np.argsort(both["ts_recv"], kind="stable")]
    return out


class Harness:
    """Two venues and their quotes; params come from the universe (both venues, the symbol)."""

    universe = UNIVERSE

    def __init__(self) -> None:
        self.ticks = scenario_ticks()


@hookimpl
def harness(kind: str) -> Harness:
    """The kit's scenario for ``cross_venue_arb``."""
    return Harness()
