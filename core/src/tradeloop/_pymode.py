"""Python mode: strategies written in plain Python run in the same fused loop.

A component that cannot be compiled (a scikit-learn model, a pandas rule) declares
``HotPath(python_mode=True, on_tick=f)`` with ``f(params, state, ctx, tick)`` a plain
callable, or implements the hook ``tradeloop_python_strategy(universe)`` returning an
object with ``on_tick(ctx, tick)`` (wrap it with :func:`python_strategy`).

Mechanism (measured in ``bench/bench_loop.py``): the generated loop calls such a function
inside a ``numba.objmode`` block. ``objmode`` cannot take a Python object as an argument of
an njit function, so the callable is a *global* of the generated module (injected before it
is compiled). The call re-acquires the GIL and boxes its arguments: ``ctx`` arrives as the
SDK Context of numpy arrays sharing memory with the loop (so ``submit``/``cancel`` and
writes to ``state`` work as in compiled code), ``tick`` as a *copy* of the record (writes to
it are not seen by the loop). A loop with any Python-mode component is compiled without the
disk cache, because its globals are objects of this process; everything else is unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, params_array


class _Bridge:
    """Adapts ``obj.on_tick(ctx, tick)`` to the kernel signature ``(params, state, ctx, tick)``."""

    def __init__(self, obj: Any) -> None:
        if not callable(getattr(obj, "on_tick", None)):
            raise TypeError(f"python strategy {obj!r} has no callable on_tick(ctx, tick)")
        self.obj = obj
        self.__qualname__ = f"python_strategy[{type(obj).__qualname__}]"
        self.__module__ = type(obj).__module__

    def __call__(self, params: Any, state: Any, ctx: Any, tick: Any) -> None:
        self.obj.on_tick(ctx, tick)


def python_strategy(obj: Any, *, name: str = "", kind: ComponentKind = ComponentKind.STRATEGY) -> HotPath:
    """HotPath for an object with ``on_tick(ctx, tick)`` (what the hook returns)."""
    return HotPath(
        kind=kind,
        params=params_array({"python_mode": 1}),
        state=np.zeros(1),
        on_tick=_Bridge(obj),
        python_mode=True,
        name=name or type(obj).__name__,
    )


def from_hook(component: Any, universe: Any, *, name: str = "") -> HotPath:
    """Call ``component.tradeloop_python_strategy(universe)`` and wrap the result."""
    hook = getattr(component, "tradeloop_python_strategy", None)
    if hook is None:
        raise TypeError(f"{component!r} does not implement tradeloop_python_strategy")
    return python_strategy(hook(universe), name=name or type(component).__name__)


__all__ = ["from_hook", "python_strategy"]
