"""Per-venue views of a broker that serves several venues (the sim venue, a router).

The engine keeps one submit queue, one circuit breaker, one report stream and one
reconciliation per venue. A broker that simulates or routes to several venues is handed
to it as one :class:`VenueView` per venue: each view streams only its own venue's
reports, so every report of the shared broker reaches the engine exactly once, and
reconciling one venue never sees (and cancels as orphans) another venue's orders.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
from tradeloop_sdk import (
    Balance,
    Broker,
    Intent,
    OrderStatus,
    Position,
    Report,
    Universe,
    VenueSpec,
)

_log = logging.getLogger("tradeloop.engine.venues")


class _Shared:
    """What the views of one broker share: the broker, its venues and who holds it open."""

    def __init__(self, broker: Broker, venues: tuple[str, ...]) -> None:
        self.broker = broker
        self.venues = venues
        self.open: set[str] = set()


class VenueView:
    """One venue of a shared broker, as a Broker of its own (see the module docstring)."""

    #: a paper broker's ``feed``, offered by the first view only: the engine feeds every
    #: broker that has one, and the shared venue must see each tick once
    feed: Callable[[Any], Any] | None = None

    def __init__(self, shared: _Shared, venue: str, universe: Universe) -> None:
        self._shared = shared
        self.broker = shared.broker
        self.venue = venue
        self.name = venue
        self._universe = universe
        # the first view speaks for reports no view claims, so none vanishes unlogged
        self._stray_warden = venue == shared.venues[0]

    async def connect(self) -> None:
        """Connect the shared broker (idempotent, as the protocol asks)."""
        await self.broker.connect()
        self._shared.open.add(self.venue)

    async def close(self) -> None:
        """Close the shared broker once the last of its views is closed."""
        self._shared.open.discard(self.venue)
        if not self._shared.open:
            await self.broker.close()

    async def venue_spec(self) -> VenueSpec:
        """The broker's spec when it names this venue, else this venue's symbols from the
        universe (which is what a multi-venue simulation trades) under its policy."""
        spec = await self.broker.venue_spec()
        if spec.name == self.venue:
            return spec
        symbols = tuple(s for (v, _sym), s in self._universe.specs.items() if v == self.venue)
        return attrs.evolve(spec, name=self.venue, symbols=symbols)

    async def submit(self, intent: Intent) -> None:
        """Send a NEW order of this venue."""
        self._own(intent.venue, "submit")
        await self.broker.submit(intent)

    async def cancel(self, client_id: int) -> None:
        """Ask to cancel (client ids are unique across the shared broker)."""
        await self.broker.cancel(client_id)

    async def replace(self, client_id: int, qty: Decimal, price: Decimal) -> None:
        """Amend an order (client ids are unique across the shared broker)."""
        await self.broker.replace(client_id, qty, price)

    async def reports(self) -> AsyncIterator[Report]:
        """This venue's reports from the shared broker's stream, in venue order."""
        source = self.broker.reports()
        try:
            async for rep in source:
                if rep.venue == self.venue:
                    yield rep
                elif self._stray_warden and rep.venue not in self._shared.venues:
                    _log.warning("report for venue %r, which no view of broker %s serves: "
                                 "dropped (client id %d)", rep.venue,
                                 getattr(self.broker, "name", "?"), rep.client_id)
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()

    async def open_orders(self) -> Sequence[OrderStatus]:
        """This venue's open orders."""
        return [o for o in await self.broker.open_orders() if o.venue == self.venue]

    async def fills(self, since_ns: int = 0) -> Sequence[Report]:
        """This venue's fills since ``since_ns``."""
        return [f for f in await self.broker.fills(since_ns) if f.venue == self.venue]

    async def positions(self) -> Sequence[Position]:
        """This venue's positions."""
        return [p for p in await self.broker.positions() if p.venue == self.venue]

    async def balances(self) -> Sequence[Balance]:
        """This venue's balances."""
        return [b for b in await self.broker.balances() if b.venue == self.venue]

    def _own(self, venue: str, what: str) -> None:
        if venue != self.venue:
            raise ValueError(f"{what} for venue {venue!r} sent to the view of {self.venue!r}")


def split_venues(broker: Broker, venues: Sequence[str], universe: Universe) -> dict[str, Broker]:
    """One :class:`VenueView` per venue over ``broker``, for ``Engine(brokers=...)``."""
    names = tuple(venues)
    if not names:
        raise ValueError("split_venues needs at least one venue")
    unknown = [v for v in names if v not in universe.venues]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"venues to split broker {getattr(broker, 'name', '?')!r} into must be "
                         f"distinct venues of the universe {list(universe.venues)}, got {list(names)}")
    shared = _Shared(broker, names)
    views = {v: VenueView(shared, v, universe) for v in names}
    feed = getattr(broker, "feed", None)
    if callable(feed):
        views[names[0]].feed = feed
    return dict(views)


def check_distinct(brokers: Mapping[str, Broker]) -> None:
    """Refuse one broker object registered under several venues.

    The engine streams reports and reconciles per venue: a shared broker would deliver
    each report once per venue it is registered under. ValueError names the venues and
    the fix.
    """
    by_id: dict[int, list[str]] = {}
    for venue, b in brokers.items():
        by_id.setdefault(id(b), []).append(venue)
    for venues in by_id.values():
        if len(venues) > 1:
            b = brokers[venues[0]]
            raise ValueError(
                f"broker {getattr(b, 'name', '?')!r} is registered for venues {venues}: its "
                "reports would reach the engine once per venue; register one view per venue "
                "(tradeloop.engine.split_venues) instead")


__all__ = ["VenueView", "check_distinct", "split_venues"]
