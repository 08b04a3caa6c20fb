"""Time to first tick of the fused loop, cold (fresh cache dir) and warm (same cache dir).

Each start runs in a fresh subprocess: import, build_loop, run one tick. Cold uses an empty
cache directory, so numba compiles the generated loop; warm reuses it, so the loop is
loaded from numba's disk cache (the script also prints the dispatcher's cache hits/misses).
The ratio cold / warm is what the disk cache saves on every restart.

    python3 -m uv run --all-packages python bench/bench_startup.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    sys.path.insert(0, {bench!r})
    import bench_loop
    import _bench_kernels as bk
    from tradeloop.loop import build_loop
    t_import = time.perf_counter()
    loop = build_loop(bench_loop.UNIVERSE, bench_loop.components(1000, 10000), cache_dir={cache!r})
    loop.run(bk.synthetic_ticks(1))
    t_first = time.perf_counter()
    st = loop._mod.run_chunk.stats
    print(json.dumps({{"import": t_import - t0, "first_tick": t_first - t0,
                      "hits": sum(st.cache_hits.values()), "misses": sum(st.cache_misses.values())}}))
    """
)


def start(cache: Path) -> dict[str, float]:
    """One fresh process: seconds to import and to the first processed tick."""
    code = CHILD.format(bench=str(HERE), cache=str(cache))
    w0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process"] = time.perf_counter() - w0
    return res


def main() -> None:
    cache = Path(tempfile.mkdtemp(prefix="tradeloop-startup-"))
    try:
        # numba's own caches of the kernel and SDK helpers are warm in both cases (the
        # first line of this script's output would otherwise mix them in): prime them.
        start(Path(tempfile.mkdtemp(prefix="tradeloop-prime-")))
        cold = start(cache)
        warm = start(cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print("bench_startup: time to first tick of the benchmark pipeline (fresh process each)")
    for name, r in (("cold", cold), ("warm", warm)):
        print(f"  {name}: first tick {r['first_tick']:6.2f}s (imports {r['import']:.2f}s, "
              f"process {r['process']:.2f}s; numba cache hits {r['hits']}, misses {r['misses']})")
    loop_cold = cold["first_tick"] - cold["import"]
    loop_warm = warm["first_tick"] - warm["import"]
    print(f"  build+first tick: cold {loop_cold:.2f}s, warm {loop_warm:.2f}s, "
          f"ratio cold/warm {loop_cold / loop_warm:.1f}x")


if __name__ == "__main__":
    main()
