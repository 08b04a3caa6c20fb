"""Cost of the simulated venue in the fused loop.

Three fused loops over the same quote/trade ticks: a no-op strategy alone (the reference),
the same with the ``sim`` venue and nothing pending or resting (its early-exit path, paid
on every tick), and with ``--resting`` limit orders parked far from the touch (every quote
then updates their queue state). Prints throughput and the ratio to the reference.

    python3 -m uv run --all-packages python bench/bench_sim_venue.py [--ticks N] [--resting K]
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

import numpy as np
from _sim_bench_kernels import noop_tick, park_tick
from tradeloop.loop import build_loop
from tradeloop_plugin_sim import Sim
from tradeloop_sdk import TICK_DTYPE, ComponentKind, HotPath, SymbolSpec, Universe, params_array

T0 = 1_700_000_000_000_000_000
U = Universe(("sim",), ("BTC-USD",), ("USD", "BTC"), {
    ("sim", "BTC-USD"): SymbolSpec(symbol="BTC-USD", base="BTC", quote="USD",
                                   tick_size=Decimal("0.01"), lot_step=Decimal("0.001"))})


def make_ticks(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.zeros(n, TICK_DTYPE)
    mid = np.round(30_000 + np.cumsum(rng.normal(0, 2, n)), 2)
    t["ts_exch"] = t["ts_recv"] = T0 + np.arange(n) * 1_000_000
    trade = rng.random(n) < 0.2
    t["kind"] = np.where(trade, 2, 1)
    t["bid"] = np.where(trade, mid, mid - 0.5)
    t["ask"] = np.where(trade, np.nan, mid + 0.5)
    t["bid_size"] = rng.uniform(0.1, 3, n)
    t["ask_size"] = np.where(trade, 0.0, rng.uniform(0.1, 3, n))
    t["side"] = np.where(trade, rng.integers(1, 3, n), 0)
    return t


def strategy(fn, n: int = 0) -> HotPath:  # type: ignore[no-untyped-def]
    return HotPath(kind=ComponentKind.STRATEGY, params=params_array({"n": n}),
                   state=np.zeros(2), on_tick=fn, name="bench")


def measure(components: list[HotPath], ticks: np.ndarray, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        comps = [HotPath(kind=c.kind, params=c.params.copy(),
                         state=c.state._make(x.copy() for x in c.state)
                         if hasattr(c.state, "_make") else c.state.copy(),
                         on_tick=c.on_tick, on_intent=c.on_intent, name=c.name)
                 for c in components]
        loop = build_loop(U, comps, initial_cash={"USD": 10**9})
        loop.run(ticks[:1000])  # compile / load from cache outside the timing
        t0 = time.perf_counter()
        loop.run(ticks[1000:])
        best = min(best, time.perf_counter() - t0)
    return (len(ticks) - 1000) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ticks", type=int, default=2_000_000)
    ap.add_argument("--resting", type=int, default=50)
    a = ap.parse_args()
    ticks = make_ticks(a.ticks)
    ref = measure([strategy(noop_tick)], ticks)
    idle = measure([strategy(noop_tick), Sim().tradeloop_hot_path(U)], ticks)
    busy = measure([strategy(park_tick, a.resting), Sim().tradeloop_hot_path(U)], ticks)
    print(f"ticks: {a.ticks:,}")
    print(f"reference (no-op strategy, no venue): {ref / 1e6:8.2f} M ticks/s")
    print(f"sim venue, nothing resting:           {idle / 1e6:8.2f} M ticks/s  ratio {idle / ref:.2f}")
    print(f"sim venue, {a.resting:3d} resting orders:     {busy / 1e6:8.2f} M ticks/s  ratio {busy / ref:.2f}")


if __name__ == "__main__":
    main()
