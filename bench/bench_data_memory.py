"""Streaming a large synthetic backtest from the catalog in bounded memory.

Generates N synthetic ticks (two venues x two symbols) into a Parquet catalog chunk by
chunk, then, each in a fresh subprocess so peak RSS is its own:

* ``read``: the raw catalog read (k-way merge, no loop) — the reference;
* ``warm``: compiles the fused loop into numba's disk cache (LLVM's peak memory belongs
  to compilation, not to streaming, so it is reported apart);
* ``loop``: the same stream through the fused loop (EMA-cross strategy + the simulated
  venue, via the backtest runner when the venue plugin is usable, else the loop alone),
  loading the compiled loop from the cache as any second run does.

Reports ticks/s of each, the loop/read throughput ratio and the peak RSS against 1 GiB.

    python3 -m uv run --all-packages python bench/bench_data_memory.py --ticks 100000000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENUES = ("sim", "alt")
SYMBOLS = ("BTC-USD", "ETH-USD")
GIB = 1 << 30


def _universe():
    from tradeloop_sdk import Universe

    return Universe(venues=VENUES, symbols=SYMBOLS, currencies=("USD", "BTC", "ETH"))


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def phase_generate(catalog: Path, ticks: int) -> dict:
    from tradeloop_plugin_files import Catalog
    from tradeloop_plugin_synthetic import SyntheticData

    src = SyntheticData(SyntheticData.Params(
        n_ticks=ticks, interval_ms=5.0, chunk_rows=262_144, prices={"ETH-USD": 2_000.0},
    )).tradeloop_data_provider(_universe())
    t0 = time.perf_counter()
    with Catalog(catalog).writer(row_group_rows=262_144) as w:
        for chunk in src.chunks():
            w.write(chunk, VENUES, SYMBOLS)
    return {"ticks": w.rows, "seconds": time.perf_counter() - t0}


def phase_read(catalog: Path) -> dict:
    from tradeloop_plugin_files import CatalogData

    prov = CatalogData(CatalogData.Params(path=str(catalog))).tradeloop_data_provider(_universe())
    n, last = 0, -1
    t0 = time.perf_counter()
    for chunk in prov.chunks():
        n += len(chunk)
        assert chunk["ts_recv"][0] >= last, "catalog stream out of order"
        last = int(chunk["ts_recv"][-1])
    return {"ticks": n, "seconds": time.perf_counter() - t0}


_CONFIG = """
[engine]
mode = "backtest"
[universe]
venues = ["sim", "alt"]
symbols = ["BTC-USD", "ETH-USD"]
currencies = ["USD", "BTC", "ETH"]
[[universe.specs]]
venue = "sim"
symbol = "BTC-USD"
base = "BTC"
quote = "USD"
tick_size = "0.01"
lot_step = "0.0001"
taker_fee = "0.0005"
[data]
use = "catalog"
[data.params]
path = "{path}"
chunk_rows = 262144
[broker]
use = "sim"
[[strategies]]
use = "ema_cross"
[strategies.params]
venue = "sim"
symbol = "BTC-USD"
fast = 50
slow = 400
qty = 0.01
max_position = 0.01
allow_short = false
tick_kind = "quote"
[backtest.cash]
USD = "1000000"
"""


def phase_loop(catalog: Path, workdir: Path) -> dict:
    try:
        return _loop_backtest(catalog, workdir)
    except Exception as exc:  # the venue plugin may not be usable yet: run the loop alone
        fallback = _loop_only(catalog, workdir)
        fallback["note"] = f"strategy only (backtest runner unavailable: {str(exc)[:160]})"
        return fallback


def _backtest_config(catalog: Path, workdir: Path):
    from tradeloop.config import load_config

    cfg = workdir / "bench.toml"
    cfg.write_text(_CONFIG.format(path=catalog.as_posix()))
    return load_config(cfg)


def phase_warm(catalog: Path, workdir: Path) -> dict:
    """Compile the fused loop into the disk cache, on the first millisecond of data."""
    from tradeloop.backtest import run_backtest
    from tradeloop_plugin_files import Catalog

    first = min(p.ts_min for p in Catalog(catalog).partitions())
    t0 = time.perf_counter()
    try:
        res = run_backtest(_backtest_config(catalog, workdir), end=first + 1_000_000,
                           cache_dir=workdir / "numba")
    except Exception as exc:  # the venue plugin may not be usable: the loop phase falls back
        return {"ticks": 0, "seconds": time.perf_counter() - t0, "note": f"unavailable: {exc}"[:200]}
    return {"ticks": res.n_ticks, "seconds": time.perf_counter() - t0,
            "note": "compiles the fused loop into the disk cache (not a streaming figure)"}


def _loop_backtest(catalog: Path, workdir: Path) -> dict:
    from tradeloop.backtest import run_backtest
    from tradeloop_plugin_files import Catalog

    config = _backtest_config(catalog, workdir)
    # what the disk cache does not hold is built here, outside the timing
    first = min(p.ts_min for p in Catalog(catalog).partitions())
    run_backtest(config, end=first + 1_000_000, cache_dir=workdir / "numba")
    t0 = time.perf_counter()
    res = run_backtest(config, cache_dir=workdir / "numba")
    fills = int(((res.reports["kind"] == 2) | (res.reports["kind"] == 3)).sum())
    return {"ticks": res.n_ticks, "seconds": time.perf_counter() - t0, "fills": fills,
            "note": "backtest runner: catalog -> fused loop (ema_cross + sim venue), loop from the disk cache"}


def _loop_only(catalog: Path, workdir: Path) -> dict:
    import numpy as np
    from tradeloop.loop import build_loop
    from tradeloop_plugin_classic import EmaCross
    from tradeloop_plugin_files import CatalogData

    u = _universe()
    strat = EmaCross(EmaCross.Params(venue="sim", symbol="BTC-USD", fast=50, slow=400, qty=0.01,
                                     max_position=0.01, tick_kind="quote"))
    loop = build_loop(u, [strat.tradeloop_hot_path(u)], cache_dir=workdir / "numba")
    prov = CatalogData(CatalogData.Params(path=str(catalog), chunk_rows=262_144)).tradeloop_data_provider(u)
    n = 0
    chunks = prov.chunks()
    first = next(chunks)
    loop.run(np.ascontiguousarray(first[:1]))  # compile outside the timing
    t0 = time.perf_counter()
    for chunk in itertools.chain([first[1:]], chunks):
        loop.run(np.ascontiguousarray(chunk))
        loop.drain_reports()
        loop.drain_intents()
        loop.drain_events()
        loop.drain_equity()
        n += len(chunk)
    return {"ticks": n + 1, "seconds": time.perf_counter() - t0}


def _child(phase: str, catalog: Path, ticks: int, workdir: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--catalog", str(catalog),
         "--ticks", str(ticks), "--workdir", str(workdir)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ticks", type=int, default=100_000_000, help="synthetic ticks to generate")
    ap.add_argument("--catalog", type=Path, default=None, help="catalog dir (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated catalog")
    ap.add_argument("--reuse", action="store_true", help="use the --catalog given as is (no generate)")
    ap.add_argument("--phase", choices=("generate", "read", "warm", "loop"), help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        fn = {"generate": lambda: phase_generate(args.catalog, args.ticks),
              "read": lambda: phase_read(args.catalog),
              "warm": lambda: phase_warm(args.catalog, args.workdir),
              "loop": lambda: phase_loop(args.catalog, args.workdir)}[args.phase]
        c0 = time.process_time()
        result = fn()
        result["cpu"] = time.process_time() - c0
        result["peak_rss"] = _peak_rss()
        print(json.dumps(result))
        return
    work = Path(tempfile.mkdtemp(prefix="tl-bench-data-"))
    catalog = args.catalog or work / "catalog"
    try:
        rows = []
        phases = ("read", "warm", "loop") if args.reuse and args.catalog else (
            "generate", "read", "warm", "loop")
        for phase in phases:
            r = _child(phase, catalog, args.ticks, work)
            rows.append((phase, r))
            rate = r["ticks"] / r["seconds"] if r["seconds"] else float("nan")
            extra = f"  fills={r['fills']}" if "fills" in r else ""
            note = f"  [{r['note']}]" if "note" in r else ""
            print(f"{phase:9s} {r['ticks']:>13,} ticks  {r['seconds']:8.1f} s wall  {rate / 1e6:6.2f} M ticks/s"
                  f"  (process CPU {r['cpu']:.1f} s incl. imports/compile)"
                  f"  peak RSS {r['peak_rss'] / 2**20:7.0f} MiB{extra}{note}", flush=True)
        size = sum(f.stat().st_size for f in catalog.rglob("*.parquet"))
        read, loop = dict(rows)["read"], dict(rows)["loop"]
        ratio = (loop["ticks"] / loop["seconds"]) / (read["ticks"] / read["seconds"])
        peak = max(r["peak_rss"] for p, r in rows if p in ("read", "loop"))
        print(f"catalog on disk: {size / 2**20:,.0f} MiB ({size / max(1, read['ticks']):.1f} B/tick)")
        print(f"ratio loop/read throughput: {ratio:.2f}x  (reference: raw catalog read in the same run)")
        print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs (wall-clock rates suffer when the machine is shared)")
        print(f"peak RSS while streaming: {peak / 2**20:,.0f} MiB — "
              f"{'below' if peak < GIB else 'ABOVE'} the 1 GiB budget")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
