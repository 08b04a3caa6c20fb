"""Helpers shared by the live-engine tests (not a test module)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tradeloop_sdk import (
    IntentAction,
    OrderState,
    OrderStatus,
    Position,
    Report,
    ReportKind,
    Side,
    VenueSpec,
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


# --- real components for the chaos tests: the venue process and a loopback TCP proxy --------

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

VENUE_TOML = """
[universe]
venues = ["sim"]
symbols = ["BTC-USD"]
[data]
use = "synthetic"
params = {{ seed = {seed}, interval_ms = 50.0 }}
[broker]
use = "sim"
params = {{ allow_short = {short}, starting_balances = {{ USD = "{usd}" }} }}
"""


def _child_env() -> dict[str, str]:
    return dict(os.environ, PYTHONUNBUFFERED="1")


class VenueProcess:
    """``tradeloop sim serve`` as its own process on a free loopback port."""

    def __init__(self, tmp: Path, *, rate: float = 400.0, seed: int = 7, usd: str = "10000000",
                 allow_short: bool = True) -> None:
        cfg = tmp / "venue.toml"
        cfg.write_text(VENUE_TOML.format(seed=seed, usd=usd, short=str(allow_short).lower()))
        self.err = open(tmp / "venue.err", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tradeloop.cli", "sim", "serve", "--config", str(cfg),
             "--port", "0", "--rate", str(rate)],
            stdout=subprocess.PIPE, stderr=self.err, text=True, env=_child_env())
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"sim serve did not start: {line!r}; {(tmp / 'venue.err').read_text()}")
        self.port = int(m.group(1))
        self._wait_market()

    def _wait_market(self, timeout: float = 300.0) -> None:
        """Until the venue publishes market data (its matching kernel may compile first)."""
        from tradeloop_plugin_sim import SimFeed

        async def go() -> None:
            stream = SimFeed("127.0.0.1", self.port).stream()
            try:
                await asyncio.wait_for(stream.__anext__(), timeout)
            finally:
                await stream.aclose()

        try:
            asyncio.run(go())
        except BaseException:
            self.stop()
            raise

    def query(self, op: str, **args: Any) -> Any:
        """One request to the venue on a fresh connection (the venue's own view)."""
        from tradeloop_plugin_sim._remote import _Connection

        async def go() -> Any:
            conn = _Connection("127.0.0.1", self.port, lambda msg: None)
            await conn.open()
            try:
                return await conn.request(op, **args)
            finally:
                await conn.close()

        return asyncio.run(go())

    def report_log(self) -> list[dict[str, Any]]:
        """Every report the venue ever emitted, in order (its private-stream log from seq 0)."""
        from tradeloop_plugin_sim._remote import _Connection

        async def go() -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = []
            conn = _Connection("127.0.0.1", self.port, got.append)
            await conn.open()
            try:
                res = await conn.request("subscribe", reports=True, since_seq=0)
                deadline = time.monotonic() + 10
                while len(got) < res["report_seq"] and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                return [m["report"] for m in got if m.get("stream") == "report"]
            finally:
                await conn.close()

        return asyncio.run(go())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.err.close()


class TcpProxy:
    """A loopback TCP proxy between an engine and the venue, with faults we control.

    It forwards bytes both ways on its own thread and event loop and logs the client id of
    every ``submit`` request it forwards to the venue (so a test sees, venue side, what was
    sent on the wire). Faults: :meth:`stall` holds client requests (the venue does not see
    them, answers never come: timeouts) until :meth:`resume`; :meth:`drop` closes every
    connection and refuses new ones until :meth:`resume`; :meth:`cut_after_ack` forwards
    the venue's next ACK report and drops the link right after it, so what follows (the
    order's fill, the request's reply) never arrives on that connection.
    """

    def __init__(self, upstream_port: int, *, delay_s: float = 0.0, rewrite: Any = None) -> None:
        self.upstream = upstream_port
        #: added before each request is forwarded: a slow venue link
        self.delay_s = delay_s
        #: ``rewrite(msg) -> msg | None`` applied to every market-data message (None: drop it)
        self.rewrite = rewrite
        self.submits: list[int] = []
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self._stalled = False
        self._down = False
        self._cut_armed = False
        #: client id of the ACK after which :meth:`cut_after_ack` dropped the link
        self.cut_client_id: int | None = None
        self.cut = threading.Event()
        self._conns: set[asyncio.StreamWriter] = set()
        self._resumed: asyncio.Event | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="tcp-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            writer.close()
            return
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.upstream, limit=1 << 24)
        except OSError:
            writer.close()
            return
        self._conns.update((writer, uw))

        async def up() -> None:
            while True:
                line = await reader.readline()
                if not line:
                    break
                assert self._resumed is not None
                await self._resumed.wait()  # a stall holds requests here
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if self._down or writer.is_closing():
                    break
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = {}
                self.requests.append(msg)
                if msg.get("op") == "submit":
                    self.submits.append(int(msg["intent"]["client_id"]))
                uw.write(line)
                await uw.drain()

        async def down() -> None:
            held = b""  # an incomplete line, while a cut is armed
            while True:
                if self._cut_armed:
                    chunk = await ur.read(1 << 16)
                    if not chunk:
                        break
                    held += chunk
                    end = self._ack_line_end(held)
                    if end < 0:  # no ACK yet: forward the complete lines
                        cut = held.rfind(b"\n") + 1
                        writer.write(held[:cut])
                        held = held[cut:]
                        await writer.drain()
                        continue
                    writer.write(held[:end])  # the ACK and what came before it, no more
                    await writer.drain()
                    self._cut_armed = False
                    self._down = True
                    for w in list(self._conns):
                        w.close()
                    self.cut.set()
                    break
                if self.rewrite is None:
                    chunk = await ur.read(1 << 16)
                else:
                    chunk = await ur.readline()
                    if b'"market"' in chunk and json.loads(chunk).get("stream") == "market":
                        msg = self.rewrite(json.loads(chunk))
                        chunk = b"" if msg is None else json.dumps(msg).encode() + b"\n"
                        if msg is None:
                            continue
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()

        tasks = [asyncio.ensure_future(up()), asyncio.ensure_future(down())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except Exception:
            pass
        finally:
            for t in tasks:
                t.cancel()
            for w in (writer, uw):
                self._conns.discard(w)
                w.close()

    def _call(self, fn: Any) -> None:
        assert self._loop is not None
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    def stall(self) -> None:
        """Stop forwarding requests (held, not lost) until :meth:`resume`."""
        def f() -> None:
            assert self._resumed is not None
            self._stalled = True
            self._resumed.clear()
        self._call(f)

    def _ack_line_end(self, data: bytes) -> int:
        """The end (after its newline) of the first complete ACK report line, or -1."""
        start = 0
        while (nl := data.find(b"\n", start)) >= 0:
            line = data[start:nl]
            if b'"report"' in line and b'"ACK"' in line:
                msg = json.loads(line)
                if msg.get("stream") == "report" and msg["report"]["kind"] == "ACK":
                    self.cut_client_id = int(msg["report"]["client_id"])
                    return nl + 1
            start = nl + 1
        return -1

    def cut_after_ack(self) -> None:
        """Drop the link right after the venue's next ACK report (see the class doc);
        :attr:`cut` is set then, and new connections are refused until :meth:`resume`."""
        def f() -> None:
            self.cut.clear()
            self.cut_client_id = None
            self._cut_armed = True
        self._call(f)

    def drop(self) -> None:
        """Close every connection now and refuse new ones until :meth:`resume`."""
        def f() -> None:
            self._down = True
            for w in list(self._conns):
                w.close()
        self._call(f)

    def resume(self) -> None:
        """Forward again (held requests go first) and accept connections."""
        def f() -> None:
            assert self._resumed is not None
            self._stalled = False
            self._down = False
            self._resumed.set()
        self._call(f)

    def close(self) -> None:
        def f() -> None:
            self._server.close()
            for w in list(self._conns):
                w.close()
        if self._loop is not None and self._thread.is_alive():
            self._call(f)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


ENGINE_TOML = """
[engine]
mode = "paper"
{engine_extra}
[engine.ops]
enabled = true
port = 0
token = "env:TL_CHAOS_TOKEN"
[universe]
venues = ["sim"]
symbols = ["BTC-USD"]
[data]
use = "sim_feed"
params = {{ port = {feed_port} }}
[broker]
use = "sim"
params = {{ mode = "remote", port = {broker_port} }}
[[strategies]]
use = "ema_cross"
params = {{ venue = "sim", symbol = "BTC-USD", fast = 2, slow = 4, qty = 0.01, max_position = 0.05 }}
"""

CHAOS_TOKEN = "chaos-token"


class EngineProcess:
    """``tradeloop run CONFIG`` as its own process (so a test can SIGKILL it)."""

    def __init__(self, cfg: Path, journal: Path, tmp: Path, tag: str) -> None:
        self.out_path = tmp / f"engine-{tag}.out"
        self.err_path = tmp / f"engine-{tag}.err"
        self._out = open(self.out_path, "w")  # noqa: SIM115
        self._err = open(self.err_path, "w")  # noqa: SIM115
        env = dict(_child_env(), TL_CHAOS_TOKEN=CHAOS_TOKEN)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tradeloop.cli", "run", str(cfg), "--journal", str(journal),
             "--kill-file", str(tmp / "KILL"), "--ops-port", "0"],
            stdout=self._out, stderr=self._err, text=True, env=env)
        self.url = ""
        self.first_id = 0

    def wait_trading(self, timeout: float = 240.0) -> None:
        """Until the engine prints its ops address and first client id (cold compile: slow)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.out_path.read_text()
            m = re.search(r"trading: next client id (\d+)", text)
            u = re.search(r"ops: (http://\S+)", text)
            if m and u:
                self.first_id, self.url = int(m.group(1)), u.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"engine did not start (rc={self.proc.poll()}): "
                           f"{self.err_path.read_text()[-3000:]}")

    def http(self, path: str, method: str = "GET", token: str | None = None) -> Any:
        import urllib.request

        req = urllib.request.Request(self.url + path, data=b"{}" if method == "POST" else None,
                                     method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def state(self) -> dict[str, Any]:
        return self.http("/state")  # type: ignore[no-any-return]

    def sigkill(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._out.close()
        self._err.close()

    def terminate(self, timeout: float = 60.0) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self._out.close()
            self._err.close()
        return rc


def wait_for(pred: Any, timeout: float, what: str, step: float = 0.05, describe: Any = None) -> Any:
    """Poll ``pred()`` until truthy; its value, or AssertionError naming ``what`` (and
    ``describe()``, the state that did not get there)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            extra = f": {describe()}" if describe is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(step)


class EngineThread:
    """An in-process Engine running on its own thread and event loop (the test thread
    watches and operates it, as an operator would)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.code: int | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="engine-under-test", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            self.code = asyncio.run(self.engine.run(install_signals=False))
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def wait_ready(self, timeout: float = 300.0) -> None:
        wait_for(lambda: self.engine.ready or not self._thread.is_alive(), timeout, "engine ready")
        if not self.engine.ready:
            raise RuntimeError(f"engine failed to start: {self.error!r}")

    def stop(self, timeout: float = 60.0) -> int:
        aloop = self.engine._aloop
        if aloop is not None and self._thread.is_alive():
            aloop.call_soon_threadsafe(self.engine.request_stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("engine did not stop in time")
        if self.error is not None:
            raise self.error
        assert self.code is not None
        return self.code

    def on_loop(self, fn: Any, timeout: float = 30.0) -> Any:
        """Run ``fn()`` on the engine's event loop (as the ops server does) and return it."""
        import concurrent.futures

        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

        self.engine._aloop.call_soon_threadsafe(run)
        return fut.result(timeout)
