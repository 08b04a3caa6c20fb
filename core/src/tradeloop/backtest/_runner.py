"""Config -> components -> fused loop -> results.

The runner builds every component the config names through the registry, asks each for
its hot path (strategies, stages, guards and the simulated venue, which the ``broker``
entry names), fuses them into one compiled loop, and feeds it the data provider's chunks.
Between chunks (never inside one) it reports progress and notices Ctrl-C: an interrupted
run keeps everything processed so far and says so.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from tradeloop_sdk import ComponentKind, ConfigError, TickKind

from .._registry import Registry
from ..config import Config
from ..loop import build_loop
from ._artifacts import collect_sections
from ._prefetch import Prefetch
from ._progress import NullProgress, RunProgress
from ._results import PRICE_DTYPE, BacktestResults

__all__ = ["build_components", "default_equity_interval", "run_backtest", "run_window", "to_ns"]

log = logging.getLogger(__name__)

#: price points kept per chunk for the charts (the loop sees every tick regardless), and
#: at least one every _PRICE_STRIDE ticks: the density 65,536-tick chunks gave, whatever
#: length of chunk a source serves
_PRICE_POINTS_PER_CHUNK = 512
_PRICE_STRIDE = 128


def to_ns(value: datetime | str | int | None, key: str = "") -> int | None:
    """ns since the epoch from a datetime (naive = UTC), an ISO date/time string, or ns;
    a ConfigError naming ``key`` for anything else."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(key=key, found=repr(value),
                              expected="an ISO date or date-time, e.g. 2024-01-01") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1_000_000) * 1000


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


def run_window(
    config: Config, universe: Any, start: datetime | str | int | None, end: datetime | str | int | None,
    symbols: Sequence[str] | None,
) -> tuple[int | None, int | None]:
    """(start_ns, end_ns) of a run: the overrides, else the config's ``[backtest]`` window;
    a ConfigError naming the bad value (a date, an empty window, an unknown symbol)."""
    start_ns = to_ns(start, "from") if start is not None else to_ns(config.backtest.start, "backtest.from")
    end_ns = to_ns(end, "to") if end is not None else to_ns(config.backtest.end, "backtest.to")
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise ConfigError(key="to" if end is not None else "backtest.to", found=_iso(end_ns),
                          expected=f"a time after the start, {_iso(start_ns)}")
    for s in symbols or ():
        if s not in universe.symbols:
            raise ConfigError(key="symbols", found=repr(s),
                              expected=f"a symbol of the universe: {', '.join(universe.symbols)}")
    return start_ns, end_ns


