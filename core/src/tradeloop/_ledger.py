"""The in-loop ledger: positions, average price, realized/unrealized PnL, fees and cash.

float64 by necessity (it runs per fill inside compiled code); the exact twin is
:mod:`tradeloop._exact_ledger` (Decimal), which replays the same reports. Conventions, shared
by both:

* a fill of signed quantity q (buy +, sell -) at price p with fee f (quote currency,
  positive = paid) moves ``cash[venue, quote] -= q * p + f`` and ``fees += f``;
* adding to a position (or opening one) re-averages the entry price; reducing realizes
  ``closed * (p - avg) * sign(position)``; crossing through zero realizes the closed part
  and opens the remainder at p; a position that lands within ``FLAT_EPS`` (relative to the
  fill) of zero is set to exactly zero with avg 0;
* ``realized`` is gross of fees (fees are their own column);
* unrealized = qty * (mark - avg), mark = mid when both sides are known, else last trade;
  computed only at equity samples (not per tick).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ._kstate import KC_NEQ

#: Relative size under which a position is treated as flat (float dust from + and -).
FLAT_EPS = 1e-9


@numba.njit(cache=True)
def apply_fill(ctx: Any, v: int, s: int, side: int, qty: float, price: float, fee: float) -> None:
    """Book one fill into ``ctx.positions[v, s]`` and ``ctx.cash``."""
    if qty <= 0.0:
        return
    q = qty if side == 1 else -qty
    p = ctx.positions[v : v + 1, s]
    Q = p[0]["qty"]
    A = p[0]["avg_price"]
    if Q == 0.0 or (Q > 0.0) == (q > 0.0):
        aq = abs(Q)
        p[0]["avg_price"] = (A * aq + price * qty) / (aq + qty)
        p[0]["qty"] = Q + q
    else:
        aq = abs(Q)
        closed = min(qty, aq)
        sign = 1.0 if Q > 0.0 else -1.0
        p[0]["realized"] += closed * (price - A) * sign
        newq = Q + q
        if abs(newq) <= FLAT_EPS * max(qty, aq):
            p[0]["qty"] = 0.0
            p[0]["avg_price"] = 0.0
        elif qty > aq:
            p[0]["qty"] = newq
            p[0]["avg_price"] = price
        else:
            p[0]["qty"] = newq
    p[0]["fees"] += fee
    p[0]["volume"] += qty * price
    p[0]["n_fills"] += 1
    quote = ctx.specs[v, s]["quote"]
    ctx.cash[v, quote] -= q * price + fee


@numba.njit(cache=True, inline="always")
def mark_price(ctx: Any, v: int, s: int) -> float:
    """Mid when both sides are known, else last trade (NaN if neither)."""
    b = ctx.books[v, s]
    m = 0.5 * (b["bid"] + b["ask"])
    if np.isnan(m):
        return float(b["last"])
    return float(m)


@numba.njit(cache=True)
def sample_equity(ctx: Any, ks: Any, now: int) -> None:
    """Mark positions to market and append an equity row (cash + positions at mark)."""
    pos = ctx.positions
    unreal = 0.0
    gross = 0.0
    net = 0.0
    realized = 0.0
    fees = 0.0
    for v in range(pos.shape[0]):
        for s in range(pos.shape[1]):
            q = pos[v, s]["qty"]
            realized += pos[v, s]["realized"]
            fees += pos[v, s]["fees"]
            if q == 0.0:
                pos[v, s]["unrealized"] = 0.0
                continue
            m = mark_price(ctx, v, s)
            if np.isnan(m):
                m = pos[v, s]["avg_price"]  # nothing seen yet: value at cost
            u = q * (m - pos[v, s]["avg_price"])
            pos[v, s]["unrealized"] = u
            unreal += u
            gross += abs(q * m)
            net += q * m
    cash = 0.0
    for v in range(ctx.cash.shape[0]):
        for c in range(ctx.cash.shape[1]):
            cash += ctx.cash[v, c]
    n = ks.kc[KC_NEQ]
    if n < ks.equity_log.shape[0]:
        e = ks.equity_log[n : n + 1]
        e[0]["ts"] = now
        e[0]["equity"] = cash + net
        e[0]["cash"] = cash
        e[0]["unrealized"] = unreal
        e[0]["realized"] = realized
        e[0]["fees"] = fees
        e[0]["gross"] = gross
        e[0]["net"] = net
        ks.kc[KC_NEQ] = n + 1
