"""Replay at ``--speed max`` against a backtest of the same ticks, same run.

    python3 -m uv run --all-packages python bench/bench_replay.py [--minutes 120]

Replay feeds recorded ticks through the live engine path (loop thread, rings, executor,
journal, the simulated venue as a paper broker) in lockstep, so that its fills equal a
backtest's. Three runs over the same window of examples/ema_cross.toml's synthetic market:

* the backtest (the fused loop over the ticks: the reference);
* replay as shipped: while the venue has no live order, the loop takes runs of ticks and
  the venue catches up before each request;
* replay one tick at a time (the venue sees each tick, then the loop), the lockstep used
  whenever the venue has work, forced here for every tick.

Printed: ticks per second of each (wall time of the run, data generation included in
each), the ratios, and whether the fills are byte-identical to the backtest's.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLS = ["ts", "client_id", "side", "fill_qty", "fill_price", "fee", "liquidity"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=int, default=360, help="replayed window (100 ms ticks)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from tradeloop.backtest import run_backtest
    from tradeloop.backtest._lockstep import LockstepFeed
    from tradeloop.backtest._replay import run_replay
    from tradeloop.config import load_config

    cfg = load_config(ROOT / "examples" / "ema_cross.toml")
    start = datetime.fromisoformat(str(cfg.backtest.start))
    end = start + timedelta(minutes=args.minutes)
    # compile and warm every path first
    run_backtest(cfg, end=start + timedelta(minutes=1))
    run_replay(cfg, end=start + timedelta(minutes=1))

    def timed(fn):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        res = fn()
        return res, res.n_ticks / (time.perf_counter() - t)

    bt, bt_rate = timed(lambda: run_backtest(cfg, end=end))
    rp, rp_rate = timed(lambda: run_replay(cfg, end=end))
    quiet = LockstepFeed._quiet
    LockstepFeed._quiet = lambda self: False  # type: ignore[method-assign]
    try:
        one, one_rate = timed(lambda: run_replay(cfg, end=end))
    finally:
        LockstepFeed._quiet = quiet  # type: ignore[method-assign]

    print(f"window: {args.minutes} min, {bt.n_ticks:,} ticks, {len(bt.fills)} backtest fills")
    print(f"backtest                   {bt_rate:12,.0f} ticks/s")
    print(f"replay max (runs)          {rp_rate:12,.0f} ticks/s   {rp_rate / bt_rate:.4f} of the backtest")
    print(f"replay max (tick by tick)  {one_rate:12,.0f} ticks/s   {one_rate / bt_rate:.4f} of the backtest")
    print(f"runs against tick by tick: {rp_rate / one_rate:.1f}x")
    for name, r in (("runs", rp), ("tick by tick", one)):
        same = r.n_ticks == bt.n_ticks and r.fills[COLS].tobytes() == bt.fills[COLS].tobytes()
        print(f"replay ({name}) fills equal to the backtest's: {same} ({len(r.fills)} fills)")


if __name__ == "__main__":
    main()
