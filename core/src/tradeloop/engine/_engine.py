"""The live engine: the fused loop on its own thread, feeds, executor, journal and operations.

Threads: the loop runs :meth:`FusedLoop.run_rings` on a dedicated thread with the GIL
released, busy-polling the quote and report rings (with ``engine.process = true``: in its
own process over shared memory, see ``_process``; everything below holds the same).
Everything else (feeds, executor,
report streams, operations server, kill file, snapshots, event broadcast) is asyncio on
the thread that calls :meth:`Engine.run`. Python never touches the loop's arrays while it
runs, except single-word control fields (kill, pause) and the feed taint; anything larger
(flatten, reload) happens in :meth:`Engine.exclusive`, with the loop parked between two
compiled calls.

Start: open the journal, restore the snapshot, continue client ids above the journal's
watermark, reconcile every venue (see ``_reconcile``), then trade. Stop (SIGINT/SIGTERM or
``request_stop``): pause new intents, cancel open orders if configured, drain, park the
loop, save the snapshot, flush the journal.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from tradeloop_sdk import (
    INTENT_DTYPE,
    REPORT_DTYPE,
    TICK_DTYPE,
    Broker,
    DataProvider,
    Reason,
)
from tradeloop_sdk._breaker import CircuitBreaker
from tradeloop_sdk._kill import kill_reason

from .._interrupts import note_interrupt
from .._rings import BLOCK, DROP_OLDEST, SpscRing
from ._controls import OperatorControls
from ._events import EventBroadcaster
from ._executor import Executor
from ._feeds import FeedRunner
from ._journal import Journal
from ._killfile import KillFileWatcher
from ._metrics import EngineMetrics
from ._ops_server import OpsServer
from ._process import LoopProcess, LoopProcessGone
from ._process_loop import share_loop
from ._settings import EngineSettings
from ._snapshot import load as load_snapshot
from ._snapshot import save_atomic
from ._state import engine_state, restore_snapshot
from ._tap import ReportTap

_log = logging.getLogger("tradeloop.engine")


class Engine(OperatorControls):
    """Runs one fused loop live against brokers, fed by data providers.

    ``loop`` is a :class:`tradeloop.loop.FusedLoop` built with ``mode="live"`` (or
    ``"paper"``); ``brokers`` maps venue name to a Broker; ``feeds`` are DataProviders
    whose ``stream()`` yields TICK_DTYPE batches. ``hooks`` is a pluggy hook relay
    (``Registry.hook``) for the broadcast events; ``reloader`` a callable returning a
    ``ReloadPlan`` for ``ctl reload`` / SIGHUP.
    """

    def __init__(
        self,
        loop: Any,
        brokers: Mapping[str, Broker],
        feeds: Sequence[DataProvider],
        settings: EngineSettings | None = None,
        *,
        hooks: Any = None,
        reloader: Callable[[], Any] | None = None,
    ) -> None:
        self.loop = loop
        self.universe = loop.universe
        self.brokers = dict(brokers)
        unknown = set(self.brokers) - set(self.universe.venues)
        if unknown:
            raise ValueError(f"brokers for venues not in the universe: {sorted(unknown)}")
        self.feeds = list(feeds)
        self.settings = settings or EngineSettings()
        self.metrics = EngineMetrics()
        self.reloader = reloader
        s = self.settings
        self._lp: LoopProcess | None = None
        if s.process:
            # every array the loop touches moves into shared memory before anything writes it
            shared = share_loop(loop, tick_capacity=s.tick_ring_capacity,
                                intent_capacity=s.intent_ring_capacity,
                                report_capacity=s.report_ring_capacity)
            self.loop = loop = shared.loop
            self._lp = LoopProcess(shared)
        # the kill policy the loop applies to any kill: a guard's, the CLI's, the kill file's
        loop.ctx.control[0]["cancel_on_kill"] = int(s.cancel_on_kill)
        loop.ctx.control[0]["flatten_on_kill"] = int(s.flatten_on_kill)
        if self._lp is not None:
            self.tick_ring, self.intent_ring, self.report_ring = self._lp.shared.rings
        else:
            self.tick_ring = SpscRing(TICK_DTYPE, s.tick_ring_capacity, DROP_OLDEST)
            self.intent_ring = SpscRing(INTENT_DTYPE, s.intent_ring_capacity, BLOCK)
            self.report_ring = SpscRing(REPORT_DTYPE, s.report_ring_capacity, BLOCK)
        self.breakers = {v: CircuitBreaker(s.breaker, name=v) for v in self.brokers}
        self.events = EventBroadcaster(self, hooks, deque(maxlen=s.event_history))
        self.journal: Journal | None = None
        self.executor: Executor | None = None
        self.feed_runners: list[FeedRunner] = []
        self.ops: OpsServer | None = None
        self.findings: list[Any] = []
        self.ready = False
        self.exit_code = 0
        self._stop = np.zeros(1, np.int64)
        self._parked = threading.Event()
        self._resume = threading.Event()
        self._excl = threading.Lock()
        self._shutdown = False
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._stop_requested: asyncio.Event | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.metrics.registry.add_collector(self._collect_metrics)

    # -- the loop thread ------------------------------------------------------------------
    def _loop_main(self) -> None:
        try:
            while not self._shutdown:
                self.loop.run_rings(self.tick_ring, self.intent_ring, self.report_ring, stop=self._stop)
                self._parked.set()
                self._resume.wait()
                self._resume.clear()
        except BaseException as exc:  # surfaced by run(): the engine must not trade blind
            self._thread_error = exc
            _log.exception("fused loop thread failed")
            self._parked.set()
            if self._aloop is not None:
                self._aloop.call_soon_threadsafe(self.request_stop, 1)

    def exclusive(self, fn: Callable[[], Any], timeout_s: float = 5.0) -> Any:
        """Run ``fn`` with the loop parked between compiled calls; returns its result."""
        if self._lp is not None:
            with self._excl:
                return self._lp.exclusive(fn, timeout_s)
        with self._excl:
            if self._thread is None or not self._thread.is_alive():
                return fn()
            self._stop[0] = 1
            if not self._parked.wait(timeout_s):
                self._stop[0] = 0
                raise TimeoutError("the loop thread did not park in time")
            try:
                return fn()
            finally:
                self._parked.clear()
                self._stop[0] = 0
                self._resume.set()

    # -- read side ------------------------------------------------------------------------
    def is_ready(self) -> bool:
        """Reconciled, loop thread alive, and every feed that started is healthy."""
        return self.ready and self._loop_running() and all(f.healthy or f.ended for f in self.feed_runners)

    def _loop_running(self) -> bool:
        if self._lp is not None:
            return self._lp.alive()
        return self._thread is not None and self._thread.is_alive()

    def _loop_died(self) -> None:
        """The loop process is gone: stop trading at once, say why, and stop with code 1."""
        assert self._lp is not None
        why = self._lp.describe_exit()
        self._thread_error = LoopProcessGone(why)
        _log.error("the fused loop is gone (%s): trading stops", why)
        self.control[0]["pause"] = 1
        if self.executor is not None:
            self.executor.refuse_new = Reason.PAUSED
        self._journal_control("loop_died", reason=why)
        self.events.record("loop_died", reason=why)
        self.request_stop(1)

    def state(self) -> dict[str, Any]:
        """A JSON-ready snapshot of engine state (positions, orders, PnL, guards, breakers)."""
        return engine_state(self)

    def recent_events(self, n: int = 100) -> list[dict[str, Any]]:
        """The latest ``n`` events (order updates, fills, breaches, kills, controls)."""
        return self.events.recent(n)

    def metrics_text(self) -> str:
        """Prometheus text of every engine metric."""
        return self.metrics.registry.render()

    def _collect_metrics(self) -> None:
        m, ctx, u = self.metrics, self.loop.ctx, self.universe
        for name, r in (("quote", self.tick_ring), ("intent", self.intent_ring), ("report", self.report_ring)):
            m.ring_occupancy.set(len(r), ring=name)
            m.ring_drops.set_total(r.dropped, ring=name)
            m.ring_full.set_total(r.full_events, ring=name)
        m.position.clear()
        m.pnl_unrealized.clear()
        m.pnl_realized.clear()
        for v, vn in enumerate(u.venues):
            for s, sn in enumerate(u.symbols):
                p = ctx.positions[v, s]
                if p["qty"] or p["n_fills"]:
                    m.position.set(float(p["qty"]), venue=vn, symbol=sn)
                    m.pnl_realized.set(float(p["realized"]), venue=vn, symbol=sn)
                    m.pnl_unrealized.set(float(p["unrealized"]), venue=vn, symbol=sn)
        st = ctx.orders["state"]
        m.open_orders.set(float(((st >= 1) & (st <= 4)).sum()))
        for name, b in self.breakers.items():
            m.breaker_state.set(float(int(b.state)), venue=name)
        m.kill.set(float(ctx.control[0]["kill"]))
        m.paused.set(float(ctx.control[0]["pause"]))
        m.generation.set(float(ctx.control[0]["generation"]))
        m.guard_breaches.set_total(float(ctx.control[0]["guard_rejects"]), action="reject")
        m.guard_breaches.set_total(float(ctx.control[0]["guard_resizes"]), action="resize")

    # -- running --------------------------------------------------------------------------
    def request_stop(self, code: int = 0) -> None:
        """Ask :meth:`run` to shut down gracefully (thread-safe via the event loop)."""
        self.exit_code = max(self.exit_code, code)
        if self._stop_requested is not None:
            self._stop_requested.set()

    def _on_kill_file(self, reason: str) -> None:
        self.kill(reason)

    async def start(self) -> None:
        """Open the journal, restore and reconcile, then start the loop, feeds and servers."""
        s = self.settings
        self._aloop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        self.journal = Journal(s.journal, synchronous=s.journal_sync, id_block=s.id_block)
        ctrl = self.control
        ctrl[0]["next_client_id"] = max(int(ctrl[0]["next_client_id"]), self.journal.first_client_id)
        snap = load_snapshot(s.snapshot_path)
        if snap is not None:
            restore_snapshot(self.loop, snap)
        for broker in self.brokers.values():
            await broker.connect()
        # listen before reading the venue's state: reports sent meanwhile wait in the taps
        report_taps = {venue: ReportTap(broker) for venue, broker in self.brokers.items()}
        try:
            await self._reconcile(report_taps)
        except BaseException:
            for tap in report_taps.values():
                await tap.close()
            raise
        if self._lp is not None:
            await self._start_loop_process(report_taps)
        self.executor = Executor(
            self.intent_ring, self.report_ring, self.brokers, self.journal, self.universe,
            metrics=self.metrics, breakers=self.breakers, on_report=self.events.on_report,
            submit_timeout_s=s.submit_timeout_s,
            tick_ts=lambda v, sym: int(self.loop.ctx.books[v, sym]["ts_recv"]),
            tick_clock=not s.stamp_recv,
        )
        self.executor.start(report_taps)
        if self._lp is None:
            self._thread = threading.Thread(target=self._loop_main, name="tradeloop-loop", daemon=True)
            self._thread.start()
        spawn = self._aloop.create_task
        # a paper broker (one with ``feed(ticks)``) matches on the ticks the loop sees, just
        # before the loop sees them; a provider that feeds a broker itself sets ``broker``
        taps = [getattr(b, "feed") for b in self.brokers.values()  # noqa: B009
                if callable(getattr(b, "feed", None))]
        for i, p in enumerate(self.feeds):
            own = getattr(p, "broker", None) is not None
            fr = FeedRunner(p, self.tick_ring, self.loop.ctx.books, name=getattr(p, "name", f"feed{i}"),
                            metrics=self.metrics, stale_after_s=s.stale_after_s,
                            reconnect_on_end=s.reconnect_feeds, stamp_recv=s.stamp_recv,
                            on_change=self.events.feed_change, taps=[] if own else taps)
            self.feed_runners.append(fr)
            self._tasks.append(spawn(fr.run(), name=f"feed-{fr.name}"))
        if s.kill_file:
            self._tasks.append(spawn(KillFileWatcher(s.kill_file, self._on_kill_file).run()))
        self._tasks.append(spawn(self._housekeeping(), name="engine-housekeeping"))
        if s.ops_enabled:
            token = s.ops_token.resolve() if s.ops_token is not None else None
            self.ops = OpsServer(self, host=s.ops_host, port=s.ops_port, token=token)
            await self.ops.start()
        self._journal_control("start", next_client_id=int(ctrl[0]["next_client_id"]))
        self.events.start()
        self.ready = True

    async def _start_loop_process(self, taps: Mapping[str, ReportTap]) -> None:
        assert self._lp is not None
        self._lp.start()
        try:
            await self._lp.wait_running(self.settings.process_start_timeout_s)
        except BaseException as exc:
            self._journal_control("loop_failed", reason=str(exc))
            for tap in taps.values():
                await tap.close()
            await self._lp.stop(1.0)
            self._lp.release()
            raise

    async def _reconcile(self, taps: Mapping[str, ReportTap]) -> None:
        from ._startup import reconcile_venues

        self.findings.extend(await reconcile_venues(self, taps))

    async def _housekeeping(self) -> None:
        last_snap = 0.0
        while True:
            await asyncio.sleep(0.02)
            if self._lp is not None and self._thread_error is None and self._lp.died():
                self._loop_died()
            self.events.pump(self.loop, self.journal)
            if (all(f.ended for f in self.feed_runners) and self.settings.stop_when_feeds_end
                    and self.executor is not None and self.executor.idle()
                    and len(self.tick_ring) == 0):
                self.request_stop()
            now = time.monotonic()
            if now - last_snap >= self.settings.snapshot_interval_s:
                last_snap = now
                self.save_snapshot()

    def save_snapshot(self) -> None:
        """Write the engine snapshot atomically."""
        try:
            save_atomic(self.settings.snapshot_path, self.state())
        except OSError as exc:
            _log.error("snapshot not saved: %s", exc)

    async def run(self, *, install_signals: bool = True,
                  on_started: Callable[[Engine], None] | None = None) -> int:
        """Start, trade until a stop is requested, shut down gracefully; returns the exit code.

        ``on_started`` is called once the engine trades (e.g. to print the ops address).
        """
        await self.start()
        if on_started is not None:
            on_started(self)
        aloop = asyncio.get_running_loop()
        installed: dict[signal.Signals, Any] = {}  # signal -> the handler it had before
        if install_signals:
            for sig, fn in ((signal.SIGINT, self._on_sigint), (signal.SIGTERM, self.request_stop),
                            (signal.SIGHUP, self.reload)):
                try:
                    before = signal.getsignal(sig)
                    aloop.add_signal_handler(sig, fn)
                    installed[sig] = before
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        try:
            assert self._stop_requested is not None
            await self._stop_requested.wait()
        finally:
            for sig, before in installed.items():
                aloop.remove_signal_handler(sig)
                # asyncio leaves the default behind; the caller's own handler goes back
                if before is not None:
                    signal.signal(sig, before)
            await self.shutdown()
        if self._thread_error is not None:
            return 1
        return self.exit_code

    def _on_sigint(self) -> None:
        note_interrupt()  # so that the CLI takes a copy of this Ctrl-C for the same one
        self.request_stop()

    async def shutdown(self) -> None:
        """Graceful stop: no new intents, cancels if configured, drain, park, snapshot, flush."""
        self.ready = False
        self.control[0]["pause"] = 1
        for t in self._tasks:
            if not t.get_name().startswith("engine-housekeeping"):
                t.cancel()
        ex = self.executor
        if ex is not None:
            await asyncio.sleep(0.05)  # intents already accepted reach the ring
            await ex.drain(5.0)
            ex.refuse_new = Reason.PAUSED
            if self.settings.cancel_on_stop:
                await self._cancel_all()
            await ex.drain(5.0)
            t0 = time.monotonic()
            while len(self.report_ring) and self._loop_running() and time.monotonic() - t0 < 2.0:
                await asyncio.sleep(0.005)
        self._shutdown = True
        if self._lp is not None:
            await self._lp.stop()
        self._stop[0] = 1
        self._resume.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10.0)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if ex is not None:
            await ex.stop()
        self.events.pump(self.loop, self.journal)
        if self.ops is not None:
            await self.ops.stop()
        self.save_snapshot()
        self._journal_control("stop", exit_code=self.exit_code)
        for b in self.brokers.values():
            try:
                await b.close()
            except Exception as exc:
                _log.warning("closing broker %s: %s", getattr(b, "name", "?"), exc)
        self.events.stop()
        if self.journal is not None:
            self.journal.close()
        if self._lp is not None:
            self._lp.release()  # the loop process has exited: its name goes, our view stays

    async def _cancel_all(self) -> None:
        orders = self.loop.ctx.orders
        live = orders[(orders["state"] >= 1) & (orders["state"] <= 4)]

        async def cancel(o: Any) -> None:
            venue = self.universe.venues[int(o["venue"])]
            broker = self.brokers.get(venue)
            if broker is None:
                return
            try:
                await broker.cancel(int(o["client_id"]))
            except Exception as exc:
                _log.warning("cancel on stop of %d failed: %s", int(o["client_id"]), exc)

        # all at once under one deadline: a stop must not wait one timeout per order
        try:
            await asyncio.wait_for(asyncio.gather(*(cancel(o) for o in live)),
                                   self.settings.submit_timeout_s)
        except TimeoutError:
            _log.warning("cancels on stop still unanswered after %.1fs", self.settings.submit_timeout_s)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0 and self._loop_running():
            st = self.loop.ctx.orders["state"]
            if not ((st >= 1) & (st <= 4)).any():
                break
            await asyncio.sleep(0.01)

    def kill_reason(self) -> str | None:
        """Name of the kill reason, or None while armed."""
        r = kill_reason(self.control)
        return r.name if r else None


__all__ = ["Engine"]
