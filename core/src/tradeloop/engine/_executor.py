"""The executor: intents from the order ring to the brokers, broker reports to the report ring.

It runs on the engine's asyncio thread. Per batch of intents popped from the intent ring it
journals them and the watermark covering their ids in one commit (group commit), and only
then hands them to the venue's broker, one sequential worker per venue so a cancel never
overtakes the order it cancels. Each venue has its own broker object and report stream: a
broker serving several venues is registered as one view per venue (``_venues``), never
as the same object twice, which would stream each of its reports once per venue.

Failures become reports, so the loop's order table never waits forever:

* ``OrderRejected``: a REJECTED report with the venue's reason.
* circuit open: REJECTED with ``CIRCUIT_OPEN`` (nothing is sent).

The per-venue circuit breaker judges the venue, not the socket: a raised rejection, a
timeout or a lost connection is a failure at once; a NEW that was sent counts when the
venue answers it on the report stream (ACK or fill: success, REJECTED: failure), so a
venue that accepts requests but rejects every order (say, insufficient balance) opens it
too. Cancels and replaces count when the call returns.
* timeout / ``ConnectionLost``: ambiguous, the venue may or may not have the order. The
  order is reported REJECTED (``TIMEOUT``) so strategies move on, and a best-effort cancel
  of that client id is sent; a late ACK is then an invalid transition and late fills are
  still booked (the kernel books money it is told about). The id is never resubmitted.

Reports (from broker streams and synthesised ones) are journaled, then pushed into the
report ring; a full report ring is waited on, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from tradeloop_sdk import (
    Broker,
    ConnectionLost,
    Intent,
    IntentAction,
    OrderRejected,
    Reason,
    Report,
    ReportKind,
    Universe,
)
from tradeloop_sdk._breaker import CircuitBreaker

from ._journal import INTENT, REPORT, SUBMIT, SUBMIT_ERROR, Journal, record_data
from ._metrics import EngineMetrics
from ._tap import ReportTap
from ._venues import check_distinct

_log = logging.getLogger("tradeloop.engine.executor")

_POP_BATCH = 256


class Executor:
    """Moves intents to brokers and reports back; see the module docstring for the policy."""

    def __init__(
        self,
        intent_ring: Any,
        report_ring: Any,
        brokers: Mapping[str, Broker],
        journal: Journal,
        universe: Universe,
        *,
        metrics: EngineMetrics | None = None,
        breakers: Mapping[str, CircuitBreaker] | None = None,
        on_report: Callable[[Report], None] | None = None,
        submit_timeout_s: float = 5.0,
        idle_sleep_s: float = 0.0002,
        tick_ts: Callable[[int, int], int] | None = None,
        tick_clock: bool = False,
    ) -> None:
        self.intent_ring = intent_ring
        self.report_ring = report_ring
        check_distinct(brokers)
        self.brokers = dict(brokers)
        self.journal = journal
        self.universe = universe
        self.metrics = metrics or EngineMetrics()
        self.breakers = dict(breakers or {})
        self.on_report = on_report
        self.submit_timeout_s = submit_timeout_s
        self.idle_sleep_s = idle_sleep_s
        #: receive time of the latest tick of (venue id, symbol id), for tick-to-intent
        self.tick_ts = tick_ts
        #: intents carry tick time (the latest tick of their symbol) instead of the loop's
        #: wall clock: for replays of recorded ticks, whose venue runs on tick time
        self.tick_clock = tick_clock and tick_ts is not None
        #: with ``tick_clock``: the time of the tick the loop is on, when its driver knows it
        #: (a replay does); an intent one venue's tick triggers on another venue, or one sent
        #: on a report, then carries that tick's time, as in a backtest
        self.tick_now: Callable[[], int] | None = None
        self._queues: dict[str, asyncio.Queue[Intent]] = {v: asyncio.Queue() for v in self.brokers}
        self._reports: asyncio.Queue[Report] = asyncio.Queue()
        self._popped_at: dict[int, int] = {}
        #: NEW orders sent whose venue answer (ACK or REJECTED) the breaker still awaits
        self._awaiting_ack: dict[int, CircuitBreaker] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._taps: dict[str, ReportTap] = {}
        self.intents_seen = 0
        self.reports_received = 0
        #: reports (streamed and synthesised) pushed into the report ring so far
        self.reports_pushed = 0
        self._idle_sig: tuple[int, int, int] = (-1, -1, -1)
        self._idle_streak = 0
        self.submitted = 0
        #: set by the engine on shutdown: NEW intents are refused instead of sent
        self.refuse_new: Reason | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, taps: Mapping[str, ReportTap] | None = None) -> None:
        """Start the intent pump, per-venue submitters, report streams and report writer.

        ``taps`` are report streams opened before reconciliation (see :class:`ReportTap`);
        their buffered reports are applied first, then the stream goes on from them.
        """
        self._taps = dict(taps or {})
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._pump_intents(), name="executor-intents"))
        self._tasks.append(loop.create_task(self._write_reports(), name="executor-reports"))
        for venue, broker in self.brokers.items():
            self._tasks.append(loop.create_task(self._submitter(venue, broker), name=f"submit-{venue}"))
            self._tasks.append(loop.create_task(self._stream(venue, broker), name=f"reports-{venue}"))

    async def stop(self) -> None:
        """Cancel the tasks (call :meth:`drain` first for a graceful stop).

        Intents still waiting (in the intent ring or a venue queue) are not sent: each is
        journaled as refused (``PAUSED``, "engine stopped before sending"), never dropped
        silently.
        """
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        left = self.intent_ring.pop_many(len(self.intent_ring) + _POP_BATCH)
        if left.shape[0]:
            self._take(left)
        n = 0
        for q in self._queues.values():
            while not q.empty():
                self._fail(q.get_nowait(), Reason.PAUSED, "engine stopped before sending")
                n += 1
        if n:
            _log.warning("engine stopped with %d intents not sent (journaled as refused)", n)

    def idle(self) -> bool:
        """True when no intent or report is waiting anywhere in the executor.

        A report may sit inside a broker's own stream buffer where the executor cannot see
        it, so idle means: nothing visible is waiting *and* nothing moved over the last
        three calls (callers poll across event-loop turns, which lets a ready stream task
        hand over what it holds).
        """
        sig = (self.reports_received, self.intents_seen, self.submitted)
        if not self._idle_now() or sig != self._idle_sig:
            self._idle_sig, self._idle_streak = sig, 0
            return False
        self._idle_streak += 1
        return self._idle_streak >= 3

    def _idle_now(self) -> bool:
        return (
            len(self.intent_ring) == 0
            and all(q.empty() and not q._unfinished_tasks for q in self._queues.values())  # type: ignore[attr-defined]
            and self._reports.empty()
            and not self._reports._unfinished_tasks  # type: ignore[attr-defined]
        )

    async def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything popped has been sent and every report pushed."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.idle():
                return True
            await asyncio.sleep(0.005)
        return False

    def inject(self, report: Report) -> None:
        """Queue a report (synthesised, or from reconciliation) for journal and report ring."""
        self._reports.put_nowait(report)

    # -- intents --------------------------------------------------------------------------
    async def _pump_intents(self) -> None:
        idle = 0
        while True:
            batch = self.intent_ring.pop_many(_POP_BATCH)
            if batch.shape[0] == 0:
                idle += 1
                await asyncio.sleep(0 if idle < 50 else self.idle_sleep_s)
                continue
            idle = 0
            self._take(batch)
            await asyncio.sleep(0)

    def _take(self, batch: np.ndarray) -> None:
        now = time.time_ns()
        if self.tick_clock:
            batch = batch.copy()
            now_fn = self.tick_now
            for r in batch:
                r["ts"] = (now_fn() if now_fn is not None
                           else self.tick_ts(int(r["venue"]), int(r["symbol"])))  # type: ignore[misc]
        intents = [Intent.from_record(r, self.universe) for r in batch]
        rows = [(INTENT, record_data(it), it.client_id, it.venue, it.symbol) for it in intents]
        # journal and watermark in one commit, before anything leaves the process
        self.journal.append_many(rows, ts_ns=now, reserve_through=int(batch["client_id"].max()))
        self.intents_seen += len(intents)
        for it, rec in zip(intents, batch, strict=True):
            if it.action == IntentAction.NEW:
                self._popped_at[it.client_id] = now
                t_tick = (self.tick_ts(int(rec["venue"]), int(rec["symbol"]))
                          if self.tick_ts and not self.tick_clock else 0)
                lat = now - (t_tick or int(rec["ts"]))
                if 0 <= lat < 60_000_000_000:
                    self.metrics.tick_to_intent.observe(lat / 1e9)
            q = self._queues.get(it.venue)
            if q is None:
                self._fail(it, Reason.INVALID_SYMBOL, f"no broker for venue {it.venue!r}")
                continue
            q.put_nowait(it)

    async def _submitter(self, venue: str, broker: Broker) -> None:
        q = self._queues[venue]
        breaker = self.breakers.get(venue)
        while True:
            it = await q.get()
            try:
                await self._send(venue, broker, breaker, it)
            except Exception:  # never let one intent kill the venue's submitter
                _log.exception("submitting %s failed unexpectedly", it.client_id)
                self._fail(it, Reason.UNKNOWN, "internal error")
            finally:
                q.task_done()

    async def _send(self, venue: str, broker: Broker, breaker: CircuitBreaker | None, it: Intent) -> None:
        if it.action == IntentAction.NEW and self.refuse_new is not None:
            self._fail(it, self.refuse_new, "engine stopping")
            return
        def call() -> Any:
            if it.action == IntentAction.NEW:
                return broker.submit(it)
            if it.action == IntentAction.CANCEL:
                return broker.cancel(it.target_id or it.client_id)
            return broker.replace(it.target_id or it.client_id, it.qty, it.price or 0)  # type: ignore[arg-type]
        # the breaker judges the venue, not the socket: a NEW counts as a success only when
        # the venue ACKs it, and a venue REJECTED report counts as a failure (see _judge)
        if breaker is not None and not breaker.allow():
            self._fail(it, Reason.CIRCUIT_OPEN, f"circuit breaker of {venue} is {breaker.state.name}")
            return
        judged_by_report = breaker is not None and it.action == IntentAction.NEW
        if judged_by_report:
            # registered before sending: the venue's report may overtake the call's reply
            self._awaiting_ack[it.client_id] = breaker  # type: ignore[assignment]
        try:
            try:
                await asyncio.wait_for(call(), self.submit_timeout_s)
            except BaseException:
                if judged_by_report:
                    self._awaiting_ack.pop(it.client_id, None)
                raise
        except OrderRejected as exc:
            self._breaker_failure(breaker)
            self._fail(it, exc.reason, exc.message)
            return
        except (TimeoutError, ConnectionLost, OSError) as exc:
            self._breaker_failure(breaker)
            self._fail(it, Reason.TIMEOUT, f"{type(exc).__name__}: {exc}")
            if it.action == IntentAction.NEW:
                asyncio.get_running_loop().create_task(self._best_effort_cancel(broker, it.client_id))
            return
        except Exception as exc:
            self._breaker_failure(breaker)
            self._fail(it, Reason.UNKNOWN, f"{type(exc).__name__}: {exc}")
            return
        if breaker is not None and not judged_by_report:
            breaker.record_success()
        self.journal.append(SUBMIT, {"action": it.action.name}, client_id=it.client_id,
                            venue=it.venue, symbol=it.symbol)
        if it.action == IntentAction.NEW:
            self.submitted += 1
            self.metrics.orders.inc(venue=venue)

    def _breaker_failure(self, breaker: CircuitBreaker | None) -> None:
        if breaker is not None:
            breaker.record_failure()

    def _judge(self, rep: Report) -> None:
        """The venue's answer to a NEW we sent: ACK (or a fill) closes, REJECTED fails."""
        breaker = self._awaiting_ack.pop(rep.client_id, None)
        if breaker is None:
            return
        if rep.kind == ReportKind.REJECTED:
            breaker.record_failure()
        else:
            breaker.record_success()

    async def _best_effort_cancel(self, broker: Broker, client_id: int) -> None:
        try:
            await asyncio.wait_for(broker.cancel(client_id), self.submit_timeout_s)
        except Exception as exc:  # the venue may not know it: that is the good case
            _log.info("cancel of ambiguous order %d: %s", client_id, exc)

    def _fail(self, it: Intent, reason: Reason, message: str) -> None:
        self.journal.append(SUBMIT_ERROR, {"action": it.action.name, "reason": reason.name,
                                           "message": message[:500]},
                            client_id=it.client_id, venue=it.venue, symbol=it.symbol)
        self.metrics.rejects.inc(reason=reason.name)
        self._popped_at.pop(it.client_id, None)
        self.inject(Report(client_id=it.client_id, venue=it.venue, symbol=it.symbol,
                           kind=ReportKind.REJECTED, side=it.side, reason=reason,
                           leaves_qty=it.qty, ts=time.time_ns(), message=message[:500]))

    # -- reports --------------------------------------------------------------------------
    async def _stream(self, venue: str, broker: Broker) -> None:
        backoff = 0.05
        tap = self._taps.pop(venue, None)
        while True:
            try:
                source = tap.reports() if tap is not None else broker.reports()
                async for rep in source:
                    if tap is not None and tap.known(rep):
                        continue  # a fill reconciliation already took from the venue
                    self.reports_received += 1
                    self._judge(rep)
                    self._reports.put_nowait(rep)
                    backoff = 0.05
                return  # the broker closed its stream
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                tap = None
                self.metrics.reconnects.inc(kind="broker", venue=venue)
                _log.warning("report stream of %s dropped (%s); reconnecting in %.2fs", venue, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                try:
                    await broker.connect()
                except Exception as cexc:
                    _log.warning("reconnect to %s failed: %s", venue, cexc)

    async def _write_reports(self) -> None:
        while True:
            first = await self._reports.get()
            batch = [first]
            while not self._reports.empty():
                batch.append(self._reports.get_nowait())
            try:
                await self._apply_reports(batch)
            finally:
                for _ in batch:
                    self._reports.task_done()

    async def _apply_reports(self, batch: list[Report]) -> None:
        now = time.time_ns()
        self.journal.append_many(
            [(REPORT, record_data(r), r.client_id, r.venue, r.symbol) for r in batch], ts_ns=now)
        recs = np.concatenate([r.to_record(self.universe) for r in batch])
        done = 0
        while done < recs.shape[0]:
            done += self.report_ring.push_many(recs[done:])
            if done < recs.shape[0]:
                await asyncio.sleep(self.idle_sleep_s)  # full: wait, never drop
        self.reports_pushed += recs.shape[0]
        for r in batch:
            self.metrics.reports.inc(kind=r.kind.name)
            if r.kind == ReportKind.ACK:
                t0 = self._popped_at.pop(r.client_id, None)
                if t0 is not None:
                    self.metrics.intent_to_ack.observe(max(0, now - t0) / 1e9)
            elif r.kind == ReportKind.REJECTED:
                self._popped_at.pop(r.client_id, None)
                if r.reason != Reason.NONE and not r.message:
                    self.metrics.rejects.inc(reason=r.reason.name)
            if self.on_report is not None:
                try:
                    self.on_report(r)
                except Exception:
                    _log.exception("report observer failed")


__all__ = ["Executor"]
