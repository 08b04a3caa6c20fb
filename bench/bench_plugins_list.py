"""How cheap is ``tradeloop plugins list``? Wall time as a ratio to ``python -c pass``.

Listing must not import numba, the SDK (which imports numba) or any plugin module; this
bench proves it from the same processes it times (each run reports its ``sys.modules``)
and exits 1 if anything heavy was imported.

    python3 -m uv run --all-packages python bench/bench_plugins_list.py [--reps 7]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import statistics
import subprocess
import sys
import time

GROUPS = ("brokers", "data", "strategies", "stages", "guards", "rails", "plugins")
PROBE = """
import sys
from tradeloop.cli import main
try:
    main(["plugins", "list", "--json"])
finally:
    print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


def plugin_top_modules() -> set[str]:
    """Top-level modules named by installed tradeloop entry points."""
    out = set()
    for g in GROUPS:
        for ep in md.entry_points(group=f"tradeloop.{g}"):
            out.add(ep.value.split(":")[0].split(".")[0].strip())
    return out


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    timed([sys.executable, "-c", "pass"])  # warm the OS caches for both
    timed([sys.executable, "-c", PROBE])
    ref, lst = [], []
    last: subprocess.CompletedProcess[str] | None = None
    for _ in range(args.reps):  # interleave so load changes hit both alike
        ref.append(timed([sys.executable, "-c", "pass"])[0])
        t, last = timed([sys.executable, "-c", PROBE])
        lst.append(t)
    assert last is not None and last.returncode == 0, last.stderr if last else ""
    modules = set(last.stderr.split())
    heavy = sorted(m for m in modules if m.split(".")[0] in {"numba", "llvmlite", "tradeloop_sdk"})
    plugins = sorted(m for m in modules if m.split(".")[0] in plugin_top_modules())
    r, p = statistics.median(ref), statistics.median(lst)
    n = len(__import__("json").loads(last.stdout))
    print(f"plugins listed           : {n}")
    print(f"python -c pass (median)  : {r * 1000:8.1f} ms")
    print(f"plugins list   (median)  : {p * 1000:8.1f} ms")
    print(f"ratio list / bare python : {p / r:8.2f}x")
    print(f"numba/SDK imported       : {', '.join(heavy[:5]) or 'no'}")
    print(f"plugin modules imported  : {', '.join(plugins[:5]) or 'none'}")
    return 1 if heavy or plugins else 0


if __name__ == "__main__":
    sys.exit(main())
