"""A 64-configuration sweep run serially, on a local process pool and on a local Ray.

    python3 -m uv run --all-packages python bench/bench_sweep.py [--workers 2] [--hours 24]

Each configuration is examples/ema_cross.toml over ``--hours`` of synthetic market with
one point of an 8 x 8 grid of (fast, slow). The fused loop is compiled before any clock
starts, so every mode measures running, not compiling. Prints each wall time and the
speed-ups over serial. Ray runs twice over: started for the sweep (``--ray local``), and
already running, as a cluster given by ``--ray ADDRESS`` is (two sweeps: the first starts
Ray's workers). A sweep under ``FORK_POOL_MIN_S`` (forked workers, Linux) or
``POOL_MIN_S`` (spawned) of serial work runs in the calling process even when workers are
allowed: that is the "pool" row for small ``--hours``.
"""

from __future__ import annotations

import argparse
import datetime
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()

    from tradeloop.backtest._point import run_point
    from tradeloop.backtest._sweep import (
        FORK_POOL_MIN_S,
        POOL_MIN_S,
        grid_points,
        run_points,
        start_method,
    )

    src = ROOT / "examples" / "ema_cross.toml"
    doc = tomllib.loads(src.read_text())
    start = doc["backtest"]["from"]
    if not isinstance(start, datetime.datetime):  # a TOML date
        start = datetime.datetime.combine(start, datetime.time())
    doc["backtest"]["to"] = start + datetime.timedelta(hours=args.hours)
    grid = {
        "strategies[0].params.fast": [10, 20, 40, 80, 160, 320, 640, 1280],
        "strategies[0].params.slow": [2000, 2500, 3000, 3500, 4000, 5000, 6000, 8000],
    }
    points = grid_points(grid)
    assert len(points) == 64
    run_point(doc, points[0].overrides, str(src))  # compile once, outside every clock

    def timed(label: str, **kw: object) -> float:
        t0 = time.perf_counter()
        res = run_points(run_point, doc, points, source=str(src), warm=False, **kw)  # type: ignore[arg-type]
        dt = time.perf_counter() - t0
        bad = [r for r in res if r.error]
        print(f"{label:<22} {dt:8.1f}s  ({len(res) - len(bad)} ok, {len(bad)} failed)")
        if bad:
            print("   e.g.", bad[0].error)
        return dt

    serial = timed("serial", workers=1)
    pool = timed(f"process pool ({args.workers})", workers=args.workers)
    print(f"speed-up pool / serial = {serial / pool:.2f}x")
    method = start_method()
    least = FORK_POOL_MIN_S if method == "fork" else POOL_MIN_S
    print(f"   (workers start by {method}; a sweep under {least:.0f} s of serial work runs in "
          "this process: no pool)")
    if not args.no_ray:
        ray_s = timed(f"ray local ({args.workers})", workers=args.workers, ray_address="local")
        print(f"speed-up ray / serial  = {serial / ray_s:.2f}x (includes starting Ray)")
        # What `--ray ADDRESS` meets: a Ray that is already up. The first sweep starts its
        # workers (imports, loading the compiled loop); later ones find them warm.
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=max(1, args.workers - 1), include_dashboard=False, log_to_driver=False)
        print(f"(starting a local Ray alone: {time.perf_counter() - t0:.1f}s)")
        try:
            for i in (1, 2):
                up = timed(f"ray running, sweep {i}", workers=args.workers, ray_address="auto")
                print(f"speed-up / serial      = {serial / up:.2f}x")
        finally:
            ray.shutdown()


if __name__ == "__main__":
    main()
