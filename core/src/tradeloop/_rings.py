"""Single-producer single-consumer ring buffers of hot-path records.

A ring is a :class:`Ring` namedtuple ``(ctrl, buf)``: ``ctrl`` is an int64 header and
``buf`` a power-of-two array of records (any structured dtype, in practice the 64-byte
Tick/Intent/Report/Event records). The same layout backs the in-process ring (numpy memory)
and the cross-process ring (:mod:`tradeloop._shm`, shared memory), and the same compiled
functions serve both.

Counters and ordering
    ``head`` (written only by the producer) and ``tail`` (the consumer's) are free-running
    int64 counters; slot = counter & mask. Each sits on its own 64-byte line, next to a
    private cache of the other side's counter, so the two processes do not false-share.
    The producer writes the record, then publishes ``head`` with a *release* store; the
    consumer reads ``head`` with an *acquire* load before reading records, then releases
    ``tail`` after copying them out. Both are real atomics (:mod:`tradeloop._atomics`), so
    neither the compiler nor the CPU can reorder a record past its counter or hoist a
    polling load out of a loop.

Full policy (``ctrl[POLICY]``)
    ``BLOCK`` (intents, reports): a push on a full ring writes nothing and returns False /
    a short count; the producer backs off and retries. Nothing is ever lost.
    ``DROP_OLDEST`` (market data): a push on a full ring discards the oldest record and
    counts it in ``ctrl[DROPS]``. Because the consumer owns ``tail``, the producer may not
    simply store to it: instead *both* sides advance ``tail`` with compare-and-swap. The
    producer CASes ``tail`` from t to t+1 *before* overwriting slot t; the consumer copies
    its records out first and then CASes ``tail`` from t to t+n. If the consumer's CAS
    fails, the producer dropped (and may be overwriting) some of what it copied, so it
    discards the copy and retries from the new tail. A record is therefore either consumed
    intact exactly once or counted as dropped, never torn.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numba
import numpy as np

from ._atomics import cas_acq_rel, load_acquire, store_release
from ._memory import prefault

Ring = namedtuple("Ring", ["ctrl", "buf"])

#: Header layout (int64 words). Hot words are 8 words (64 bytes) apart.
HEAD = 0  # producer-owned
HEAD_CACHED_TAIL = 1  # producer's private copy of tail
TAIL = 8  # consumer-owned (CAS'd by the producer only under DROP_OLDEST)
TAIL_CACHED_HEAD = 9  # consumer's private copy of head
DROPS = 16  # records discarded by DROP_OLDEST (producer-written)
FULL_EVENTS = 17  # pushes refused because the ring was full (BLOCK)
CLOSED = 24  # set by the producer when it will push no more
CAPACITY = 32
MASK = 33
POLICY = 34
ITEMSIZE = 35
MAGIC = 36
DTYPE_CODE = 37
HEADER_WORDS = 64  # 512 bytes, keeps the record area 64-byte aligned

BLOCK = 0
DROP_OLDEST = 1
RING_MAGIC = 0x54524C52494E4701  # "TRLRING" v1


def init_header(ctrl: np.ndarray, capacity: int, policy: int, itemsize: int, code: int) -> None:
    """Write a fresh header into ``ctrl`` (int64[HEADER_WORDS])."""
    ctrl[:] = 0
    ctrl[CAPACITY] = capacity
    ctrl[MASK] = capacity - 1
    ctrl[POLICY] = policy
    ctrl[ITEMSIZE] = itemsize
    ctrl[DTYPE_CODE] = code
    ctrl[MAGIC] = RING_MAGIC


def check_capacity(capacity: int) -> None:
    """Raise ValueError unless ``capacity`` is a power of two >= 2."""
    if capacity < 2 or capacity & (capacity - 1):
        raise ValueError(f"ring capacity must be a power of two >= 2, got {capacity}")


@numba.njit(cache=True, nogil=True, inline="always")
def _reserve(ring: Any, n: int) -> int:
    """Room for up to ``n`` records at head; under DROP_OLDEST makes room by dropping."""
    ctrl = ring.ctrl
    cap = ctrl[CAPACITY]
    h = ctrl[HEAD]
    free = cap - (h - ctrl[HEAD_CACHED_TAIL])
    if free >= n:
        return n
    t = load_acquire(ctrl, TAIL)
    ctrl[HEAD_CACHED_TAIL] = t
    free = cap - (h - t)
    if free >= n or ctrl[POLICY] != DROP_OLDEST:
        return min(free, n)
    want = min(n, cap)
    while free < want:
        need = want - free
        if cas_acq_rel(ctrl, TAIL, t, t + need):
            store_release(ctrl, DROPS, ctrl[DROPS] + need)
            t = t + need
        else:
            t = load_acquire(ctrl, TAIL)
        ctrl[HEAD_CACHED_TAIL] = t
        free = cap - (h - t)
    return want


@numba.njit(cache=True, nogil=True)
def ring_push(ring: Any, src: Any, j: int) -> bool:
    """Push ``src[j]``; False (nothing written) if a BLOCK ring is full."""
    if _reserve(ring, 1) < 1:
        ring.ctrl[FULL_EVENTS] += 1
        return False
    h = ring.ctrl[HEAD]
    ring.buf[h & ring.ctrl[MASK]] = src[j]
    store_release(ring.ctrl, HEAD, h + 1)
    return True


@numba.njit(cache=True, nogil=True)
def ring_push_batch(ring: Any, src: Any, start: int, n: int) -> int:
    """Push ``src[start:start+n]``; returns how many were pushed (BLOCK: may be short).

    Under DROP_OLDEST all are pushed unless ``n`` exceeds the capacity, in which case only
    the first ``capacity`` are (the caller sees the count and pushes the rest again).
    """
    k = _reserve(ring, n)
    if k < n:
        ring.ctrl[FULL_EVENTS] += 1
    if k <= 0:
        return 0
    h = ring.ctrl[HEAD]
    mask = ring.ctrl[MASK]
    buf = ring.buf
    for m in range(k):
        buf[(h + m) & mask] = src[start + m]
    store_release(ring.ctrl, HEAD, h + k)
    return k


@numba.njit(cache=True, nogil=True)
def ring_pop_batch(ring: Any, dst: Any, start: int, max_n: int) -> int:
    """Pop up to ``max_n`` records into ``dst[start:]``; returns how many (0: empty)."""
    ctrl = ring.ctrl
    mask = ctrl[MASK]
    buf = ring.buf
    drop = ctrl[POLICY] == DROP_OLDEST
    while True:
        t = load_acquire(ctrl, TAIL) if drop else ctrl[TAIL]
        avail = ctrl[TAIL_CACHED_HEAD] - t
        if avail < max_n:
            ctrl[TAIL_CACHED_HEAD] = load_acquire(ctrl, HEAD)
            avail = ctrl[TAIL_CACHED_HEAD] - t
        if avail <= 0:
            return 0
        k = min(avail, max_n)
        for m in range(k):
            dst[start + m] = buf[(t + m) & mask]
        if not drop:
            store_release(ctrl, TAIL, t + k)
            return k
        if cas_acq_rel(ctrl, TAIL, t, t + k):
            return k
        # the producer dropped records under us: the copy may be torn, take it again


@numba.njit(cache=True, nogil=True)
def ring_pop(ring: Any, dst: Any, j: int) -> bool:
    """Pop one record into ``dst[j]``; False if the ring is empty."""
    return ring_pop_batch(ring, dst, j, 1) == 1


@numba.njit(cache=True, nogil=True)
def ring_len(ring: Any) -> int:
    """Records currently readable (a snapshot; exact only when both sides are idle)."""
    return load_acquire(ring.ctrl, HEAD) - load_acquire(ring.ctrl, TAIL)


@numba.njit(cache=True, nogil=True)
def ring_close(ring: Any) -> None:
    """Producer side: announce that no more records will be pushed."""
    store_release(ring.ctrl, CLOSED, 1)


@numba.njit(cache=True, nogil=True)
def ring_closed(ring: Any) -> bool:
    """True once the producer closed the ring (records may still be readable)."""
    return load_acquire(ring.ctrl, CLOSED) != 0


class SpscRing:
    """An in-process SPSC ring of ``dtype`` records with a Python API over the compiled core.

    ``ring.view`` is the :class:`Ring` namedtuple to hand to compiled code. One thread may
    push and one other thread may pop concurrently (the compiled functions release the GIL).
    """

    def __init__(
        self,
        dtype: np.dtype[Any],
        capacity: int,
        policy: int = BLOCK,
        *,
        ctrl: np.ndarray | None = None,
        buf: np.ndarray | None = None,
        code: int = 0,
    ) -> None:
        check_capacity(capacity)
        if policy not in (BLOCK, DROP_OLDEST):
            raise ValueError(f"unknown ring policy {policy!r}; use BLOCK or DROP_OLDEST")
        self.dtype = np.dtype(dtype)
        if ctrl is None:
            ctrl = np.zeros(HEADER_WORDS, np.int64)
            init_header(ctrl, capacity, policy, self.dtype.itemsize, code)
        if buf is None:
            buf = np.zeros(capacity, self.dtype)
            # the first write to each page faults (17-20 us on a VM, see _memory): without
            # this the producer pays it on the hot path once per page of records
            prefault(buf)
        self.view = Ring(ctrl, buf)

    @property
    def capacity(self) -> int:
        """Number of slots."""
        return int(self.view.ctrl[CAPACITY])

    @property
    def policy(self) -> int:
        """BLOCK or DROP_OLDEST."""
        return int(self.view.ctrl[POLICY])

    @property
    def dropped(self) -> int:
        """Records discarded by DROP_OLDEST so far."""
        return int(self.view.ctrl[DROPS])

    @property
    def full_events(self) -> int:
        """Pushes refused (fully or partly) because a BLOCK ring was full."""
        return int(self.view.ctrl[FULL_EVENTS])

    def __len__(self) -> int:
        return int(ring_len(self.view))

    def push(self, record: Any) -> bool:
        """Push one record (a numpy void/record of the ring's dtype); False if full."""
        src = np.asarray(record, dtype=self.dtype).reshape(1)
        return bool(ring_push(self.view, src, 0))

    def push_many(self, records: np.ndarray) -> int:
        """Push as many of ``records`` as fit; returns the count pushed."""
        src = self._as_records(records)
        return int(ring_push_batch(self.view, src, 0, src.shape[0]))

    def pop(self) -> Any | None:
        """Pop one record (a numpy void), or None if empty."""
        out = np.zeros(1, self.dtype)
        return out[0] if ring_pop(self.view, out, 0) else None

    def pop_many(self, max_n: int | None = None) -> np.ndarray:
        """Pop up to ``max_n`` (default: capacity) records as a new array."""
        n = self.capacity if max_n is None else int(max_n)
        out = np.zeros(n, self.dtype)
        k = ring_pop_batch(self.view, out, 0, n)
        return out[:k]

    def close(self) -> None:
        """Producer side: no more pushes (the consumer sees ``closed``)."""
        ring_close(self.view)

    @property
    def closed(self) -> bool:
        """True once the producer closed the ring."""
        return bool(ring_closed(self.view))

    def _as_records(self, records: np.ndarray) -> np.ndarray:
        arr = np.ascontiguousarray(records)
        if arr.dtype != self.dtype:
            raise TypeError(
                f"ring holds {self.dtype} records, got {arr.dtype} (note: np.concatenate "
                "re-lays-out dtypes with aliased fields such as TICK_DTYPE; fill an "
                "np.zeros(n, dtype) array instead)"
            )
        return arr.reshape(-1)


__all__ = [
    "BLOCK",
    "DROP_OLDEST",
    "Ring",
    "SpscRing",
    "ring_close",
    "ring_closed",
    "ring_len",
    "ring_pop",
    "ring_pop_batch",
    "ring_push",
    "ring_push_batch",
]
