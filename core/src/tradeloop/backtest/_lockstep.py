"""The replay feed: recorded ticks through a running engine, in lockstep with it.

The engine runs as in paper trading — the fused loop on its own thread over rings, the
executor taking intents to the simulated venue's broker, reports flowing back through the
report ring — fed by a paced feed instead of a live source. The feed pushes ticks in
batches and steps the loop (``FusedLoop.stepping``): the loop takes only the ticks the
feed allows, holds after any tick whose intents went out, and runs on the ticks' clock.
In the order the backtest loop uses:

1. the venue sees a tick before the loop does. While it is quiet (nothing live or queued)
   that only moves its book, so the loop takes a run of ticks and the venue catches up
   before any request reaches it (``VenueFirst``) and at the run's end; otherwise one
   tick at a time, its reports reaching the report ring before the loop may take it;
2. after a tick or run whose intents went out, the feed waits until the executor is idle
   (every intent reached the venue, every report is back in the report ring) and the loop
   has applied those reports and sent what strategies send on them, until quiet.

So the fills equal a backtest's of the same ticks at any speed; ``original`` and ``N``
only add waits to keep the recorded spacing (divided by N).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
from tradeloop_sdk import TICK_DTYPE, Broker, DataStats, copy_ticks

from ._runner import _sample_prices

__all__ = ["LockstepFeed", "VenueFirst"]

#: ticks pushed to the tick ring at a time (its capacity bounds this too)
_BATCH = 4096
#: one wait on the engine this long is a stuck replay, not a slow one (a cold compile of
#: the loop takes a minute or two): fail naming what was awaited instead of spinning on
_STUCK_S = 600.0


def _at_least(ex: Any, n: int) -> bool:
    return int(ex.reports_received) >= n


class LockstepFeed:
    """A DataProvider whose ``stream()`` paces recorded ticks through a running engine."""

    name = "replay"

    def __init__(self, chunks: Iterator[np.ndarray], speed: float, equity_interval_ns: int) -> None:
        self._chunks = chunks
        self.speed = speed
        self.engine: Any = None
        self.broker: Any = None
        self.equity_interval_ns = equity_interval_ns
        self.n_ticks = 0
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self.prices: list[np.ndarray] = []
        self.equity: list[tuple[int, float, float, float, float, float, float, float]] = []
        self.interrupted = False
        #: ticks released one at a time (the venue had work) and in runs (it had none)
        self.stepped = 0
        self.batched = 0
        self._now = 0
        self._next_eq = np.iinfo(np.int64).min
        self._batch = np.zeros(0, TICK_DTYPE)
        self._ts = np.zeros(0, np.int64)
        self._start = 0  # the loop's ticks_taken() when the batch was pushed
        self._fed = 0  # ticks of the batch the venue has seen
        self._lazy = False  # the loop runs ahead of the venue, which catches up on requests

    def chunks(self, **_: Any) -> Iterator[np.ndarray]:
        """Not a historical source: the engine reads :meth:`stream`."""
        return iter(())

    def stats(self) -> DataStats:
        """Rows replayed so far."""
        return DataStats(rows=self.n_ticks)

    # -- the engine side -------------------------------------------------------------------

    async def _until(self, done: Callable[[], bool], what: str) -> None:
        """Yield to the event loop until ``done()``; after ``_STUCK_S`` raise, naming ``what``
        and the loop's state."""
        t0 = time.monotonic()
        while not done():
            await asyncio.sleep(0)
            if time.monotonic() - t0 > _STUCK_S:
                loop = self.engine.loop
                hb = int(self.engine.control[0]["heartbeat_ns"])
                raise RuntimeError(
                    f"replay stuck: waited {_STUCK_S:.0f} s for {what} (loop heartbeat "
                    f"{hb}, ticks taken {self._taken()} of a batch of {len(self._batch)}, "
                    f"allowed {loop.ticks_allowed()}, venue fed {self._fed})"
                )

    async def _settle(self) -> None:
        def idle() -> bool:
            ex = self.engine.executor
            return ex is not None and bool(ex.idle())

        await self._until(idle, "the executor to go idle")

    async def _next_poll(self) -> None:
        # a new poll began, so the one before it (and every intent it emitted) is done
        control = self.engine.control
        hb = int(control[0]["heartbeat_ns"])
        await self._until(lambda: int(control[0]["heartbeat_ns"]) != hb, "the loop's next poll")

    def _taken(self) -> int:
        """Ticks of the batch the loop has taken."""
        return int(self.engine.loop.ticks_taken()) - self._start

    async def _advance(self, end: int) -> int:
        """Wait until the loop has processed ticks ``[.., end)`` of the batch, or holds
        after an earlier one whose intents went out; returns the ticks it took."""
        loop = self.engine.loop
        await self._until(lambda: self._taken() >= end or loop.ticks_allowed() <= 0,
                          f"the loop to take ticks up to {end}")
        await self._next_poll()
        return self._taken()

    async def _quiesce(self, applied: int) -> None:
        """Settle the executor, then let the loop apply what it pushed and react, until quiet.

        The venue answers some intents at once (latency 0: an IOC that finds no liquidity,
        a fill); in a backtest the loop applies those reports, and sends what strategies
        send on them (a hedge), on the same tick. ``applied`` counts the reports the loop
        had taken when it processed the tick.
        """
        ex = self.engine.executor
        ring = self.engine.report_ring
        while True:
            await self._settle()
            pushed = int(ex.reports_pushed)
            if pushed == applied:
                return
            await self._until(lambda: len(ring) == 0, "the loop to apply the report ring")
            await self._next_poll()
            applied = pushed

    # -- the venue side --------------------------------------------------------------------

    def _quiet(self) -> bool:
        quiet = getattr(self.broker, "quiet", None)
        return bool(quiet is not None and quiet())

    def _catch_up(self, k: int) -> None:
        """Let the venue see ticks ``[.., k)`` of the batch (it is quiet: no report)."""
        if k > self._fed:
            self.broker.feed(self._batch[self._fed : k])
            self._fed = k

    def before_request(self) -> None:
        """Called before any request reaches the venue: it must see every tick the loop has
        taken first, as in a backtest, where an order meets the book of its tick."""
        if self._lazy:
            self._catch_up(self._taken())

    def tick_now(self) -> int:
        """The replayed time intents carry (backtest semantics): the tick being processed."""
        if self._lazy:
            k = self._taken()
            if k > 0:
                return int(self._ts[k - 1])
        return self._now

    # -- pacing ----------------------------------------------------------------------------

    async def _due(self, ts: np.ndarray, i: int, m: int, t0: float) -> int:
        """Wait for tick ``i``'s time (scaled by speed); the end of the ticks due by now."""
        assert self.first_ts is not None
        wait = t0 + (int(ts[i]) - self.first_ts) / 1e9 / self.speed - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        now = self.first_ts + (time.monotonic() - t0) * self.speed * 1e9
        return i + max(1, int(np.searchsorted(ts[i:m], now, side="right")))

    def _segment_end(self, k: int) -> int:
        """Where a run from tick ``k`` stops: after the next equity sample's tick."""
        n = len(self._ts)
        j = k + int(np.searchsorted(self._ts[k:], self._next_eq, side="left"))
        return n if j >= n else j + 1

    # -- the lockstep ----------------------------------------------------------------------

    async def _release(self) -> None:
        """Let the loop process the pushed batch, the venue seeing each tick before it.

        While the venue is quiet (no live order, nothing queued), a tick only moves its
        book: the loop takes a run of ticks at its own speed and the venue catches up just
        before any request reaches it, and at the run's end. Otherwise the venue sees one
        tick, its reports reach the report ring, and only then the loop takes the tick.
        """
        loop = self.engine.loop
        ex = self.engine.executor
        control = self.engine.control
        n = len(self._batch)
        k = 0
        while k < n:
            # here the venue has seen exactly the ticks the loop took: self._fed == k
            applied = int(ex.reports_pushed)
            sent = int(control[0]["intents_out"])
            if self._quiet():
                end = self._segment_end(k)
                self._lazy = True
                loop.allow_ticks(end - k)
                done = await self._advance(end)
                self._lazy = False
                self._catch_up(done)
                self.batched += done - k
            else:
                seen = ex.reports_received
                n_reps = len(self.broker.feed(self._batch[k : k + 1]))
                self._fed = k + 1
                # reports due at this tick reach the loop before the tick does, as in a
                # backtest: wait for the executor to take them from the broker's stream
                await self._until(partial(_at_least, ex, seen + n_reps),
                                  "the executor to take the venue's reports")
                self._now = int(self._ts[k])
                await self._settle()
                applied = int(ex.reports_pushed)
                loop.allow_ticks(1)
                done = await self._advance(k + 1)
                self.stepped += done - k
            self._now = int(self._ts[done - 1])  # done > k: the loop takes what it is allowed
            # the loop has applied every report pushed before it took the tick(s); if no
            # intent went out since, nothing more can come back and the executor has no work
            if int(control[0]["intents_out"]) != sent:
                await self._quiesce(applied)
            self.n_ticks += done - k
            k = done
            ts = int(self._ts[k - 1])
            self.last_ts = ts
            if ts >= self._next_eq:
                self._sample(ts)
                self._next_eq = ts + self.equity_interval_ns

    def _sample(self, ts: int) -> None:
        # the loop is quiescent here (lockstep): its ledger can be read from this thread
        ctx = self.engine.loop.ctx
        pos = ctx.positions
        with np.errstate(invalid="ignore"):
            mark = 0.5 * (ctx.books["bid"] + ctx.books["ask"])
            mark = np.where(np.isfinite(mark), mark, ctx.books["last"])
            value = np.where(pos["qty"] != 0, pos["qty"] * mark, 0.0)
        cash = float(ctx.cash.sum())
        net = float(value.sum())
        self.equity.append((ts, cash + net, cash, float(pos["unrealized"].sum()),
                            float(pos["realized"].sum()), float(pos["fees"].sum()),
                            float(np.abs(value).sum()), net))

    async def stream(self) -> AsyncIterator[np.ndarray]:
        """Batches of ticks for the tick ring, each released in lockstep with the engine,
        paced by ``speed``."""
        loop = self.engine.loop
        # intents carry the replayed tick's time (backtest semantics), not their symbol's
        self.engine.executor.tick_now = self.tick_now
        room = max(1, min(_BATCH, int(self.engine.tick_ring.capacity)))
        loop.stepping(True)
        t0 = time.monotonic()
        try:
            for chunk in self._chunks:
                n = len(chunk)
                if n == 0:
                    continue
                self.prices.append(_sample_prices(chunk))
                ts = chunk["ts_recv"].astype(np.int64)
                if self.first_ts is None:
                    self.first_ts = int(ts[0])
                i = 0
                while i < n:
                    m = min(n, i + room)
                    if self.speed != float("inf"):
                        m = await self._due(ts, i, m, t0)
                    self._batch = copy_ticks(chunk[i:m])
                    self._ts = ts[i:m]
                    self._start = loop.ticks_taken()
                    self._fed = 0
                    yield self._batch  # into the tick ring; the loop takes none until allowed
                    await self._release()
                    i = m
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.interrupted = True
            raise
        finally:
            self._lazy = False


class VenueFirst:
    """A broker whose requests first let the replay's venue see the ticks the loop took."""

    def __init__(self, inner: Broker, feed: LockstepFeed) -> None:
        self._inner = inner
        self._feed = feed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submit(self, intent: Any) -> None:
        """The inner broker's submit, after the venue caught up."""
        self._feed.before_request()
        await self._inner.submit(intent)

    async def cancel(self, client_id: int) -> None:
        """The inner broker's cancel, after the venue caught up."""
        self._feed.before_request()
        await self._inner.cancel(client_id)

    async def replace(self, client_id: int, qty: Any, price: Any) -> None:
        """The inner broker's replace, after the venue caught up."""
        self._feed.before_request()
        await self._inner.replace(client_id, qty, price)
