"""Broker conformance: the order lifecycle every venue plugin must honour.

Subclass :class:`BrokerConformance` in a plugin's tests and provide a ``harness`` fixture
returning a :class:`BrokerHarness`. The harness makes brokers connected to one venue
(the state must survive across brokers, as an exchange's does across reconnects) and
sets the venue's top of book, so that the checks can create crossing and resting orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import pytest

from .._enums import OrderState, OrderType, Reason, ReportKind, Side, TimeInForce
from .._errors import OrderRejected, TradeloopError
from .._protocols import Broker
from .._records import Intent, Report, SymbolSpec

T = TypeVar("T")

_DONE = {ReportKind.FILL, ReportKind.CANCELED, ReportKind.REJECTED, ReportKind.EXPIRED}


class BrokerHarness(Protocol):
    """What a broker plugin's tests hand the kit."""

    venue: str
    symbol: str
    #: seconds any broker call or expected report may take
    timeout_s: float

    async def make_broker(self) -> Broker:
        """A new, connected broker to the same venue (state survives across brokers)."""

    async def set_market(self, bid: Decimal, ask: Decimal, bid_size: Decimal, ask_size: Decimal) -> None:
        """Make this the venue's top of book for ``symbol``."""

    # Optional: ``async def aclose(self) -> None``, called at the end of every check inside
    # its event loop, to release what make_broker started there (a server, a connection).
    # Optional, for brokers that talk to their venue over a network: ``async def cut()``
    # makes the venue unreachable (connections drop, new ones are refused) and
    # ``async def restore()`` brings it back, venue state intact. ``async def stall()`` makes
    # the venue go silent instead (connections stay open, nothing is answered) until
    # ``restore()``: a broker must time its calls out rather than hang.


async def _aclose(harness: Any) -> None:
    close = getattr(harness, "aclose", None)
    if close is not None:
        await close()


