"""The venue's kernels compile once each: one signature per function, whichever path calls it.

An order reaches ``arrive`` two ways: at once (no latency) with the intent's own fields, and
from the arrival queue with the queue's int64 columns. When those types differed, numba
compiled the whole arrive chain twice (~12 s of a first backtest). The child process gets an
empty numba cache, so every kernel it touches is compiled, not loaded, and its signatures
are all there to count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent(
    """
    import json
    import numba
    from tradeloop_plugin_sim import _kernel, _match, _orders
    from tradeloop_plugin_sim.testing import KernelHarness, quote, ticks

    for latency in (0, 1_000):  # at once, then through the arrival queue
        h = KernelHarness(latency_ns=latency)
        h.ctx.specs[0, 0]["tick_size"], h.ctx.specs[0, 0]["lot_step"] = 0.01, 0.001
        h.state.cash[0, 0] = 1e6
        h.feed(ticks([quote(1_000, 100.0, 100.5, 2.0, 3.0)]))
        h.intent(client_id=1, side=1, otype=2, qty=1.0, price=99.0)
        h.intent(action=3, client_id=2, target_id=1, side=1, otype=2, qty=1.0, price=99.5)
        h.intent(client_id=3, side=2, otype=1, qty=0.5)
        h.intent(action=2, client_id=4, target_id=1)
        h.feed(ticks([quote(5_000, 100.0, 100.5, 2.0, 3.0)]))
    seen = {}
    for mod in (_kernel, _match, _orders):
        for name, fn in vars(mod).items():
            if isinstance(fn, numba.core.registry.CPUDispatcher) and fn.signatures:
                seen[mod.__name__ + "." + name] = [str(s) for s in fn.signatures]
    print(json.dumps(seen))
    """
)


def test_each_venue_kernel_compiles_for_one_signature(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "tradeloop_plugin_sim._kernel.arrive" in seen  # the chain really was compiled
    twice = {name: sigs for name, sigs in seen.items() if len(sigs) > 1}
    assert twice == {}
