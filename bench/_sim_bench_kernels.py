"""Strategy kernels for bench_sim_venue.py: a no-op, and one that parks resting orders."""

from __future__ import annotations

from typing import Any

import numba
from tradeloop_sdk import submit


@numba.njit(cache=True)
def noop_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Touch the tick so the loop cannot skip it."""
    state[0] += tick["bid"]


@numba.njit(cache=True)
def park_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """On the first quote, park ``n`` buy limits far below the market (they never fill)."""
    state[0] += tick["bid"]
    if state[1] == 0.0 and tick["kind"] == 1:
        state[1] = 1.0
        for k in range(int(params[0]["n"])):
            submit(ctx, 0, tick["venue"], tick["symbol"], 1, 2, 1, 0.001,
                   round(tick["bid"] * 0.5, 2) - 0.01 * k)