class Session:
    """A connected broker plus every report it streamed."""

    def __init__(self, broker: Broker, timeout_s: float) -> None:
        self.broker = broker
        self.timeout_s = timeout_s
        self.reports: list[Report] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Session:
        self._task = asyncio.ensure_future(self._collect())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.call(self.broker.close())

    async def _collect(self) -> None:
        async for r in self.broker.reports():
            self.reports.append(r)

    async def call(self, aw: Awaitable[T]) -> T:
        """Await a broker call; a call that hangs fails the check (timeout behaviour)."""
        try:
            return await asyncio.wait_for(aw, self.timeout_s)
        except TimeoutError:
            pytest.fail(f"broker call did not complete within {self.timeout_s}s (calls must time out or finish)")

    def of(self, cid: int) -> list[Report]:
        """Reports of one client id, in arrival order."""
        return [r for r in self.reports if r.client_id == cid]

    async def wait_for(self, cid: int, pred: Callable[[list[Report]], bool], what: str) -> list[Report]:
        """Wait until the reports of ``cid`` satisfy ``pred``; fail naming ``what`` otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while not pred(self.of(cid)):
            if loop.time() > deadline:
                got = [(r.kind.name, str(r.fill_qty), r.reason.name) for r in self.of(cid)]
                pytest.fail(f"client id {cid}: expected {what} within {self.timeout_s}s; reports: {got}")
            await asyncio.sleep(0.005)
        return self.of(cid)

    async def settle(self, cid: int) -> list[Report]:
        """Wait for a terminal report of ``cid``."""
        return await self.wait_for(cid, lambda rs: any(r.kind in _DONE for r in rs), "a terminal report")

    async def reject_reason(self, intent: Intent) -> Reason | None:
        """Submit ``intent`` expecting a refusal; the Reason, from the exception or a report."""
        try:
            await self.call(self.broker.submit(intent))
        except OrderRejected as exc:
            return exc.reason
        rs = await self.settle(intent.client_id)
        rej = [r for r in rs if r.kind == ReportKind.REJECTED]
        return rej[0].reason if rej else None


def filled(reports: list[Report]) -> Decimal:
    """Total filled quantity in ``reports``."""
    return sum((r.fill_qty for r in reports if r.kind in (ReportKind.PARTIAL, ReportKind.FILL)), Decimal(0))


class BrokerConformance:
    """Checks every Broker plugin must pass. Provide a ``harness`` fixture."""

    #: client ids start here; each check uses its own range so runs never collide
    client_id_base = 7_000_000

    @pytest.fixture
    def run(self, harness: BrokerHarness) -> Callable[[Callable[..., Awaitable[None]]], None]:
        def _run(check: Callable[..., Awaitable[None]]) -> None:
            async def main() -> None:
                try:
                    broker = await harness.make_broker()
                    async with Session(broker, harness.timeout_s) as s:
                        spec = (await s.call(broker.venue_spec())).spec(harness.symbol)
                        await check(s, spec, harness)
                finally:
                    await _aclose(harness)

            asyncio.run(main())

        return _run

    def _cid(self, request: pytest.FixtureRequest, n: int = 0) -> int:
        # stable per test, distinct across tests: venues keep every id they have seen
        return self.client_id_base + (zlib.crc32(request.node.name.encode()) % 100_000) * 100 + n

    @staticmethod
    def _intent(h: BrokerHarness, cid: int, side: Side, otype: OrderType, qty: Decimal,
                price: Decimal | None, tif: TimeInForce = TimeInForce.GTC,
                stop: Decimal | None = None) -> Intent:
        return Intent(cid, h.venue, h.symbol, side, otype, qty, price, tif, stop_price=stop)

    @staticmethod
    async def _quote(h: BrokerHarness, spec: SymbolSpec) -> tuple[Decimal, Decimal, Decimal]:
        bid = Decimal(1000) * spec.tick_size * 100
        ask = bid + spec.tick_size * 10
        size = max(spec.lot_step * 1000, spec.min_qty * 10)
        await h.set_market(bid, ask, size, size)
        return bid, ask, size

    @staticmethod
    def _qty(spec: SymbolSpec, lots: int = 10) -> Decimal:
        return max(spec.lot_step * lots, spec.min_qty)

    def test_venue_spec_declares_precision(self, run: Any, harness: BrokerHarness) -> None:
        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            assert spec.tick_size > 0, "venue_spec(): tick_size must be positive"
            assert spec.lot_step > 0, "venue_spec(): lot_step must be positive"
            assert OrderType.LIMIT in spec.order_types, "venue_spec(): LIMIT orders must be supported"

        run(check)

    def test_limit_rests_acks_and_cancels(self, run: Any, request: pytest.FixtureRequest) -> None:
        cid = self._cid(request)

        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            bid, _, _ = await self._quote(h, spec)
            price = bid - spec.tick_size * 5
            await s.call(s.broker.submit(self._intent(h, cid, Side.BUY, OrderType.LIMIT, self._qty(spec), price)))
            await s.wait_for(cid, lambda rs: any(r.kind == ReportKind.ACK for r in rs), "an ACK")
            open_ids = {o.client_id: o for o in await s.call(s.broker.open_orders())}
            assert cid in open_ids, "a resting limit order must be listed by open_orders()"
            assert open_ids[cid].state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
            assert open_ids[cid].price == price, "open_orders() must report the order's price"
            await s.call(s.broker.cancel(cid))
            rs = await s.settle(cid)
            assert rs[-1].kind == ReportKind.CANCELED, f"cancel must end in CANCELED, got {rs[-1].kind.name}"
            assert filled(rs) == 0, "a cancelled resting order must not fill"
            assert cid not in {o.client_id for o in await s.call(s.broker.open_orders())}

        run(check)

    def test_market_order_fills_at_the_touch(self, run: Any, request: pytest.FixtureRequest) -> None:
        cid = self._cid(request)

        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            if OrderType.MARKET not in spec.order_types:
                pytest.skip("venue does not support MARKET orders")
            _, ask, _ = await self._quote(h, spec)
            before = await self._position(s, h)
            qty = self._qty(spec)
            await s.call(s.broker.submit(self._intent(h, cid, Side.BUY, OrderType.MARKET, qty, None, TimeInForce.IOC)))
            rs = await s.wait_for(cid, lambda rs: filled(rs) >= qty, f"fills totalling {qty}")
            fills = [r for r in rs if r.kind in (ReportKind.PARTIAL, ReportKind.FILL)]
            assert all(r.fill_price == ask for r in fills), "a market buy must fill at the ask"
            assert filled(rs) == qty, f"filled {filled(rs)}, ordered {qty}"
            assert await self._position(s, h) - before == qty, "positions() must reflect the fill"

        run(check)

    @staticmethod
    async def _position(s: Session, h: BrokerHarness) -> Decimal:
        for p in await s.call(s.broker.positions()):
            if p.symbol == h.symbol and p.venue == h.venue:
                return p.qty
        return Decimal(0)

    def test_time_in_force(self, run: Any, request: pytest.FixtureRequest) -> None:
        base = self._cid(request)

        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            bid, ask, size = await self._quote(h, spec)
            qty = self._qty(spec)
            if TimeInForce.IOC in spec.tifs:
                # IOC that crosses fills; IOC that does not cross ends without a fill
                cross = self._intent(h, base + 1, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC)
                await s.call(s.broker.submit(cross))
                assert filled(await s.settle(base + 1)) == qty, "a crossing IOC must fill"
                away = self._intent(h, base + 2, Side.BUY, OrderType.LIMIT, qty, bid - spec.tick_size, TimeInForce.IOC)
                await s.call(s.broker.submit(away))
                rs = await s.settle(base + 2)
                assert filled(rs) == 0 and rs[-1].kind in (ReportKind.CANCELED, ReportKind.EXPIRED), \
                    "a non-crossing IOC must end CANCELED or EXPIRED without a fill"
            if TimeInForce.FOK in spec.tifs:
                big = size * 3
                fok = self._intent(h, base + 3, Side.BUY, OrderType.LIMIT, big, ask, TimeInForce.FOK)
                await s.call(s.broker.submit(fok))
                rs = await s.settle(base + 3)
                assert filled(rs) == 0, "a FOK larger than the available size must not fill at all"
                fits = self._intent(h, base + 5, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.FOK)
                await s.call(s.broker.submit(fits))
                assert filled(await s.settle(base + 5)) == qty, "a FOK the touch can fill must fill completely"
            if TimeInForce.POST_ONLY in spec.tifs:
                po = self._intent(h, base + 4, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.POST_ONLY)
                reason = await s.reject_reason(po)
                assert reason == Reason.POST_ONLY_WOULD_CROSS, \
                    f"a crossing post-only must be refused with POST_ONLY_WOULD_CROSS, got {reason}"
                rest = self._intent(h, base + 6, Side.BUY, OrderType.LIMIT, qty, bid - spec.tick_size,
                                    TimeInForce.POST_ONLY)
                await s.call(s.broker.submit(rest))
                await s.wait_for(base + 6, lambda rs: any(r.kind == ReportKind.ACK for r in rs),
                                 "an ACK for a post-only below the touch")
                assert filled(s.of(base + 6)) == 0, "a post-only below the touch must rest, not take"
                await s.call(s.broker.cancel(base + 6))
                await s.settle(base + 6)

        run(check)

    def test_stop_order_triggers(self, run: Any, request: pytest.FixtureRequest) -> None:
        cid = self._cid(request)

        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            if OrderType.STOP not in spec.order_types:
                pytest.skip("venue does not support STOP orders")
            _, ask, size = await self._quote(h, spec)
            stop = ask + spec.tick_size * 20
            await s.call(s.broker.submit(self._intent(h, cid, Side.BUY, OrderType.STOP, self._qty(spec), None,
                                                      TimeInForce.GTC, stop)))
            await s.wait_for(cid, lambda rs: any(r.kind == ReportKind.ACK for r in rs), "an ACK")
            assert filled(s.of(cid)) == 0, "a stop must not fill before the market reaches it"
            await h.set_market(stop, stop + spec.tick_size, size, size)
            await s.wait_for(cid, lambda rs: filled(rs) > 0, "a fill once the stop is triggered")

        run(check)

    def test_duplicate_client_id_never_double_fills(self, run: Any, request: pytest.FixtureRequest) -> None:
        cid = self._cid(request)

        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            _, ask, _ = await self._quote(h, spec)
            qty = self._qty(spec)
            before = await self._position(s, h)
            intent = self._intent(h, cid, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC)
            await s.call(s.broker.submit(intent))
            await s.settle(cid)
            second: Reason | None
            try:
                await s.call(s.broker.submit(intent))
                second = None
            except OrderRejected as exc:
                second = exc.reason
            await asyncio.sleep(min(0.2, h.timeout_s))
            total = filled(s.of(cid))
            assert total <= qty, (
                f"client id {cid} submitted twice was filled {total} for an order of {qty}: "
                "a repeated client id must be refused (DUPLICATE_ORDER) or deduplicated, never filled again"
            )
            assert await self._position(s, h) - before == qty, "the position must count the order once"
            rej = [r.reason for r in s.of(cid) if r.kind == ReportKind.REJECTED]
            if second is not None or rej:
                assert (second or rej[-1]) == Reason.DUPLICATE_ORDER, "a repeated id is refused as DUPLICATE_ORDER"

        run(check)

    def test_precision_is_enforced(self, run: Any, request: pytest.FixtureRequest) -> None:
        base = self._cid(request)

        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            bid, _, _ = await self._quote(h, spec)
            qty = self._qty(spec)
            off_tick = bid - spec.tick_size * 5 + spec.tick_size / 3
            r = await s.reject_reason(self._intent(h, base + 1, Side.BUY, OrderType.LIMIT, qty, off_tick))
            assert r == Reason.PRICE_PRECISION, f"a price off the tick grid must be PRICE_PRECISION, got {r}"
            off_lot = qty + spec.lot_step / 3
            r = await s.reject_reason(self._intent(h, base + 2, Side.BUY, OrderType.LIMIT, off_lot, bid - spec.tick_size))
            assert r == Reason.SIZE_PRECISION, f"a size off the lot grid must be SIZE_PRECISION, got {r}"
            if spec.min_qty > spec.lot_step:
                tiny = spec.min_qty - spec.lot_step
                r = await s.reject_reason(self._intent(h, base + 3, Side.BUY, OrderType.LIMIT, tiny, bid - spec.tick_size))
                assert r == Reason.MIN_SIZE, f"a size below min_qty must be MIN_SIZE, got {r}"

        run(check)

    def test_rejects_use_the_taxonomy(self, run: Any, request: pytest.FixtureRequest) -> None:
        cid = self._cid(request)

        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            await self._quote(h, spec)
            bad = Intent(cid, h.venue, "NO_SUCH_SYMBOL", Side.BUY, OrderType.LIMIT, self._qty(spec), spec.tick_size)
            r = await s.reject_reason(bad)
            assert r == Reason.INVALID_SYMBOL, f"an unknown symbol must be INVALID_SYMBOL, got {r}"

        run(check)

    def test_replace_amends_a_resting_order(self, run: Any, request: pytest.FixtureRequest) -> None:
        cid = self._cid(request)

        async def check(s: Session, spec: SymbolSpec, h: BrokerHarness) -> None:
            bid, _, _ = await self._quote(h, spec)
            qty = self._qty(spec)
            await s.call(s.broker.submit(self._intent(h, cid, Side.BUY, OrderType.LIMIT, qty, bid - spec.tick_size * 5)))
            await s.wait_for(cid, lambda rs: any(r.kind == ReportKind.ACK for r in rs), "an ACK")
            new_qty, new_price = qty * 2, bid - spec.tick_size * 7
            await s.call(s.broker.replace(cid, new_qty, new_price))
            await s.wait_for(cid, lambda rs: any(r.kind == ReportKind.REPLACED for r in rs), "a REPLACED report")
            o = {o.client_id: o for o in await s.call(s.broker.open_orders())}[cid]
            assert (o.qty, o.price) == (new_qty, new_price), "open_orders() must show the amended qty and price"
            await s.call(s.broker.cancel(cid))
            await s.settle(cid)

        run(check)

    def test_restart_recovers_open_orders_and_fills(self, harness: BrokerHarness, request: pytest.FixtureRequest) -> None:
        rest, take = self._cid(request, 1), self._cid(request, 2)

        async def main() -> None:
            try:
                await restart()
            finally:
                await _aclose(harness)

        async def restart() -> None:
            first = await harness.make_broker()
            async with Session(first, harness.timeout_s) as s:
                spec = (await s.call(first.venue_spec())).spec(harness.symbol)
                bid, ask, _ = await self._quote(harness, spec)
                qty = self._qty(spec)
                await s.call(first.submit(self._intent(harness, rest, Side.BUY, OrderType.LIMIT, qty, bid - spec.tick_size * 5)))
                await s.wait_for(rest, lambda rs: any(r.kind == ReportKind.ACK for r in rs), "an ACK")
                await s.call(first.submit(self._intent(harness, take, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC)))
                await s.settle(take)
            second = await harness.make_broker()
            async with Session(second, harness.timeout_s) as s2:
                opened = {o.client_id for o in await s2.call(second.open_orders())}
                assert rest in opened, "after a reconnect, open_orders() must still list the resting order"
                fills = await s2.call(second.fills(0))
                assert any(f.client_id == take for f in fills), "after a reconnect, fills() must return earlier fills"
                await s2.call(second.cancel(rest))
                await s2.settle(rest)

        asyncio.run(main())

    def test_unreachable_venue_fails_fast_then_recovers(self, run: Any, harness: BrokerHarness,
                                                        request: pytest.FixtureRequest) -> None:
        if not hasattr(harness, "cut"):
            pytest.skip("the harness cannot cut the venue off (an in-process broker has no link to lose)")
        rest, take = self._cid(request, 1), self._cid(request, 2)

        async def check(s: Session, spec: SymbolSpec, h: Any) -> None:
            bid, ask, _ = await self._quote(h, spec)
            qty = self._qty(spec)
            await s.call(s.broker.submit(self._intent(h, rest, Side.BUY, OrderType.LIMIT, qty, bid - spec.tick_size * 5)))
            await s.wait_for(rest, lambda rs: any(r.kind == ReportKind.ACK for r in rs), "an ACK")
            await h.cut()
            # with the venue gone, calls fail with a tradeloop error or finish: they never hang
            sent = await _fails_or_finishes(s.broker.submit(
                self._intent(h, take, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC)), h.timeout_s, "submit()")
            await _fails_or_finishes(s.broker.open_orders(), h.timeout_s, "open_orders()")
            await h.restore()
            opened = await _retry(s.broker.open_orders, h.timeout_s, "open_orders() after the venue came back")
            assert rest in {o.client_id for o in opened}, "the resting order must be listed after the venue returns"
            if not sent:
                # the outcome of that submit is unknown to the caller: a retry must not double it
                await _resubmit(s, self._intent(h, take, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC),
                                h.timeout_s, "a retried submit")
            await s.settle(take)
            assert filled(s.of(take)) <= qty, f"client id {take} filled {filled(s.of(take))} for {qty} across the outage"
            await s.call(s.broker.cancel(rest))
            await s.settle(rest)

        run(check)

    def test_silent_venue_times_out_then_recovers(self, run: Any, harness: BrokerHarness,
                                                  request: pytest.FixtureRequest) -> None:
        if not hasattr(harness, "stall"):
            pytest.skip("the harness cannot make the venue go silent (an in-process broker has no link)")
        take = self._cid(request, 1)

        async def check(s: Session, spec: SymbolSpec, h: Any) -> None:
            _, ask, _ = await self._quote(h, spec)
            qty = self._qty(spec)
            await h.stall()
            # the link stays open and the venue says nothing: a call must give up, not hang
            sent = await _fails_or_finishes(s.broker.submit(
                self._intent(h, take, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC)),
                h.timeout_s, "submit() to a silent venue")
            await h.restore()
            if not sent:
                # the venue may have taken the order before it went quiet: a retry must not
                # double it
                await _resubmit(s, self._intent(h, take, Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC),
                                h.timeout_s, "a submit retried after the venue spoke again")
            await s.settle(take)
            assert filled(s.of(take)) <= qty, f"client id {take} filled {filled(s.of(take))} for {qty} across the silence"

        run(check)


async def _resubmit(s: Session, intent: Intent, timeout_s: float, what: str) -> None:
    """Retry a submit whose outcome is unknown: accepted, or refused only as a duplicate."""
    try:
        await _retry(lambda: s.broker.submit(intent), timeout_s, what)
    except OrderRejected as exc:
        assert exc.reason == Reason.DUPLICATE_ORDER, f"{what} was refused with {exc.reason}"


async def _fails_or_finishes(aw: Awaitable[Any], timeout_s: float, what: str) -> bool:
    """True if ``aw`` finished, False if it raised a TradeloopError; fail if it hung."""
    try:
        await asyncio.wait_for(aw, timeout_s)
        return True
    except TimeoutError:
        pytest.fail(f"with the venue unreachable, {what} hung for {timeout_s}s: it must fail "
                    "(ConnectionLost, BrokerError) or time out by itself")
    except TradeloopError:
        return False


async def _retry(call: Callable[[], Awaitable[T]], timeout_s: float, what: str) -> T:
    """Call until it stops raising ConnectionLost-style errors (reconnecting), within the timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            return await asyncio.wait_for(call(), max(0.01, deadline - loop.time()))
        except OrderRejected:
            raise
        except (TimeoutError, TradeloopError) as exc:
            if loop.time() >= deadline:
                pytest.fail(f"{what}: still failing after {timeout_s}s ({exc!r}): the broker must reconnect")
            await asyncio.sleep(0.05)
