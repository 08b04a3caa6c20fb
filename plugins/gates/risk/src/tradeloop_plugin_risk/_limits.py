"""Exposure and loss guard kernels: position, portfolio, order size/notional, drawdown, VaR.

Guards only see NEW and REPLACE intents (the loop never guards cancels). Amounts are in
quote-currency units with all quote currencies taken at par, as the kernel's ledger does;
float64 here. Marks: mid when both sides are known, else the last trade, else the
position's average price.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from tradeloop_sdk import (
    TAINTED,
    OrderType,
    Reason,
    Side,
    is_kernel_flatten,
    record_breach,
    trip_kill,
)
from tradeloop_sdk.indicators import log_ratio

from . import _openbook as book

_BUY = int(Side.BUY)
_MARKET = int(OrderType.MARKET)
_EPS = 1e-9
_DAY_NS = 86_400_000_000_000

_POSITION_LIMIT = int(Reason.POSITION_LIMIT)
_NOTIONAL_LIMIT = int(Reason.NOTIONAL_LIMIT)
_MAX_SIZE = int(Reason.MAX_SIZE)
_DRAWDOWN = int(Reason.DRAWDOWN)
_VAR_LIMIT = int(Reason.VAR_LIMIT)
_STALE_QUOTE = int(Reason.STALE_QUOTE)
_TAINTED = int(TAINTED)

DRAWDOWN_STATE_DTYPE = np.dtype(
    [("ready", "i8"), ("day", "i8"), ("peak", "f8"), ("day_peak", "f8"), ("equity", "f8"),
     ("worst_total", "f8"), ("worst_day", "f8"), ("pnl", "f8"), ("tick_evals", "i8"),
     # the tick path's quiet band (see drawdown_tick): equity in [floor, peaks] before
     # day_end, under the limits these were computed with, changes nothing but equity
     ("floor", "f8"), ("day_end", "i8"), ("k_total", "f8"), ("k_total_pct", "f8"),
     ("k_daily", "f8"), ("k_daily_pct", "f8")],
    align=True,
)

VAR_STATE_DTYPE = np.dtype(
    [("last_mark", "f8"), ("last_t", "i8"), ("var_rate", "f8"), ("n", "i8")], align=True
)


@numba.njit(cache=True, inline="always")
def mark(ctx: Any, v: int, s: int) -> float:
    """Mark price of (v, s): mid, else last trade, else average entry (NaN if none)."""
    b = ctx.books[v, s]
    m = 0.5 * (b["bid"] + b["ask"])
    if m > 0.0:
        return m
    if b["last"] > 0.0:
        return b["last"]
    a = ctx.positions[v, s]["avg_price"]
    return a if a > 0.0 else np.nan


@numba.njit(cache=True, inline="always")
def intent_price(ctx: Any, it: Any) -> float:
    """Price an intent's notional is judged at: its limit, else the mark."""
    if it["type"] != _MARKET and it["price"] > 0.0:
        return it["price"]
    return mark(ctx, it["venue"], it["symbol"])


@numba.njit(cache=True, inline="always")
def _exposure_mark(ctx: Any, it: Any) -> float:
    """Price the intent's exposure is judged at: the mark, else its own price (NaN if none)."""
    m = mark(ctx, it["venue"], it["symbol"])
    if not m > 0.0:
        m = intent_price(ctx, it)
    return m


@numba.njit(cache=True, inline="always")
def _cut_or_refuse(
    ctx: Any, i: int, it: Any, resize: int, code: int, value: float, limit: float, allowed: float
) -> int:
    """With ``resize`` and room left, cut intent ``i`` to ``allowed`` and pass it; else refuse
    with ``code``. Either way the breach is recorded."""
    if resize != 0 and allowed > 0.0:
        record_breach(ctx, i, code, value, limit, True)
        it[0]["qty"] = allowed
        return 0
    record_breach(ctx, i, code, value, limit, False)
    return code


@numba.njit(cache=True)
def total_pnl(ctx: Any) -> float:
    """Realized minus fees plus unrealized at the mark, all positions."""
    pos = ctx.positions
    pnl = 0.0
    for v in range(pos.shape[0]):
        for s in range(pos.shape[1]):
            p = pos[v, s]
            pnl += p["realized"] - p["fees"]
            if p["qty"] != 0.0:
                m = mark(ctx, v, s)
                if m > 0.0:
                    pnl += p["qty"] * (m - p["avg_price"])
    return pnl


