"""SimBroker: the Broker protocol in process, driven by ticks (asyncio)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from tradeloop_plugin_sim import Sim, SimBroker, SimVenue
from tradeloop_plugin_sim.testing import quote, ticks, trade
from tradeloop_sdk import (
    Broker,
    BrokerError,
    Intent,
    Liquidity,
    OrderRejected,
    OrderState,
    OrderType,
    Reason,
    ReportKind,
    Side,
    SymbolSpec,
    TimeInForce,
    Universe,
)

SPEC = SymbolSpec(symbol="BTC-USD", base="BTC", quote="USD", tick_size=Decimal("0.01"),
                  lot_step=Decimal("0.001"), maker_fee=Decimal("0.0005"),
                  taker_fee=Decimal("0.001"))
UNIVERSE = Universe(("sim",), ("BTC-USD",), ("USD", "BTC"), {("sim", "BTC-USD"): SPEC})


def limit(cid: int, side: Side, qty: str, price: str, tif: TimeInForce = TimeInForce.GTC) -> Intent:
    return Intent(client_id=cid, venue="sim", symbol="BTC-USD", side=side, type=OrderType.LIMIT,
                  qty=Decimal(qty), price=Decimal(price), tif=tif)


def make_broker(**kw: object) -> SimBroker:
    venue = SimVenue(UNIVERSE, starting_balances={"USD": "10000"}, **kw)  # type: ignore[arg-type]
    return SimBroker(venue)


async def collect(it, n: int) -> list:  # type: ignore[no-untyped-def]
    out = []
    async for r in it:
        out.append(r)
        if len(out) == n:
            break
    return out


def test_lifecycle_reports_snapshots_and_exact_decimals() -> None:
    async def main() -> None:
        b = make_broker()
        assert isinstance(b, Broker)
        with pytest.raises(BrokerError):
            await b.submit(limit(1, Side.BUY, "1", "100"))
        await b.connect()
        stream = b.reports()
        b.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        await b.submit(limit(1, Side.BUY, "0.3", "100.5"))  # takes 0.3 at 100.5
        await b.submit(limit(2, Side.BUY, "1", "99.9"))  # rests behind the touch
        got = await collect(stream, 3)
        assert [(r.kind, r.client_id) for r in got] == [
            (ReportKind.ACK, 1), (ReportKind.FILL, 1), (ReportKind.ACK, 2)]
        fill = got[1]
        assert (fill.fill_qty, fill.fill_price, fill.liquidity) == (
            Decimal("0.3"), Decimal("100.5"), Liquidity.TAKER)
        assert fill.fee == Decimal("0.03015")
        [o] = await b.open_orders()
        assert (o.client_id, o.state, o.qty, o.price) == (2, OrderState.OPEN, Decimal("1.0"),
                                                          Decimal("99.9"))
        [pos] = await b.positions()
        assert (pos.symbol, pos.qty, pos.avg_price) == ("BTC-USD", Decimal("0.3"), Decimal("100.5"))
        usd = next(x for x in await b.balances() if x.currency == "USD")
        assert usd.total == Decimal("10000") - Decimal("30.15") - Decimal("0.03015")
        assert usd.available == usd.total - Decimal("99.9") * Decimal("1.001")
        assert [f.client_id for f in await b.fills()] == [1]
        assert await b.fills(since_ns=2_000) == []
        spec = await b.venue_spec()
        assert spec.spec("BTC-USD").tick_size == Decimal("0.01")
        await b.close()
        assert [r async for r in stream] == []

    asyncio.run(main())


def test_duplicate_client_id_refused_and_never_double_filled() -> None:
    async def main() -> None:
        b = make_broker()
        await b.connect()
        b.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        await b.submit(limit(7, Side.BUY, "1", "100.5"))
        with pytest.raises(OrderRejected) as e:
            await b.submit(limit(7, Side.BUY, "1", "100.5"))
        assert e.value.reason == Reason.DUPLICATE_ORDER
        [pos] = await b.positions()
        assert pos.qty == Decimal("1.0")

    asyncio.run(main())


def test_cancel_replace_and_queue_through_the_broker() -> None:
    async def main() -> None:
        b = make_broker()
        await b.connect()
        stream = b.reports()
        b.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        await b.submit(limit(1, Side.BUY, "2", "100"))
        await b.replace(1, Decimal("1"), Decimal("100"))  # keeps its place behind 2.0
        b.feed(ticks([trade(2_000, 100.0, 2.5, side=int(Side.SELL))]))
        await b.cancel(1)
        await b.cancel(1)
        got = await collect(stream, 5)
        assert [(r.kind, r.reason) for r in got] == [
            (ReportKind.ACK, Reason.NONE), (ReportKind.REPLACED, Reason.NONE),
            (ReportKind.PARTIAL, Reason.NONE), (ReportKind.CANCELED, Reason.NONE),
            (ReportKind.REJECTED, Reason.UNKNOWN_ORDER)]
        assert got[2].fill_qty == Decimal("0.5") and got[2].liquidity == Liquidity.MAKER
        assert await b.open_orders() == []

    asyncio.run(main())


def test_attach_feeds_from_an_async_stream_and_latency_is_in_tick_time() -> None:
    async def main() -> None:
        b = make_broker(latency_ns=500)
        await b.connect()
        stream = b.reports()
        b.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        await b.submit(limit(1, Side.BUY, "1", "101", TimeInForce.IOC))

        async def source():  # type: ignore[no-untyped-def]
            yield ticks([quote(1_400, 100.0, 100.8, 2.0, 3.0)])
            yield ticks([quote(1_600, 100.0, 101.5, 2.0, 3.0)])

        await b.attach(source())
        got = await collect(stream, 2)
        assert got[1].kind == ReportKind.FILL and got[1].fill_price == Decimal("100.8")
        assert got[1].ts == 1_500
        await b.close()

    asyncio.run(main())


def test_quiet_while_nothing_is_live_or_queued() -> None:
    async def main() -> None:
        b = make_broker()
        await b.connect()
        b.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        assert b.quiet()
        await b.submit(limit(1, Side.BUY, "0.5", "100.5", TimeInForce.IOC))  # fills at once
        assert b.quiet()
        await b.submit(limit(2, Side.BUY, "1", "99"))  # rests
        assert not b.quiet()
        await b.cancel(2)
        assert b.quiet()  # its row is dead, compacted later
        slow = make_broker(latency_ns=500)
        await slow.connect()
        slow.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        await slow.submit(limit(3, Side.BUY, "0.5", "100.5", TimeInForce.IOC))
        assert not slow.quiet()  # on its way to the venue
        assert slow.feed(ticks([quote(1_600, 100.0, 100.5, 2.0, 3.0)]))  # arrives, fills
        assert slow.quiet()

    asyncio.run(main())


def test_component_gives_a_sim_broker_and_a_hot_path() -> None:
    sim = Sim(Sim.Params(starting_balances={"USD": "5000"}, latency_ns=10))
    broker = sim.tradeloop_broker(UNIVERSE)
    assert isinstance(broker, SimBroker)
    assert broker.venue.balances()[0].total == Decimal("5000")
    hp = sim.tradeloop_hot_path(UNIVERSE)
    assert hp.on_intent is not None and hp.on_tick is not None
    assert hp.params[0]["latency_ns"] == 10 and hp.params[0]["seed_from_ctx"] == 0
    assert hp.state.cash[0, 0] == 5000.0
    with pytest.raises(ValueError, match=r"starting_balances\.USD"):
        Sim(Sim.Params(starting_balances={"USD": "lots"}))
