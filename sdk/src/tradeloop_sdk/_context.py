"""The kernel context: the preallocated arrays every compiled component sees.

A context is a namedtuple of numpy arrays, so numba passes it to kernels by reference with
no per-call cost. The kernel creates one per run; plugin tests create their own with
:func:`make_context` and call their kernels directly.

Component kernel signatures (all ``numba.njit``, module-level so the fused loop can
import them by qualified name):

* gate      ``on_tick(params, state, ctx, tick) -> int``  flags to OR into the tick
* strategy  ``on_tick(params, state, ctx, tick) -> None``  may call :func:`submit` etc.
* stage     ``on_tick(params, state, ctx, tick) -> None``  reads/writes ``ctx.signals``
* guard     ``check(params, state, ctx, i) -> int``  0 passes intent ``ctx.intents[i]``;
  a Reason code refuses it; lowering ``ctx.intents[i]['qty']`` resizes it
* venue     ``on_intent(params, state, ctx, i) -> None`` and ``on_tick(...)``; writes
  reports with :func:`report`

Any of them may also define ``on_report(params, state, ctx, j) -> None`` for
``ctx.reports[j]``, called after the kernel has applied the report to orders and ledger.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numba
import numpy as np

from ._dtypes import (
    BOOK_DTYPE,
    CONTROL_DTYPE,
    INTENT_DTYPE,
    NO_GUARD,
    ORDER_DTYPE,
    POSITION_DTYPE,
    REPORT_DTYPE,
    SYMBOL_SPEC_DTYPE,
    _record,
)

EVENT_DTYPE = _record(
    [
        ("ts", "i8", 0),
        ("client_id", "i8", 8),
        ("value", "f8", 16),  # the measured value that tripped a limit, if any
        ("limit", "f8", 24),
        ("kind", "u1", 32),  # EventKind
        ("code", "u1", 33),  # Reason or OrderState, by kind
        ("component", "u2", 34),
        ("venue", "u2", 36),
        ("symbol", "u2", 38),
        ("from_state", "u1", 40),
        ("to_state", "u1", 41),
    ],
    64,
)


class EventKind:
    """Kinds of events the loop records for the Python side."""

    GUARD_REJECT = 1
    GUARD_RESIZE = 2
    ORDER_TRANSITION = 3
    INVALID_TRANSITION = 4
    STUCK_ORDER = 5
    KILL = 6
    GATE_FLAG = 7


# Indices into ctx.counts.
N_INTENTS = 0  # intents written this iteration
N_REPORTS = 1  # reports written this iteration
N_EVENTS = 2  # events written since the Python side last drained them
EVENTS_LOST = 3  # events dropped because the event buffer was full
INTENTS_LOST = 4  # intents refused because the intent buffer was full
N_COUNTS = 8

Context = namedtuple(
    "Context",
    [
        "control",  # CONTROL_DTYPE[1]
        "books",  # BOOK_DTYPE[n_venues, n_symbols]
        "positions",  # POSITION_DTYPE[n_venues, n_symbols]
        "cash",  # float64[n_venues, n_currencies]
        "specs",  # SYMBOL_SPEC_DTYPE[n_venues, n_symbols]
        "orders",  # ORDER_DTYPE[order_capacity]; slot = client_id & (capacity - 1)
        "intents",  # INTENT_DTYPE[intent_capacity], this iteration's intents
        "reports",  # REPORT_DTYPE[report_capacity], this iteration's reports
        "events",  # EVENT_DTYPE[event_capacity]
        "counts",  # int64[N_COUNTS]
        "signals",  # float64[n_symbols, n_signal_slots], pipeline stages' blackboard
        "guard_stats",  # int64[n_guards, 3]: passed, resized, rejected
    ],
)


def make_context(
    n_venues: int = 1,
    n_symbols: int = 1,
    *,
    n_currencies: int = 2,
    order_capacity: int = 4096,
    intent_capacity: int = 256,
    report_capacity: int = 1024,
    event_capacity: int = 4096,
    n_signal_slots: int = 16,
    n_guards: int = 8,
    first_client_id: int = 1,
) -> Any:
    """Allocate a zeroed context; ``order_capacity`` must be a power of two."""
    if order_capacity <= 0 or order_capacity & (order_capacity - 1):
        raise ValueError(f"order_capacity must be a power of two, got {order_capacity}")
    control = np.zeros(1, CONTROL_DTYPE)
    control[0]["next_client_id"] = first_client_id
    books = np.zeros((n_venues, n_symbols), BOOK_DTYPE)
    for f in ("bid", "ask", "last"):
        books[f] = np.nan
    specs = np.zeros((n_venues, n_symbols), SYMBOL_SPEC_DTYPE)
    specs["active"] = 1
    return Context(
        control=control,
        books=books,
        positions=np.zeros((n_venues, n_symbols), POSITION_DTYPE),
        cash=np.zeros((n_venues, n_currencies), np.float64),
        specs=specs,
        orders=np.zeros(order_capacity, ORDER_DTYPE),
        intents=np.zeros(intent_capacity, INTENT_DTYPE),
        reports=np.zeros(report_capacity, REPORT_DTYPE),
        events=np.zeros(event_capacity, EVENT_DTYPE),
        counts=np.zeros(N_COUNTS, np.int64),
        signals=np.zeros((n_symbols, n_signal_slots), np.float64),
        guard_stats=np.zeros((n_guards, 3), np.int64),
    )


@numba.njit(cache=True, inline="always")
def _new_intent(ctx: Any, source: int, venue: int, symbol: int, action: int) -> int:
    n = ctx.counts[N_INTENTS]
    if n >= ctx.intents.shape[0]:
        ctx.counts[INTENTS_LOST] += 1
        return -1
    ctx.counts[N_INTENTS] = n + 1
    it = ctx.intents[n : n + 1]
    it[0]["ts"] = ctx.control[0]["now_ns"]
    it[0]["venue"] = venue
    it[0]["symbol"] = symbol
    it[0]["action"] = action
    it[0]["source"] = source
    it[0]["reason"] = 0
    it[0]["guard"] = NO_GUARD
    it[0]["stop_price"] = np.nan
    it[0]["target_id"] = 0
    return int(n)


@numba.njit(cache=True)
def submit(
    ctx: Any,
    source: int,
    venue: int,
    symbol: int,
    side: int,
    otype: int,
    tif: int,
    qty: float,
    price: float,
    stop_price: float = np.nan,
) -> int:
    """Emit a NEW order intent; returns its client id, or -1 if the intent buffer is full."""
    n = _new_intent(ctx, source, venue, symbol, 1)
    if n < 0:
        return -1
    cid = ctx.control[0]["next_client_id"]
    ctx.control[0]["next_client_id"] = cid + 1
    it = ctx.intents[n : n + 1]
    it[0]["client_id"] = cid
    it[0]["side"] = side
    it[0]["type"] = otype
    it[0]["tif"] = tif
    it[0]["qty"] = qty
    it[0]["price"] = price
    it[0]["stop_price"] = stop_price
    return int(cid)


@numba.njit(cache=True, inline="always")
def _amend(ctx: Any, source: int, client_id: int, action: int, qty: float, price: float) -> int:
    """Emit an ``action`` intent on live order ``client_id`` (its venue, symbol, side, type
    and tif) with ``qty`` and ``price``; returns 0, or -1 if the intent buffer is full."""
    o = ctx.orders[client_id & (ctx.orders.shape[0] - 1)]
    n = _new_intent(ctx, source, o["venue"], o["symbol"], action)
    if n < 0:
        return -1
    it = ctx.intents[n : n + 1]
    it[0]["client_id"] = client_id
    it[0]["target_id"] = client_id
    it[0]["side"] = o["side"]
    it[0]["type"] = o["type"]
    it[0]["tif"] = o["tif"]
    it[0]["qty"] = qty
    it[0]["price"] = price
    return 0


@numba.njit(cache=True)
def cancel(ctx: Any, source: int, client_id: int) -> int:
    """Emit a CANCEL intent for ``client_id``; returns 0, or -1 if the buffer is full."""
    # a cancel carries the order's own quantity and price
    o = ctx.orders[client_id & (ctx.orders.shape[0] - 1)]
    return _amend(ctx, source, client_id, 2, o["qty"], o["price"])


@numba.njit(cache=True)
def replace(ctx: Any, source: int, client_id: int, qty: float, price: float) -> int:
    """Emit a REPLACE intent amending ``client_id`` to ``qty`` at ``price``."""
    return _amend(ctx, source, client_id, 3, qty, price)


@numba.njit(cache=True)
def report(
    ctx: Any,
    kind: int,
    client_id: int,
    venue: int,
    symbol: int,
    side: int,
    fill_qty: float,
    fill_price: float,
    fee: float,
    leaves_qty: float,
    liquidity: int,
    reason: int,
    venue_order_id: int,
    ts: int,
) -> int:
    """Write a venue report into ``ctx.reports``; returns its index or -1 if full."""
    n = ctx.counts[N_REPORTS]
    if n >= ctx.reports.shape[0]:
        return -1
    ctx.counts[N_REPORTS] = n + 1
    r = ctx.reports[n : n + 1]
    r[0]["ts"] = ts
    r[0]["client_id"] = client_id
    r[0]["venue_order_id"] = venue_order_id
    r[0]["fill_qty"] = fill_qty
    r[0]["fill_price"] = fill_price
    r[0]["fee"] = fee
    r[0]["leaves_qty"] = leaves_qty
    r[0]["venue"] = venue
    r[0]["symbol"] = symbol
    r[0]["kind"] = kind
    r[0]["side"] = side
    r[0]["liquidity"] = liquidity
    r[0]["reason"] = reason
    return int(n)


@numba.njit(cache=True)
def record_event(
    ctx: Any,
    kind: int,
    code: int,
    component: int,
    client_id: int,
    venue: int,
    symbol: int,
    value: float,
    limit: float,
) -> None:
    """Append an event for the Python side (breaches, stuck orders); counts drops when full."""
    n = ctx.counts[N_EVENTS]
    if n >= ctx.events.shape[0]:
        ctx.counts[EVENTS_LOST] += 1
        return
    ctx.counts[N_EVENTS] = n + 1
    e = ctx.events[n : n + 1]
    e[0]["ts"] = ctx.control[0]["now_ns"]
    e[0]["kind"] = kind
    e[0]["code"] = code
    e[0]["component"] = component
    e[0]["client_id"] = client_id
    e[0]["venue"] = venue
    e[0]["symbol"] = symbol
    e[0]["value"] = value
    e[0]["limit"] = limit


@numba.njit(cache=True, inline="always")
def mid(ctx: Any, venue: int, symbol: int) -> float:
    """Mid price of a symbol's book (NaN until both sides are known)."""
    b = ctx.books[venue, symbol]
    return float(0.5 * (b["bid"] + b["ask"]))


