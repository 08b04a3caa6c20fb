"""Replay: recorded ticks through the live engine path (paper mode, simulated venue).

The engine runs as in paper trading — the fused loop on its own thread over rings, the
executor taking intents to the simulated venue's broker, reports flowing back through the
report ring — fed by a paced feed instead of a live source. The feed works in lockstep
with the engine, one tick at a time, in the order the backtest loop uses:

1. the venue sees the tick (resting orders may fill) and the executor delivers any report
   to the report ring, which the loop drains before it looks at the next tick;
2. the tick enters the tick ring; the feed waits until the loop has processed it (its
   book counter moved and the loop began its next poll, so every intent of that tick is
   in the intent ring) and the executor is idle again (every intent reached the venue,
   every report is back in the report ring).

So at ``speed="max"`` the fills equal a backtest's of the same ticks; ``original`` and
``N`` add waits to keep the recorded spacing (divided by N). Time-driven guards see the
wall clock in the engine (live semantics), so they may act differently at high speed.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from tradeloop_sdk import DataStats, copy_ticks

from .._kstate import EQUITY_DTYPE
from .._registry import Registry
from ..config import Config
from ..engine._build import funded_broker
from ._results import PRICE_DTYPE, BacktestResults
from ._runner import _marks, _sample_prices, default_equity_interval, to_ns

__all__ = ["LockstepFeed", "parse_speed", "run_replay"]

log = logging.getLogger(__name__)


def parse_speed(text: str) -> float:
    """``original`` -> 1.0, ``max`` -> inf, ``N`` (> 0) -> N; ValueError otherwise."""
    t = text.strip().lower()
    if t == "original":
        return 1.0
    if t == "max":
        return float("inf")
    try:
        v = float(t)
    except ValueError:
        v = 0.0
    if not v > 0:
        raise ValueError(f"--speed must be original, max or a number > 0, got {text!r}")
    return v


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
        self._now = 0
        self._next_eq = np.iinfo(np.int64).min

    def chunks(self, **_: Any) -> Iterator[np.ndarray]:
        """Not a historical source: the engine reads :meth:`stream`."""
        return iter(())

    def stats(self) -> DataStats:
        """Rows replayed so far."""
        return DataStats(rows=self.n_ticks)

    async def _settle(self) -> None:
        ex = self.engine.executor
        while ex is None or not ex.idle():
            await asyncio.sleep(0)
            ex = self.engine.executor

    async def _processed(self, books: np.ndarray, target: int) -> None:
        while int(books["n_ticks"].sum()) < target:
            await asyncio.sleep(0)
        await self._next_poll()

    async def _next_poll(self) -> None:
        # a new poll began, so the one before it (and every intent it emitted) is done
        hb = int(self.engine.control[0]["heartbeat_ns"])
        while int(self.engine.control[0]["heartbeat_ns"]) == hb:
            await asyncio.sleep(0)

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
            while len(ring):
                await asyncio.sleep(0)
            await self._next_poll()
            applied = pushed

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
        """One tick at a time, in lockstep with the engine, paced by ``speed``."""
        books = self.engine.loop.ctx.books
        base = int(books["n_ticks"].sum())
        # intents carry the replayed tick's time (backtest semantics), not their symbol's
        self.engine.executor.tick_now = lambda: self._now
        t0 = time.monotonic()
        try:
            for chunk in self._chunks:
                if len(chunk) == 0:
                    continue
                self.prices.append(_sample_prices(chunk))
                for k in range(len(chunk)):
                    tick = copy_ticks(chunk[k : k + 1])
                    ts = int(tick["ts_recv"][0])
                    if self.first_ts is None:
                        self.first_ts = ts
                    if self.speed != float("inf"):
                        due = t0 + (ts - self.first_ts) / 1e9 / self.speed
                        wait = due - time.monotonic()
                        if wait > 0:
                            await asyncio.sleep(wait)
                    ex = self.engine.executor
                    seen = ex.reports_received if ex is not None else 0
                    n_reps = len(self.broker.feed(tick))
                    # reports due at this tick reach the loop before the tick does, as in a
                    # backtest: wait for the executor to take them from the broker's stream
                    while ex is not None and ex.reports_received < seen + n_reps:
                        await asyncio.sleep(0)
                    await self._settle()
                    self._now = ts
                    # the loop takes these with the tick at the latest
                    applied = int(self.engine.executor.reports_pushed)
                    yield tick
                    self.n_ticks += 1
                    self.last_ts = ts
                    await self._processed(books, base + self.n_ticks)
                    await self._quiesce(applied)
                    if ts >= self._next_eq:
                        self._sample(ts)
                        self._next_eq = ts + self.equity_interval_ns
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.interrupted = True
            raise


def _tee(loop: Any, name: str, sink: list[np.ndarray]) -> None:
    original = getattr(loop, name)

    def drain() -> np.ndarray:
        rows: np.ndarray = original()
        if rows.shape[0]:
            sink.append(rows.copy())
        return rows

    setattr(loop, name, drain)


def _paper_broker(config: Config, universe: Any) -> Any:
    """The config's simulated venue as a paper broker, funded like the backtest.

    See :func:`tradeloop.engine.funded_broker`: both start with the same cash.
    """
    if config.broker is None:
        raise ValueError("replay needs [broker] (the simulated venue, use = \"sim\")")
    reg = Registry(disabled=config.plugins.disabled)
    inst = funded_broker(reg, config, reg.create("brokers", config.broker, key="broker"))
    broker = reg.call(inst, "tradeloop_broker", universe=universe)
    if broker is None:
        raise ValueError(f"broker {config.broker.use!r} offers no paper broker (tradeloop_broker)")
    if not hasattr(broker, "feed"):
        raise ValueError(f"broker {config.broker.use!r} is not a simulated venue: replay needs one")
    return broker


def _simulated(broker: Any, universe: Any) -> tuple[str, ...]:
    """The venues ``broker`` simulates (``[broker.params] venues``, default: all)."""
    venue = getattr(broker, "venue", None)
    venues = tuple(getattr(venue, "venues", None) or universe.venues)
    unknown = [v for v in venues if v not in universe.venues]
    if unknown:
        raise ValueError(f"[broker.params] venues {unknown} are not in [universe] venues "
                         f"{list(universe.venues)}")
    return venues


def run_replay(
    config: Config,
    *,
    speed: float = float("inf"),
    start: datetime | str | int | None = None,
    end: datetime | str | int | None = None,
    symbols: Sequence[str] | None = None,
    provider: Any = None,
    name: str | None = None,
    state_dir: Path | None = None,
) -> BacktestResults:
    """Replay the config's data (or ``provider``'s) through the engine in paper mode."""
    from ..engine import EngineSettings, build_engine, split_venues

    universe = config.universe.to_universe()
    start_ns = to_ns(start if start is not None else config.backtest.start)
    end_ns = to_ns(end if end is not None else config.backtest.end)
    reg = Registry(disabled=config.plugins.disabled)
    if provider is None:
        parts = reg.build(config)
        provider = reg.call(parts.data, "tradeloop_data_provider", universe=universe)
    chunks = provider.chunks(start_ns=start_ns, end_ns=end_ns,
                             symbols=list(symbols) if symbols else None)
    feed = LockstepFeed(iter(chunks), speed, default_equity_interval(start_ns, end_ns))
    with tempfile.TemporaryDirectory(prefix="tradeloop-replay-") as tmp:
        state = Path(state_dir) if state_dir else Path(tmp)
        settings = EngineSettings.from_config(
            config, journal=str(state / "journal.sqlite"), kill_file="", ops_enabled=False,
            stop_when_feeds_end=True, stamp_recv=False, reconnect_feeds=False,
            stale_after_s=1e9, journal_sync="normal", snapshot=str(state / "snapshot.json"),
        )
        broker = _paper_broker(config, universe)
        # one simulated venue serves every venue of the universe; the engine gets a view
        # per venue, so each report is streamed once and each venue reconciled alone
        engine = build_engine(config, settings=settings, feeds=[feed],
                              brokers=split_venues(broker, _simulated(broker, universe),
                                                   universe))
        feed.engine = engine
        feed.broker = broker
        reports: list[np.ndarray] = []
        intents: list[np.ndarray] = []
        events: list[np.ndarray] = []
        for attr, sink in (("drain_reports", reports), ("drain_intents", intents),
                           ("drain_events", events)):
            _tee(engine.loop, attr, sink)
        names = [c.name for c in engine.loop.components]
        guard_names = tuple(c.name for c in engine.loop.components if int(c.kind) == 4)
        t0 = time.perf_counter()
        interrupted = False
        try:
            asyncio.run(engine.run(install_signals=True))
        except KeyboardInterrupt:
            interrupted = True
        elapsed = time.perf_counter() - t0
        marks = _marks(engine.loop.ctx, universe)
    eq = np.array(feed.equity, dtype=[(n, EQUITY_DTYPE[n]) for n in
                                      ("ts", "equity", "cash", "unrealized", "realized", "fees",
                                       "gross", "net")])
    equity = np.zeros(len(eq), EQUITY_DTYPE)
    for n in eq.dtype.names or ():
        equity[n] = eq[n]
    cash = {f"{v}:{c}": a for v in universe.venues for c, a in config.backtest.cash.items()}
    from decimal import Decimal

    res = BacktestResults(
        name=name or Path(config.source or "replay").stem,
        venues=universe.venues,
        symbols=universe.symbols,
        initial_cash={k: Decimal(str(v)) for k, v in cash.items()},
        reports=np.concatenate(reports) if reports else np.zeros(0, engine.loop.ctx.reports.dtype),
        intents=np.concatenate(intents) if intents else np.zeros(0, engine.loop.ctx.intents.dtype),
        events=np.concatenate(events) if events else np.zeros(0, engine.loop.ctx.events.dtype),
        equity=equity,
        prices=np.concatenate(feed.prices) if feed.prices else np.zeros(0, PRICE_DTYPE),
        marks=marks,
        component_names=tuple(names),
        guard_names=guard_names,
        n_ticks=feed.n_ticks,
        elapsed_s=elapsed,
        start_ns=start_ns if start_ns is not None else (feed.first_ts or 0),
        end_ns=feed.last_ts or 0,
        interrupted=interrupted or feed.interrupted,
        seed=config.backtest.seed,
        config_source=config.source,
    )
    return res
