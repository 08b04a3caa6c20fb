"""One compiled version of a kernel per argument type, not per constant it is called with.

When compiled code calls a ``numba.njit`` function with a constant argument (``emit(st,
ctx, 5, ...)``), numba types that argument as ``Literal[int](5)`` and compiles the callee,
and everything it calls, once per distinct constant: the simulated venue's ``emit`` was
compiled twenty times for one backtest. Typing calls with the plain types first, as numba
already does for ``@overload`` functions, and the literal types only when that fails (a
callee that needs a constant, e.g. through ``numba.literally``), nearly halves the compile
work of a first backtest of examples/ema_cross.toml (393 compilations in 313 s before, 211
in 178 s after) and leaves the generated code as fast: LLVM still sees the constants once
it inlines the callee.

Only callees in tradeloop's packages and plugins (modules named ``tradeloop*``) are typed
this way: numba's own implementations and a user's other numba code may return a type that
depends on a constant (``numba.literally`` does), which no typing error would reveal.
"""

from __future__ import annotations

from typing import Any

from numba.core import errors, types
from numba.core.types import functions

_plain_first = False
unliteral: Any = types.unliteral
#: modules whose compiled functions are typed without literals first
PREFIXES: tuple[str, ...] = ("tradeloop",)


def install() -> None:
    """Make calls between compiled functions type their arguments without literals first."""
    global _plain_first
    if _plain_first:
        return
    literal_call = functions.Dispatcher.get_call_type

    def get_call_type(self: Any, context: Any, args: Any, kws: Any) -> Any:
        # a function made by exec() without a __name__ in its globals has __module__ None
        if (getattr(self.dispatcher.py_func, "__module__", None) or "").startswith(PREFIXES):
            plain = tuple(unliteral(a) for a in args)
            plain_kws = {k: unliteral(v) for k, v in kws.items()}
            if plain != tuple(args) or plain_kws != kws:
                try:
                    return literal_call(self, context, plain, plain_kws)
                except (errors.TypingError, errors.ForceLiteralArg):
                    pass  # the callee needs its constants: compile it for them
        return literal_call(self, context, args, kws)

    functions.Dispatcher.get_call_type = get_call_type  # type: ignore[method-assign]
    _plain_first = True
