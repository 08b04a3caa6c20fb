"""Protocols of the Python-side component kinds: brokers, data providers, funding rails.

Everything that talks to the outside is async. Order updates and fills arrive on a stream
(:meth:`Broker.reports`), never by polling the caller; the snapshot methods exist for
reconciliation after a (re)connect. Precision and fees come from :meth:`Broker.venue_spec`.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterator, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs
import numpy as np

from ._records import Balance, Intent, OrderStatus, Position, Report, VenueSpec


@runtime_checkable
class Broker(Protocol):
    """A venue: submits, cancels and amends orders, and streams what happens to them.

    ``submit`` returns once the venue has the order (or raises ``OrderRejected`` /
    ``ConnectionLost``); the ACK, fills, cancels and rejects arrive on :meth:`reports`.
    Submitting the same ``client_id`` twice must never create a second order.
    """

    name: str

    async def connect(self) -> None:
        """Open sessions and private streams; idempotent."""

    async def close(self) -> None:
        """Close streams and sessions."""

    async def venue_spec(self) -> VenueSpec:
        """Symbols, precision, fees, order types and policy of this venue."""

    async def submit(self, intent: Intent) -> None:
        """Send a NEW order."""

    async def cancel(self, client_id: int) -> None:
        """Ask the venue to cancel an order."""

    async def replace(self, client_id: int, qty: Decimal, price: Decimal) -> None:
        """Amend an order's quantity and price (cancel/replace where the venue lacks amend)."""

    def reports(self) -> AsyncIterator[Report]:
        """The stream of acks, fills, cancels and rejects, in venue order."""

    async def open_orders(self) -> Sequence[OrderStatus]:
        """Orders open at the venue (for reconciliation)."""

    async def fills(self, since_ns: int = 0) -> Sequence[Report]:
        """Fills since ``since_ns`` (for reconciliation after a restart)."""

    async def positions(self) -> Sequence[Position]:
        """Positions held at the venue."""

    async def balances(self) -> Sequence[Balance]:
        """Balances held at the venue."""


@attrs.frozen
class DataStats:
    """What a data provider counted while reading."""

    rows: int = 0
    out_of_order: int = 0
    crossed: int = 0
    duplicates: int = 0
    gaps: int = 0
    rejected: int = 0


@runtime_checkable
class DataProvider(Protocol):
    """A source of ticks: chunks for backtests, a stream for live feeds.

    Chunks are TICK_DTYPE arrays ordered by ``ts_recv``, of bounded size, so memory does not
    grow with the length of the data.
    """

    name: str

    def chunks(
        self,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        symbols: Sequence[str] | None = None,
    ) -> Iterator[np.ndarray]:
        """Historical ticks in bounded chunks; a yielded chunk is the consumer's (it may be
        read ahead of the loop and gets quality flags written into it): never reuse its memory."""

    def stream(self) -> AsyncIterator[np.ndarray]:
        """Live ticks in small batches; ends when the source ends."""

    def stats(self) -> DataStats:
        """Counts of what was flagged or rejected so far."""


class TransferStatus(enum.Enum):
    """Lifecycle of a funding transfer."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    SETTLED = "settled"
    FAILED = "failed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


@attrs.frozen
class TransferRequest:
    """Move money; ``idempotency_key`` makes a retried request a no-op."""

    idempotency_key: str
    amount: Decimal
    currency: str
    source: str
    destination: str
    reference: str = ""


@attrs.frozen
class Transfer:
    """A transfer as the rail reports it."""

    transfer_id: str
    request: TransferRequest
    status: TransferStatus
    updated_ns: int = 0
    reason: str = ""


@attrs.frozen
class TransferLimits:
    """What a rail allows per transfer and per day, and what must be reported."""

    per_transfer: Decimal
    per_day: Decimal
    #: transfers at or above this amount are reported to the regulator (e.g. AUSTRAC TTR)
    reporting_threshold: Decimal | None = None


@runtime_checkable
class FundingRail(Protocol):
    """A bank or payment rail that funds trading accounts."""

    name: str

    async def balances(self) -> Sequence[Balance]:
        """Balances of the accounts this rail can see."""

    async def transfer(self, request: TransferRequest) -> Transfer:
        """Start a transfer; the same idempotency key returns the same transfer."""

    async def transfer_status(self, transfer_id: str) -> Transfer:
        """Current state of a transfer."""

    async def limits(self) -> TransferLimits:
        """Per-transfer and daily limits."""
