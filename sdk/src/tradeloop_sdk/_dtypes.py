"""numpy structured dtypes of the hot-path records.

Streamed records (Tick, Intent, Report) are exactly 64 bytes, one cache line, so that a
ring slot never straddles two lines. State records (Book, Position, Order, SymbolSpec,
Control) are multiples of 64 bytes. Prices and sizes are float64 inside kernels; the exact
(Decimal) view lives on the Python side (see ``_records``).

Tick aliases: for TRADE and BAR ticks ``price``/``size`` share storage with
``bid``/``bid_size`` (a BAR carries its close and volume); QUOTE ticks use bid/ask and sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _record(fields: list[tuple[str, str, int]], itemsize: int) -> np.dtype[Any]:
    names = [f[0] for f in fields]
    formats = [f[1] for f in fields]
    offsets = [f[2] for f in fields]
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize},
        align=True,
    )


TICK_DTYPE = _record(
    [
        ("ts_exch", "i8", 0),  # exchange timestamp, ns since epoch
        ("ts_recv", "i8", 8),  # receive timestamp, ns since epoch
        ("seq", "i8", 16),  # venue sequence number
        ("bid", "f8", 24),
        ("price", "f8", 24),  # alias of bid for TRADE/BAR
        ("ask", "f8", 32),
        ("bid_size", "f8", 40),
        ("size", "f8", 40),  # alias of bid_size for TRADE/BAR
        ("ask_size", "f8", 48),
        ("venue", "u2", 56),
        ("symbol", "u2", 58),
        ("kind", "u1", 60),  # TickKind
        ("flags", "u1", 61),  # TickFlag
        ("side", "u1", 62),  # aggressor Side for trades
        ("_pad", "u1", 63),
    ],
    64,
)

#: TICK records as opaque 64-byte items. numpy copies a structured array field by field, and
#: TICK_DTYPE's aliased fields make that ~25x slower than copying whole records.
_TICK_RAW = np.dtype((np.void, TICK_DTYPE.itemsize))


def copy_ticks(ticks: np.ndarray, index: Any = None) -> np.ndarray:
    """A copy of a TICK_DTYPE array (``ticks[index]`` when given), record by record.

    Same result as ``ticks.copy()`` or ``ticks[index]``, at memory speed: use it wherever
    ticks are copied per chunk.
    """
    raw = ticks.view(_TICK_RAW)
    out: np.ndarray = (raw.copy() if index is None else raw[index]).view(TICK_DTYPE)
    return out


INTENT_DTYPE = _record(
    [
        ("ts", "i8", 0),  # ns, when the loop created it
        ("client_id", "i8", 8),  # from the persisted monotonic counter
        ("qty", "f8", 16),
        ("price", "f8", 24),  # limit price (NaN for market)
        ("stop_price", "f8", 32),
        ("target_id", "i8", 40),  # client id to cancel/replace
        ("venue", "u2", 48),
        ("symbol", "u2", 50),
        ("side", "u1", 52),  # Side
        ("type", "u1", 53),  # OrderType
        ("tif", "u1", 54),  # TimeInForce
        ("action", "u1", 55),  # IntentAction
        ("source", "u2", 56),  # index of the emitting component in the loop
        ("reason", "u1", 58),  # Reason set by the guard that refused it
        ("guard", "u1", 59),  # index of that guard (255: none)
        ("_pad", "u4", 60),
    ],
    64,
)

REPORT_DTYPE = _record(
    [
        ("ts", "i8", 0),  # venue timestamp, ns
        ("client_id", "i8", 8),
        ("venue_order_id", "i8", 16),
        ("fill_qty", "f8", 24),
        ("fill_price", "f8", 32),
        ("fee", "f8", 40),  # in quote currency, positive = paid
        ("leaves_qty", "f8", 48),
        ("venue", "u2", 56),
        ("symbol", "u2", 58),
        ("kind", "u1", 60),  # ReportKind
        ("side", "u1", 61),
        ("liquidity", "u1", 62),  # Liquidity
        ("reason", "u1", 63),  # Reason
    ],
    64,
)

BOOK_DTYPE = _record(
    [
        ("bid", "f8", 0),
        ("ask", "f8", 8),
        ("bid_size", "f8", 16),
        ("ask_size", "f8", 24),
        ("last", "f8", 32),
        ("last_size", "f8", 40),
        ("ts_exch", "i8", 48),
        ("ts_recv", "i8", 56),
        ("seq", "i8", 64),
        ("flags", "i8", 72),  # flags of the latest tick
        ("tainted_until", "i8", 80),  # ns: decisions on this symbol are suspended until then
        ("n_ticks", "i8", 88),
    ],
    128,
)

POSITION_DTYPE = _record(
    [
        ("qty", "f8", 0),  # signed
        ("avg_price", "f8", 8),
        ("realized", "f8", 16),
        ("unrealized", "f8", 24),
        ("fees", "f8", 32),
        ("volume", "f8", 40),  # traded notional
        ("n_fills", "i8", 48),
        ("_pad", "i8", 56),
    ],
    64,
)

ORDER_DTYPE = _record(
    [
        ("client_id", "i8", 0),
        ("venue_order_id", "i8", 8),
        ("ts_created", "i8", 16),
        ("ts_updated", "i8", 24),
        ("deadline", "i8", 32),  # ns: ack or cancel must arrive before this, else stuck
        ("qty", "f8", 40),
        ("price", "f8", 48),
        ("stop_price", "f8", 56),
        ("filled", "f8", 64),
        ("avg_fill_price", "f8", 72),
        ("venue", "u2", 80),
        ("symbol", "u2", 82),
        ("side", "u1", 84),
        ("type", "u1", 85),
        ("tif", "u1", 86),
        ("state", "u1", 87),  # OrderState
        ("reason", "u1", 88),
        ("source", "u2", 90),
        ("stuck", "u1", 92),
    ],
    128,
)

SYMBOL_SPEC_DTYPE = _record(
    [
        ("tick_size", "f8", 0),
        ("lot_step", "f8", 8),
        ("min_qty", "f8", 16),
        ("min_notional", "f8", 24),
        ("max_qty", "f8", 32),
        ("band_bps", "f8", 40),  # price band around mid; 0 = none
        ("maker_fee", "f8", 48),  # rate, e.g. 0.001 = 10 bps; negative = rebate
        ("taker_fee", "f8", 56),
        ("open_ns", "i8", 64),  # trading hours as ns since UTC midnight; open == close: 24h
        ("close_ns", "i8", 72),
        ("order_types", "u1", 80),  # bit (1 << OrderType)
        ("tifs", "u1", 81),  # bit (1 << TimeInForce)
        ("shadow_only", "u1", 82),
        ("active", "u1", 83),
        ("base", "u2", 84),  # currency ids
        ("quote", "u2", 86),
    ],
    128,
)

CONTROL_DTYPE = _record(
    [
        ("kill", "i8", 0),  # nonzero: no new intent leaves; value is a Reason
        ("pause", "i8", 8),
        ("heartbeat_ns", "i8", 16),
        ("now_ns", "i8", 24),  # loop clock: ts of the latest tick (or wall clock live)
        ("ticks_in", "i8", 32),
        ("ticks_dropped", "i8", 40),
        ("intents_out", "i8", 48),
        ("reports_in", "i8", 56),
        ("guard_rejects", "i8", 64),
        ("guard_resizes", "i8", 72),
        ("invalid_transitions", "i8", 80),
        ("stuck_orders", "i8", 88),
        ("next_client_id", "i8", 96),  # watermark; persisted by the engine
        ("cancel_on_kill", "i8", 104),
        ("flatten_on_kill", "i8", 112),
        ("flatten_request", "i8", 120),
        ("tainted_ticks", "i8", 128),
        ("generation", "i8", 136),  # bumped on config reload
        ("iterations", "i8", 144),
        # client ids [flatten_from, flatten_to) are the kernel's flatten orders of the last
        # kill: they close positions, so the kill refusal and the risk guards let them pass
        ("flatten_from", "i8", 152),
        ("flatten_to", "i8", 160),
    ],
    192,
)

#: Sentinel for "no guard" in INTENT.guard.
NO_GUARD = 255
