"""Replay: recorded ticks through the live engine path (paper mode, simulated venue).

The engine runs as in paper trading, fed by a :class:`LockstepFeed` (see ``_lockstep``)
instead of a live source, so that the fills equal a backtest's of the same ticks;
``original`` and ``N`` add waits to keep the recorded spacing (divided by N).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
from tradeloop_sdk import Broker

from .._kstate import EQUITY_DTYPE
from .._registry import Registry
from ..config import Config
from ..engine._build import funded_broker
from ._lockstep import LockstepFeed, VenueFirst
from ._results import PRICE_DTYPE, BacktestResults
from ._runner import _marks, default_equity_interval, run_window

__all__ = ["LockstepFeed", "parse_speed", "run_replay"]


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
    start_ns, end_ns = run_window(config, universe, start, end, symbols)
    reg = Registry(disabled=config.plugins.disabled)
    if provider is None:
        parts = reg.build(config)
        provider = reg.call(parts.data, "tradeloop_data_provider", universe=universe)
    chunks = provider.chunks(start_ns=start_ns, end_ns=end_ns,
                             symbols=list(symbols) if symbols else None)
    feed = LockstepFeed(iter(chunks), speed, default_equity_interval(start_ns, end_ns))
    with tempfile.TemporaryDirectory(prefix="tradeloop-replay-") as tmp:
        state = Path(state_dir) if state_dir else Path(tmp)
        # ends as a backtest does, orders left resting: a cancel on stop would wait for a
        # venue that no further tick moves
        settings = EngineSettings.from_config(
            config, journal=str(state / "journal.sqlite"), kill_file="", ops_enabled=False,
            stop_when_feeds_end=True, stamp_recv=False, reconnect_feeds=False,
            stale_after_s=1e9, journal_sync="normal", snapshot=str(state / "snapshot.json"),
            cancel_on_stop=False,
        )
        broker = _paper_broker(config, universe)
        # one simulated venue serves every venue of the universe; the engine gets a view
        # per venue, so each report is streamed once and each venue reconciled alone
        views = split_venues(broker, _simulated(broker, universe), universe)
        engine = build_engine(config, settings=settings, feeds=[feed],
                              brokers={v: cast(Broker, VenueFirst(b, feed))
                                       for v, b in views.items()})
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
