"""Stable integer codes shared by compiled kernels and the Python side.

Values are part of the SDK contract: they are stored in journals and rings, so a value
is never reused or renumbered; new members only get new numbers.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class TickKind(IntEnum):
    """What a Tick record carries."""

    QUOTE = 1
    TRADE = 2
    BAR = 3


class TickFlag(IntFlag):
    """Data-quality flags set on a tick (and on the book) by gates and data providers."""

    NONE = 0
    CROSSED = 1
    STALE = 2
    GAP = 4
    SKEW = 8
    WIDE = 16
    JUMP = 32
    OUT_OF_ORDER = 64
    DUPLICATE = 128


#: Flags that make a tick unusable for trading decisions.
TAINTED = int(
    TickFlag.CROSSED
    | TickFlag.STALE
    | TickFlag.GAP
    | TickFlag.SKEW
    | TickFlag.WIDE
    | TickFlag.JUMP
    | TickFlag.OUT_OF_ORDER
    | TickFlag.DUPLICATE
)


class Side(IntEnum):
    """Order or aggressor side."""

    NONE = 0
    BUY = 1
    SELL = 2


class OrderType(IntEnum):
    """Order type."""

    MARKET = 1
    LIMIT = 2
    STOP = 3


class TimeInForce(IntEnum):
    """Time in force; POST_ONLY is a GTC limit that must not take liquidity."""

    GTC = 1
    IOC = 2
    FOK = 3
    POST_ONLY = 4


class IntentAction(IntEnum):
    """What an intent asks of the venue."""

    NEW = 1
    CANCEL = 2
    REPLACE = 3


class ReportKind(IntEnum):
    """What a venue report says happened."""

    ACK = 1
    PARTIAL = 2
    FILL = 3
    CANCELED = 4
    REJECTED = 5
    EXPIRED = 6
    REPLACED = 7


class Liquidity(IntEnum):
    """Whether a fill added or removed liquidity."""

    NONE = 0
    MAKER = 1
    TAKER = 2


class Reason(IntEnum):
    """The error taxonomy: why an order was refused, by a venue or by a guard."""

    NONE = 0
    INSUFFICIENT_BALANCE = 1
    INVALID_SYMBOL = 2
    PRICE_PRECISION = 3
    SIZE_PRECISION = 4
    MIN_SIZE = 5
    MAX_SIZE = 6
    RATE_LIMIT = 7
    MARKET_CLOSED = 8
    PRICE_BAND = 9
    DUPLICATE_ORDER = 10
    VENUE_POLICY = 11
    UNKNOWN = 12
    MIN_NOTIONAL = 13
    POST_ONLY_WOULD_CROSS = 14
    STALE_QUOTE = 15
    SLIPPAGE = 16
    POSITION_LIMIT = 17
    NOTIONAL_LIMIT = 18
    DRAWDOWN = 19
    VAR_LIMIT = 20
    CONCURRENCY = 21
    COOLDOWN = 22
    BLOCKLIST = 23
    KILL_SWITCH = 24
    CIRCUIT_OPEN = 25
    TAINTED_DATA = 26
    TIMEOUT = 27
    UNKNOWN_ORDER = 28
    FOK_UNFILLABLE = 29
    NO_LIQUIDITY = 30
    PAUSED = 31


class OrderState(IntEnum):
    """Order lifecycle states; EMPTY marks a free slot in the order table."""

    EMPTY = 0
    CREATING = 1
    OPEN = 2
    PARTIALLY_FILLED = 3
    PENDING_CANCEL = 4
    CANCELED = 5
    FILLED = 6
    REJECTED = 7
    EXPIRED = 8
    FAILED = 9


TERMINAL_STATES = frozenset(
    {OrderState.CANCELED, OrderState.FILLED, OrderState.REJECTED, OrderState.EXPIRED, OrderState.FAILED}
)


class ComponentKind(IntEnum):
    """Hot-path component kinds, in the order the fused loop runs them."""

    GATE = 1
    STRATEGY = 2
    STAGE = 3
    GUARD = 4
    VENUE = 5
