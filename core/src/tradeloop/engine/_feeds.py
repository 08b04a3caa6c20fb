"""Feeds: data-provider streams as asyncio tasks writing ticks into the quote ring.

Each feed is watched. A feed that ends, raises, or stays quiet longer than
``stale_after_s`` is *unhealthy*: its venues are tainted (``tainted_until`` set to the far
future on every book of those venues, so strategies that honour ``is_tainted`` stop
quoting), it is counted, and it is reopened with exponential backoff. The first batch after
a reconnect clears the taint. Quality flags inside the data (crossed, gap, ...) are the
quality gates' job, inside the loop.

The quote ring is DROP_OLDEST: under overload old quotes go first and are counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from tradeloop_sdk import DataProvider, copy_ticks

from ._metrics import EngineMetrics

_log = logging.getLogger("tradeloop.engine.feeds")

#: ``tainted_until`` written for an unhealthy feed; only this value is cleared on recovery,
#: so a gate's own (finite) taint is left alone.
FEED_TAINT = np.iinfo(np.int64).max


class FeedRunner:
    """Runs one data provider's ``stream()`` into ``tick_ring`` with stale detection."""

    def __init__(
        self,
        provider: DataProvider,
        tick_ring: Any,
        books: np.ndarray,
        *,
        name: str = "",
        metrics: EngineMetrics | None = None,
        stale_after_s: float = 5.0,
        backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        reconnect_on_end: bool = False,
        stamp_recv: bool = True,
        on_change: Callable[[str, bool, str], None] | None = None,
        taps: list[Callable[[np.ndarray], Any]] | None = None,
    ) -> None:
        if stale_after_s <= 0:
            raise ValueError(f"feed stale_after_s must be > 0, got {stale_after_s}")
        self.provider = provider
        self.ring = tick_ring
        self.books = books
        self.name = name or getattr(provider, "name", "feed")
        self.metrics = metrics or EngineMetrics()
        self.stale_after_s = stale_after_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.reconnect_on_end = reconnect_on_end
        self.stamp_recv = stamp_recv
        self.on_change = on_change
        #: called with each batch before the loop sees it (paper brokers match on it)
        self.taps = list(taps or [])
        self.healthy = False
        self.ended = False
        self.ticks = 0
        self.reconnects = 0
        self.stale_events = 0
        self._venues: set[int] = set()
        self._last = time.monotonic()

    # -- health ---------------------------------------------------------------------------
    def _venue_ids(self) -> list[int]:
        return sorted(self._venues) if self._venues else list(range(self.books.shape[0]))

    def _set_unhealthy(self, why: str) -> None:
        if not self.healthy and self.stale_events and why != "disconnect":
            return
        self.healthy = False
        self.stale_events += 1
        self.metrics.stale_quotes.inc(feed=self.name, why=why)
        for v in self._venue_ids():
            self.books[v, :]["tainted_until"] = FEED_TAINT
        _log.warning("feed %s unhealthy (%s): venues %s tainted", self.name, why, self._venue_ids())
        if self.on_change:
            self.on_change(self.name, False, why)

    def _set_healthy(self) -> None:
        self.healthy = True
        for v in self._venue_ids():
            row = self.books[v, :]
            row["tainted_until"] = np.where(row["tainted_until"] == FEED_TAINT, 0, row["tainted_until"])
        if self.on_change:
            self.on_change(self.name, True, "ok")

    # -- tasks ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Stream, push, reconnect with backoff; runs until cancelled (or the source ends)."""
        watchdog = asyncio.get_running_loop().create_task(self._watchdog())
        backoff = self.backoff_s
        try:
            while True:
                try:
                    async for batch in self.provider.stream():
                        self._push(batch)
                        backoff = self.backoff_s
                    if not self.reconnect_on_end:
                        self.ended = True
                        _log.info("feed %s ended", self.name)
                        return
                    self._set_unhealthy("ended")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    _log.warning("feed %s dropped: %s", self.name, exc)
                    self._set_unhealthy("disconnect")
                self.reconnects += 1
                self.metrics.reconnects.inc(kind="feed", feed=self.name)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
        finally:
            watchdog.cancel()

    def _push(self, batch: np.ndarray) -> None:
        n = int(batch.shape[0])
        if n == 0:
            return
        now = time.time_ns()
        if self.stamp_recv:
            batch = copy_ticks(batch)
            batch["ts_recv"] = now
        self._venues.update(int(v) for v in np.unique(batch["venue"]))
        self._last = time.monotonic()
        if not self.healthy:
            self._set_healthy()
        for tap in self.taps:
            tap(batch)
        done = 0
        while done < n:  # DROP_OLDEST: only a batch larger than the ring comes back short
            done += self.ring.push_many(batch[done:])
        self.ticks += n
        self.metrics.ticks.inc(n, feed=self.name)

    async def _watchdog(self) -> None:
        period = max(0.01, self.stale_after_s / 4)
        while True:
            await asyncio.sleep(period)
            if self.healthy and time.monotonic() - self._last > self.stale_after_s:
                self._set_unhealthy("quiet")


__all__ = ["FEED_TAINT", "FeedRunner"]
