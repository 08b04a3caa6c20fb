"""What one out-of-line call between compiled kernels costs, by what it is handed.

    python3 -m uv run --all-packages python bench/bench_call_cost.py

The same callee body (too large for LLVM to inline; one array update on the taken path) is
called in a loop four ways: given the whole Context plus a component state of 14 arrays,
as reference-counted arrays (what plain numba code passes) and as the fused loop's
borrowed views (``tradeloop._borrow``); the borrowed views again into a callee compiled
without reference counting (numba's private ``_nrt=False``: what the argument passing
alone costs); and only the two arrays the body touches, the reference. numba passes every
array of a tuple argument as a separate struct of 7-11 words, and brackets the call with a
reference-count operation per array: a kernel's helper that receives ``ctx`` and ``state``
pays that on every call, whatever it reads.
"""

from __future__ import annotations

import time
from collections import namedtuple
from typing import Any

import numba
import numpy as np
from tradeloop._borrow import borrow
from tradeloop_sdk import make_context

State = namedtuple("State", [f"a{i}" for i in range(14)])  # the simulated venue's state has 14
N = 2_000_000
REPEAT = 5


def _body(a: str, b: str) -> str:
    # never-taken branches keep the callee above LLVM's inlining threshold
    lines = [f"    {a}[i & 63, 1] += 1.0"]
    for k in range(160):
        r = k % 64
        lines += [f"    if i == -{k + 1}:", f"        {a}[{r}, 2] = {a}[{r}, 3] * 2.0 + {b}[0, 0]"]
    return "\n".join([*lines, f"    return {a}[i & 63, 1]"]) + "\n"


def _make() -> dict[str, Any]:
    src = (
        "def whole(st, ctx, i):\n" + _body("st.a3", "ctx.cash")
        + "def views(a, b, i):\n" + _body("a", "b")
    )
    ns: dict[str, Any] = {}
    exec(compile(src, "<bench_call_cost>", "exec"), ns)
    return ns


_SRC = _make()
whole = numba.njit(no_cpython_wrapper=True)(_SRC["whole"])
whole_nonrt = numba.njit(no_cpython_wrapper=True, _nrt=False)(_SRC["whole"])
views = numba.njit(no_cpython_wrapper=True)(_SRC["views"])


@numba.njit
def calls(fn: Any, a: Any, b: Any, n: int) -> float:
    """``n`` calls of ``fn(a, b, i)`` (compiled once per callee and argument types)."""
    x = 0.0
    for i in range(n):
        x += fn(a, b, i)
    return x


@numba.njit
def borrowed_calls(fn: Any, st: Any, ctx: Any, n: int) -> float:
    """The same with the fused loop's borrowed views."""
    return calls(fn, borrow(st), borrow(ctx), n)


def main() -> None:
    st = State(*[np.zeros((64, 8)) for _ in range(14)])
    ctx = make_context()
    ways = [
        ("Context + 14-array state, reference-counted", lambda n: calls(whole, st, ctx, n)),
        ("the same, borrowed views (the fused loop)", lambda n: borrowed_calls(whole, st, ctx, n)),
        ("borrowed, callee without reference counting",
         lambda n: borrowed_calls(whole_nonrt, st, ctx, n)),
        ("only the two arrays it uses (reference)", lambda n: calls(views, st.a3, ctx.cash, n)),
    ]
    best = {}
    for _, run in ways:
        run(10)  # compile
    for _ in range(REPEAT):  # interleaved: a noisy machine slows all ways alike
        for name, run in ways:
            t0 = time.process_time()
            run(N)
            best[name] = min(best.get(name, np.inf), time.process_time() - t0)
    ref = best[ways[-1][0]]
    for name, _ in ways:
        print(f"{name:46s} {best[name] / N * 1e9:7.1f} ns a call  ({best[name] / ref:5.1f}x)")


if __name__ == "__main__":
    main()
