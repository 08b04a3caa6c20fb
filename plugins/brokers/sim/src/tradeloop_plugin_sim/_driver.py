"""Compiled drivers that run the venue kernel outside the fused loop (paper trading, tests).

They call exactly the functions the fused loop calls (``on_tick``, ``on_intent``, ``flush``)
and copy each call's reports out of ``ctx.reports``, so a paper venue and a backtest over
the same ticks produce the same reports.
"""

from __future__ import annotations

from typing import Any

import numba
from tradeloop_sdk._context import N_REPORTS

from ._kernel import flush, on_intent, on_tick


@numba.njit(cache=True)
def _drain(ctx: Any, out: Any, n: int) -> int:
    m = ctx.counts[N_REPORTS]
    for j in range(m):
        out[n + j] = ctx.reports[j]
    ctx.counts[N_REPORTS] = 0
    return n + m


@numba.njit(cache=True)
def run_ticks(params: Any, st: Any, ctx: Any, ticks: Any, start: int, out: Any) -> tuple[int, int]:
    """Feed ``ticks[start:]`` until done or ``out`` might overflow; returns (next, n_out)."""
    n = 0
    cap = out.shape[0] - ctx.reports.shape[0]
    i = start
    while i < ticks.shape[0] and n <= cap:
        t = ticks[i]
        now = t["ts_recv"]
        if now > ctx.control[0]["now_ns"]:
            ctx.control[0]["now_ns"] = now
        on_tick(params, st, ctx, t)
        n = _drain(ctx, out, n)
        i += 1
    return i, n


@numba.njit(cache=True)
def run_intent(params: Any, st: Any, ctx: Any, out: Any) -> int:
    """Hand ``ctx.intents[0]`` to the venue; returns the number of reports copied to ``out``."""
    on_intent(params, st, ctx, 0)
    return _drain(ctx, out, 0)


@numba.njit(cache=True)
def run_flush(params: Any, st: Any, ctx: Any, now: int, out: Any) -> int:
    """Advance venue time to ``now`` without a tick; returns the number of reports copied."""
    flush(params, st, ctx, now)
    return _drain(ctx, out, 0)
