"""Helpers shared by the stage kernels."""

from __future__ import annotations

import math
from typing import Any

import numba
from tradeloop_sdk import TAINTED, is_tainted, tick_price


@numba.njit(cache=True, inline="always")
def mine(p: Any, ctx: Any, tick: Any) -> bool:
    """A clean tick of the pipeline's own instrument."""
    if tick["venue"] != p["venue"] or tick["symbol"] != p["symbol"]:
        return False
    if tick["flags"] & TAINTED:
        return False
    return not is_tainted(ctx, p["venue"], p["symbol"])


@numba.njit(cache=True, inline="always")
def own_price(p: Any, ctx: Any, tick: Any) -> float:
    """The price of a clean tick of the pipeline's own instrument; 0.0 for any other tick
    and for a tick without a positive price (the stages skip both alike)."""
    if not mine(p, ctx, tick):
        return 0.0
    x = tick_price(tick)
    return x if x > 0.0 else 0.0


@numba.njit(cache=True, inline="always")
def log_return(vec: Any, i: int, x: float) -> float:
    """Log return from the price kept at ``vec[i]`` to ``x`` (NaN before the first); keeps ``x``."""
    last = vec[i]
    vec[i] = x
    return math.log(x / last) if last > 0.0 else math.nan


@numba.njit(cache=True)
def solve_ridge(a: Any, b: Any, n: int, out: Any) -> bool:
    """Solve ``a[:n, :n] x = b[:n]`` in place by Gaussian elimination with partial pivoting.

    ``a`` and ``b`` are overwritten; returns False when the system is singular.
    """
    for c in range(n):
        piv = c
        for r in range(c + 1, n):
            if abs(a[r, c]) > abs(a[piv, c]):
                piv = r
        if abs(a[piv, c]) < 1e-300:
            return False
        if piv != c:
            for k in range(n):
                a[c, k], a[piv, k] = a[piv, k], a[c, k]
            b[c], b[piv] = b[piv], b[c]
        for r in range(c + 1, n):
            f = a[r, c] / a[c, c]
            for k in range(c, n):
                a[r, k] -= f * a[c, k]
            b[r] -= f * b[c]
    for c in range(n - 1, -1, -1):
        acc = b[c]
        for k in range(c + 1, n):
            acc -= a[c, k] * out[k]
        out[c] = acc / a[c, c]
    return True


@numba.njit(cache=True, inline="always")
def ewma(old: float, x: float, alpha: float) -> float:
    """One EWMA step; NaN ``old`` starts at ``x``."""
    if math.isnan(old):
        return x
    return old + alpha * (x - old)
