"""A user's first backtest, cold (nothing compiled yet) against the same backtest warm.

    python3 -m uv run --all-packages python bench/bench_first_compile.py [CONFIG]

Each run is a fresh subprocess running ``tradeloop backtest CONFIG --no-report`` over one
hour, with numba's cache and the fused-loop cache in a temporary directory: the first run
compiles every kernel and the loop (what a fresh clone meets), the second loads them. The
child counts numba's compilations and names any function compiled for more than one
signature (each one is compile time paid twice). The counts are the command's own process;
the CPU time also covers the precompile helpers it starts (``tradeloop._precompile``),
which compile some of the kernels beside it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import collections, json, sys
    from numba.core import event
    sigs = collections.defaultdict(list)

    class Count(event.Listener):
        def on_start(self, e):
            pass

        def on_end(self, e):
            fn = e.data["dispatcher"].py_func
            sigs[fn.__module__ + "." + fn.__qualname__].append(str(e.data["args"]))

    event.register("numba:compile", Count())
    from tradeloop.cli import cli
    try:
        cli.main(sys.argv[1:], standalone_mode=False)
    finally:
        ours = {n: s for n, s in sigs.items() if n.startswith("tradeloop")}
        print(json.dumps({"compilations": sum(map(len, sigs.values())),
                          "ours": sum(map(len, ours.values())),
                          "twice": {n: s for n, s in ours.items() if len(s) > 1}}))
    """
)


def run(config: str, cache: Path, out: Path) -> tuple[float, float, dict[str, object]]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache / "numba"),
               TRADELOOP_CACHE_DIR=str(cache / "fused"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "backtest", config, "--no-report", "--no-progress",
         "--to", "2024-01-01T01:00", "--out", str(out)],
        env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"backtest failed:\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    config = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "examples" / "ema_cross.toml")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        cold_wall, cold_cpu, cold = run(config, cache, cache / "out1")
        warm_wall, warm_cpu, warm = run(config, cache, cache / "out2")
    print(f"config: {config}")
    print(f"cold: {cold_wall:6.1f}s wall, {cold_cpu:6.1f}s CPU, {cold['compilations']} "
          f"compilations ({cold['ours']} of tradeloop's and its plugins' functions)")
    print(f"warm: {warm_wall:6.1f}s wall, {warm_cpu:6.1f}s CPU, {warm['compilations']} "
          f"compilations")
    print(f"ratio cold / warm = {cold_wall / warm_wall:.1f} wall, {cold_cpu / warm_cpu:.1f} CPU")
    twice = cold["twice"]
    assert isinstance(twice, dict)
    print("compiled for more than one signature: " + (", ".join(sorted(twice)) or "none"))


if __name__ == "__main__":
    main()
