"""Borrowed (non-reference-counted) views of arrays for the fused loop's inner calls.

Every call from the loop into a component kernel hands it the Context, a namedtuple of a
dozen arrays. numba reference-counts arrays with atomic increments and decrements, and the
pairs around an inlined or out-of-line call are not pruned when the callee branches (an
early ``return``): measured, that alone cost ~150 ns per call, i.e. most of a tick.

``borrow(x)`` returns ``x`` with every array's meminfo pointer set to NULL (recursively
through tuples and namedtuples). NRT treats NULL as "not managed", so reference counting
becomes a null check. This is safe only while the caller holds the real references for the
whole lifetime of the borrowed value, which is the case in the generated loop: the borrowed
context lives in the loop function's frame, and the originals are its arguments. Borrowed
arrays must never be returned to Python or stored anywhere that outlives the call (the
Python-mode bridge therefore receives the original, managed context).
"""

from __future__ import annotations

from typing import Any

from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic


def _null_meminfo(context: Any, builder: Any, ty: Any, val: Any) -> Any:
    if isinstance(ty, types.Array):
        ary = context.make_array(ty)(context, builder, val)
        ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
        return ary._getvalue()
    if isinstance(ty, types.BaseTuple):
        out = val
        for k, sub in enumerate(ty.types):
            item = builder.extract_value(val, k)
            out = builder.insert_value(out, _null_meminfo(context, builder, sub, item), k)
        return out
    return val


@intrinsic
def borrow(typingctx: Any, xty: Any) -> Any:
    """``x`` with its arrays' reference counting disabled (see the module docstring)."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return _null_meminfo(context, builder, sig.args[0], args[0])

    return xty(xty), codegen


@intrinsic
def as_argument(typingctx: Any, xty: Any) -> Any:
    """A global (constant) array under the numba type it has as an argument: numba types a
    global array read-only, and every kernel handed it would compile for a second type.

    The values stay constants of the compiled code: only the type changes (both have the
    same data model). Writing through it is undefined: for params, which kernels only read.
    """
    if not isinstance(xty, types.Array):
        return None
    out = xty.copy(readonly=False)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return args[0]

    return out(xty), codegen


__all__ = ["as_argument", "borrow"]
