"""Data-quality gate components: Params, and the HotPath each hands the fused loop.

Times in params are milliseconds (floats) on the Python side and integer ns in kernels.
Counters live in ``component.state`` (an int64[venues, symbols] array, or a structured
array for the stateful gates) once :meth:`tradeloop_hot_path` has run.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, Universe, hookimpl, param, params_array

from . import _kernels as k

_MS = 1_000_000


def _ns(ms: float) -> int:
    return round(ms * _MS)


def _taint_param() -> Any:
    return param(0.0, ge=0.0, doc="extend the taint this long after a flagged tick (ms; 0: the flag alone)")


class _Gate:
    """Shared plumbing: hold params, allocate per-(venue, symbol) counters."""

    Params: Any
    name = ""
    _kernel: Any = None

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()
        self.state: Any = None
        self.universe: Universe | None = None

    def _params(self) -> dict[str, float | int]:
        raise NotImplementedError

    def _state(self, universe: Universe) -> Any:
        return np.zeros((len(universe.venues), len(universe.symbols)), np.int64)

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """The gate kernel with its params and freshly allocated state."""
        self.universe = universe
        self.state = self._state(universe)
        return HotPath(
            kind=ComponentKind.GATE,
            params=params_array(self._params()),
            state=self.state,
            on_tick=type(self)._kernel,
            name=self.name,
        )

    def flagged(self) -> int:
        """Ticks this gate has flagged so far, all symbols."""
        return 0 if self.state is None else int(np.sum(self.state))


class CrossedBook(_Gate):
    """Flag quotes whose bid is above the ask (CROSSED), beyond a tolerance.

    A locked book (bid == ask) passes unless ``flag_locked``.
    """

    name = "crossed_book"
    _kernel = k.crossed_book_tick

    @attrs.frozen
    class Params:
        """Crossed-book gate parameters."""

        tolerance_bps: float = param(0.0, ge=0.0, le=1000.0, doc="crossing allowed, in bps of mid")
        flag_locked: bool = param(False, doc="also flag bid == ask")
        taint_ms: float = _taint_param()

    def _params(self) -> dict[str, float | int]:
        p = self.params
        return {"tolerance_bps": p.tolerance_bps, "flag_locked": int(p.flag_locked),
                "taint_ns": _ns(p.taint_ms)}


class StaleQuote(_Gate):
    """Flag ticks received more than ``max_age_ms`` after their exchange timestamp (STALE)."""

    name = "stale_quote"
    _kernel = k.stale_quote_tick

    @attrs.frozen
    class Params:
        """Stale-quote gate parameters."""

        max_age_ms: float = param(2000.0, gt=0.0, doc="largest receive minus exchange time (ms)")
        taint_ms: float = _taint_param()

    def _params(self) -> dict[str, float | int]:
        return {"max_age_ns": _ns(self.params.max_age_ms), "taint_ns": _ns(self.params.taint_ms)}


class TimeSkew(_Gate):
    """Flag ticks stamped by an exchange clock ahead of ours by more than ``max_skew_ms`` (SKEW).

    A tick cannot arrive before it happened, so exchange time after receive time is clock
    skew. ``two_sided`` also flags the exchange clock lagging beyond the bound (which a
    slow feed looks like too, so it overlaps ``stale_quote``).
    """

    name = "time_skew"
    _kernel = k.time_skew_tick

    @attrs.frozen
    class Params:
        """Time-skew gate parameters."""

        max_skew_ms: float = param(1000.0, gt=0.0, doc="largest clock difference (ms)")
        two_sided: bool = param(False, doc="also flag exchange time behind receive time")
        taint_ms: float = _taint_param()

    def _params(self) -> dict[str, float | int]:
        p = self.params
        return {"max_skew_ns": _ns(p.max_skew_ms), "two_sided": int(p.two_sided),
                "taint_ns": _ns(p.taint_ms)}


class WideSpread(_Gate):
    """Flag quotes whose spread exceeds ``max_spread_bps`` of mid (WIDE)."""

    name = "wide_spread"
    _kernel = k.wide_spread_tick

    @attrs.frozen
    class Params:
        """Wide-spread gate parameters."""

        max_spread_bps: float = param(100.0, gt=0.0, doc="widest spread accepted (bps of mid)")
        taint_ms: float = _taint_param()

    def _params(self) -> dict[str, float | int]:
        return {"max_spread_bps": self.params.max_spread_bps, "taint_ns": _ns(self.params.taint_ms)}


class SequenceGap(_Gate):
    """Flag sequence gaps (GAP), repeats (DUPLICATE) and reordering (OUT_OF_ORDER).

    A gap sets ``needs_snapshot`` for the (venue, symbol) in :attr:`state`
    (``SEQ_STATE_DTYPE``); the data side polls :meth:`pending_snapshots`, asks its
    source for a snapshot where it can, then calls :meth:`acknowledge_snapshot`.
    """

    name = "sequence_gap"
    _kernel = k.sequence_gap_tick

    @attrs.frozen
    class Params:
        """Sequence-gap gate parameters."""

        per_venue: bool = param(False, doc="one sequence per venue instead of per symbol")
        max_reorder: int = param(1000, ge=0, doc="backward steps up to this are OUT_OF_ORDER; more is a new session")
        taint_ms: float = param(1000.0, ge=0.0, doc="taint after a gap until a snapshot can land (ms)")

    def _params(self) -> dict[str, float | int]:
        p = self.params
        return {"per_venue": int(p.per_venue), "max_reorder": p.max_reorder,
                "taint_ns": _ns(p.taint_ms)}

    def _state(self, universe: Universe) -> Any:
        return np.zeros((len(universe.venues), len(universe.symbols)), k.SEQ_STATE_DTYPE)

    def flagged(self) -> int:
        """Gaps, duplicates, reorders and resets seen so far."""
        if self.state is None:
            return 0
        st = self.state
        return int(st["gaps"].sum() + st["duplicates"].sum() + st["out_of_order"].sum())

    def pending_snapshots(self) -> list[tuple[str, str]]:
        """(venue, symbol) pairs that need a snapshot (``per_venue``: symbol is the first)."""
        if self.state is None or self.universe is None:
            return []
        u = self.universe
        vs, ss = np.nonzero(self.state["needs_snapshot"])
        return [(u.venues[v], u.symbols[s]) for v, s in zip(vs.tolist(), ss.tolist(), strict=True)]

    def acknowledge_snapshot(self, venue: str, symbol: str) -> None:
        """Clear ``needs_snapshot`` once a snapshot has been requested (or applied)."""
        if self.state is None or self.universe is None:
            raise RuntimeError("sequence_gap: tradeloop_hot_path has not run yet")
        v = self.universe.venue_id(venue)
        s = 0 if self.params.per_venue else self.universe.symbol_id(symbol)
        self.state[v, s]["needs_snapshot"] = 0


class PriceJump(_Gate):
    """Flag prices that move more than ``n_sigma`` EWMA standard deviations in one tick (JUMP).

    Quotes use the mid, trades and bars their price.
    """

    name = "price_jump"
    _kernel = k.price_jump_tick

    @attrs.frozen
    class Params:
        """Price-jump gate parameters."""

        n_sigma: float = param(8.0, gt=0.0, doc="jump threshold in EWMA standard deviations")
        halflife: float = param(100.0, gt=0.0, doc="EWMA half-life of squared returns (ticks)")
        min_samples: int = param(20, ge=1, doc="returns seen before the gate may flag")
        min_move_bps: float = param(1.0, ge=0.0, doc="moves below this never flag (bps)")
        taint_ms: float = _taint_param()

    def _params(self) -> dict[str, float | int]:
        p = self.params
        return {"n_sigma": p.n_sigma, "decay": float(0.5 ** (1.0 / p.halflife)),
                "min_samples": p.min_samples, "min_move_bps": p.min_move_bps,
                "taint_ns": _ns(p.taint_ms)}

    def _state(self, universe: Universe) -> Any:
        return np.zeros((len(universe.venues), len(universe.symbols)), k.JUMP_STATE_DTYPE)

    def flagged(self) -> int:
        """Jumps flagged so far, all symbols."""
        return 0 if self.state is None else int(self.state["count"].sum())
