"""The fused loop's promise that the arrays it is handed do not overlap, and its check.

Every component kernel is inlined into ``run_chunk`` and reads and writes through pointers
that numba passes as plain function arguments. Without more information LLVM must assume
that a store into one component's state may change any other array: the tick's fields,
the book, the context's counters. So each inlined kernel reloads the tick and recomputes
its addresses after every other kernel's stores. ``distinct_arguments()`` marks the loop's
pointer arguments ``noalias``. LLVM may then keep those values in registers across
kernels.

The promise holds because the loop's arrays are separate allocations: the context, the
kernel state, each component's params and state, and the ticks. :func:`overlaps` checks
this when a loop is built, and :func:`ranges`/:func:`hit` check the ticks of every
chunk. An overlap would make the compiled code wrong, not slow. Only arrays that some
kernel may write count: params are read-only to kernels, so two components may share
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic


@intrinsic
def distinct_arguments(typingctx: Any) -> Any:
    """Mark the calling function's pointer arguments ``noalias`` (see the module docstring).

    Call it only from a function whose array arguments never overlap one another.
    """

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        for a in context.call_conv.get_arguments(builder.function):
            if isinstance(a.type, ir.PointerType):
                a.add_attribute("noalias")
        return context.get_dummy_value()

    return types.none(), codegen


def arrays(label: str, x: Any) -> list[tuple[str, np.ndarray]]:
    """``(name, array)`` for every non-empty array in ``x``, looking inside tuples."""
    if isinstance(x, np.ndarray):
        return [(label, x)] if x.size else []
    if isinstance(x, tuple | list):
        fields = getattr(x, "_fields", None)
        out: list[tuple[str, np.ndarray]] = []
        for k, item in enumerate(x):
            out += arrays(f"{label}.{fields[k]}" if fields else f"{label}[{k}]", item)
        return out
    return []


def overlaps(
    written: Sequence[tuple[str, np.ndarray]], read: Sequence[tuple[str, np.ndarray]] = ()
) -> list[tuple[str, str]]:
    """Pairs of names whose memory overlaps, where at least one is in ``written``."""
    out = []
    for i, (na, a) in enumerate(written):
        for nb, b in [*written[i + 1 :], *read]:
            if np.may_share_memory(a, b) and np.shares_memory(a, b):
                out.append((na, nb))
    return out


def _bounds(a: np.ndarray) -> tuple[int, int]:
    """First byte and end byte of ``a`` (non-empty), whatever its strides."""
    lo = hi = int(a.__array_interface__["data"][0])
    for n, st in zip(a.shape, a.strides, strict=True):
        if st < 0:
            lo += (n - 1) * st
        else:
            hi += (n - 1) * st
    return lo, hi + a.itemsize


def ranges(items: Iterable[tuple[str, np.ndarray]]) -> list[tuple[int, int, str]]:
    """``(first byte, end byte, name)`` of each array."""
    return [(*_bounds(a), name) for name, a in items]


def hit(spans: Sequence[tuple[int, int, str]], a: np.ndarray) -> str | None:
    """The name of the first span ``a``'s bytes overlap, or None."""
    if a.size == 0:
        return None
    lo, hi = _bounds(a)
    for s_lo, s_hi, name in spans:
        if lo < s_hi and s_lo < hi:
            return name
    return None


__all__ = ["arrays", "distinct_arguments", "hit", "overlaps", "ranges"]
