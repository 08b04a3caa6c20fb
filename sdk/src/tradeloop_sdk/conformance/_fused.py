"""One fused loop for many components: compiled once per session, shared by their checks.

A cold compile of a fused loop costs tens of seconds; a loop holding every strategy,
stage and gate under test costs about as much as one, and is what a real config looks
like anyway. If that combined compile or run fails, the component is compiled alone, so
the failure names the component at fault and the others still pass on their own.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from .._dtypes import TICK_DTYPE
from .._enums import ComponentKind
from .._hotpath import HotPath, Universe

Build = Callable[[str, Universe], HotPath]
Scenario = Callable[[str], tuple[Universe, np.ndarray]]

#: component kinds that run on every tick, hence worth one shared loop
SHARED_KINDS = (ComponentKind.GATE, ComponentKind.STRATEGY, ComponentKind.STAGE)
_ORDER = {ComponentKind.GATE: 0, ComponentKind.STRATEGY: 1, ComponentKind.STAGE: 2}

_RUNS: dict[tuple[str, ...], Any] = {}


def _union(universes: Sequence[Universe]) -> Universe:
    def names(attr: str) -> tuple[str, ...]:
        out: list[str] = []
        for u in universes:
            out += [n for n in getattr(u, attr) if n not in out]
        return tuple(out)

    specs: dict[tuple[str, str], Any] = {}
    for u in universes:
        specs.update(u.specs)
    return Universe(names("venues"), names("symbols"), names("currencies"), specs)


def _remap(ticks: np.ndarray, src: Universe, dst: Universe) -> np.ndarray:
    out = ticks.copy()
    vmap = np.array([dst.venue_id(v) for v in src.venues], np.int64)
    smap = np.array([dst.symbol_id(s) for s in src.symbols], np.int64)
    out["venue"] = vmap[ticks["venue"].astype(np.int64)]
    out["symbol"] = smap[ticks["symbol"].astype(np.int64)]
    return out


class _Shared:
    """The shared loop's outcome: which refs it holds, the ticks it ran, or why it failed."""

    def __init__(self, refs: Sequence[str], build: Build, scenario: Scenario) -> None:
        self.members: list[str] = []
        self.error: BaseException | None = None
        self.loop: Any = None
        self.n_ticks = 0
        try:
            self._run(refs, build, scenario)
        except Exception as exc:
            self.error = exc
            warnings.warn(f"the shared fused loop failed ({exc!r}); compiling each component alone",
                          stacklevel=2)

    def _run(self, refs: Sequence[str], build: Build, scenario: Scenario) -> None:
        loop_mod = pytest.importorskip("tradeloop.loop", reason="the tradeloop kernel is not installed")
        scenarios = {}
        for ref in refs:
            try:
                scenarios[ref] = scenario(ref)
            except Exception:
                continue
        universe = _union([u for u, _ in scenarios.values()])
        parts = []
        for ref, (u, t) in scenarios.items():
            try:
                hp = build(ref, universe)
            except Exception:
                continue
            # a Python-mode component makes a loop uncacheable (see tradeloop._pymode):
            # it compiles alone, and the shared loop stays in numba's disk cache
            if hp.kind in SHARED_KINDS and not hp.python_mode:
                parts.append((_ORDER[ComponentKind(hp.kind)], ref, hp, _remap(t, u, universe)))
        parts.sort(key=lambda p: p[0])
        self.members = [p[1] for p in parts]
        # one preallocated array: np.concatenate would drop TICK_DTYPE's field aliases
        ticks = np.zeros(sum(len(p[3]) for p in parts), TICK_DTYPE)
        at = 0
        for p in parts:
            ticks[at : at + len(p[3])] = p[3]
            at += len(p[3])
        ticks = ticks[np.argsort(ticks["ts_recv"], kind="stable")]
        self.loop = loop_mod.build_loop(universe, [p[2] for p in parts], mode="backtest")
        self.loop.run(ticks)
        self.n_ticks = len(ticks)


def run_single(make: Callable[[Universe], HotPath], universe: Universe, ticks: np.ndarray) -> None:
    """Compile the component alone into a fused loop and run ``ticks`` through it."""
    loop_mod = pytest.importorskip("tradeloop.loop", reason="the tradeloop kernel is not installed")
    loop = loop_mod.build_loop(universe, [make(universe)], mode="backtest")
    loop.run(ticks)
    assert int(loop.ctx.control[0]["ticks_in"]) == len(ticks), "the fused loop must see every tick"


def run_shared(ref: str, refs: Sequence[str], build: Build, scenario: Scenario,
               make: Callable[[Universe], HotPath], universe: Universe, ticks: np.ndarray) -> None:
    """Check ``ref`` in the session's shared loop of ``refs`` (built on first use)."""
    key = tuple(refs)
    if ref in key and key not in _RUNS:
        _RUNS[key] = _Shared(key, build, scenario)
    shared = _RUNS.get(key)
    if shared is None or shared.error is not None or ref not in shared.members:
        run_single(make, universe, ticks)
        return
    got = int(shared.loop.ctx.control[0]["ticks_in"])
    assert got == shared.n_ticks, f"the shared fused loop saw {got} of {shared.n_ticks} ticks"
