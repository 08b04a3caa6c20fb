"""What the SDK conformance kit needs to exercise the sim venue (``tradeloop_conformance_harness``).

``sim`` as a broker: the in-process :class:`SimBroker` over one :class:`SimVenue`, and, as
the variant ``remote``, :class:`RemoteSimBroker` against a :class:`SimVenueServer` on
loopback over that same kind of venue. ``sim_feed`` as a live data provider: a server
that publishes the kit's scenario ticks on its market-data stream.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import numpy as np
from tradeloop_sdk import TICK_DTYPE, SymbolSpec, TickKind, Universe, hookimpl
from tradeloop_sdk.strategy_testing import make_ticks

from ._broker import SimBroker
from ._remote import RemoteSimBroker
from ._server import SimVenueServer
from ._venue import SimVenue
from .testing import quote, ticks

SPEC = SymbolSpec(symbol="BTCUSDT", base="BTC", quote="USDT", tick_size=Decimal("0.01"),
                  lot_step=Decimal("0.001"), min_qty=Decimal("0.01"), maker_fee=Decimal("0.0005"),
                  taker_fee=Decimal("0.001"))
UNIVERSE = Universe(("sim",), ("BTCUSDT",), ("USDT", "BTC"), {("sim", "BTCUSDT"): SPEC})
T0 = 1_700_000_000_000_000_000
HOST = "127.0.0.1"


def _venue() -> SimVenue:
    # enough cash that no check is refused for the account rather than for the order
    return SimVenue(UNIVERSE, starting_balances={"USDT": "100000000"})


class LocalHarness:
    """Fresh SimBrokers over one SimVenue (its state survives across brokers)."""

    venue = "sim"
    symbol = "BTCUSDT"
    timeout_s = 5.0
    variants = {"remote": {"mode": "remote"}}

    def __init__(self) -> None:
        self.sim = _venue()
        self._ts = T0

    def _quote(self, bid: Decimal, ask: Decimal, bid_size: Decimal, ask_size: Decimal) -> np.ndarray:
        self._ts += 1_000_000  # venue time moves on with each market update
        return ticks([quote(self._ts, float(bid), float(ask), float(bid_size), float(ask_size))])

    async def make_broker(self) -> Any:
        """A new, connected SimBroker on the shared venue."""
        b = SimBroker(self.sim)
        await b.connect()
        return b

    async def set_market(self, bid: Decimal, ask: Decimal, bid_size: Decimal, ask_size: Decimal) -> None:
        """Feed one quote tick; resting orders match against it."""
        self.sim.feed(self._quote(bid, ask, bid_size, ask_size))


class _Link:
    """A TCP relay between brokers and the venue server: the network, which :meth:`cut` drops."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._listener: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        #: set: bytes from the venue are held back (a venue that went silent)
        self.silent = asyncio.Event()

    async def start(self) -> int:
        """Listen (again, on the same port once known)."""
        self._listener = await asyncio.start_server(self._accept, HOST, self.port)
        self.port = int(self._listener.sockets[0].getsockname()[1])
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer, self.silent))
        self._writers -= {writer, up_writer}

    @property
    def listening(self) -> bool:
        """Whether new connections are accepted (false after :meth:`cut`)."""
        return self._listener is not None

    async def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        if self._listener is not None:
            self._listener.close()
        for w in list(self._writers):
            w.close()
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                hold: asyncio.Event | None = None) -> None:
    try:
        while data := await reader.read(1 << 16):
            while hold is not None and hold.is_set() and not writer.is_closing():
                await asyncio.sleep(0.01)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()  # one side gone: the other goes too, as with a dropped link


