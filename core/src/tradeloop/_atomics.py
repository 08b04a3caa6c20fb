"""Atomic acquire/release loads, stores and compare-and-swap on int64 array cells.

Cross-process ring counters live in shared memory and are polled in tight loops. With a
plain ``arr[i]`` read LLVM may hoist the load out of the loop (it cannot see the other
process) and the consumer spins forever; with plain stores the CPU or compiler may make the
counter visible before the record it publishes. These intrinsics emit real LLVM
``load atomic ... acquire`` / ``store atomic ... release`` / ``cmpxchg ... acq_rel``
instructions, so ordering comes from the memory model, not from luck.

They take a C-contiguous 1-d int64 array and an index and are usable only from numba-compiled
code. ``wall_clock_ns`` reads ``CLOCK_REALTIME`` through libc by symbol name (not by address),
so functions that use it remain cacheable on disk.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic


def _cell_ptr(context: Any, builder: Any, arrty: Any, arr: Any, idx: Any) -> Any:
    ary = context.make_array(arrty)(context, builder, arr)
    return cgutils.get_item_pointer(context, builder, arrty, ary, [idx], wraparound=False)


def _check(arrty: Any, idxty: Any) -> bool:
    return (
        isinstance(arrty, types.Array)
        and arrty.ndim == 1
        and arrty.dtype == types.int64
        and isinstance(idxty, types.Integer)
    )


@intrinsic
def load_acquire(typingctx: Any, arrty: Any, idxty: Any) -> Any:
    """``arr[idx]`` as an atomic load with acquire ordering (int64 cells)."""
    if not _check(arrty, idxty):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        arr, idx = args
        idx = context.cast(builder, idx, sig.args[1], types.intp)
        ptr = _cell_ptr(context, builder, sig.args[0], arr, idx)
        return builder.load_atomic(ptr, "acquire", 8)

    return types.int64(arrty, idxty), codegen


@intrinsic
def store_release(typingctx: Any, arrty: Any, idxty: Any, valty: Any) -> Any:
    """``arr[idx] = val`` as an atomic store with release ordering (int64 cells)."""
    if not _check(arrty, idxty) or not isinstance(valty, types.Integer):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        arr, idx, val = args
        idx = context.cast(builder, idx, sig.args[1], types.intp)
        val = context.cast(builder, val, sig.args[2], types.int64)
        ptr = _cell_ptr(context, builder, sig.args[0], arr, idx)
        builder.store_atomic(val, ptr, "release", 8)
        return context.get_dummy_value()

    return types.none(arrty, idxty, valty), codegen


@intrinsic
def cas_acq_rel(typingctx: Any, arrty: Any, idxty: Any, expty: Any, newty: Any) -> Any:
    """Compare-and-swap ``arr[idx]`` from ``expected`` to ``new``; True if it swapped."""
    if (
        not _check(arrty, idxty)
        or not isinstance(expty, types.Integer)
        or not isinstance(newty, types.Integer)
    ):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        arr, idx, exp, new = args
        idx = context.cast(builder, idx, sig.args[1], types.intp)
        exp = context.cast(builder, exp, sig.args[2], types.int64)
        new = context.cast(builder, new, sig.args[3], types.int64)
        ptr = _cell_ptr(context, builder, sig.args[0], arr, idx)
        res = builder.cmpxchg(ptr, exp, new, "acq_rel", "acquire")
        ok = builder.extract_value(res, 1)
        return ok

    return types.boolean(arrty, idxty, expty, newty), codegen


@intrinsic
def fence_seq_cst(typingctx: Any) -> Any:
    """A full (sequentially consistent) memory fence."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def wall_clock_ns(typingctx: Any) -> Any:
    """Nanoseconds since the epoch from ``clock_gettime(CLOCK_REALTIME)``."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        i64 = ir.IntType(64)
        i32 = ir.IntType(32)
        tspec = ir.LiteralStructType([i64, i64])
        fnty = ir.FunctionType(i32, [i32, tspec.as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        slot = cgutils.alloca_once(builder, tspec)
        builder.call(fn, [ir.Constant(i32, 0), slot])
        sec = builder.load(cgutils.gep_inbounds(builder, slot, 0, 0))
        nsec = builder.load(cgutils.gep_inbounds(builder, slot, 0, 1))
        return builder.add(builder.mul(sec, ir.Constant(i64, 1_000_000_000)), nsec)

    return types.int64(), codegen


__all__ = ["cas_acq_rel", "fence_seq_cst", "load_acquire", "store_release", "wall_clock_ns"]
