"""SimVenueServer: the simulated venue as its own process, over JSON lines on TCP.

The server owns the venue (book, orders, fills, balances), so a trading engine can die and
come back while the venue keeps its state, as with a real exchange. Its market comes from an
iterator of TICK chunks replayed at a configurable pace; every tick is matched and then
published on the market-data stream. See docs/sim-venue.md for the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import numpy as np
from tradeloop_sdk import Intent, OrderRejected, Report

from . import _wire
from ._venue import SimVenue

log = logging.getLogger(__name__)

PROTOCOL = "tradeloop-sim/1"


class _Client:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.reports = False
        self.market = False
        self.closed = False

    def send(self, msg: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            self.writer.write(_wire.dumps(msg))
        except (ConnectionError, RuntimeError):
            self.closed = True


class SimVenueServer:
    """Serve one :class:`SimVenue` on ``host:port`` (port 0 picks a free port).

    ``ticks`` is an iterable of TICK_DTYPE chunks (ids in the venue's universe); they are
    replayed at ``rate`` ticks per second, or at ``speed`` times their own timing, or as fast
    as possible when neither is given (``autostart=False`` waits for :meth:`start_replay`).
    Without ticks the market is whatever :meth:`feed` pushes.
    """

    def __init__(
        self,
        venue: SimVenue,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ticks: Iterable[np.ndarray] | None = None,
        rate: float | None = None,
        speed: float | None = None,
        batch: int = 256,
        autostart: bool = True,
    ) -> None:
        if (rate is not None and rate <= 0) or (speed is not None and speed <= 0):
            raise ValueError("rate and speed must be positive")
        self.venue = venue
        self.host = host
        self.port = port
        self._ticks = ticks
        self._rate = rate
        self._speed = speed
        self._batch = batch
        self._autostart = autostart
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._clients: set[_Client] = set()
        self._log: list[dict[str, Any]] = []  # every report, seq = index + 1
        self._replay: asyncio.Task[None] | None = None
        self.replay_done = asyncio.Event()
        self.ticks_published = 0
        venue.subscribe(self._on_report)

    # --- lifecycle ---

    async def start(self) -> int:
        """Listen and start the replay; returns the bound port."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        if self._ticks is None:
            self.replay_done.set()
        elif self._autostart:
            self.start_replay()
        log.info("sim venue listening on %s:%d", self.host, self.port)
        return self.port

    def start_replay(self) -> None:
        """Start replaying the tick source (done by :meth:`start` unless ``autostart=False``)."""
        if self._ticks is not None and self._replay is None:
            self._replay = asyncio.get_running_loop().create_task(self._run_replay())

    async def stop(self) -> None:
        """Stop replaying, close every connection and the listener."""
        if self._replay is not None:
            self._replay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replay
        for c in list(self._clients):
            c.closed = True
            c.writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # let the handlers see their closed connections and return, so none is left for
        # the event loop's shutdown to cancel
        handlers = [t for t in self._handlers if not t.done()]
        if handlers:
            _done, pending = await asyncio.wait(handlers, timeout=1.0)
            for t in pending:
                t.cancel()

    async def serve_forever(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (the CLI sets it on SIGTERM/SIGINT)."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    # --- market ---

    def feed(self, ticks: np.ndarray) -> None:
        """Match a chunk now and publish it on the market-data stream."""
        self.venue.feed(ticks)
        self.ticks_published += len(ticks)
        if any(c.market for c in self._clients):
            msg = {"stream": "market", "ticks": _wire.encode_ticks(ticks, self.venue.universe)}
            for c in self._clients:
                if c.market:
                    c.send(msg)

    async def _run_replay(self) -> None:
        assert self._ticks is not None
        t0 = time.monotonic()
        sent = 0
        first_ts: int | None = None
        for chunk in _chunks(self._ticks, self._batch):
            if self._rate:
                wait = t0 + (sent + len(chunk)) / self._rate - time.monotonic()
            elif self._speed and len(chunk):
                first_ts = int(chunk[0]["ts_recv"]) if first_ts is None else first_ts
                due = (int(chunk[-1]["ts_recv"]) - first_ts) / 1e9 / self._speed
                wait = t0 + due - time.monotonic()
            else:
                wait = 0.0
            await asyncio.sleep(max(0.0, wait))
            self.feed(chunk)
            sent += len(chunk)
        self.replay_done.set()
        log.info("sim venue replay finished after %d ticks", sent)

    # --- private stream ---

    def _on_report(self, rep: Report) -> None:
        msg = {"stream": "report", "seq": len(self._log) + 1, "report": _wire.encode(rep)}
        self._log.append(msg)
        for c in self._clients:
            if c.reports:
                c.send(msg)

    # --- requests ---

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer)
        self._clients.add(client)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        try:
            while not client.closed:
                line = await reader.readline()
                if not line:
                    break
                reply = self._handle(client, line)
                client.send(reply)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # a cancelled handler is a normal shutdown (the loop ending); returning instead
            # of re-raising ends the connection's own task, which nothing awaits, and keeps
            # Python 3.11's stream callback from logging the cancellation as an error
            log.debug("sim venue connection handler cancelled")
        finally:
            client.closed = True
            self._clients.discard(client)
            writer.close()

    def _handle(self, client: _Client, line: bytes) -> dict[str, Any]:
        rid: Any = None
        try:
            msg = _wire.loads(line)
            rid = msg.get("id")
            op = msg.get("op")
            handler = getattr(self, f"_op_{op}", None)
            if not isinstance(op, str) or handler is None:
                raise ValueError(f"unknown op {op!r}")
            return {"id": rid, "ok": True, "result": handler(client, msg)}
        except OrderRejected as e:
            return {"id": rid, "ok": False, "error": {"type": "OrderRejected",
                                                      "reason": e.reason.name, "message": str(e)}}
        except (ValueError, KeyError, TypeError) as e:
            return {"id": rid, "ok": False, "error": {"type": "BadRequest", "message": str(e)}}

    def _op_hello(self, client: _Client, msg: dict[str, Any]) -> Any:
        return {"protocol": PROTOCOL, "venues": list(self.venue.venues),
                "universe": _wire.encode_universe(self.venue.universe),
                "report_seq": len(self._log), "now_ns": self.venue.now_ns}

    def _op_subscribe(self, client: _Client, msg: dict[str, Any]) -> Any:
        # Replay missed reports first, then live ones follow on this connection in order.
        if msg.get("reports"):
            since = int(msg.get("since_seq", 0))
            for m in self._log[since:]:
                client.send(m)
            client.reports = True
        if msg.get("market"):
            client.market = True
        return {"report_seq": len(self._log)}

    def _op_submit(self, client: _Client, msg: dict[str, Any]) -> Any:
        self.venue.submit(_wire.decode(Intent, msg["intent"]))
        return None

    def _op_cancel(self, client: _Client, msg: dict[str, Any]) -> Any:
        self.venue.cancel(int(msg["client_id"]))
        return None

    def _op_replace(self, client: _Client, msg: dict[str, Any]) -> Any:
        price = msg.get("price")
        self.venue.replace(int(msg["client_id"]), Decimal(msg["qty"]),
                           None if price is None else Decimal(price))
        return None

    def _op_known(self, client: _Client, msg: dict[str, Any]) -> Any:
        return self.venue.known(int(msg["client_id"]))

    def _op_open_orders(self, client: _Client, msg: dict[str, Any]) -> Any:
        return [_wire.encode(o) for o in self.venue.open_orders()]

    def _op_fills(self, client: _Client, msg: dict[str, Any]) -> Any:
        return [_wire.encode(f) for f in self.venue.fills(int(msg.get("since_ns", 0)))]

    def _op_positions(self, client: _Client, msg: dict[str, Any]) -> Any:
        return [_wire.encode(p) for p in self.venue.positions()]

    def _op_balances(self, client: _Client, msg: dict[str, Any]) -> Any:
        return [_wire.encode(b) for b in self.venue.balances()]

    def _op_venue_spec(self, client: _Client, msg: dict[str, Any]) -> Any:
        return _wire.encode(self.venue.venue_spec(msg.get("venue")))


def _chunks(source: Iterable[np.ndarray], batch: int) -> Iterator[np.ndarray]:
    """Re-cut a chunk stream into pieces of at most ``batch`` ticks (pacing granularity)."""
    for chunk in source:
        for i in range(0, len(chunk), batch):
            yield chunk[i : i + batch]