@numba.njit(cache=True)
def position_limit_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Cap |position + same-side open orders + intent| per symbol, in units and notional.

    ``state`` is (limits, index): ``limits[v, s]`` holds (max_qty, max_notional), 0 = none;
    the index of live orders (:mod:`._openbook`) gives same-side open quantity in O(1).
    Intents that only reduce the position always pass; with ``resize`` an intent is cut to
    the headroom. The kernel's flatten orders pass.
    """
    lims, idx = state
    if is_kernel_flatten(ctx, i):
        return 0
    it = ctx.intents[i : i + 1]
    p = params[0]
    v = it[0]["venue"]
    s = it[0]["symbol"]
    max_q = lims[v, s, 0]
    max_n = lims[v, s, 1]
    if max_q <= 0.0 and max_n <= 0.0:
        return 0
    q = it[0]["qty"]
    side = it[0]["side"]
    sgn = 1.0 if side == _BUY else -1.0
    pos = ctx.positions[v, s]["qty"]
    pending = book.open_qty(idx, ctx, v, s, side) if p["include_open"] != 0 else 0.0
    limit = max_q if max_q > 0.0 else np.inf
    if max_n > 0.0:
        m = _exposure_mark(ctx, it[0])
        if not m > 0.0:
            record_breach(ctx, i, _STALE_QUOTE, np.nan, max_n, False)
            return _STALE_QUOTE
        limit = min(limit, max_n / m)
    projected = sgn * pos + pending + q  # exposure in the intent's direction, worst case
    if projected <= limit * (1.0 + _EPS):
        return 0
    headroom = limit - sgn * pos - pending
    return _cut_or_refuse(ctx, i, it, p["resize"], _POSITION_LIMIT, projected, limit, headroom)


@numba.njit(cache=True)
def position_limit_report(params: Any, state: Any, ctx: Any, j: int) -> None:
    """Keep the live-order index in step with the report's order."""
    if params[0]["include_open"] != 0:
        book.on_report(state[1], ctx, j)


@numba.njit(cache=True)
def portfolio_limit_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Cap gross (sum |qty * mark|) and net (|sum qty * mark|) exposure after the intent."""
    if is_kernel_flatten(ctx, i):
        return 0
    it = ctx.intents[i : i + 1]
    p = params[0]
    v = it[0]["venue"]
    s = it[0]["symbol"]
    m = _exposure_mark(ctx, it[0])
    if not m > 0.0:
        record_breach(ctx, i, _STALE_QUOTE, np.nan, p["max_gross"], False)
        return _STALE_QUOTE
    gross = 0.0
    net = 0.0
    pos = ctx.positions
    for a in range(pos.shape[0]):
        for b in range(pos.shape[1]):
            qty = pos[a, b]["qty"]
            if qty != 0.0:
                mk = m if (a == v and b == s) else mark(ctx, a, b)
                if mk > 0.0:
                    gross += abs(qty) * mk
                    net += qty * mk
    q = it[0]["qty"]
    sgn = 1.0 if it[0]["side"] == _BUY else -1.0
    here = pos[v, s]["qty"]
    d_gross = (abs(here + sgn * q) - abs(here)) * m
    allowed = q
    code = 0
    value = 0.0
    limit = 0.0
    if p["max_gross"] > 0.0 and d_gross > 0.0 and gross + d_gross > p["max_gross"] * (1.0 + _EPS):
        room = (p["max_gross"] - gross) / m + (2.0 * abs(here) if sgn * here < 0.0 else 0.0)
        allowed = min(allowed, room)
        code = _NOTIONAL_LIMIT
        value = gross + d_gross
        limit = p["max_gross"]
    net_after = net + sgn * q * m
    # judged in the intent's direction, like position_limit: a buy that turns -1000 net
    # into +510 goes past a 500 limit even though |net| shrank
    if p["max_net"] > 0.0 and sgn * net_after > p["max_net"] * (1.0 + _EPS):
        room = (p["max_net"] - sgn * net) / m
        if room < allowed:
            allowed = room
            code = _NOTIONAL_LIMIT
            value = abs(net_after)
            limit = p["max_net"]
    if code == 0:
        return 0
    return _cut_or_refuse(ctx, i, it, p["resize"], code, value, limit, allowed)


@numba.njit(cache=True)
def order_limits_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Cap one order's size (MAX_SIZE) and notional (NOTIONAL_LIMIT); ``resize`` cuts instead.

    The kernel's flatten orders pass: closing the whole position is the point of them.
    """
    if is_kernel_flatten(ctx, i):
        return 0
    it = ctx.intents[i : i + 1]
    p = params[0]
    q = it[0]["qty"]
    if p["max_qty"] > 0.0 and q > p["max_qty"] * (1.0 + _EPS):
        code = _cut_or_refuse(ctx, i, it, p["resize"], _MAX_SIZE, q, p["max_qty"], p["max_qty"])
        if code != 0:
            return code
        q = p["max_qty"]
    if p["max_notional"] > 0.0:
        px = intent_price(ctx, it[0])
        if not px > 0.0:
            record_breach(ctx, i, _STALE_QUOTE, np.nan, p["max_notional"], False)
            return _STALE_QUOTE
        notional = q * px
        if notional > p["max_notional"] * (1.0 + _EPS):
            return _cut_or_refuse(ctx, i, it, p["resize"], _NOTIONAL_LIMIT, notional,
                                  p["max_notional"], p["max_notional"] / px)
    return 0


