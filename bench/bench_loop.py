"""Fused-loop throughput against a bare numba EMA-cross loop over the same ticks.

Reports, in one run over the same synthetic ticks (default 10 million):

* ticks/s of a bare numba loop doing only the EMA cross (the reference);
* ticks/s of the fused loop: the same EMA cross as a strategy, three guards, a venue that
  fills at the touch, order state machine and ledger;
* their ratio (target >= 0.25);
* ticks/s of the same strategy in Python mode (over fewer ticks), and its ratio.

Times are CPU time of this process (``time.process_time``), best of ``--repeat`` runs, so
that other load on a shared machine does not count against the loop; wall time is printed
too. The component list comes from :func:`components`: swap it for the first-party
plugins' HotPaths without touching the rest.

    python3 -m uv run --all-packages python bench/bench_loop.py [--ticks N] [--py-ticks N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _bench_kernels as bk
from tradeloop.loop import build_loop, python_strategy
from tradeloop_sdk import HotPath, OrderType, Side, TimeInForce, Universe, submit

UNIVERSE = Universe(venues=("sim",), symbols=("BTCUSD",), currencies=("USD",))


def components(fast: int, slow: int) -> list[HotPath]:
    """The benchmarked pipeline: EMA cross, three guards, a touch-filling venue."""
    return [bk.ema_component(fast=fast, slow=slow), *bk.guard_components(), bk.venue_component()]


class PyEmaCross:
    """The same EMA cross in plain Python (Python mode)."""

    def __init__(self, fast: int, slow: int, qty: float = 1.0) -> None:
        self.af, self.as_ = 2.0 / (fast + 1), 2.0 / (slow + 1)
        self.qty = qty
        self.f = self.s = None
        self.sign = 0.0

    def on_tick(self, ctx, tick) -> None:  # type: ignore[no-untyped-def]
        px = 0.5 * (tick["bid"] + tick["ask"])
        if self.f is None:
            self.f = self.s = px
            return
        self.f += self.af * (px - self.f)
        self.s += self.as_ * (px - self.s)
        sign = 1.0 if self.f > self.s else -1.0
        if sign == self.sign:
            return
        prev, self.sign = self.sign, sign
        if prev == 0.0:
            return
        qty = self.qty - float(ctx.positions[0, 0]["qty"]) * sign
        side = Side.BUY if sign > 0 else Side.SELL
        submit(ctx, 0, 0, 0, int(side), int(OrderType.MARKET), int(TimeInForce.IOC), qty, np.nan)


def _best(fn, repeat: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    cpu, wall, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=10_000_000)
    ap.add_argument("--py-ticks", type=int, default=20_000)
    ap.add_argument("--fast", type=int, default=1000, help="fast EMA span in ticks")
    ap.add_argument("--slow", type=int, default=10000, help="slow EMA span in ticks")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache-dir", type=Path, default=None)
    args = ap.parse_args()
    cache = args.cache_dir or Path(tempfile.gettempdir()) / "tradeloop-bench-cache"

    ticks = bk.synthetic_ticks(args.ticks)
    af, as_ = 2.0 / (args.fast + 1), 2.0 / (args.slow + 1)
    bk.bare_ema_cross(ticks[:100], af, as_)  # compile
    b_cpu, b_wall, crosses = _best(lambda: bk.bare_ema_cross(ticks, af, as_), args.repeat)

    t0 = time.perf_counter()
    build_loop(UNIVERSE, components(args.fast, args.slow), cache_dir=cache).run(ticks[:100])
    compile_s = time.perf_counter() - t0

    def fused():  # type: ignore[no-untyped-def]
        loop = build_loop(UNIVERSE, components(args.fast, args.slow), cache_dir=cache,
                          initial_cash={"USD": 1_000_000})
        loop.run(ticks)
        return loop

    f_cpu, f_wall, loop = _best(fused, args.repeat)
    snap = loop.snapshot()  # type: ignore[attr-defined]

    py_ticks = ticks[: args.py_ticks]
    py_comps = [python_strategy(PyEmaCross(args.fast, args.slow)), *bk.guard_components(),
                bk.venue_component()]
    t0 = time.perf_counter()
    py_loop = build_loop(UNIVERSE, py_comps, cache_dir=cache, initial_cash={"USD": 1_000_000})
    py_loop.run(py_ticks[:10])
    py_compile_s = time.perf_counter() - t0
    c0, w0 = time.process_time(), time.perf_counter()
    py_loop.run(py_ticks[10:])
    p_cpu, p_wall = time.process_time() - c0, time.perf_counter() - w0
    n_py = py_ticks.shape[0] - 10

    bare_rate, fused_rate, py_rate = args.ticks / b_cpu, args.ticks / f_cpu, n_py / p_cpu
    print(f"bench_loop: {args.ticks:,} synthetic quote ticks, EMA {args.fast}/{args.slow}, "
          f"cpu time best of {args.repeat} (load avg {os.getloadavg()[0]:.1f})")
    print(f"  bare numba EMA cross : {bare_rate / 1e6:8.1f} M ticks/s  "
          f"(wall {args.ticks / b_wall / 1e6:.1f} M/s, {crosses} crosses)")
    print(f"  fused loop           : {fused_rate / 1e6:8.1f} M ticks/s  "
          f"(wall {args.ticks / f_wall / 1e6:.1f} M/s; {snap['control']['intents_out']} orders, "
          f"{snap['control']['reports_in']} reports; first build {compile_s:.1f}s)")
    print(f"  ratio fused / bare   : {fused_rate / bare_rate:8.3f}   (target >= 0.25)")
    print(f"  python-mode strategy : {py_rate / 1e3:8.1f} k ticks/s  "
          f"(wall {n_py / p_wall / 1e3:.1f} k/s; over {n_py:,} ticks, scaled; "
          f"build {py_compile_s:.1f}s uncached)")
    print(f"  ratio python / fused : {py_rate / fused_rate:8.5f}   "
          f"(python mode is {fused_rate / py_rate:,.0f}x slower)")


if __name__ == "__main__":
    main()
