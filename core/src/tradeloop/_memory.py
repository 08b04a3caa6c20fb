"""Pre-faulting: touch every page of the hot loop's arrays before the loop runs.

``np.zeros`` (calloc, and mmap for large blocks) hands out memory whose pages are mapped
only when first written. The first write to each 4 KiB page is a page fault, and on a
virtual machine whose host backs guest memory lazily (or reclaims freed guest pages, as
free page reporting does) that fault also exits to the host: measured at 17-20 us per page
on the development VM against ~30 ns for a second write. The live loop writes fresh
pages as it goes (the order table at ``client_id & (capacity - 1)`` moves to a new page
every 32 orders, the transition log every 64 intents, the intent ring every 64 records),
so without pre-faulting about one intent in 32 paid that fault on the hot path until each
array had been written once. Touching the pages at build time moves the cost to start-up.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np

PAGE = mmap.PAGESIZE


def _bytes(arr: np.ndarray) -> np.ndarray | None:
    if arr.size == 0 or not arr.flags.c_contiguous:
        return None
    return arr.reshape(-1).view(np.uint8)


def _flat(items: Any) -> list[np.ndarray]:
    """The arrays in ``items``, looking inside tuples and lists (namedtuples of arrays)."""
    out: list[np.ndarray] = []
    for a in items:
        if isinstance(a, np.ndarray):
            out.append(a)
        elif isinstance(a, tuple | list):
            out += _flat(a)
    return out


def prefault(*arrays: Any) -> int:
    """Write every page of ``arrays`` (keeping their contents); returns the pages touched.

    Each page gets one byte stored back unchanged, which makes the kernel map a private,
    writable page: a read alone would map the shared zero page and the first real write
    would fault again. Only for arrays no other thread or process writes yet (a store of
    the old value could undo a concurrent write). Tuples and lists are searched for arrays;
    anything else, and read-only or non-contiguous arrays, are skipped.
    """
    n = 0
    for a in _flat(arrays):
        if not a.flags.writeable:
            continue
        b = _bytes(a)
        if b is None:
            continue
        idx = _page_offsets(b)
        b[idx] = b[idx].copy()
        n += idx.shape[0]
    return n


def prefault_read(*arrays: Any) -> int:
    """Read every page of ``arrays``: maps pages another process already wrote (shared
    memory) into this one's page tables without writing, so it is safe on a live ring."""
    n = 0
    for a in _flat(arrays):
        b = _bytes(a)
        if b is None:
            continue
        idx = _page_offsets(b)
        int(b[idx].sum())
        n += idx.shape[0]
    return n


def _page_offsets(b: np.ndarray) -> np.ndarray:
    """One byte offset inside every page ``b`` spans (its start need not be page-aligned)."""
    start = -b.ctypes.data % PAGE  # first offset that begins a page
    idx = np.arange(start, b.shape[0], PAGE)
    edges = [0] if start else []
    return np.concatenate([np.asarray(edges, np.intp), idx.astype(np.intp)])


__all__ = ["PAGE", "prefault", "prefault_read"]
