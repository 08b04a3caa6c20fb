"""Ticks per second of each first-party strategy inside the fused loop, against the bare loop.

Reference, measured in the same run on the same ticks: the fused loop with only the
simulated venue (no strategy). Each strategy runs in its own loop ``[strategy..., sim]``;
the figure is ``strategy ticks/s / bare ticks/s`` (1.0 = free). Loops are built and run
once to compile (numba caches them on disk), then timed best-of ``--repeat`` on a fresh
loop each time so order tables start empty.

    python3 -m uv run --all-packages python bench/bench_strategies.py [--ticks 200000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from tradeloop.loop import build_loop
from tradeloop_plugin_arbitrage import CrossVenueArb
from tradeloop_plugin_classic import Bollinger, EmaCross, RsiReversion, SmaCross
from tradeloop_plugin_market_maker import AvellanedaStoikov
from tradeloop_plugin_pipeline import Arbitrate, Blend, Gate, Predict, Risk, Size
from tradeloop_plugin_pymodel import PyModel
from tradeloop_plugin_sim import Sim
from tradeloop_sdk import TICK_DTYPE, TickKind, Universe

U = Universe(venues=("x", "y"), symbols=("BTC",), currencies=("USD", "BTC"))
VS = {"venue": "x", "symbol": "BTC"}


def make_ticks(n: int, seed: int = 7) -> np.ndarray:
    """Quotes alternating between two venues on correlated random walks (ids 0 and 1)."""
    rng = np.random.default_rng(seed)
    common = 100 * np.exp(np.cumsum(rng.normal(0, 2e-5, n)))  # ~0.2 bps per 100 ms
    t = np.zeros(n, TICK_DTYPE)
    t["ts_exch"] = t["ts_recv"] = 1_700_000_000_000_000_000 + 100_000_000 * np.arange(n)
    t["seq"] = np.arange(n)
    t["venue"] = np.arange(n) % 2
    t["kind"] = int(TickKind.QUOTE)
    mid = common * (1 + rng.normal(0, 2e-5, n))  # venues disagree by ~0.2 bps
    # ...and every 2000 ticks venue y dislocates by 40 bps for 40 ticks, so the arbitrage
    # strategy has crosses to take (fees plus threshold are far below 40 bps)
    dislocated = (np.arange(n) % 2000 < 40) & (t["venue"] == 1)
    mid[dislocated] *= 1.004
    t["bid"], t["ask"] = mid - 0.005, mid + 0.005
    t["bid_size"] = t["ask_size"] = 5.0
    return t


Setup = Callable[[], list[Any]]
CASES: dict[str, Setup] = {
    "sma_cross": lambda: [SmaCross(SmaCross.Params(**VS, fast=20, slow=100, max_position=1.0))],
    "ema_cross": lambda: [EmaCross(EmaCross.Params(**VS, fast=20, slow=100))],
    "rsi_reversion": lambda: [RsiReversion(RsiReversion.Params(**VS, period=14))],
    "bollinger": lambda: [Bollinger(Bollinger.Params(**VS, period=20))],
    "avellaneda_stoikov": lambda: [
        AvellanedaStoikov(AvellanedaStoikov.Params(**VS, levels=3, requote_bps=2.0, max_inventory=5.0))
    ],
    "cross_venue_arb": lambda: [
        CrossVenueArb(CrossVenueArb.Params(venues=("x", "y"), symbol="BTC", threshold_bps=2.0,
                                           max_position=1e6))
    ],
    "pipeline (6 stages)": lambda: [
        Predict(Predict.Params(**VS)),
        Blend(Blend.Params(**VS)),
        Arbitrate(Arbitrate.Params(**VS)),
        Gate(Gate.Params(**VS)),
        Size(Size.Params(**VS)),
        Risk(Risk.Params(**VS)),
    ],
    "py_model (python mode)": lambda: [PyModel(PyModel.Params(**VS, lags=3, coef=(0.3, 0.1, 0.05), threshold_bps=0.05))],
}


def _loop(components: list[Any]) -> Any:
    sim = Sim(Sim.Params(allow_short=True, check_balance=False))
    hps = [c.tradeloop_hot_path(U) for c in components] + [sim.tradeloop_hot_path(U)]
    return build_loop(U, hps, mode="backtest", initial_cash={"USD": 10_000_000})


WARM = 2000  # ticks run before timing: compiles (or loads the cache) and fills the books


def ticks_per_second(setup: Setup, ticks: np.ndarray, repeat: int) -> tuple[float, int]:
    """Best-of-``repeat`` ticks/s over ``ticks[WARM:]`` and the intents of that run."""
    best = 0.0
    n_intents = 0
    for _ in range(repeat):
        loop = _loop(setup())
        loop.run(ticks[:WARM].copy())
        loop.drain_intents()
        t = ticks[WARM:].copy()
        t0 = time.perf_counter()
        loop.run(t)
        dt = time.perf_counter() - t0
        if t.size / dt > best:
            best = t.size / dt
            n_intents = loop.drain_intents().size
    return best, n_intents


def main() -> None:
    """Measure every case and print a table of ratios to the bare loop."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=200_000)
    ap.add_argument("--python-ticks", type=int, default=20_000, help="ticks for python-mode cases")
    ap.add_argument("--repeat", type=int, default=5, help="best of N (a shared machine is noisy)")
    a = ap.parse_args()
    ticks = make_ticks(max(a.ticks, 2 * WARM))
    bare, _ = ticks_per_second(lambda: [], ticks, a.repeat)
    print(f"bare loop (sim venue only): {bare:,.0f} ticks/s over {a.ticks - WARM:,} ticks")
    print(f"{'strategy':26} {'ticks/s':>14} {'ratio':>8} {'intents':>9}", flush=True)
    for name, setup in CASES.items():
        py = "python" in name  # not disk-cacheable: each loop recompiles, so time it once
        t = ticks[: WARM + a.python_ticks] if py else ticks
        tps, n = ticks_per_second(setup, t, 1 if py else a.repeat)
        print(f"{name:26} {tps:14,.0f} {tps / bare:8.3f} {n:9,}", flush=True)


if __name__ == "__main__":
    main()
