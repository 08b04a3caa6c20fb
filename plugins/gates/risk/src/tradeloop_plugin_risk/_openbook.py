"""An incremental index of live orders: open quantity and live-order counts per venue/symbol.

Scanning the whole order table (4096 slots by default) on every intent cost the
position-limit and concurrency guards ~50 us an order. This index keeps the same figures
up to date in O(1) per order event instead:

* each order slot remembers what it contributed (venue, symbol, side, open qty, live);
* :func:`resync` recomputes one slot from ``ctx.orders`` and applies the difference, so
  calling it twice is harmless;
* reports (``on_report``) resync the report's slot: fills, cancels, rejects, replaces;
* orders the kernel accepted since the last look are swept by client id: ids are handed
  out in order, so a watermark says which ids have been looked at. The sweep stops at the
  first id whose intent the loop has not decided yet (still in ``ctx.intents`` with no
  reason): it will be in the table, or refused, by the next look.

The first use scans the table once, so orders entered before the run (reconciliation,
tests) count. Order-state changes the kernel makes without a report (a live order failed
at shutdown) show up with the slot's next report. If the loop's order table is not the
size the index was built for, :func:`open_qty` and :func:`live_counts` fall back to the scan.

The helpers are inlined into the guards' kernels: an out-of-line call passes the context's
arrays with a reference-count pair each, which cost more than the index itself.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

#: Order-table size the index is allocated for (``build_loop``'s default).
DEFAULT_CAPACITY = 4096

_NEW = 1

# meta fields
_M_READY = 0
_M_WM = 1  # next client id to sweep


def make(n_venues: int, n_symbols: int, capacity: int = DEFAULT_CAPACITY) -> tuple[Any, ...]:
    """Allocate an empty index: (meta, slot_cid, slot_vs, slot_side, slot_q, open_q, live_vs, live_v)."""
    return (
        np.zeros(2, np.int64),
        np.zeros(capacity, np.int64),
        np.full(capacity, -1, np.int64),  # v * n_symbols + s, -1: counts nothing
        np.zeros(capacity, np.int64),
        np.zeros(capacity, np.float64),
        np.zeros((n_venues, n_symbols, 3), np.float64),  # by Side (1 buy, 2 sell)
        np.zeros((n_venues, n_symbols), np.int64),
        np.zeros(n_venues, np.int64),
    )


@numba.njit(cache=True, inline="always")
def resync(book: Any, ctx: Any, slot: int) -> None:
    """Bring slot ``slot``'s contribution in line with ``ctx.orders[slot]``."""
    _meta, slot_cid, slot_vs, slot_side, slot_q, open_q, live_vs, live_v = book
    ns = live_vs.shape[1]
    old = slot_vs[slot]
    if old >= 0:  # take the old contribution out
        v0 = old // ns
        s0 = old - v0 * ns
        open_q[v0, s0, slot_side[slot]] -= slot_q[slot]
        live_vs[v0, s0] -= 1
        live_v[v0] -= 1
    o = ctx.orders[slot]
    st = o["state"]
    slot_cid[slot] = o["client_id"]
    if 1 <= st <= 4 and o["venue"] < live_vs.shape[0] and o["symbol"] < ns:
        v = o["venue"]
        s = o["symbol"]
        side = o["side"] if o["side"] == 2 else 1
        q = o["qty"] - o["filled"]
        slot_vs[slot] = v * ns + s
        slot_side[slot] = side
        slot_q[slot] = q
        open_q[v, s, side] += q
        live_vs[v, s] += 1
        live_v[v] += 1
    else:
        slot_vs[slot] = -1
        slot_q[slot] = 0.0


@numba.njit(cache=True, inline="always")
def _undecided(ctx: Any, cid: int) -> bool:
    """True while ``cid`` is a NEW intent of this iteration the loop has not decided yet."""
    its = ctx.intents
    for j in range(ctx.counts[0]):
        if its[j]["client_id"] == cid and its[j]["action"] == _NEW:
            return its[j]["reason"] == 0
    return False


@numba.njit(cache=True, inline="always")
def sync(book: Any, ctx: Any) -> bool:
    """Fold in orders accepted since the last call; False if the index cannot serve this ctx."""
    meta, slot_cid = book[0], book[1]
    orders = ctx.orders
    cap = orders.shape[0]
    if cap != slot_cid.shape[0]:
        return False
    nxt = ctx.control[0]["next_client_id"]
    if meta[_M_READY] == 0:
        for k in range(cap):
            resync(book, ctx, k)
        meta[_M_READY] = 1
        wm = nxt
        for j in range(ctx.counts[0]):  # this iteration's undecided intents come later
            it = ctx.intents[j]
            if it["action"] == _NEW and it["reason"] == 0 and it["client_id"] < wm:
                slot = it["client_id"] & (cap - 1)
                if orders[slot]["client_id"] != it["client_id"] or orders[slot]["state"] == 0:
                    wm = it["client_id"]
        meta[_M_WM] = wm
        return True
    wm = meta[_M_WM]
    while wm < nxt:
        slot = wm & (cap - 1)
        if orders[slot]["client_id"] == wm and orders[slot]["state"] != 0:
            resync(book, ctx, slot)
        elif _undecided(ctx, wm):
            break
        wm += 1
    meta[_M_WM] = wm
    return True


@numba.njit(cache=True, inline="always")
def on_report(book: Any, ctx: Any, j: int) -> None:
    """A report changed (at most) its order's slot: resync it."""
    cap = ctx.orders.shape[0]
    if cap != book[1].shape[0] or book[0][_M_READY] == 0:
        return  # the first sync scans the whole table anyway
    resync(book, ctx, ctx.reports[j]["client_id"] & (cap - 1))


@numba.njit(cache=True, inline="always")
def open_qty(book: Any, ctx: Any, v: int, s: int, side: int) -> float:
    """Unfilled quantity of live orders on (v, s) and ``side``."""
    if not sync(book, ctx):
        return open_qty_scan(ctx, v, s, side)
    return book[5][v, s, side if side == 2 else 1]


@numba.njit(cache=True, inline="always")
def live_counts(book: Any, ctx: Any, v: int, s: int) -> tuple[int, int]:
    """(live orders on venue ``v``, live orders on (v, s))."""
    if not sync(book, ctx):
        return live_counts_scan(ctx, v, s)
    return book[7][v], book[6][v, s]


@numba.njit(cache=True)
def open_qty_scan(ctx: Any, v: int, s: int, side: int) -> float:
    """Reference: unfilled quantity of live orders on (v, s) and ``side``, by scanning."""
    total = 0.0
    orders = ctx.orders
    for k in range(orders.shape[0]):
        o = orders[k]
        st = o["state"]
        if 1 <= st <= 4 and o["venue"] == v and o["symbol"] == s and o["side"] == side:
            total += o["qty"] - o["filled"]
    return total


@numba.njit(cache=True)
def live_counts_scan(ctx: Any, v: int, s: int) -> tuple[int, int]:
    """Reference: (live orders on venue ``v``, on (v, s)) by scanning the order table."""
    n_v = 0
    n_s = 0
    orders = ctx.orders
    for k in range(orders.shape[0]):
        o = orders[k]
        if 1 <= o["state"] <= 4 and o["venue"] == v:
            n_v += 1
            if o["symbol"] == s:
                n_s += 1
    return n_v, n_s
