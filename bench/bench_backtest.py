"""End-to-end backtest throughput against a bare numba EMA-cross loop, same ticks, same run.

    python3 -m uv run --all-packages python bench/bench_backtest.py [--ticks 10000000]

The full path is `tradeloop.backtest.run_backtest` on examples/ema_cross.toml: the
first-party EMA-cross plugin, the standard guards (precision, position and order limits,
drawdown, rate limit, kill switch) and the simulated venue fused into one loop, with
results collected chunk by chunk. The reference is a plain `numba.njit` loop computing the
same two EMAs and the crossing signal over the same array. Both are timed after their
compile. The synthetic ticks are generated once, before either clock starts (generation
speed is the data plugin's business, not the loop's). Target: ratio >= 0.25.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@numba.njit(cache=True)
def bare_ema_cross(ticks: np.ndarray, fast: int, slow: int) -> tuple[int, float]:
    """The reference: EMA(fast) vs EMA(slow) of the mid (or trade price), target -> signals."""
    af = 2.0 / (fast + 1.0)
    aslow = 2.0 / (slow + 1.0)
    ef = np.nan
    es = np.nan
    target = 0.0
    signals = 0
    for k in range(ticks.shape[0]):
        t = ticks[k]
        x = 0.5 * (t["bid"] + t["ask"]) if t["kind"] == 1 else t["price"]
        if np.isnan(ef):
            ef = x
            es = x
        ef += af * (x - ef)
        es += aslow * (x - es)
        new = 1.0 if ef > es else 0.0
        if new != target:
            target = new
            signals += 1
    return signals, ef


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=10_000_000)
    args = ap.parse_args()

    from tradeloop.backtest import run_backtest
    from tradeloop.backtest._memory import ArrayData
    from tradeloop.config import load_config

    cfg = load_config(ROOT / "examples" / "ema_cross.toml")
    universe = cfg.universe.to_universe()
    from tradeloop._registry import Registry

    reg = Registry()
    provider = reg.call(reg.build(cfg).data, "tradeloop_data_provider", universe=universe)
    from tradeloop.backtest import to_ns
    from tradeloop_sdk import TICK_DTYPE

    t0 = time.perf_counter()
    ticks = np.empty(args.ticks, TICK_DTYPE)  # np.concatenate would drop the field aliases
    n = 0
    start = to_ns(cfg.backtest.start)
    for c in provider.chunks(start_ns=start, end_ns=start + 365 * 86_400 * 10**9):
        take = min(len(c), args.ticks - n)
        ticks[n : n + take] = c[:take]
        n += take
        if n >= args.ticks:
            break
    ticks = ticks[:n]
    gen_s = time.perf_counter() - t0
    print(f"generated {len(ticks):,} synthetic ticks in {gen_s:.1f}s "
          f"({len(ticks) / gen_s / 1e6:.2f} M/s, not timed below)")

    p = cfg.strategies[0].params
    bare_ema_cross(ticks[:1000], int(p["fast"]), int(p["slow"]))  # compile
    t0 = time.perf_counter()
    signals, _ = bare_ema_cross(ticks, int(p["fast"]), int(p["slow"]))
    bare_s = time.perf_counter() - t0
    bare = len(ticks) / bare_s

    # warm: compile (or load) the fused loop on a small slice
    run_backtest(cfg, provider=ArrayData(ticks[:20_000]), start=None, end=None)
    res = run_backtest(cfg, provider=ArrayData(ticks), start=int(ticks["ts_recv"][0]),
                       end=int(ticks["ts_recv"][-1]) + 1)
    e2e = res.n_ticks / res.elapsed_s
    print(f"bare numba EMA cross : {bare / 1e6:8.2f} M ticks/s ({signals:,} signals)")
    print(f"end-to-end backtest  : {e2e / 1e6:8.2f} M ticks/s ({len(res.fills):,} fills, "
          f"{len(res.intents):,} intents, {len(res.equity):,} equity samples; "
          f"loop load {res.warmup_s:.2f}s not counted)")
    ratio = e2e / bare
    print(f"ratio end-to-end / bare = {ratio:.3f} (target >= 0.25)")


if __name__ == "__main__":
    main()