@numba.njit(cache=True, inline="always")
def _contribution(ctx: Any, v: int, s: int) -> float:
    """One position's PnL: realized - fees + unrealized at the mark."""
    p = ctx.positions[v, s]
    c = p["realized"] - p["fees"]
    if p["qty"] != 0.0:
        m = mark(ctx, v, s)
        if m > 0.0:
            c += p["qty"] * (m - p["avg_price"])
    return c


@numba.njit(cache=True, inline="always")
def _pnl_resync(st: Any, contrib: Any, ctx: Any) -> float:
    """Total PnL from every position; refreshes the per-position cache the tick path uses."""
    total = 0.0
    for v in range(contrib.shape[0]):
        for s in range(contrib.shape[1]):
            c = _contribution(ctx, v, s)
            contrib[v, s] = c
            total += c
    st[0]["pnl"] = total
    return total


@numba.njit(cache=True, inline="always")
def _drawdown_update(params: Any, st: Any, ctx: Any, equity: float) -> float:
    """Update peaks with ``equity``; returns the breached limit (> 0) or 0.0. Trips the kill."""
    p = params[0]
    now = ctx.control[0]["now_ns"]
    day = now // _DAY_NS
    if st[0]["ready"] == 0:
        # the run starts at its capital: a loss already on the books counts from there
        start = max(equity, p["capital"]) if p["capital"] > 0.0 else equity
        st[0]["ready"] = 1
        st[0]["peak"] = start
        st[0]["day"] = day
        st[0]["day_peak"] = start
    if day != st[0]["day"]:
        st[0]["day"] = day
        st[0]["day_peak"] = equity
    st[0]["equity"] = equity
    st[0]["peak"] = max(st[0]["peak"], equity)
    st[0]["day_peak"] = max(st[0]["day_peak"], equity)
    dd_total = st[0]["peak"] - equity
    dd_day = st[0]["day_peak"] - equity
    st[0]["worst_total"] = max(st[0]["worst_total"], dd_total)
    st[0]["worst_day"] = max(st[0]["worst_day"], dd_day)
    lim_total = p["max_total"]
    if p["max_total_pct"] > 0.0:
        lim = p["max_total_pct"] * 0.01 * st[0]["peak"]
        lim_total = lim if lim_total <= 0.0 else min(lim_total, lim)
    lim_day = p["max_daily"]
    if p["max_daily_pct"] > 0.0:
        lim = p["max_daily_pct"] * 0.01 * st[0]["day_peak"]
        lim_day = lim if lim_day <= 0.0 else min(lim_day, lim)
    over = 0.0
    limit = 0.0
    if lim_total > 0.0 and dd_total > lim_total * (1.0 + _EPS):
        over = dd_total
        limit = lim_total
    elif lim_day > 0.0 and dd_day > lim_day * (1.0 + _EPS):
        over = dd_day
        limit = lim_day
    # Below the floor a worst drawdown or a limit would move; a breach keeps it at +inf,
    # so every tick re-judges (a cleared kill trips again while still in breach).
    floor = max(st[0]["peak"] - st[0]["worst_total"], st[0]["day_peak"] - st[0]["worst_day"])
    if lim_total > 0.0:
        floor = max(floor, st[0]["peak"] - lim_total)
    if lim_day > 0.0:
        floor = max(floor, st[0]["day_peak"] - lim_day)
    st[0]["floor"] = np.inf if over > 0.0 else floor
    st[0]["day_end"] = (day + 1) * _DAY_NS
    st[0]["k_total"] = p["max_total"]
    st[0]["k_total_pct"] = p["max_total_pct"]
    st[0]["k_daily"] = p["max_daily"]
    st[0]["k_daily_pct"] = p["max_daily_pct"]
    if over > 0.0:
        if p["kill"] != 0:
            trip_kill(ctx, _DRAWDOWN)
        return limit
    return 0.0


