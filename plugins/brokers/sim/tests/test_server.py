"""SimVenueServer in process: RemoteSimBroker trades, disconnects, reconnects; SimFeed streams."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import numpy as np
import pytest
from tradeloop_plugin_sim import RemoteSimBroker, SimFeed, SimVenue, SimVenueServer
from tradeloop_plugin_sim._conformance import _Link
from tradeloop_plugin_sim.testing import quote, ticks, trade
from tradeloop_sdk import (
    Broker,
    ConnectionLost,
    DataProvider,
    Intent,
    OrderRejected,
    OrderType,
    Reason,
    ReportKind,
    Side,
    SymbolSpec,
    Universe,
)

SPEC = SymbolSpec(symbol="BTC-USD", base="BTC", quote="USD", tick_size=Decimal("0.01"),
                  lot_step=Decimal("0.001"), maker_fee=Decimal("0.0005"),
                  taker_fee=Decimal("0.001"))
UNIVERSE = Universe(("sim",), ("BTC-USD",), ("USD", "BTC"), {("sim", "BTC-USD"): SPEC})


def limit(cid: int, side: Side, qty: str, price: str) -> Intent:
    return Intent(client_id=cid, venue="sim", symbol="BTC-USD", side=side, type=OrderType.LIMIT,
                  qty=Decimal(qty), price=Decimal(price))


async def next_reports(it, n: int, timeout: float = 5.0) -> list:  # type: ignore[no-untyped-def]
    out = []
    while len(out) < n:
        out.append(await asyncio.wait_for(it.__anext__(), timeout))
    return out


def test_remote_broker_trades_reconnects_and_the_venue_keeps_its_state(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        venue = SimVenue(UNIVERSE, starting_balances={"USD": "10000"})
        server = SimVenueServer(venue, port=0)
        port = await server.start()
        server.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        b = RemoteSimBroker("127.0.0.1", port, backoff_s=0.02)
        assert isinstance(b, Broker)
        await b.connect()
        stream = b.reports()
        await b.submit(limit(1, Side.BUY, "1", "100.5"))
        await b.submit(limit(2, Side.BUY, "1", "100"))
        with pytest.raises(OrderRejected) as e:
            await b.submit(limit(2, Side.BUY, "1", "100"))
        assert e.value.reason == Reason.DUPLICATE_ORDER
        got = await next_reports(stream, 3)
        assert [(r.kind, r.client_id) for r in got] == [
            (ReportKind.ACK, 1), (ReportKind.FILL, 1), (ReportKind.ACK, 2)]
        assert got[1].fee == Decimal("0.1005")

        # The engine's link drops; meanwhile the venue trades on and fills order 2.
        await b._conn.close()  # type: ignore[union-attr]
        server.feed(ticks([trade(2_000, 100.0, 2.5, side=int(Side.SELL))]))
        await asyncio.wait_for(b.connected.wait(), 5.0)
        # the fill made while disconnected arrives exactly once, after the resubscribe
        [fill] = await next_reports(stream, 1)
        assert (fill.kind, fill.client_id, fill.fill_qty) == (ReportKind.PARTIAL, 2, Decimal("0.5"))
        assert b.reconnects >= 1
        [o] = await b.open_orders()
        assert (o.client_id, o.filled) == (2, Decimal("0.5"))
        [pos] = await b.positions()
        assert pos.qty == Decimal("1.5")
        usd = next(x for x in await b.balances() if x.currency == "USD")
        assert usd.total == Decimal("10000") - Decimal("100.5") - Decimal("0.1005") - Decimal(
            "50") - Decimal("0.025")
        assert [f.client_id for f in await b.fills()] == [1, 2]
        assert (await b.venue_spec()).spec("BTC-USD").taker_fee == Decimal("0.001")
        await b.replace(2, Decimal("1"), Decimal("99.5"))
        await b.cancel(2)
        got = await next_reports(stream, 2)
        assert [r.kind for r in got] == [ReportKind.REPLACED, ReportKind.CANCELED]
        assert got[0].fill_price == Decimal("99.5")

        # A brand-new client (an engine restart) sees the same venue state.
        b2 = RemoteSimBroker("127.0.0.1", port)
        await b2.connect()
        assert await b2.open_orders() == []
        assert [p.qty for p in await b2.positions()] == [Decimal("1.5")]
        await b2.close()
        await b.close()
        await server.stop()

    caplog.set_level(logging.DEBUG)
    asyncio.run(main())
    # a clean stop (and the event loop's shutdown after it) logs no error
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_submit_retry_after_a_lost_answer_is_not_resubmitted() -> None:
    async def main() -> None:
        venue = SimVenue(UNIVERSE, starting_balances={"USD": "10000"})
        server = SimVenueServer(venue, port=0)
        port = await server.start()
        server.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        b = RemoteSimBroker("127.0.0.1", port, backoff_s=0.02)
        await b.connect()
        b._uncertain.add(5)  # as if the answer to submit(5) had been lost
        venue.submit(limit(5, Side.BUY, "1", "99"))  # ... but the venue got it
        await b.submit(limit(5, Side.BUY, "1", "99"))  # checks first: no duplicate
        assert [o.client_id for o in await b.open_orders()] == [5]
        await b.close()
        await server.stop()

    asyncio.run(main())


def test_replay_publishes_market_data_to_sim_feed() -> None:
    async def main() -> None:
        chunk = ticks([quote(1_000 + i, 100.0, 100.5 + i / 100, 1.0, 1.0) for i in range(20)])
        venue = SimVenue(UNIVERSE, starting_balances={"USD": "1000"})
        server = SimVenueServer(venue, port=0, ticks=[chunk[:10], chunk[10:]], rate=2_000,
                                batch=5, autostart=False)
        feed = SimFeed("127.0.0.1", 0, universe=UNIVERSE)
        assert isinstance(feed, DataProvider)
        port = await server.start()
        feed.port = port
        got = []

        async def consume() -> None:
            async for batch in feed.stream():
                got.append(batch)
                if sum(len(b) for b in got) == 20:
                    return

        task = asyncio.create_task(consume())
        while not any(c.market for c in server._clients):
            await asyncio.sleep(0.01)
        server.start_replay()
        await asyncio.wait_for(task, 5.0)
        await asyncio.wait_for(server.replay_done.wait(), 5.0)
        allt = np.concatenate(got)
        assert list(allt["ask"]) == list(chunk["ask"])
        assert feed.stats().rows == 20 and venue.now_ns == 1_019
        await server.stop()

    asyncio.run(main())


def test_a_silent_venue_times_out_and_a_retried_submit_is_not_duplicated() -> None:
    async def main() -> None:
        venue = SimVenue(UNIVERSE, starting_balances={"USD": "10000"})
        server = SimVenueServer(venue, port=0)
        link = _Link(await server.start())  # the kit harness's relay: it can go silent
        server.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        b = RemoteSimBroker("127.0.0.1", await link.start(), backoff_s=0.02,
                            request_timeout_s=0.3)
        await b.connect()
        stream = b.reports()

        # The venue takes order 8 but its answers stop coming back: the submit times out
        # as a lost connection instead of hanging, within about the timeout.
        link.silent.set()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(ConnectionLost, match=r"no answer to 'submit' within 0\.3s"):
            await b.submit(limit(8, Side.BUY, "1", "99"))
        assert loop.time() - t0 < 2.0
        assert venue.known(8)

        # The venue speaks again: the broker reconnects and the retried submit finds the
        # order already there, so there is exactly one order 8 and exactly one ACK.
        link.silent.clear()

        async def reconnected() -> None:
            while b.reconnects == 0:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(reconnected(), 5.0)
        await b.submit(limit(8, Side.BUY, "1", "99"))
        assert [o.client_id for o in await b.open_orders()] == [8]
        [ack] = await next_reports(stream, 1)
        assert (ack.kind, ack.client_id) == (ReportKind.ACK, 8)
        with pytest.raises(asyncio.TimeoutError):
            await next_reports(stream, 1, timeout=0.3)
        await b.close()
        await link.cut()
        await server.stop()

    asyncio.run(main())