class RemoteHarness(LocalHarness):
    """RemoteSimBrokers against a SimVenueServer on loopback, one per event loop.

    Brokers reach the server through a relay the harness can :meth:`cut` (a network
    outage) and :meth:`restore`. Each kit check runs in its own event loop; server and
    relay start in it and :meth:`aclose` stops them, while the venue (orders, fills)
    lives on, as an exchange's does.
    """

    variants: dict[str, Any] = {}

    def __init__(self) -> None:
        super().__init__()
        self.server: SimVenueServer | None = None
        self.link: _Link | None = None

    async def _server(self) -> SimVenueServer:
        if self.server is None:
            self.server = SimVenueServer(self.sim, host=HOST, port=0)
            self.link = _Link(await self.server.start())
            await self.link.start()
        return self.server

    async def make_broker(self) -> Any:
        """A new RemoteSimBroker, connected to the server through the relay."""
        await self._server()
        assert self.link is not None
        # a request timeout well inside the kit's per-call budget (timeout_s)
        b = RemoteSimBroker(HOST, self.link.port, request_timeout_s=1.0)
        await b.connect()
        return b

    async def set_market(self, bid: Decimal, ask: Decimal, bid_size: Decimal, ask_size: Decimal) -> None:
        """Match and publish one quote at the server."""
        (await self._server()).feed(self._quote(bid, ask, bid_size, ask_size))

    async def cut(self) -> None:
        """The network drops: connections close, new ones are refused."""
        assert self.link is not None
        await self.link.cut()

    async def stall(self) -> None:
        """The venue goes silent: connections stay open, no answer comes back."""
        assert self.link is not None
        self.link.silent.set()

    async def restore(self) -> None:
        """The network is back on the same address and the venue speaks again."""
        assert self.link is not None
        self.link.silent.clear()
        if not self.link.listening:
            await self.link.start()

    async def aclose(self) -> None:
        """Stop the relay and the server of this event loop."""
        if self.link is not None:
            await self.link.cut()
            self.link = None
        if self.server is not None:
            await self.server.stop()
            self.server = None


def scenario_ticks(n: int = 4000) -> np.ndarray:
    """Quotes of a random walk on ``UNIVERSE`` (what the feed publishes)."""
    rng = np.random.default_rng(5)
    prices = np.round(30_000 + np.cumsum(rng.normal(0, 1, n)), 2)
    out: np.ndarray = make_ticks(prices, kind=TickKind.QUOTE, spread=0.5)
    assert out.dtype == TICK_DTYPE
    return out


class FeedSession:
    """A SimVenueServer for one stream: ``params`` reach it; ``publish()`` plays the ticks."""

    def __init__(self, batch: int = 500) -> None:
        self.server = SimVenueServer(_venue(), host=HOST, port=0)
        self.batch = batch
        self.params: dict[str, Any] = {}
        self._stopped = False

    async def __aenter__(self) -> FeedSession:
        # compile the matching kernel now (a throwaway venue), not while the feed waits
        _venue().feed(scenario_ticks(2))
        self.params = {"host": HOST, "port": await self.server.start()}
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop()

    async def _stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            await self.server.stop()

    async def publish(self) -> None:
        """Wait for the feed to subscribe, publish every tick, then end the stream."""
        # the server has no "subscribed" event; a market subscriber is a client flagged so
        while not any(c.market for c in self.server._clients):
            await asyncio.sleep(0.005)
        t = scenario_ticks()
        for i in range(0, len(t), self.batch):
            self.server.feed(t[i : i + self.batch])
            await asyncio.sleep(0)
        await self._stop()  # a live feed ends when its server goes away


class FeedHarness:
    """The ``sim_feed`` provider is live: the kit reads its stream from a served scenario."""

    universe = UNIVERSE

    def serve(self) -> FeedSession:
        """An async context manager serving one stream."""
        return FeedSession()


def sim_harness(component: Any, kind: str) -> LocalHarness:
    """The broker harness for a ``sim`` component's mode."""
    return RemoteHarness() if component.params.mode == "remote" else LocalHarness()


@hookimpl
def feed_harness(kind: str) -> FeedHarness:
    """The data harness of ``sim_feed``."""
    return FeedHarness()
