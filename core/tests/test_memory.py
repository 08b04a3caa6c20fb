"""Pre-faulting: pages are mapped (privately, writable) by prefault, contents unchanged.

Page state comes from /proc/self/pagemap: bit 63 "present", bit 56 "exclusively mapped".
A page only read maps the shared zero page (present, not exclusive), so "exclusive" is what
tells a write-fault from a read; a page never touched is not present at all.
"""

from __future__ import annotations

import mmap
import os
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from tradeloop._memory import PAGE, prefault, prefault_read
from tradeloop._rings import BLOCK, SpscRing
from tradeloop._shm import ShmRing
from tradeloop.loop import build_loop
from tradeloop_sdk import INTENT_DTYPE, TICK_DTYPE, ComponentKind, HotPath, Universe, params_array

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.access("/proc/self/pagemap", os.R_OK),
    reason="needs /proc/self/pagemap",
)

PRESENT, EXCLUSIVE = 1 << 63, 1 << 56


def _pages(a: np.ndarray) -> np.ndarray:
    """pagemap entries (uint64) for every page ``a`` spans."""
    first = a.ctypes.data // PAGE
    last = (a.ctypes.data + a.nbytes - 1) // PAGE
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(first * 8)
        raw = f.read((last - first + 1) * 8)
    return np.frombuffer(raw, np.uint64)


def _fresh(n_bytes: int) -> tuple[mmap.mmap, np.ndarray]:
    """Anonymous memory no one has touched (np.zeros may reuse mapped heap pages)."""
    # private, like malloc's: mmap(-1) alone would be shared memory, where a read allocates
    m = mmap.mmap(-1, n_bytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return m, np.frombuffer(m, np.uint8)


def _all(entries: np.ndarray, bit: int) -> bool:
    return bool(np.all(entries & np.uint64(bit)))


def test_prefault_writes_every_page_and_keeps_contents() -> None:
    m, whole = _fresh(64 * PAGE)
    a = whole[100 : 100 + 40 * PAGE]  # neither end on a page boundary
    assert not np.any(_pages(a) & np.uint64(PRESENT))
    rng = np.random.default_rng(0)
    a[::997] = rng.integers(1, 255, a[::997].shape[0])  # faults some pages, with data
    before = a.copy()
    assert prefault(a) == _pages(a).shape[0]
    assert _all(_pages(a), PRESENT | EXCLUSIVE)
    np.testing.assert_array_equal(a, before)
    del a, whole
    m.close()


def test_prefault_read_maps_without_writing() -> None:
    m, a = _fresh(16 * PAGE)
    a.flags.writeable = False  # a write would raise
    prefault_read(a)
    assert _all(_pages(a), PRESENT)  # the shared zero page: present, not exclusive
    assert not np.any(_pages(a) & np.uint64(EXCLUSIVE))
    del a
    m.close()


def test_prefault_skips_what_it_cannot_touch() -> None:
    ro = np.zeros(4 * PAGE, np.uint8)
    ro.flags.writeable = False
    assert prefault(ro, np.zeros((64, 64))[:, ::2], "not an array", np.zeros(0), (1, [None])) == 0


def test_prefault_looks_inside_tuples_and_lists() -> None:
    m, a = _fresh(8 * PAGE)
    assert prefault((np.zeros(0), [a[: 4 * PAGE]]), [a[4 * PAGE :]]) == 8
    assert _all(_pages(a), PRESENT | EXCLUSIVE)
    del a
    m.close()


def test_rings_are_prefaulted() -> None:
    r = SpscRing(TICK_DTYPE, 1 << 14, BLOCK)  # 1 MiB: fresh pages, not recycled heap
    assert _all(_pages(r.view.buf), PRESENT | EXCLUSIVE)
    owner = ShmRing.create(INTENT_DTYPE, 1 << 10)
    try:
        peer = ShmRing.attach(owner.name)
        assert _all(_pages(owner.view.buf), PRESENT)
        assert _all(_pages(peer.view.buf), PRESENT)
        peer.close_shm()
    finally:
        owner.close_shm()
        owner.unlink()


@numba.njit(cache=True)
def _count_ticks(params, state, ctx, tick):  # type: ignore[no-untyped-def]
    state[0] += 1.0


def test_live_loop_tables_logs_and_state_are_prefaulted(tmp_path: Path) -> None:
    state = np.zeros(1 << 17)  # 1 MiB of a strategy's own state
    comp = HotPath(ComponentKind.STRATEGY, params_array({"x": 0}), state,
                   on_tick=_count_ticks, name="big_state")
    lp = build_loop(Universe(venues=("v",), symbols=("s",)), [comp], mode="live",
                    order_capacity=1 << 14, cache_dir=tmp_path)
    assert _all(_pages(lp.ctx.orders), PRESENT | EXCLUSIVE)
    assert _all(_pages(state), PRESENT | EXCLUSIVE)
    for name in ("report_log", "intent_log", "trans_log"):
        assert _all(_pages(getattr(lp._ks, name)), PRESENT | EXCLUSIVE), name
