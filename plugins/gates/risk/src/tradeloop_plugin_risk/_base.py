"""Shared plumbing of the risk guard components."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, Universe, hookimpl, params_array

log = logging.getLogger(__name__)

S = 1_000_000_000


def ns(seconds: float) -> int:
    """Seconds (config) to integer ns (kernels)."""
    return round(seconds * S)


def pairs(universe: Universe, key: str, *, strict: bool = True) -> list[tuple[int, int]]:
    """(venue, symbol) ids a config key names: ``SYM`` (every venue), ``venue:SYM`` or ``venue:*``.

    Unknown names raise KeyError naming the known ones (``strict``) or match nothing.
    """
    try:
        if ":" in key:
            vname, sname = key.split(":", 1)
            v = universe.venue_id(vname)
            if sname == "*":
                return [(v, s) for s in range(len(universe.symbols))]
            return [(v, universe.symbol_id(sname))]
        s = universe.symbol_id(key)
        return [(v, s) for v in range(len(universe.venues))]
    except KeyError:
        if strict:
            raise
        log.warning("guard config names %r, which is not in this universe; ignored", key)
        return []


def _number(value: float | int | bool) -> float | int:
    return int(value) if isinstance(value, bool) else value


class Guard:
    """A risk guard component: params in, a GUARD HotPath out; ``state`` readable after."""

    Params: Any
    name = ""
    _check: Any = None
    _on_report: Any = None
    _on_tick: Any = None  # optional: called every tick, before strategies (see docs/guards.md)
    _fields: tuple[str, ...] = ()  # Params the kernels read as they are (bools as 0/1)

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()
        self.state: Any = None
        self.universe: Universe | None = None

    def _params(self) -> dict[str, float | int]:
        """The kernels' params record: ``_fields`` by default; override to convert units."""
        if not self._fields:
            return {"unused": 0}
        return {f: _number(getattr(self.params, f)) for f in self._fields}

    def _state(self, universe: Universe) -> Any:
        return np.zeros((len(universe.venues), len(universe.symbols)), np.int64)

    def _hot_state(self) -> Any:
        """What the kernels get as ``state`` (by default ``self.state`` itself)."""
        return self.state

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """The guard kernel with its params and freshly allocated state."""
        self.universe = universe
        self.state = self._state(universe)
        cls = type(self)
        return HotPath(
            kind=ComponentKind.GUARD,
            params=params_array(self._params()),
            state=self._hot_state(),
            check=cls._check,
            on_report=cls._on_report,
            on_tick=cls._on_tick,
            name=self.name,
        )
