"""Small compiled helpers strategies share: tick prices, tracking their own orders, rounding.

A strategy remembers the client ids it submitted (in its state array) and looks them up in
``ctx.orders`` with these helpers, which is O(1) per order instead of a scan of the table.
An order whose slot no longer holds its client id was never accepted (a guard refused it)
or has been recycled; either way it is not working.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ._context import N_INTENTS
from ._enums import IntentAction, OrderState, Side, TickKind

_CREATING = int(OrderState.CREATING)
_PENDING_CANCEL = int(OrderState.PENDING_CANCEL)
_BUY = int(Side.BUY)
_NEW = int(IntentAction.NEW)
_QUOTE = int(TickKind.QUOTE)


@numba.njit(cache=True, inline="always")
def tick_price(tick: Any) -> float:
    """Price a strategy reads from a tick: the mid for quotes, the price for trades and bars."""
    if tick["kind"] == _QUOTE:
        return float(0.5 * (tick["bid"] + tick["ask"]))
    return float(tick["price"])


@numba.njit(cache=True)
def order_live(ctx: Any, client_id: int | np.integer[Any]) -> bool:
    """True while ``client_id`` is in the order table and not in a terminal state."""
    if client_id <= 0:
        return False
    o = ctx.orders[client_id & (ctx.orders.shape[0] - 1)]
    if o["client_id"] != client_id:
        return False
    s = o["state"]
    # live states are CREATING (1) through PENDING_CANCEL (4)
    return bool(_CREATING <= s <= _PENDING_CANCEL)


@numba.njit(cache=True)
def order_in_flight(ctx: Any, client_id: int | np.integer[Any]) -> bool:
    """True while ``client_id`` is live, or submitted this iteration and not yet admitted.

    An order enters ``ctx.orders`` only when the loop dispatches the iteration's intents,
    after every strategy (and any ``on_report``) has run: :func:`order_live` alone misses
    an order sent earlier in the same iteration. Strategies that keep at most one order in
    flight wait on this. It scans the iteration's intent buffer, so call it when about to
    trade, not on every tick.
    """
    if client_id <= 0:
        return False
    if order_live(ctx, client_id):
        return True
    for i in range(ctx.counts[N_INTENTS]):
        it = ctx.intents[i]
        if it["client_id"] == client_id and it["action"] == _NEW:
            return True
    return False


@numba.njit(cache=True)
def order_working(ctx: Any, client_id: int | np.integer[Any]) -> float:
    """Signed quantity still working on ``client_id`` (+ buy, - sell; 0 when not live)."""
    if not order_live(ctx, client_id):
        return 0.0
    o = ctx.orders[client_id & (ctx.orders.shape[0] - 1)]
    left = o["qty"] - o["filled"]
    if left < 0.0:
        left = 0.0
    return float(left if o["side"] == _BUY else -left)


@numba.njit(cache=True)
def order_filled(ctx: Any, client_id: int | np.integer[Any]) -> float:
    """Quantity filled so far on ``client_id`` (0 when its slot holds another order)."""
    if client_id <= 0:
        return 0.0
    o = ctx.orders[client_id & (ctx.orders.shape[0] - 1)]
    if o["client_id"] != client_id:
        return 0.0
    return float(o["filled"])


@numba.njit(cache=True)
def round_to_tick(price: float, tick_size: float, up: bool) -> float:
    """Round ``price`` to the venue tick (up for asks, down for bids); no-op if tick is 0."""
    if tick_size <= 0.0 or math.isnan(price):
        return price
    q = price / tick_size
    # tolerate representation error: 100.0000000001 ticks is 100 ticks
    r = round(q)
    if abs(q - r) < 1e-9:
        return r * tick_size
    return (math.ceil(q) if up else math.floor(q)) * tick_size


@numba.njit(cache=True)
def round_to_lot(qty: float, lot_step: float) -> float:
    """Round a quantity down to the venue lot step; no-op if the step is 0."""
    if lot_step <= 0.0:
        return qty
    q = qty / lot_step
    r = round(q)
    if abs(q - r) < 1e-9:
        return r * lot_step
    return math.floor(q) * lot_step
