"""Process mode's shared memory: one named block holding every array the fused loop touches.

The engine lays out the arrays (context, kernel state, each component's params and state,
the rings and the control words) in one :class:`Layout`, creates the block, copies the
current values in and rebuilds the same structures as numpy views over it. The loop
process attaches to the block by name and rebuilds the same views from the picklable
layout and tree specs, so both processes read and write the very same memory.

A tree spec describes a numba-typable value: an array (``("a", slot)``), a tuple or
namedtuple of such values (``("t", cls, items)``) or a scalar kept by value (``("v", x)``).
Every slot starts on a 64-byte line, so records stay aligned as numba compiled them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from multiprocessing import shared_memory
from typing import Any

import attrs
import numpy as np

from .._shm import attach_untracked

_ALIGN = 64


class Block(shared_memory.SharedMemory):
    """A shared-memory block whose finaliser never raises.

    numpy views over the block may outlive the block object (a feed runner keeps the books
    array, say); the mapping is then freed with the last view instead of failing to close.
    """

    def __del__(self) -> None:
        pass


@attrs.frozen
class Slot:
    """One array in the block: byte offset, shape and dtype."""

    offset: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


@attrs.define
class Layout:
    """Slots allocated one after another, each on a 64-byte line."""

    slots: list[Slot] = attrs.field(factory=list)
    size: int = 0

    def add(self, shape: tuple[int, ...], dtype: Any) -> int:
        """Reserve room for an array; returns its slot number."""
        dt = np.dtype(dtype)
        off = -(-self.size // _ALIGN) * _ALIGN
        self.slots.append(Slot(off, tuple(int(n) for n in shape), dt))
        self.size = off + int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        return len(self.slots) - 1


def plan_tree(obj: Any, layout: Layout, what: str) -> Any:
    """Reserve slots for every array in ``obj``; returns its tree spec."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError(f"{what}: an object array cannot live in shared memory")
        return ("a", layout.add(obj.shape, obj.dtype))
    if isinstance(obj, tuple):
        cls = type(obj) if hasattr(obj, "_fields") else None
        return ("t", cls, tuple(plan_tree(x, layout, f"{what}[{i}]") for i, x in enumerate(obj)))
    if obj is None or isinstance(obj, (bool, int, float, np.generic)):
        return ("v", obj)
    raise TypeError(f"{what}: a {type(obj).__name__} cannot live in shared memory "
                    "(arrays, tuples of arrays and scalars can)")


def build_tree(spec: Any, views: list[np.ndarray]) -> Any:
    """The value a tree spec describes, its arrays being ``views``."""
    tag = spec[0]
    if tag == "a":
        return views[spec[1]]
    if tag == "t":
        items = [build_tree(s, views) for s in spec[2]]
        return spec[1](*items) if spec[1] is not None else tuple(items)
    return spec[1]


def copy_tree(src: Any, dst: Any, what: str) -> None:
    """Write ``src``'s arrays into ``dst``'s (same structure, dtypes and shapes) in place.

    Raises TypeError naming ``what`` on any mismatch, and writes nothing then: the check
    runs over the whole tree before the first byte is copied.
    """
    check_same(src, dst, what)
    _copy(src, dst)


def check_same(src: Any, dst: Any, what: str) -> None:
    """TypeError unless ``src`` can be written into ``dst`` in place."""
    if isinstance(dst, np.ndarray):
        if not isinstance(src, np.ndarray) or src.dtype != dst.dtype or src.shape != dst.shape:
            got = f"{src.dtype} {src.shape}" if isinstance(src, np.ndarray) else type(src).__name__
            raise TypeError(f"{what}: must be {dst.dtype} with shape {dst.shape}, got {got}")
    elif isinstance(dst, tuple):
        if type(src) is not type(dst) or len(src) != len(dst):
            raise TypeError(f"{what}: must be a {type(dst).__name__} of {len(dst)} items")
        for i, (s, d) in enumerate(zip(src, dst, strict=True)):
            check_same(s, d, f"{what}[{i}]")
    elif type(src) is not type(dst) or src != dst:
        # a scalar was handed to the loop process by value when it started
        raise TypeError(f"{what}: the scalar {dst!r} cannot change while the loop runs in "
                        "its own process (restart the engine)")


def _copy(src: Any, dst: Any) -> None:
    if isinstance(dst, np.ndarray):
        np.copyto(dst, src)
    elif isinstance(dst, tuple):
        for s, d in zip(src, dst, strict=True):
            _copy(s, d)


def views_of(block: shared_memory.SharedMemory, layout: Layout) -> list[np.ndarray]:
    """One numpy view per slot of ``layout`` over ``block``."""
    buf = block.buf
    assert buf is not None  # an open block always has a buffer
    return [np.ndarray(s.shape, s.dtype, buffer=buf, offset=s.offset) for s in layout.slots]


def create_block(size: int) -> Block:
    """A new zeroed block named after this process (``tl<pid>_<random>``)."""
    return Block(name=f"tl{os.getpid()}_{secrets.token_hex(4)}", create=True, size=max(size, _ALIGN))


def attach_block(name: str) -> Block:
    """Open an existing block by name (the creator owns its lifetime: not tracked here)."""
    block = attach_untracked(name, Block)
    assert isinstance(block, Block)
    return block


def unlink_block(block: shared_memory.SharedMemory) -> None:
    """Remove the block's name from the system; mappings stay valid until dropped."""
    with contextlib.suppress(FileNotFoundError):
        block.unlink()


__all__ = ["Block", "Layout", "Slot", "attach_block", "build_tree", "check_same", "copy_tree",
           "create_block", "plan_tree", "unlink_block", "views_of"]