@numba.njit(cache=True, inline="always")
def _drawdown_eval(params: Any, state: Any, ctx: Any) -> float:
    """Full evaluation (every position); returns the breached limit or 0.0."""
    st, contrib = state
    return _drawdown_update(params, st, ctx, params[0]["capital"] + _pnl_resync(st, contrib, ctx))


@numba.njit(cache=True)
def drawdown_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Refuse (and trip the kill switch) once drawdown from the peak equity passes a limit.

    The kernel's flatten orders pass: they are how a drawdown stop gets out.
    """
    limit = _drawdown_eval(params, state, ctx)
    if is_kernel_flatten(ctx, i):
        return 0
    if limit > 0.0:
        st = state[0][0]
        dd = max(st["peak"] - st["equity"], st["day_peak"] - st["equity"])
        record_breach(ctx, i, _DRAWDOWN, dd, limit, False)
        return _DRAWDOWN
    return 0


@numba.njit(cache=True)
def drawdown_report(params: Any, state: Any, ctx: Any, j: int) -> None:
    """Re-evaluate after every report (fills move PnL), so the kill trips without an intent."""
    _drawdown_eval(params, state, ctx)


@numba.njit(cache=True)
def drawdown_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Mark the ticked position to market and re-check the limits: a price that falls
    through the limit trips the kill switch on that tick, with no order in flight.

    O(1): only the ticked symbol's contribution changes (fills arrive as reports, which
    re-evaluate everything); ticks of symbols with no position return at once, and tainted
    ticks (a crossed book, a bad print) are not allowed to move equity.
    """
    v = tick["venue"]
    s = tick["symbol"]
    if ctx.positions[v, s]["qty"] == 0.0 or (tick["flags"] & _TAINTED) != 0:
        return
    st, contrib = state
    st[0]["tick_evals"] += 1
    if st[0]["ready"] == 0:
        _drawdown_eval(params, state, ctx)
        return
    c = _contribution(ctx, v, s)
    pnl = st[0]["pnl"] + (c - contrib[v, s])
    contrib[v, s] = c
    st[0]["pnl"] = pnl
    p = params[0]
    equity = p["capital"] + pnl
    r = st[0]
    # Most ticks move equity inside the band where no peak, worst drawdown or limit can
    # change: store it and go (all tests with &: one branch, well predicted).
    if ((equity >= r["floor"]) & (equity <= r["peak"]) & (equity <= r["day_peak"])
            & (ctx.control[0]["now_ns"] < r["day_end"]) & (p["max_total"] == r["k_total"])
            & (p["max_total_pct"] == r["k_total_pct"]) & (p["max_daily"] == r["k_daily"])
            & (p["max_daily_pct"] == r["k_daily_pct"])):
        r["equity"] = equity
        return
    _drawdown_update(params, st, ctx, equity)


@numba.njit(cache=True, inline="always")
def _ewma_weights(secs: float, inv_tau: float) -> tuple[float, float]:
    """``(w, (1 - w) / secs)`` with ``w = exp(-secs / tau)``: an observation's variance
    rate ``r**2 / secs`` enters the average as ``gain * r**2``.

    Samples are ``sample_s`` apart, far under ``tau`` (an hour's half-life is 5,194 s), so
    ``y = secs / tau`` is small. There ``(1 - exp(-y)) / y = 1 - y/2 + y**2/6 - y**3/24
    + y**4/120`` to well under an ulp (the next term is below ``y**5 / 720``), with no exp
    and no division, and more exactly than ``1 - exp(-y)``, which cancels. This runs on a
    tick in ten of a backtest of 100 ms ticks, where exp, log and three divisions cost
    ~4 ns a tick.
    """
    y = secs * inv_tau
    if y < 1e-3:
        gain = inv_tau * (1.0 - y * (0.5 - y * (1.0 / 6.0 - y * (1.0 / 24.0 - y * (1.0 / 120.0)))))
        return 1.0 - gain * secs, gain
    w = np.exp(-y)
    return w, (1.0 - w) / secs


