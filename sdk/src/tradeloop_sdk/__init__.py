"""tradeloop-sdk: the contract tradeloop plugins depend on."""

from __future__ import annotations

from ._context import (
    EVENT_DTYPE,
    Context,
    EventKind,
    cancel,
    is_tainted,
    make_context,
    mid,
    order_slot,
    record_event,
    replace,
    report,
    submit,
)
from ._dtypes import (
    BOOK_DTYPE,
    CONTROL_DTYPE,
    INTENT_DTYPE,
    NO_GUARD,
    ORDER_DTYPE,
    POSITION_DTYPE,
    REPORT_DTYPE,
    SYMBOL_SPEC_DTYPE,
    TICK_DTYPE,
)
from ._enums import (
    TAINTED,
    TERMINAL_STATES,
    ComponentKind,
    IntentAction,
    Liquidity,
    OrderState,
    OrderType,
    Reason,
    ReportKind,
    Side,
    TickFlag,
    TickKind,
    TimeInForce,
)
from ._hookspecs import hookimpl, hookspec
from ._hotpath import HotPath, Universe, params_array

API_VERSION = "1.0"
__version__ = "0.1.0"

__all__ = [
    "API_VERSION",
    "BOOK_DTYPE",
    "CONTROL_DTYPE",
    "EVENT_DTYPE",
    "INTENT_DTYPE",
    "NO_GUARD",
    "ORDER_DTYPE",
    "POSITION_DTYPE",
    "REPORT_DTYPE",
    "SYMBOL_SPEC_DTYPE",
    "TAINTED",
    "TERMINAL_STATES",
    "TICK_DTYPE",
    "ComponentKind",
    "Context",
    "EventKind",
    "HotPath",
    "IntentAction",
    "Liquidity",
    "OrderState",
    "OrderType",
    "Reason",
    "ReportKind",
    "Side",
    "TickFlag",
    "TickKind",
    "TimeInForce",
    "Universe",
    "cancel",
    "hookimpl",
    "hookspec",
    "is_tainted",
    "make_context",
    "mid",
    "order_slot",
    "params_array",
    "record_event",
    "replace",
    "report",
    "submit",
]
