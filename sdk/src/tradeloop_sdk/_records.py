"""attrs mirrors of the hot-path records, for the Python side, with explicit conversion.

Money on this side is Decimal. Kernel floats become Decimals through their shortest repr
(``Decimal(repr(x))``), so 0.1 in a kernel is Decimal("0.1") here, not its binary expansion.
Venue and symbol are names here and ids in kernels; a :class:`Universe` maps between them.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from ._dtypes import INTENT_DTYPE, REPORT_DTYPE, SYMBOL_SPEC_DTYPE, TICK_DTYPE
from ._enums import (
    IntentAction,
    Liquidity,
    OrderState,
    OrderType,
    Reason,
    ReportKind,
    Side,
    TickKind,
    TimeInForce,
)
from ._hotpath import Universe

_NAN = float("nan")


def to_decimal(x: float) -> Decimal:
    """Exact Decimal of a kernel float's shortest repr; NaN becomes Decimal('NaN')."""
    return Decimal("NaN") if math.isnan(x) else Decimal(repr(float(x)))


def _opt_decimal(x: float) -> Decimal | None:
    return None if math.isnan(x) else Decimal(repr(float(x)))


def _f(x: Decimal | None) -> float:
    return _NAN if x is None else float(x)


def _same_float(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _price(default: float = _NAN) -> Any:
    # NaN means "absent": two absent prices are equal
    return attrs.field(
        default=default, converter=float, eq=attrs.cmp_using(eq=_same_float, require_same_type=False)
    )


@attrs.frozen
class Tick:
    """A quote, trade or bar (market data, float prices)."""

    venue: str
    symbol: str
    kind: TickKind
    ts_exch: int
    ts_recv: int
    seq: int = 0
    bid: float = _price()
    ask: float = _price()
    bid_size: float = _price(0.0)
    ask_size: float = _price(0.0)
    price: float = _price()  # TRADE/BAR
    size: float = _price(0.0)  # TRADE/BAR
    side: Side = Side.NONE
    flags: int = 0

    def to_record(self, universe: Universe) -> np.ndarray:
        """One-element TICK_DTYPE array."""
        rec = np.zeros(1, TICK_DTYPE)
        r = rec[0]
        r["ts_exch"], r["ts_recv"], r["seq"] = self.ts_exch, self.ts_recv, self.seq
        r["venue"] = universe.venue_id(self.venue)
        r["symbol"] = universe.symbol_id(self.symbol)
        r["kind"], r["flags"], r["side"] = int(self.kind), self.flags, int(self.side)
        if self.kind == TickKind.QUOTE:
            r["bid"], r["ask"] = self.bid, self.ask
            r["bid_size"], r["ask_size"] = self.bid_size, self.ask_size
        else:
            r["price"], r["size"] = self.price, self.size
            r["ask"], r["ask_size"] = _NAN, 0.0
        return rec

    @classmethod
    def from_record(cls, r: Any, universe: Universe) -> Tick:
        """Build from a TICK_DTYPE record."""
        kind = TickKind(int(r["kind"]))
        common = dict(
            venue=universe.venues[int(r["venue"])],
            symbol=universe.symbols[int(r["symbol"])],
            kind=kind,
            ts_exch=int(r["ts_exch"]),
            ts_recv=int(r["ts_recv"]),
            seq=int(r["seq"]),
            side=Side(int(r["side"])),
            flags=int(r["flags"]),
        )
        if kind == TickKind.QUOTE:
            return cls(
                bid=float(r["bid"]),
                ask=float(r["ask"]),
                bid_size=float(r["bid_size"]),
                ask_size=float(r["ask_size"]),
                **common,  # type: ignore[arg-type]
            )
        return cls(price=float(r["price"]), size=float(r["size"]), **common)  # type: ignore[arg-type]


@attrs.frozen
class Intent:
    """An order the loop wants: new, cancel or replace."""

    client_id: int
    venue: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    stop_price: Decimal | None = None
    action: IntentAction = IntentAction.NEW
    target_id: int = 0
    ts: int = 0
    reason: Reason = Reason.NONE

    def to_record(self, universe: Universe) -> np.ndarray:
        """One-element INTENT_DTYPE array."""
        rec = np.zeros(1, INTENT_DTYPE)
        r = rec[0]
        r["ts"], r["client_id"], r["target_id"] = self.ts, self.client_id, self.target_id
        r["qty"], r["price"], r["stop_price"] = float(self.qty), _f(self.price), _f(self.stop_price)
        r["venue"] = universe.venue_id(self.venue)
        r["symbol"] = universe.symbol_id(self.symbol)
        r["side"], r["type"], r["tif"] = int(self.side), int(self.type), int(self.tif)
        r["action"], r["reason"], r["guard"] = int(self.action), int(self.reason), 255
        return rec

    @classmethod
    def from_record(cls, r: Any, universe: Universe) -> Intent:
        """Build from an INTENT_DTYPE record."""
        return cls(
            client_id=int(r["client_id"]),
            venue=universe.venues[int(r["venue"])],
            symbol=universe.symbols[int(r["symbol"])],
            side=Side(int(r["side"])),
            type=OrderType(int(r["type"])),
            qty=to_decimal(r["qty"]),
            price=_opt_decimal(r["price"]),
            tif=TimeInForce(int(r["tif"])),
            stop_price=_opt_decimal(r["stop_price"]),
            action=IntentAction(int(r["action"])),
            target_id=int(r["target_id"]),
            ts=int(r["ts"]),
            reason=Reason(int(r["reason"])),
        )


@attrs.frozen
class Report:
    """What a venue says happened to an order: ack, fill, cancel, reject..."""

    client_id: int
    venue: str
    symbol: str
    kind: ReportKind
    side: Side = Side.NONE
    fill_qty: Decimal = Decimal(0)
    fill_price: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    leaves_qty: Decimal = Decimal(0)
    liquidity: Liquidity = Liquidity.NONE
    reason: Reason = Reason.NONE
    venue_order_id: int = 0
    ts: int = 0
    message: str = ""

    def to_record(self, universe: Universe) -> np.ndarray:
        """One-element REPORT_DTYPE array (``message`` stays on the Python side)."""
        rec = np.zeros(1, REPORT_DTYPE)
        r = rec[0]
        r["ts"], r["client_id"], r["venue_order_id"] = self.ts, self.client_id, self.venue_order_id
        r["fill_qty"], r["fill_price"] = float(self.fill_qty), float(self.fill_price)
        r["fee"], r["leaves_qty"] = float(self.fee), float(self.leaves_qty)
        r["venue"] = universe.venue_id(self.venue)
        r["symbol"] = universe.symbol_id(self.symbol)
        r["kind"], r["side"] = int(self.kind), int(self.side)
        r["liquidity"], r["reason"] = int(self.liquidity), int(self.reason)
        return rec

    @classmethod
    def from_record(cls, r: Any, universe: Universe) -> Report:
        """Build from a REPORT_DTYPE record."""
        return cls(
            client_id=int(r["client_id"]),
            venue=universe.venues[int(r["venue"])],
            symbol=universe.symbols[int(r["symbol"])],
            kind=ReportKind(int(r["kind"])),
            side=Side(int(r["side"])),
            fill_qty=to_decimal(r["fill_qty"]),
            fill_price=to_decimal(r["fill_price"]),
            fee=to_decimal(r["fee"]),
            leaves_qty=to_decimal(r["leaves_qty"]),
            liquidity=Liquidity(int(r["liquidity"])),
            reason=Reason(int(r["reason"])),
            venue_order_id=int(r["venue_order_id"]),
            ts=int(r["ts"]),
        )


@attrs.frozen
class OrderStatus:
    """An order as a venue reports it (open orders, reconciliation)."""

    client_id: int
    venue: str
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    qty: Decimal
    price: Decimal | None
    filled: Decimal
    avg_fill_price: Decimal
    state: OrderState
    venue_order_id: int = 0
    ts: int = 0


@attrs.frozen
class Position:
    """A position at a venue (signed quantity)."""

    venue: str
    symbol: str
    qty: Decimal
    avg_price: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)


