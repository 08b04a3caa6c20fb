"""Kernels compiled ahead of a new fused loop, in a helper process, land in numba's cache."""

from __future__ import annotations

import importlib
import sys

import numba
import numpy as np
from numba import types
from tradeloop._precompile import _spawn, _split, on_disk


def test_helper_process_compiles_into_the_disk_cache(tmp_path, monkeypatch):
    (tmp_path / "pc_probe_kernels.py").write_text(
        "import numba\n\n@numba.njit(cache=True)\ndef k(p, s, ctx, i):\n    return s[0] + i\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    m = importlib.import_module("pc_probe_kernels")
    try:
        sig = (numba.typeof(np.zeros(1)), numba.typeof(np.zeros(2)), types.int64, types.int64)
        assert not on_disk(m.k, sig)
        started = _spawn([(m.k, sig)])
        assert started is not None
        proc, err = started
        assert proc.wait() == 0, err.read()
        err.close()
        assert on_disk(m.k, sig)
        assert not m.k.overloads  # compiled over there, not here
    finally:
        sys.modules.pop("pc_probe_kernels", None)


def test_split_keeps_groups_whole_and_balances():
    a, b, c = ("a", ()), ("b", ()), ("c", ())
    parts = _split([(16, [a, b]), (1, [c]), (1, [c]), (20, [c])], 2)
    # heaviest first onto the lightest part: 20 | 16, then both 1s onto the 16
    assert parts == [[c], [a, b, c, c]]
