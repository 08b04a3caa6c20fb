"""What a hot-path component hands the kernel: compiled functions, params and state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from ._enums import ComponentKind


@attrs.frozen
class Universe:
    """The venues, symbols and currencies of a run, with the ids kernels index by."""

    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    currencies: tuple[str, ...] = ("USD",)
    #: (venue, symbol) -> SymbolSpec (the attrs record); absent pairs use defaults.
    specs: Mapping[tuple[str, str], Any] = attrs.field(factory=dict)

    def venue_id(self, name: str) -> int:
        """Id of venue ``name``; raises KeyError naming the known venues."""
        try:
            return self.venues.index(name)
        except ValueError:
            raise KeyError(f"unknown venue {name!r}; known: {', '.join(self.venues)}") from None

    def symbol_id(self, name: str) -> int:
        """Id of symbol ``name``; raises KeyError naming the known symbols."""
        try:
            return self.symbols.index(name)
        except ValueError:
            raise KeyError(f"unknown symbol {name!r}; known: {', '.join(self.symbols)}") from None

    def currency_id(self, name: str) -> int:
        """Id of currency ``name``."""
        try:
            return self.currencies.index(name)
        except ValueError:
            raise KeyError(
                f"unknown currency {name!r}; known: {', '.join(self.currencies)}"
            ) from None


@attrs.frozen
class HotPath:
    """A component's contribution to the fused loop.

    Kernel functions must be module-level ``numba.njit`` dispatchers (the loop generator
    imports them by module and qualified name), or plain Python callables when
    ``python_mode`` is true. ``params`` is typically a one-element structured array and
    ``state`` any numba-typable value (an array or a tuple of arrays), preallocated.
    Kernels read ``params`` and never write it: a backtest compiles the params of gates,
    guards and venues into its loop as constants (writing one there is undefined), and
    live settings change by swapping the whole array (hot reload).
    """

    kind: ComponentKind
    params: Any
    state: Any
    on_tick: Callable[..., Any] | None = None
    on_report: Callable[..., Any] | None = None
    check: Callable[..., Any] | None = None  # guards
    on_intent: Callable[..., Any] | None = None  # venues
    python_mode: bool = False
    name: str = ""


def params_array(fields: Mapping[str, float | int | bool]) -> np.ndarray:
    """Pack numeric params into a one-element structured array (float64 or int64 fields)."""
    names = list(fields)
    formats = ["i8" if isinstance(v, (bool, int)) else "f8" for v in fields.values()]
    arr = np.zeros(1, np.dtype({"names": names, "formats": formats}, align=True))
    for k, v in fields.items():
        arr[0][k] = v
    return arr
