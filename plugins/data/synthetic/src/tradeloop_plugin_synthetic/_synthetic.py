"""The synthetic market: a seeded, regime-switching random walk with jumps, on several venues."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import AsyncIterator, Iterator, Sequence

import attrs
import numpy as np
from tradeloop_sdk import TICK_DTYPE, DataStats, Universe, copy_ticks, hookimpl, param

from . import _kernel as K

YEAR_S = 365.0 * 86_400.0

#: Most ticks of a repeated ``chunks()`` run kept in memory (~64 bytes each): a sweep over
#: strategy or guard params reads the same market at every point, and generating it is
#: most of a point's time. Larger runs are generated every time.
CACHE_MAX_TICKS = 4_000_000

#: The last complete run: (params, ids, window) -> (its chunks, the generator's counters
#: at its end), or None while that market has been asked for only once (a single backtest
#: then pays no copy).
_LAST: dict[tuple[object, ...], tuple[list[np.ndarray], np.ndarray] | None] = {}


def _iso_ns(text: str) -> int:
    d = dt.datetime.fromisoformat(text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    delta = d - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _positive(_inst: object, attribute: attrs.Attribute, value: tuple[float, ...]) -> None:
    if any(not (x > 0) for x in value):
        raise ValueError(f"{attribute.name}: every value must be > 0, found {value}")


@attrs.frozen
class SyntheticParams:
    """Parameters of the synthetic market (volatilities and drifts are annualised)."""

    venues: tuple[str, ...] = param((), doc="venues to quote on; empty: every venue of the run")
    symbols: tuple[str, ...] = param((), doc="symbols to generate; empty: every symbol of the run")
    prices: dict[str, float] = param(factory=dict, doc="start price per symbol")
    default_price: float = param(30_000.0, gt=0, doc="start price of symbols not in prices")
    seed: int = param(42, ge=0, doc="same seed, same ticks (byte for byte)")
    start: str = param("2024-01-01T00:00:00", doc="clock of the first step (UTC) if the run gives none")
    end: str = param("", doc="stop before this time (UTC); empty: start + 1 day unless n_ticks is set")
    n_ticks: int = param(0, ge=0, doc="stop after this many ticks; 0: no count limit")
    interval_ms: float = param(100.0, gt=0, doc="mean time between market steps (exponential)")
    tick_size: float = param(0.01, gt=0, doc="price increment")
    lot_size: float = param(0.0001, gt=0, doc="size increment")
    spread_ticks: int = param(1, ge=1, doc="minimum spread in ticks")
    spread_extra_ticks: float = param(1.0, ge=0, doc="mean extra spread in ticks (exponential)")
    size_mean: float = param(0.5, gt=0, doc="mean quote/trade size (lognormal)")
    size_sigma: float = param(0.8, ge=0, doc="lognormal sigma of sizes")
    trade_prob: float = param(0.25, ge=0, le=1, doc="chance a quote update comes with a trade")
    regime_vols: tuple[float, ...] = param((0.5, 1.5), doc="annualised volatility per regime")
    regime_drifts: tuple[float, ...] = param((0.0, 0.0), doc="annualised drift per regime")
    regime_durations_s: tuple[float, ...] = param(
        (14_400.0, 3_600.0), doc="mean time in each regime (Markov switch to another)"
    )
    jumps_per_day: float = param(4.0, ge=0, doc="Poisson rate of price jumps per symbol")
    jump_bps: float = param(30.0, ge=0, doc="mean absolute jump size (double exponential), bps")
    venue_noise_bps: float = param(2.0, ge=0, doc="sd of each venue's independent price noise")
    venue_noise_halflife_s: float = param(5.0, gt=0, doc="how fast a venue's noise decays")
    chunk_rows: int = param(262_144, ge=16, doc="ticks per chunk")
    rate: float = param(0.0, ge=0, doc="stream(): ticks per second; 0 = as fast as possible")
    wall_clock: bool = param(True, doc="stream(): stamp ticks with the wall clock")

    def __attrs_post_init__(self) -> None:
        n = len(self.regime_vols)
        if n == 0 or len(self.regime_drifts) != n or len(self.regime_durations_s) != n:
            raise ValueError(
                "regime_vols, regime_drifts and regime_durations_s need the same (non-zero) length"
            )
        _positive(self, attrs.fields(SyntheticParams).regime_durations_s, self.regime_durations_s)


class SyntheticSource:
    """A DataProvider generating the market chunk by chunk in compiled code."""

    def __init__(self, params: SyntheticParams, universe: Universe) -> None:
        p = self.params = params
        self.name = "synthetic"
        self.venues = p.venues or universe.venues
        self.symbols = p.symbols or universe.symbols
        self.venue_ids = np.array([universe.venue_id(v) for v in self.venues], np.uint16)
        self.symbol_ids = np.array([universe.symbol_id(s) for s in self.symbols], np.uint16)
        self.vol = np.array([v / math.sqrt(YEAR_S) for v in p.regime_vols])
        self.drift = np.array([d / YEAR_S for d in p.regime_drifts])
        self.switch_rate = np.array([1.0 / d for d in p.regime_durations_s])
        sigma = p.size_sigma
        self.fp = np.array(
            [
                p.interval_ms * 1e6,
                p.jumps_per_day / 86_400.0,
                p.jump_bps * 1e-4,
                p.tick_size,
                1.0 / p.tick_size,
                float(p.spread_ticks),
                p.spread_extra_ticks,
                math.log(p.size_mean) - 0.5 * sigma * sigma,
                sigma,
                p.lot_size,
                1.0 / p.lot_size,
                p.trade_prob,
                p.venue_noise_bps * 1e-4,
                p.venue_noise_halflife_s / math.log(2.0),
            ]
        )
        self._ist = np.zeros(K.N_ISTATE, np.int64)

    def _fresh_state(self, start_ns: int) -> tuple[np.ndarray, ...]:
        ns, nv = len(self.symbols), len(self.venues)
        rng = K.seed_state(self.params.seed)
        ist = np.zeros(K.N_ISTATE, np.int64)
        ist[K.T_NS] = start_ns
        prices = [self.params.prices.get(s, self.params.default_price) for s in self.symbols]
        logmid = np.log(np.array(prices, np.float64))
        regime = np.zeros(ns, np.int64)
        last_t = np.full(ns, start_ns, np.int64)
        basis = np.zeros((nv, ns))
        seq = np.zeros(nv, np.int64)
        return rng, ist, logmid, regime, last_t, basis, seq

    def _window(self, start_ns: int | None, end_ns: int | None) -> tuple[int, int, int]:
        p = self.params
        start = start_ns if start_ns is not None else _iso_ns(p.start)
        end = end_ns if end_ns is not None else (_iso_ns(p.end) if p.end else None)
        if end is None:
            end = np.iinfo(np.int64).max if p.n_ticks else start + 86_400 * 10**9
        return start, end, (p.n_ticks if p.n_ticks else -1)

    def generate(
        self, *, start_ns: int | None = None, end_ns: int | None = None, chunk_rows: int | None = None
    ) -> Iterator[np.ndarray]:
        """Every generated tick in chunks of at most ``chunk_rows`` (whole steps)."""
        start, end, limit = self._window(start_ns, end_ns)
        state = self._fresh_state(start)
        self._ist = state[1]
        cap = max(chunk_rows or self.params.chunk_rows, 2 * len(self.venues))
        while True:
            out = np.empty(cap, TICK_DTYPE)
            out["_pad"] = 0
            n = K.generate(out, *state, self.venue_ids, self.symbol_ids, self.vol, self.drift,
                           self.switch_rate, self.fp, end, limit)
            if n == 0:
                return
            if limit >= 0 and self._ist[K.EMITTED] > limit:
                n -= int(self._ist[K.EMITTED] - limit)
            yield out[:n]

    def chunks(
        self,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        symbols: Sequence[str] | None = None,
    ) -> Iterator[np.ndarray]:
        """The market from ``start_ns`` (default: params.start) until ``end_ns``/``n_ticks``."""
        gen = self._remembered(start_ns, end_ns)
        if symbols is None:
            yield from gen
            return
        wanted = self.symbol_ids[[i for i, s in enumerate(self.symbols) if s in set(symbols)]]
        for chunk in gen:
            yield copy_ticks(chunk, np.isin(chunk["symbol"], wanted))

    def _remembered(self, start_ns: int | None, end_ns: int | None) -> Iterator[np.ndarray]:
        """``generate()``, kept in memory the second time in a row the same market is read
        to its end and served from there afterwards; every chunk served is a fresh copy
        (the loop writes quality flags into ticks)."""
        key = (repr(self.params), tuple(self.venue_ids), tuple(self.symbol_ids),
               self._window(start_ns, end_ns))
        hit = _LAST.get(key)
        if hit is not None:
            self._ist = hit[1].copy()
            for c in hit[0]:
                yield copy_ticks(c)
            return
        kept: list[np.ndarray] | None = [] if key in _LAST else None
        n = 0
        for c in self.generate(start_ns=start_ns, end_ns=end_ns):
            n += len(c)
            if kept is not None and n <= CACHE_MAX_TICKS:
                kept.append(copy_ticks(c))
            else:
                kept = None
            yield c
        _LAST.clear()  # reached only when the consumer read the run to its end
        _LAST[key] = (kept, self._ist.copy()) if kept is not None else None

    async def stream(self) -> AsyncIterator[np.ndarray]:
        """Live ticks paced at ``rate`` per second (0: as fast as possible)."""
        p = self.params
        batch = p.chunk_rows if p.rate <= 0 else max(2 * len(self.venues), int(p.rate / 50) or 1)
        t0 = time.monotonic()
        offset = None
        sent = 0
        for chunk in self.generate(chunk_rows=batch):
            if p.wall_clock:
                if offset is None:
                    offset = time.time_ns() - int(chunk["ts_recv"][0])
                chunk["ts_exch"] += offset
                chunk["ts_recv"] += offset
            if p.rate > 0:
                await asyncio.sleep(max(0.0, t0 + sent / p.rate - time.monotonic()))
            else:
                await asyncio.sleep(0)
            sent += len(chunk)
            yield chunk

    def stats(self) -> DataStats:
        """Ticks generated so far (synthetic data has no quality problems to count)."""
        return DataStats(rows=int(self._ist[K.EMITTED]))

    @property
    def jumps(self) -> int:
        """Jumps generated so far."""
        return int(self._ist[K.JUMPS])

    @property
    def regime_switches(self) -> int:
        """Regime switches so far."""
        return int(self._ist[K.SWITCHES])

    @property
    def steps(self) -> int:
        """Market steps so far."""
        return int(self._ist[K.STEPS])


class SyntheticData:
    """Seeded synthetic market data: geometric random walk with Markov volatility/drift
    regimes, Poisson jumps, tick-rounded spreads, lognormal sizes and cross-venue copies with
    independent mean-reverting noise (for arbitrage demos). Same seed, same ticks, whatever
    the chunk size.
    """

    Params = SyntheticParams

    def __init__(self, params: SyntheticParams) -> None:
        self.params = params

    @hookimpl
    def tradeloop_data_provider(self, universe: Universe) -> SyntheticSource:
        """The synthetic market over the run's venues and symbols."""
        return SyntheticSource(self.params, universe)
