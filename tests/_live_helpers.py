"""Helpers shared by the live-engine tests (not a test module)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tradeloop_sdk import (
    IntentAction, OrderState, OrderStatus, Position, Report, ReportKind, Side, VenueSpec,
)


class InstantBroker:
    """Test double of the Broker protocol: acks and fills every order at its limit price.

    Used only where a test is about the engine's plumbing (journal, hooks, ops), not about
    venue behaviour; venue behaviour is tested against the real sim venue.
    """

    def __init__(self, name: str = "sim", *, fail_every: int = 0, delay_s: float = 0.0) -> None:
        self.name = name
        self.q: asyncio.Queue[Report] = asyncio.Queue()
        self.received: list[int] = []
        self.positions_: dict[str, Decimal] = {}
        self.fail_every = fail_every
        self.delay_s = delay_s
        self.open: dict[int, Any] = {}
        self.fills_: list[Report] = []

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def venue_spec(self) -> VenueSpec:
        return VenueSpec(self.name)

    async def submit(self, intent: Any) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.received.append(intent.client_id)
        if self.fail_every and len(self.received) % self.fail_every == 0:
            raise ConnectionError("simulated drop")
        px = intent.price if intent.price is not None and intent.price == intent.price else Decimal(100)
        self.q.put_nowait(Report(intent.client_id, intent.venue, intent.symbol, ReportKind.ACK,
                                 side=intent.side, leaves_qty=intent.qty))
        fill = Report(intent.client_id, intent.venue, intent.symbol, ReportKind.FILL, side=intent.side,
                      fill_qty=intent.qty, fill_price=px, ts=len(self.received))
        sign = 1 if intent.side == Side.BUY else -1
        self.positions_[intent.symbol] = self.positions_.get(intent.symbol, Decimal(0)) + sign * intent.qty
        self.fills_.append(fill)
        self.q.put_nowait(fill)

    async def cancel(self, client_id: int) -> None:
        pass

    async def replace(self, client_id: int, qty: Decimal, price: Decimal) -> None:
        pass

    async def reports(self):  # type: ignore[no-untyped-def]
        while True:
            yield await self.q.get()

    async def open_orders(self) -> list[OrderStatus]:
        return []

    async def fills(self, since_ns: int = 0) -> list[Report]:
        return list(self.fills_)

    async def positions(self) -> list[Position]:
        return [Position(self.name, s, q) for s, q in self.positions_.items()]

    async def balances(self) -> list[Any]:
        return []


_ = (IntentAction, OrderState)