def default_equity_interval(start_ns: int | None, end_ns: int | None) -> int:
    """About 2,000 equity samples over the period, at least one a second (60 s if unknown)."""
    if start_ns is None or end_ns is None or end_ns <= start_ns:
        return 60 * 10**9
    return max(10**9, (end_ns - start_ns) // 2000)


#: Components whose params a backtest compiles into its loop: the data-quality gates, the
#: guards and the venue, whose settings stay put while a strategy is tuned. Constant params
#: save 5 to 10 % a tick (their loads fold away, and branches on them are decided when the loop
#: compiles); each new set of their values compiles a loop once (~25 s), then the disk cache
#: has it. A strategy's or stage's params stay arguments: a new value never recompiles.
SPECIALIZED_KINDS = frozenset({ComponentKind.GATE, ComponentKind.GUARD, ComponentKind.VENUE})


def build_components(config: Config, universe: Any, reg: Registry) -> tuple[Any, list[Any], list[str]]:
    """The data provider, the hot paths in loop order, and their display names."""
    parts = reg.build(config)
    if parts.data is None:
        raise ConfigError(key="data", found="nothing", expected="a data provider, e.g. use = \"synthetic\"")
    if parts.broker is None:
        raise ConfigError(key="broker", found="nothing", expected="a venue for the backtest, e.g. use = \"sim\"")
    provider = reg.call(parts.data, "tradeloop_data_provider", universe=universe)
    if provider is None:
        raise ConfigError(key="data.use", found=config.data.use if config.data else "", expected="a plugin implementing tradeloop_data_provider")
    hot, names = [], []
    specs = [("strategies", c) for c in config.strategies] + [("stages", c) for c in config.stages] + [
        ("guards", c) for c in config.guards
    ]
    instances = [*parts.strategies, *parts.stages, *parts.guards]
    for i, ((kind, spec), inst) in enumerate(zip(specs, instances, strict=True)):
        hp = reg.call(inst, "tradeloop_hot_path", universe=universe)
        if hp is None:
            raise ConfigError(key=f"{kind}[{i}].use", found=spec.use, expected="a component with a hot path (tradeloop_hot_path)")
        hot.append(hp)
        names.append(spec.label)
    venue = reg.call(parts.broker, "tradeloop_hot_path", universe=universe)
    if venue is None:
        raise ConfigError(
            key="broker.use",
            found=config.broker.use if config.broker else "",
            expected="a simulated venue with a hot path (backtests need one, e.g. use = \"sim\")",
        )
    hot.append(venue)
    names.append(config.broker.label if config.broker else "venue")
    return provider, hot, names


def _sample_prices(ticks: np.ndarray) -> np.ndarray:
    step = max(1, min(len(ticks) // _PRICE_POINTS_PER_CHUNK, _PRICE_STRIDE))
    t = ticks[::step]
    quote = t["kind"] == int(TickKind.QUOTE)
    with np.errstate(invalid="ignore"):
        price = np.where(quote, 0.5 * (t["bid"] + t["ask"]), t["price"])
    out = np.zeros(len(t), PRICE_DTYPE)
    out["ts"], out["venue"], out["symbol"], out["price"] = t["ts_recv"], t["venue"], t["symbol"], price
    return out[np.isfinite(price)]


def _marks(ctx: Any, universe: Any) -> dict[tuple[str, str], float]:
    out = {}
    for v, vn in enumerate(universe.venues):
        for s, sn in enumerate(universe.symbols):
            b = ctx.books[v, s]
            m = 0.5 * (float(b["bid"]) + float(b["ask"]))
            if not math.isfinite(m):
                m = float(b["last"])
            out[(vn, sn)] = m
    return out


def run_backtest(
    config: Config,
    *,
    start: datetime | str | int | None = None,
    end: datetime | str | int | None = None,
    symbols: Sequence[str] | None = None,
    progress: RunProgress | None = None,
    name: str | None = None,
    equity_interval_ns: int | None = None,
    cache_dir: Path | None = None,
    provider: Any = None,
    specialize: bool | None = None,
) -> BacktestResults:
    """Run ``config`` as a backtest; ``start``/``end``/``symbols`` override the config's.

    ``provider`` (any DataProvider) replaces the config's data source, e.g. to run over
    ticks already in memory.

    ``specialize`` (default: the config's ``backtest.specialize``) compiles the params of
    the gates, guards and the venue into the loop (see :data:`SPECIALIZED_KINDS`).

    KeyboardInterrupt between chunks stops the run and returns partial results
    (``interrupted=True``).
    """
    progress = progress or NullProgress()
    phase = getattr(progress, "phase", None)  # optional (see RunProgress)
    universe = config.universe.to_universe()
    start_ns, end_ns = run_window(config, universe, start, end, symbols)
    reg = Registry(disabled=config.plugins.disabled)
    configured, hot, names = build_components(config, universe, reg)
    provider = provider if provider is not None else configured
    interval = equity_interval_ns or default_equity_interval(start_ns, end_ns)
    if specialize is None:
        specialize = config.backtest.specialize
    loop = build_loop(
        universe, hot, mode="backtest", equity_interval_ns=interval,
        initial_cash=dict(config.backtest.cash), cache_dir=cache_dir,
        specialize=[k for k, h in enumerate(hot) if h.kind in SPECIALIZED_KINDS] if specialize else (),
    )
    loop.ctx.control[0]["cancel_on_kill"] = int(config.engine.cancel_on_kill)
    loop.ctx.control[0]["flatten_on_kill"] = int(config.engine.flatten_on_kill)
    guard_names = tuple(n for n, h in zip(names, hot, strict=True) if h.kind == ComponentKind.GUARD)
    cash = {
        f"{v}:{c}": Decimal(str(a)) for v in universe.venues for c, a in config.backtest.cash.items()
    }
    prices: list[np.ndarray] = []
    n_ticks, first_ts, last_ts = 0, None, None
    interrupted = False
    reg.hook.tradeloop_start(engine=loop)
    progress.start(start_ns, end_ns)
    # Compile the fused loop (or load it from numba's cache) before the clock starts, so
    # that ticks per second measures the run, not the compiler. First, too: numba's own
    # start-up (~1 s) goes to whichever compiled call comes first, and a data source's
    # kernel must not be charged with it as "reading data".
    if phase is not None:
        phase("compile")
    w0 = time.perf_counter()
    loop.compile()
    warmup = time.perf_counter() - w0
    if phase is not None:
        phase("run")
    t0 = time.perf_counter()
    c0 = time.process_time()
    chunks = Prefetch(
        provider.chunks(start_ns=start_ns, end_ns=end_ns, symbols=list(symbols) if symbols else None)
    )
    data_s = 0.0
    try:
        while True:
            d0 = time.perf_counter()
            chunk = chunks.get()
            if chunk is None:
                break
            data_s += time.perf_counter() - d0
            if len(chunk) == 0:
                continue
            loop.run(chunk)
            n_ticks += len(chunk)
            if first_ts is None:
                first_ts = int(chunk["ts_recv"][0])
            last_ts = int(chunk["ts_recv"][-1])
            prices.append(_sample_prices(chunk))
            progress.advance(len(chunk), last_ts)
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted: keeping the results of %d ticks", n_ticks)
    finally:
        chunks.close()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if n_ticks:
        loop.sample_equity()
    if not interrupted and end_ns is not None:
        progress.advance(0, end_ns)
    progress.close()
    # Logs are drained once, here: the loop keeps every chunk's until then (draining after
    # each chunk only cost four calls a chunk).
    # the period is what the data covered (a run that ends early is not stretched)
    run_start = start_ns if start_ns is not None else first_ts
    run_end = last_ts if last_ts is not None else run_start
    res = BacktestResults(
        name=name or Path(config.source or "backtest").stem,
        venues=universe.venues,
        symbols=universe.symbols,
        initial_cash=cash,
        reports=loop.drain_reports(),
        intents=loop.drain_intents(),
        events=loop.drain_events(),
        equity=loop.drain_equity(),
        prices=np.concatenate(prices) if prices else np.zeros(0, PRICE_DTYPE),
        marks=_marks(loop.ctx, universe),
        component_names=tuple(names),
        guard_names=guard_names,
        n_ticks=n_ticks,
        elapsed_s=elapsed,
        data_s=data_s,
        warmup_s=warmup,
        cpu_s=cpu,
        start_ns=run_start or 0,
        end_ns=run_end or 0,
        interrupted=interrupted,
        seed=config.backtest.seed,
        config_source=config.source,
    )
    reg.hook.tradeloop_stop(engine=loop)
    res.sections = collect_sections(reg.hook.tradeloop_report_sections(results=res))
    return res