@numba.njit(cache=True, inline="always")
def is_tainted(ctx: Any, venue: int, symbol: int) -> bool:
    """True while the symbol's data is flagged by a gate; strategies must not act on it."""
    b = ctx.books[venue, symbol]
    return bool(b["flags"] != 0 or b["tainted_until"] > ctx.control[0]["now_ns"])


#: ``source`` of intents the kernel itself emits (cancels and flattens on a kill).
KERNEL_SOURCE = 0xFFFF


@numba.njit(cache=True, inline="always")
def is_kernel_flatten(ctx: Any, i: int) -> bool:
    """True if ``ctx.intents[i]`` is a flatten order the kernel emitted on a kill.

    Such an order only closes a position; the kill refusal lets it pass, and risk guards
    that limit new risk or pace should too. A strategy cannot forge one: the client id
    must be in the range the kernel recorded in ``control`` (flatten_from, flatten_to).
    """
    it = ctx.intents[i]
    c = ctx.control[0]
    return bool(
        it["source"] == KERNEL_SOURCE
        and it["action"] == 1
        and c["flatten_from"] <= it["client_id"] < c["flatten_to"]
    )


@numba.njit(cache=True, inline="always")
def order_slot(ctx: Any, client_id: int) -> int:
    """Index of ``client_id`` in ``ctx.orders``."""
    return int(client_id & (ctx.orders.shape[0] - 1))
