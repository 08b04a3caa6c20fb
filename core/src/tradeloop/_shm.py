"""Cross-process SPSC rings in ``multiprocessing.shared_memory``, attached by name.

The shared block is the ring header (int64[HEADER_WORDS], 512 bytes) followed by the record
area, so the records stay 64-byte aligned. The header carries a magic number, the capacity,
the policy, the record size and a dtype code, so a consumer attaches with only the name and
a mismatched dtype is an error, not silent garbage. Ordering across processes comes from
the acquire/release counters in :mod:`tradeloop._rings`.
"""

from __future__ import annotations

from multiprocessing import resource_tracker, shared_memory
from typing import Any

import numpy as np
from tradeloop_sdk import EVENT_DTYPE, INTENT_DTYPE, REPORT_DTYPE, TICK_DTYPE

from ._memory import prefault, prefault_read
from ._rings import (
    BLOCK,
    CAPACITY,
    DTYPE_CODE,
    HEADER_WORDS,
    ITEMSIZE,
    MAGIC,
    POLICY,
    RING_MAGIC,
    SpscRing,
    check_capacity,
    init_header,
)

#: Dtype codes stored in the header so that ``attach`` needs only the name.
DTYPE_CODES: dict[int, np.dtype[Any]] = {
    1: TICK_DTYPE,
    2: INTENT_DTYPE,
    3: REPORT_DTYPE,
    4: EVENT_DTYPE,
}


def attach_untracked(name: str, cls: type[shared_memory.SharedMemory] = shared_memory.SharedMemory
                     ) -> shared_memory.SharedMemory:
    """Open an existing block without registering it with the resource tracker.

    The creator owns the block's lifetime. CPython < 3.13 registers on attach, so the
    attaching process's tracker would unlink the block when that process exits; and
    unregistering afterwards is no cure, because a process started by multiprocessing
    shares its parent's tracker, where that removes the creator's own registration.
    """
    register = resource_tracker.register
    resource_tracker.register = lambda *a, **k: None
    try:
        return cls(name=name, create=False)
    finally:
        resource_tracker.register = register


def _code_of(dtype: np.dtype[Any]) -> int:
    for code, dt in DTYPE_CODES.items():
        if dt == dtype:
            return code
    return 0


class ShmRing(SpscRing):
    """An SPSC ring in a named shared-memory block; one process pushes, another pops.

    Create with :meth:`create` (the owner, which eventually calls :meth:`unlink`) and open
    from another process with :meth:`attach`. Always :meth:`close_shm` when done.
    """

    def __init__(self, shm: shared_memory.SharedMemory, dtype: np.dtype[Any], owner: bool):
        ctrl = np.ndarray((HEADER_WORDS,), np.int64, buffer=shm.buf, offset=0)
        cap = int(ctrl[CAPACITY])
        buf = np.ndarray((cap,), dtype, buffer=shm.buf, offset=HEADER_WORDS * 8)
        super().__init__(dtype, cap, int(ctrl[POLICY]), ctrl=ctrl, buf=buf)
        # Map every page before either side runs (see _memory): the creator writes them (no
        # one else has the name yet), an attacher only reads, as the other side may be live.
        if owner:
            prefault(buf)
        else:
            prefault_read(buf)
        self.shm = shm
        self.name = shm.name
        self.owner = owner

    @classmethod
    def create(
        cls,
        dtype: np.dtype[Any],
        capacity: int,
        policy: int = BLOCK,
        *,
        name: str | None = None,
    ) -> ShmRing:
        """Allocate a new shared ring; ``name`` defaults to a random system name."""
        check_capacity(capacity)
        dtype = np.dtype(dtype)
        size = HEADER_WORDS * 8 + capacity * dtype.itemsize
        shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        ctrl = np.ndarray((HEADER_WORDS,), np.int64, buffer=shm.buf, offset=0)
        init_header(ctrl, capacity, policy, dtype.itemsize, _code_of(dtype))
        return cls(shm, dtype, owner=True)

    @classmethod
    def attach(cls, name: str, dtype: np.dtype[Any] | None = None) -> ShmRing:
        """Open an existing shared ring by name; ``dtype`` is needed only for custom dtypes."""
        shm = attach_untracked(name)
        # a copy of the header: a view would pin the mapping and block close() on error
        buf = shm.buf
        assert buf is not None  # an attached mapping always has a buffer
        ctrl = np.frombuffer(bytes(buf[: HEADER_WORDS * 8]), np.int64)
        if int(ctrl[MAGIC]) != RING_MAGIC:
            shm.close()
            raise ValueError(f"shared memory {name!r} is not a tradeloop ring (bad magic)")
        code = int(ctrl[DTYPE_CODE])
        if dtype is None:
            if code not in DTYPE_CODES:
                shm.close()
                raise ValueError(f"ring {name!r} holds a custom dtype; pass dtype= to attach")
            dtype = DTYPE_CODES[code]
        dtype = np.dtype(dtype)
        if dtype.itemsize != int(ctrl[ITEMSIZE]) or (code and DTYPE_CODES.get(code) != dtype):
            shm.close()
            raise ValueError(
                f"ring {name!r} holds {int(ctrl[ITEMSIZE])}-byte records (code {code}); "
                f"cannot attach as {dtype}"
            )
        return cls(shm, dtype, owner=False)

    def close_shm(self) -> None:
        """Drop this process's mapping (the numpy views become invalid)."""
        self.view = None  # type: ignore[assignment]
        self.shm.close()

    def unlink(self) -> None:
        """Owner: remove the block from the system (after every process closed it)."""
        self.shm.unlink()


__all__ = ["DTYPE_CODES", "ShmRing", "attach_untracked"]