@attrs.frozen
class Balance:
    """Cash or asset balance at a venue or bank."""

    venue: str
    currency: str
    total: Decimal
    available: Decimal


@attrs.frozen
class OrderUpdate:
    """An order changed state."""

    client_id: int
    venue: str
    symbol: str
    from_state: OrderState
    to_state: OrderState
    ts: int
    reason: Reason = Reason.NONE


@attrs.frozen
class GuardBreach:
    """A guard refused or resized an intent."""

    guard: str
    action: str  # "reject" or "resize"
    reason: Reason
    client_id: int
    venue: str
    symbol: str
    ts: int
    value: float = _NAN
    limit: float = _NAN


def _type_mask(types: frozenset[Any]) -> int:
    return sum(1 << int(t) for t in types)


@attrs.frozen
class SymbolSpec:
    """Trading rules of one symbol at one venue, from venue metadata."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal = Decimal("0.01")
    lot_step: Decimal = Decimal("0.0001")
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    max_qty: Decimal = Decimal(0)  # 0 = unlimited
    band_bps: Decimal = Decimal(0)  # 0 = no price band
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    order_types: frozenset[OrderType] = frozenset(OrderType)
    tifs: frozenset[TimeInForce] = frozenset(TimeInForce)
    #: trading hours as ns since UTC midnight; equal values mean around the clock
    open_ns: int = 0
    close_ns: int = 0

    def to_record(self, universe: Universe, *, shadow_only: bool = False) -> np.ndarray:
        """One-element SYMBOL_SPEC_DTYPE array."""
        rec = np.zeros(1, SYMBOL_SPEC_DTYPE)
        r = rec[0]
        for name in ("tick_size", "lot_step", "min_qty", "min_notional", "max_qty", "band_bps",
                     "maker_fee", "taker_fee"):
            r[name] = float(getattr(self, name))
        r["open_ns"], r["close_ns"] = self.open_ns, self.close_ns
        r["order_types"] = _type_mask(self.order_types)
        r["tifs"] = _type_mask(self.tifs)
        r["shadow_only"], r["active"] = int(shadow_only), 1
        r["base"] = universe.currency_id(self.base) if self.base in universe.currencies else 0
        r["quote"] = universe.currency_id(self.quote) if self.quote in universe.currencies else 0
        return rec


@attrs.frozen
class VenueSpec:
    """A venue's metadata and policy."""

    name: str
    symbols: tuple[SymbolSpec, ...] = ()
    #: a venue without private order streams cannot be traded for real: shadow only
    shadow_only: bool = False
    private_streams: bool = True
    #: request budget per second (0 = unknown)
    rate_limit_per_s: int = 0

    def spec(self, symbol: str) -> SymbolSpec:
        """The SymbolSpec of ``symbol``; KeyError names the known symbols."""
        for s in self.symbols:
            if s.symbol == symbol:
                return s
        known = ", ".join(s.symbol for s in self.symbols)
        raise KeyError(f"venue {self.name!r} has no symbol {symbol!r}; known: {known}")


def fill_specs(specs: np.ndarray, universe: Universe, venues: dict[str, VenueSpec] | None = None) -> None:
    """Write ``universe.specs`` (and shadow-only policy from ``venues``) into ``ctx.specs``."""
    for (venue, symbol), spec in universe.specs.items():
        shadow = bool(venues and venue in venues and venues[venue].shadow_only)
        v, s = universe.venue_id(venue), universe.symbol_id(symbol)
        specs[v, s] = spec.to_record(universe, shadow_only=shadow)[0]
