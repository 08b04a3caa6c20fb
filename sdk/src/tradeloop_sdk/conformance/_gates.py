"""Conformance of data-quality gates: kernels that flag ticks before strategies see them.

A gate's ``on_tick(params, state, ctx, tick) -> int`` returns TickFlag bits. It must
compile in the fused loop, return only TickFlag bits, let clean data through, flag a
stream with defects in it, be deterministic and never look ahead. Fixtures to provide:
``universe``, ``make_component`` (universe -> HotPath, fresh each call), ``ticks`` (clean
data); optionally ``defect_ticks`` (ticks with the defect the gate looks for, when the
kit's own defect stream does not contain it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pytest

from .._context import make_context
from .._enums import ComponentKind, TickFlag, TickKind
from .._hotpath import HotPath, Universe
from ._fused import run_single

HotPathFactory = Callable[[Universe], HotPath]

_VALID = int(sum(int(f) for f in TickFlag))
_QUOTE = int(TickKind.QUOTE)

#: a clean stream may have this share of its ticks flagged (a noisy but calm market)
MAX_CLEAN_FLAGGED = 0.01


# Not disk-cached: numba's cache cannot key a first-class kernel argument (see strategy_testing).
@numba.njit
def _run_gate(kernel: Any, params: Any, state: Any, ctx: Any, ticks: Any, out: Any) -> None:
    for i in range(ticks.shape[0]):
        t = ticks[i]
        now = t["ts_recv"]
        if now == 0:
            now = t["ts_exch"]
        ctx.control[0]["now_ns"] = now
        f = kernel(params, state, ctx, t)
        out[i] = f
        # then the book, as the fused loop updates it after its gates
        b = ctx.books[t["venue"], t["symbol"]]
        if t["kind"] == _QUOTE:
            b["bid"] = t["bid"]
            b["ask"] = t["ask"]
            b["bid_size"] = t["bid_size"]
            b["ask_size"] = t["ask_size"]
        else:
            b["last"] = t["bid"]
            b["last_size"] = t["bid_size"]
        b["ts_exch"] = t["ts_exch"]
        b["ts_recv"] = t["ts_recv"]
        b["seq"] = t["seq"]
        b["flags"] = t["flags"] | f
        b["n_ticks"] += 1


def gate_flags(hp: HotPath, universe: Universe, ticks: np.ndarray) -> np.ndarray:
    """The flags ``hp`` returns for each of ``ticks``, over a fresh context."""
    ctx = make_context(len(universe.venues), len(universe.symbols))
    out = np.zeros(len(ticks), np.int64)
    _run_gate(hp.on_tick, hp.params, hp.state, ctx, ticks, out)
    return out


def with_defects(ticks: np.ndarray, every: int = 250) -> np.ndarray:
    """``ticks`` with a defect every ``every`` ticks past the first 40%: a crossed book, a
    stale tick, a skewed clock, a sequence gap, a wide spread and a price jump, in turn."""
    out = ticks.copy()
    start = int(len(out) * 0.4)
    for n, i in enumerate(range(start, len(out), every)):
        r = out[i]
        mid = 0.5 * (float(r["bid"]) + float(r["ask"]))
        kind = n % 6
        if kind == 0:
            r["bid"], r["ask"] = mid * 1.01, mid * 0.99
        elif kind == 1:
            r["ts_exch"] = r["ts_recv"] - 60 * 10**9
        elif kind == 2:
            r["ts_exch"] = r["ts_recv"] + 60 * 10**9
        elif kind == 3:
            out["seq"][i:] += 10
        elif kind == 4:
            r["bid"], r["ask"] = mid * 0.97, mid * 1.03
        else:
            r["bid"], r["ask"] = r["bid"] * 1.2, r["ask"] * 1.2
    return out


class GateConformance:
    """Checks every data-quality gate must pass."""

    @pytest.fixture
    def run_in_fused_loop(self) -> Callable[[HotPathFactory, Universe, np.ndarray], None]:
        """Compile the component into a fused loop and run ticks (the suite shares one loop)."""
        return run_single

    @pytest.fixture
    def defect_ticks(self) -> np.ndarray | None:
        """Ticks with the defect this gate looks for; None: the kit's mixed defect stream."""
        return None

    def test_declares_a_gate(self, make_component: HotPathFactory, universe: Universe) -> None:
        hp = make_component(universe)
        assert hp.kind == ComponentKind.GATE, f"a gate's HotPath kind must be GATE, got {hp.kind!r}"
        assert hp.on_tick is not None and hasattr(hp.on_tick, "py_func"), "on_tick must be a numba.njit function"
        assert "<locals>" not in hp.on_tick.py_func.__qualname__, \
            "on_tick must be module-level so the fused loop can import it"

    def test_compiles_and_runs_in_the_fused_loop(self, make_component: HotPathFactory, universe: Universe,
                                                 ticks: np.ndarray, run_in_fused_loop: Any) -> None:
        run_in_fused_loop(make_component, universe, ticks)

    def test_returns_tick_flags_and_passes_clean_data(self, make_component: HotPathFactory,
                                                      universe: Universe, ticks: np.ndarray) -> None:
        flags = gate_flags(make_component(universe), universe, ticks)
        bad = flags[(flags & ~_VALID) != 0]
        assert bad.size == 0, f"on_tick returned {int(bad[0])}, which has bits outside tradeloop_sdk.TickFlag"
        share = float(np.count_nonzero(flags)) / max(1, len(ticks))
        assert share <= MAX_CLEAN_FLAGGED, (
            f"the gate flagged {share:.1%} of a clean scenario (at most {MAX_CLEAN_FLAGGED:.0%} allowed): "
            "a gate that taints good data stops every strategy"
        )

    def test_flags_defective_data(self, make_component: HotPathFactory, universe: Universe,
                                  ticks: np.ndarray, defect_ticks: np.ndarray | None) -> None:
        bad = with_defects(ticks) if defect_ticks is None else defect_ticks
        clean = int(np.count_nonzero(gate_flags(make_component(universe), universe, ticks)))
        flagged = int(np.count_nonzero(gate_flags(make_component(universe), universe, bad)))
        assert flagged > clean, (
            f"the gate flagged {flagged} ticks of a stream with defects in it and {clean} of the clean one: "
            "it must flag the defect it exists for (give the kit defect_ticks if ours lack it)"
        )

    def test_deterministic(self, make_component: HotPathFactory, universe: Universe, ticks: np.ndarray) -> None:
        bad = with_defects(ticks)
        a = gate_flags(make_component(universe), universe, bad)
        b = gate_flags(make_component(universe), universe, bad)
        assert np.array_equal(a, b), "two runs over the same ticks flag differently"

    def test_no_look_ahead(self, make_component: HotPathFactory, universe: Universe, ticks: np.ndarray) -> None:
        bad = with_defects(ticks)
        cut = len(bad) // 2
        changed = bad.copy()
        factor = 1 + np.random.default_rng(7).normal(0, 0.01, len(bad) - cut)
        for f in ("bid", "ask"):
            changed[f][cut:] = changed[f][cut:] * factor
        a = gate_flags(make_component(universe), universe, bad)
        b = gate_flags(make_component(universe), universe, changed)
        assert np.array_equal(a[:cut], b[:cut]), \
            f"flags before tick {cut} changed when only later ticks changed: look-ahead"
