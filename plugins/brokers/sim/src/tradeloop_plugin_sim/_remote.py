"""RemoteSimBroker and SimFeed: clients of a SimVenueServer.

The broker reconnects with exponential backoff and resubscribes to the private stream from
the last report sequence it saw, so no report is lost or repeated across a reconnect. It
never resubmits by itself: a submit whose answer was lost (the link dropped, or no answer
within ``request_timeout_s``) raises ConnectionLost, and a retried submit of that client id
first asks the venue whether it already has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from tradeloop_sdk import (
    Balance,
    BrokerError,
    ConnectionLost,
    DataStats,
    Intent,
    OrderRejected,
    OrderStatus,
    Position,
    Reason,
    Report,
    Universe,
    VenueSpec,
)

from . import _wire
from ._fanout import ReportFanout

log = logging.getLogger(__name__)


class _Connection:
    """One TCP session: request/response by id, pushes handed to ``on_push``."""

    def __init__(self, host: str, port: int, on_push: Any) -> None:
        self.host, self.port, self.on_push = host, port, on_push
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=1 << 24)
        self.lost.clear()
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                msg = _wire.loads(line)
                if "stream" in msg:
                    self.on_push(msg)
                    continue
                fut = self._pending.pop(msg.get("id"), None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._fail()

    def _fail(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionLost("connection to sim venue lost", venue="sim"))
        self._pending.clear()
        self.lost.set()

    async def request(self, op: str, timeout_s: float | None = None, **args: Any) -> Any:
        if self._writer is None or self.lost.is_set():
            raise ConnectionLost("not connected to sim venue", venue="sim")
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            self._writer.write(_wire.dumps({"id": rid, "op": op, **args}))
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as e:
            self._pending.pop(rid, None)
            raise ConnectionLost(f"send failed: {e}", venue="sim") from None
        try:
            msg = await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            self._pending.pop(rid, None)
            # A venue that stops answering on an open connection is as good as gone: drop the
            # link so the owner reconnects and resubscribes from the last report it saw.
            self._writer.transport.abort()
            self._fail()
            raise ConnectionLost(f"no answer to {op!r} within {timeout_s:g}s", venue="sim") from None
        if msg.get("ok"):
            return msg.get("result")
        err = msg.get("error") or {}
        if err.get("type") == "OrderRejected":
            raise OrderRejected(Reason[err["reason"]], err.get("message", ""), venue="sim")
        raise BrokerError(err.get("message", "bad request"), venue="sim")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class RemoteSimBroker:
    """The Broker protocol over a :class:`SimVenueServer` at ``host:port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, name: str = "sim",
                 backoff_s: float = 0.05, max_backoff_s: float = 2.0,
                 request_timeout_s: float = 5.0) -> None:
        if request_timeout_s <= 0:
            raise ValueError(f"request_timeout_s must be positive, got {request_timeout_s}")
        self.name = name
        self.request_timeout_s = request_timeout_s
        self.host, self.port = host, port
        self._backoff, self._max_backoff = backoff_s, max_backoff_s
        self._conn: _Connection | None = None
        self._fanout = ReportFanout()
        self._last_seq = 0
        self._uncertain: set[int] = set()
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0
        self.universe: Universe | None = None

    def _on_push(self, msg: dict[str, Any]) -> None:
        if msg.get("stream") != "report":
            return
        seq = int(msg["seq"])
        if seq <= self._last_seq:
            return  # already seen before a reconnect
        self._last_seq = seq
        self._fanout.publish(_wire.decode(Report, msg["report"]))

    async def _open(self) -> None:
        conn = _Connection(self.host, self.port, self._on_push)
        await conn.open()
        t = self.request_timeout_s
        try:
            hello = await conn.request("hello", t)
            self.universe = _wire.decode_universe(hello["universe"])
            await conn.request("subscribe", t, reports=True, since_seq=self._last_seq)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self.connected.set()

    async def connect(self) -> None:
        """Connect (idempotent) and keep reconnecting in the background when the link drops."""
        if self._supervisor is not None:
            await self.connected.wait()
            return
        self._closing = False
        await self._open()
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        while not self._closing:
            assert self._conn is not None
            await self._conn.lost.wait()
            if self._closing:
                return
            self.connected.clear()
            log.warning("sim venue connection lost; reconnecting")
            delay = self._backoff
            while not self._closing:
                try:
                    await self._open()
                    self.reconnects += 1
                    log.info("sim venue reconnected (report seq %d)", self._last_seq)
                    break
                except (OSError, ConnectionLost, BrokerError):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._max_backoff)

    async def close(self) -> None:
        """Stop reconnecting, close the session and end the report streams."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self._conn is not None:
            await self._conn.close()
        self._fanout.end()

    async def _req(self, op: str, **args: Any) -> Any:
        if self._conn is None:
            raise ConnectionLost("not connected: call connect() first", venue=self.name)
        return await self._conn.request(op, self.request_timeout_s, **args)

    async def venue_spec(self) -> VenueSpec:
        """Symbols, precision and fees of the venue."""
        return _wire.decode(VenueSpec, await self._req("venue_spec"))

    async def submit(self, intent: Intent) -> None:
        """Send a NEW order; a retry after ConnectionLost checks the venue before resending."""
        cid = intent.client_id
        if cid in self._uncertain and await self._req("known", client_id=cid):
            self._uncertain.discard(cid)
            return  # the venue has it: resending would be a duplicate
        self._uncertain.add(cid)
        try:
            await self._req("submit", intent=_wire.encode(intent))
        except ConnectionLost:
            raise
        except OrderRejected:
            self._uncertain.discard(cid)
            raise
        self._uncertain.discard(cid)

    async def cancel(self, client_id: int) -> None:
        """Ask to cancel; the outcome arrives on the report stream."""
        await self._req("cancel", client_id=client_id)

    async def replace(self, client_id: int, qty: Decimal, price: Decimal) -> None:
        """Amend total quantity and price; the outcome arrives on the report stream."""
        await self._req("replace", client_id=client_id, qty=str(qty),
                        price=None if price is None else str(price))

    def reports(self) -> AsyncIterator[Report]:
        """Reports from this call on, surviving reconnects, until :meth:`close`."""
        return self._fanout.stream()

    async def open_orders(self) -> Sequence[OrderStatus]:
        """Orders live at the venue."""
        return [_wire.decode(OrderStatus, d) for d in await self._req("open_orders")]

    async def fills(self, since_ns: int = 0) -> Sequence[Report]:
        """Fills since ``since_ns``."""
        return [_wire.decode(Report, d) for d in await self._req("fills", since_ns=since_ns)]

    async def positions(self) -> Sequence[Position]:
        """Venue-side positions."""
        return [_wire.decode(Position, d) for d in await self._req("positions")]

    async def balances(self) -> Sequence[Balance]:
        """Venue-side balances."""
        return [_wire.decode(Balance, d) for d in await self._req("balances")]


class SimFeed:
    """A DataProvider whose :meth:`stream` yields the market data a SimVenueServer publishes.

    Ticks are re-keyed to ``universe`` (by venue and symbol name) when one is given, else to
    the server's own universe.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 universe: Universe | None = None, name: str = "sim_feed") -> None:
        self.name = name
        self.host, self.port = host, port
        self.universe = universe
        self._rows = 0

    def chunks(self, *, start_ns: int | None = None, end_ns: int | None = None,
               symbols: Sequence[str] | None = None) -> Iterator[np.ndarray]:
        """A live feed has no history."""
        raise NotImplementedError("sim_feed is a live stream: use stream()")

    async def stream(self) -> AsyncIterator[np.ndarray]:
        """Tick batches as the server publishes them; ends when the server goes away."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        conn = _Connection(self.host, self.port, queue.put_nowait)
        await conn.open()
        try:
            hello = await conn.request("hello")
            universe = self.universe or _wire.decode_universe(hello["universe"])
            await conn.request("subscribe", market=True)
            closer = asyncio.get_running_loop().create_task(conn.lost.wait())
            while True:
                getter = asyncio.get_running_loop().create_task(queue.get())
                done, _ = await asyncio.wait({getter, closer},
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    msgs = [getter.result()]
                else:
                    getter.cancel()
                    msgs = []
                    while not queue.empty():  # what arrived before the server went away
                        msgs.append(queue.get_nowait())
                for msg in msgs:
                    if msg is not None and msg.get("stream") == "market":
                        batch = _wire.decode_ticks(msg["ticks"], universe)
                        self._rows += len(batch)
                        yield batch
                if getter not in done:
                    break
        finally:
            await conn.close()

    def stats(self) -> DataStats:
        """Rows received so far."""
        return DataStats(rows=self._rows)
