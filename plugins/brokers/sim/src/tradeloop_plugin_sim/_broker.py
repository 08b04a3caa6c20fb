"""SimBroker: the simulated venue behind the SDK Broker protocol, in process (paper trading)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import numpy as np
from tradeloop_sdk import (
    Balance,
    BrokerError,
    Intent,
    OrderStatus,
    Position,
    Report,
    VenueSpec,
)

from ._fanout import ReportFanout
from ._venue import SimVenue

log = logging.getLogger(__name__)


class SimBroker:
    """A paper venue: the same matching kernel as backtests, fed by live ticks.

    Feed it with :meth:`feed` (a TICK_DTYPE chunk) or :meth:`attach` (an async stream of
    chunks, e.g. ``DataProvider.stream()``). Venue time is tick time, so a paper session and
    a backtest over the same ticks and latencies produce the same reports.
    """

    def __init__(self, venue: SimVenue, *, name: str = "sim") -> None:
        self.name = name
        self.venue = venue
        self._fanout = ReportFanout()
        self._connected = False
        self._feed_task: asyncio.Task[None] | None = None
        venue.subscribe(self._fanout.publish)

    async def connect(self) -> None:
        """Nothing to open in process; idempotent."""
        self._connected = True

    async def close(self) -> None:
        """Stop any attached feed and end the report streams."""
        self._connected = False
        if self._feed_task is not None:
            self._feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed_task
            self._feed_task = None
        self._fanout.end()

    def _require(self) -> None:
        if not self._connected:
            raise BrokerError("not connected: call connect() first", venue=self.name)

    def feed(self, ticks: np.ndarray) -> list[Report]:
        """Match a chunk of ticks now; reports also go to every :meth:`reports` stream."""
        return self.venue.feed(ticks)

    def quiet(self) -> bool:
        """See :meth:`SimVenue.quiet`: ticks fed now would release no report."""
        return self.venue.quiet()

    def attach(self, stream: AsyncIterator[np.ndarray]) -> asyncio.Task[None]:
        """Feed every chunk of ``stream`` as it arrives, in a background task."""

        async def pump() -> None:
            async for chunk in stream:
                self.venue.feed(chunk)
                await asyncio.sleep(0)

        self._feed_task = asyncio.get_running_loop().create_task(pump())
        return self._feed_task

    async def venue_spec(self) -> VenueSpec:
        """Symbols, precision and fees of the simulated venue."""
        return self.venue.venue_spec()

    async def submit(self, intent: Intent) -> None:
        """Send a NEW order; a reused client id raises OrderRejected(DUPLICATE_ORDER)."""
        self._require()
        self.venue.submit(intent)

    async def cancel(self, client_id: int) -> None:
        """Ask to cancel; the outcome (CANCELED or REJECTED UNKNOWN_ORDER) is reported."""
        self._require()
        self.venue.cancel(client_id)

    async def replace(self, client_id: int, qty: Decimal, price: Decimal) -> None:
        """Amend quantity (total) and price; the outcome (REPLACED or REJECTED) is reported."""
        self._require()
        self.venue.replace(client_id, qty, price)

    def reports(self) -> AsyncIterator[Report]:
        """Every report from this call on, in venue order, until :meth:`close`."""
        return self._fanout.stream()

    async def open_orders(self) -> Sequence[OrderStatus]:
        """Orders live at the venue."""
        return self.venue.open_orders()

    async def fills(self, since_ns: int = 0) -> Sequence[Report]:
        """Fill reports since ``since_ns``."""
        return self.venue.fills(since_ns)

    async def positions(self) -> Sequence[Position]:
        """Venue-side positions."""
        return self.venue.positions()

    async def balances(self) -> Sequence[Balance]:
        """Venue-side balances."""
        return self.venue.balances()