@numba.njit(cache=True, inline="always")
def _var_sample_one(p: Any, st: Any, ctx: Any, v: int, s: int, now: int) -> None:
    """Fold (v, s)'s mark move since its last sample into its time-decayed variance rate.

    Samples are at least ``sample_ns`` apart: tick-by-tick moves are mostly bid/ask
    bounce, which would inflate the estimate, and a sparse sample keeps the tick path cheap.
    """
    if st[0]["last_t"] != 0 and now - st[0]["last_t"] < p["sample_ns"]:
        return
    m = mark(ctx, v, s)
    if not m > 0.0:
        return
    last = st[0]["last_mark"]
    dt = now - st[0]["last_t"]
    if last > 0.0 and dt <= 0:
        return
    if last > 0.0 and m != last:
        secs = dt * 1e-9
        r = log_ratio(m, last, 1.0 / last)
        if st[0]["n"] == 0:
            st[0]["var_rate"] = r * r / secs
        else:
            w, gain = _ewma_weights(secs, p["inv_tau"])
            st[0]["var_rate"] = w * st[0]["var_rate"] + gain * (r * r)
        st[0]["n"] += 1
    if last != m:
        st[0]["last_mark"] = m
        st[0]["last_t"] = now


@numba.njit(cache=True, inline="always")
def _var_sample(params: Any, state: Any, ctx: Any) -> None:
    """Sample every symbol's mark (intents and reports)."""
    p = params[0]
    now = ctx.control[0]["now_ns"]
    for v in range(state.shape[0]):
        for s in range(state.shape[1]):
            _var_sample_one(p, state[v : v + 1, s], ctx, v, s, now)


@numba.njit(cache=True)
def var_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Sample the ticked symbol's mark, so volatility follows prices, not order flow.

    O(1), and no log/exp unless ``sample_ns`` has passed since the symbol's last move;
    tainted ticks are skipped (a bad print is not volatility).
    """
    if (tick["flags"] & _TAINTED) != 0:
        return
    v = tick["venue"]
    s = tick["symbol"]
    p = params[0]
    now = ctx.control[0]["now_ns"]
    last_t = state[v, s]["last_t"]
    # the common case, tested before a view of the state is built
    if last_t != 0 and now - last_t < p["sample_ns"]:
        return
    _var_sample_one(p, state[v : v + 1, s], ctx, v, s, now)


@numba.njit(cache=True)
def var_check(params: Any, state: Any, ctx: Any, i: int) -> int:
    """Refuse (or cut) an intent that lifts the undiversified EWMA VaR above ``max_var``.

    VaR = z * sqrt(horizon) * sum |qty * mark| * sigma_rate per symbol, where sigma_rate is
    the larger of the estimate and the floor (assumes perfect correlation: conservative).
    """
    _var_sample(params, state, ctx)
    p = params[0]
    if p["max_var"] <= 0.0 or is_kernel_flatten(ctx, i):
        return 0
    it = ctx.intents[i : i + 1]
    v = it[0]["venue"]
    s = it[0]["symbol"]
    scale = p["z"] * np.sqrt(p["horizon_s"])
    total = 0.0
    sig_here = 0.0
    m_here = _exposure_mark(ctx, it[0])
    pos = ctx.positions
    for a in range(pos.shape[0]):
        for b in range(pos.shape[1]):
            st = state[a, b]
            vr = st["var_rate"] if st["n"] >= p["min_samples"] else 0.0
            sig = np.sqrt(max(vr, p["floor_rate"]))
            if a == v and b == s:
                sig_here = sig
                continue
            qty = pos[a, b]["qty"]
            if qty != 0.0:
                mk = mark(ctx, a, b)
                if mk > 0.0:
                    total += abs(qty) * mk * sig
    here = pos[v, s]["qty"]
    sgn = 1.0 if it[0]["side"] == _BUY else -1.0
    q = it[0]["qty"]
    before = scale * (total + abs(here) * m_here * sig_here)
    after = scale * (total + abs(here + sgn * q) * m_here * sig_here)
    if after <= p["max_var"] * (1.0 + _EPS) or after <= before:
        return 0
    if p["resize"] != 0 and sig_here > 0.0 and m_here > 0.0:
        room_abs = (p["max_var"] / scale - total) / (m_here * sig_here)  # allowed |position|
        allowed = room_abs - sgn * here if room_abs > 0.0 else 0.0
        if allowed > 0.0:
            record_breach(ctx, i, _VAR_LIMIT, after, p["max_var"], True)
            it[0]["qty"] = min(q, allowed)
            return 0
    record_breach(ctx, i, _VAR_LIMIT, after, p["max_var"], False)
    return _VAR_LIMIT


@numba.njit(cache=True)
def var_report(params: Any, state: Any, ctx: Any, j: int) -> None:
    """Sample marks when reports arrive too, so the estimate does not depend on order flow only."""
    _var_sample(params, state, ctx)
