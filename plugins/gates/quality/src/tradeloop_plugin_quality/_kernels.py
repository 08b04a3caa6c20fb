"""Gate kernels: ``on_tick(params, state, ctx, tick) -> flags`` (TickFlag bits).

Each gate keeps its own per-(venue, symbol) state, so its verdict does not depend on
whether the kernel has already folded the tick into ``ctx.books``. A gate that flags a tick
may extend the taint with ``taint_ns``: it pushes ``ctx.books[v, s]['tainted_until']``
forward (never back), and :func:`tradeloop_sdk.is_tainted` reports the symbol tainted
until then even after clean ticks arrive. Prices are float64 here (kernel side).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from tradeloop_sdk import TickFlag, TickKind
from tradeloop_sdk.indicators import log_ratio

_QUOTE = int(TickKind.QUOTE)
_CROSSED = int(TickFlag.CROSSED)
_STALE = int(TickFlag.STALE)
_GAP = int(TickFlag.GAP)
_SKEW = int(TickFlag.SKEW)
_WIDE = int(TickFlag.WIDE)
_JUMP = int(TickFlag.JUMP)
_OUT_OF_ORDER = int(TickFlag.OUT_OF_ORDER)
_DUPLICATE = int(TickFlag.DUPLICATE)

#: Per-(venue, symbol) state of the sequence-gap gate; the Python side reads it.
SEQ_STATE_DTYPE = np.dtype(
    [
        ("last_seq", "i8"),
        ("gaps", "i8"),  # gap events
        ("missing", "i8"),  # messages missed in total
        ("needs_snapshot", "i8"),  # 1 until the Python side has requested a snapshot
        ("snapshot_requests", "i8"),  # times needs_snapshot went 0 -> 1
        ("duplicates", "i8"),
        ("out_of_order", "i8"),
        ("resets", "i8"),  # backward jumps taken as a new session
    ],
    align=True,
)

#: Per-(venue, symbol) state of the price-jump gate.
JUMP_STATE_DTYPE = np.dtype(
    [("last_px", "f8"), ("var", "f8"), ("n", "i8"), ("count", "i8"), ("last_sigmas", "f8"),
     ("inv_last", "f8")],
    align=True,
)


@numba.njit(cache=True, inline="always")
def _taint(ctx: Any, tick: Any, taint_ns: int) -> None:
    if taint_ns <= 0:
        return
    t = tick["ts_recv"] if tick["ts_recv"] > 0 else tick["ts_exch"]
    b = ctx.books[tick["venue"] : tick["venue"] + 1, tick["symbol"]]
    if t + taint_ns > b[0]["tainted_until"]:
        b[0]["tainted_until"] = t + taint_ns


@numba.njit(cache=True)
def crossed_book_tick(params: Any, state: Any, ctx: Any, tick: Any) -> int:
    """CROSSED when bid exceeds ask by more than ``tolerance_bps`` of mid (locked optional)."""
    if tick["kind"] != _QUOTE:
        return 0
    bid = tick["bid"]
    ask = tick["ask"]
    if not (bid > 0.0 and ask > 0.0):
        return 0
    p = params[0]
    excess = bid - ask
    tol = p["tolerance_bps"] * 1e-4 * 0.5 * (bid + ask)
    if excess > tol or (p["flag_locked"] != 0 and excess >= 0.0):
        state[tick["venue"], tick["symbol"]] += 1
        _taint(ctx, tick, p["taint_ns"])
        return _CROSSED
    return 0


@numba.njit(cache=True)
def stale_quote_tick(params: Any, state: Any, ctx: Any, tick: Any) -> int:
    """STALE when the tick arrived more than ``max_age_ns`` after its exchange timestamp."""
    if tick["ts_exch"] <= 0 or tick["ts_recv"] <= 0:
        return 0
    p = params[0]
    if tick["ts_recv"] - tick["ts_exch"] > p["max_age_ns"]:
        state[tick["venue"], tick["symbol"]] += 1
        _taint(ctx, tick, p["taint_ns"])
        return _STALE
    return 0


@numba.njit(cache=True)
def time_skew_tick(params: Any, state: Any, ctx: Any, tick: Any) -> int:
    """SKEW when the exchange clock runs ahead of ours (or, two-sided, behind) past a bound."""
    if tick["ts_exch"] <= 0 or tick["ts_recv"] <= 0:
        return 0
    p = params[0]
    d = tick["ts_exch"] - tick["ts_recv"]
    if d > p["max_skew_ns"] or (p["two_sided"] != 0 and -d > p["max_skew_ns"]):
        state[tick["venue"], tick["symbol"]] += 1
        _taint(ctx, tick, p["taint_ns"])
        return _SKEW
    return 0


@numba.njit(cache=True)
def wide_spread_tick(params: Any, state: Any, ctx: Any, tick: Any) -> int:
    """WIDE when (ask - bid) / mid exceeds ``max_spread_bps`` (quotes with both sides only)."""
    if tick["kind"] != _QUOTE:
        return 0
    bid = tick["bid"]
    ask = tick["ask"]
    if not (bid > 0.0 and ask > 0.0) or ask <= bid:
        return 0
    p = params[0]
    # (ask - bid) / mid > max_bps * 1e-4, multiplied out: no division on every quote
    # (mid > 0 here); the two sides can only disagree within an ulp of the bound.
    if (ask - bid) * 1e4 > p["max_spread_bps"] * (0.5 * (bid + ask)):
        state[tick["venue"], tick["symbol"]] += 1
        _taint(ctx, tick, p["taint_ns"])
        return _WIDE
    return 0


@numba.njit(cache=True)
def sequence_gap_tick(params: Any, state: Any, ctx: Any, tick: Any) -> int:
    """GAP on a forward jump in ``seq`` (and ask for a snapshot); DUPLICATE / OUT_OF_ORDER
    on repeats and small backward steps; a large backward jump is a new session (GAP too).

    ``seq == 0`` means the source has no sequence numbers: such ticks pass unchecked.
    """
    seq = tick["seq"]
    if seq <= 0:
        return 0
    p = params[0]
    s = 0 if p["per_venue"] != 0 else tick["symbol"]
    st = state[tick["venue"], s]  # a record view: writes go to the array, and no slice is built per tick
    last = st["last_seq"]
    if last == 0:
        st["last_seq"] = seq
        return 0
    if seq == last + 1:
        st["last_seq"] = seq
        return 0
    if seq > last + 1:
        st["gaps"] += 1
        st["missing"] += seq - last - 1
        st["last_seq"] = seq
    elif seq == last:
        st["duplicates"] += 1
        return _DUPLICATE
    elif last - seq <= p["max_reorder"]:
        st["out_of_order"] += 1
        return _OUT_OF_ORDER
    else:
        st["resets"] += 1
        st["last_seq"] = seq
    if st["needs_snapshot"] == 0:
        st["needs_snapshot"] = 1
        st["snapshot_requests"] += 1
    _taint(ctx, tick, p["taint_ns"])
    return _GAP


@numba.njit(cache=True)
def price_jump_tick(params: Any, state: Any, ctx: Any, tick: Any) -> int:
    """JUMP when a log return exceeds ``n_sigma`` EWMA standard deviations.

    The reference price follows every tick (a real level shift flags once, not forever);
    the variance absorbs a jump only up to ``n_sigma`` sigma so one bad print cannot
    inflate it. ``min_move_bps`` keeps a near-zero variance from flagging noise.
    """
    if tick["kind"] == _QUOTE:
        if not (tick["bid"] > 0.0 and tick["ask"] > 0.0) or tick["ask"] < tick["bid"]:
            return 0
        px = 0.5 * (tick["bid"] + tick["ask"])
    else:
        px = tick["price"]
        if not px > 0.0:
            return 0
    p = params[0]
    st = state[tick["venue"], tick["symbol"]]  # a record: writes go to the array
    last = st["last_px"]
    inv_last = st["inv_last"]
    st["last_px"] = px
    st["inv_last"] = 1.0 / px
    if not last > 0.0:
        return 0
    r = log_ratio(px, last, inv_last)
    var = st["var"]
    n = st["n"]
    lam = p["decay"]
    flagged = False
    ar = abs(r)
    ns = p["n_sigma"]
    # One branch, almost never taken: the three tests are combined with & (no short
    # circuit). ``ar > min_move`` alone is a coin flip on ordinary ticks, and a mispredicted
    # branch waiting on this tick's arithmetic costs more than evaluating all three.
    # ``ar > n_sigma * sqrt(var)`` is squared: no sqrt on the tick path.
    if (n >= p["min_samples"]) & (ar > p["min_move_bps"] * 1e-4) & (ar * ar > ns * ns * var):
        flagged = True
        sigma = np.sqrt(var)
        st["count"] += 1
        st["last_sigmas"] = ar / sigma if sigma > 0.0 else np.inf
        cap = ns * sigma
        r = cap if r > 0.0 else -cap
    st["var"] = r * r if n == 0 else lam * var + (1.0 - lam) * r * r
    st["n"] = n + 1
    if flagged:
        _taint(ctx, tick, p["taint_ns"])
        return _JUMP
    return 0
