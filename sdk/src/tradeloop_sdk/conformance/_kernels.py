"""Conformance of compiled components: strategies, stages and guards.

Strategies and stages must compile in the fused loop, never look ahead, and be
deterministic. Guards must honour the pass / resize / reject contract with reason codes
from the taxonomy. Subclass and provide the fixtures named in each class docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from .._context import make_context
from .._dtypes import TICK_DTYPE
from .._enums import ComponentKind, OrderType, Reason, Side, TimeInForce
from .._hotpath import HotPath, Universe
from ..strategy_testing import drive, drive_components
from ._fused import run_single

HotPathFactory = Callable[[Universe], HotPath]


def _intent_rows(intents: np.ndarray) -> list[tuple[Any, ...]]:
    fields = ("client_id", "venue", "symbol", "side", "type", "tif", "qty", "price", "action")
    # NaN (no price) must compare equal to NaN, so rows carry None for it
    return [tuple(None if np.isnan(v) else v for v in (float(r[f]) for f in fields)) for r in intents]


class KernelConformance:
    """Checks for strategies and stages.

    Fixtures to provide: ``universe`` (a Universe), ``make_component`` (universe ->
    HotPath, a fresh instance each call) and ``ticks`` (a TICK_DTYPE array on which the
    component emits at least one intent, for strategies).
    """

    def _drive(self, make_component: HotPathFactory, universe: Universe,
               ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hp = make_component(universe)
        ctx = make_context(len(universe.venues), len(universe.symbols))
        if hp.python_mode or hp.kind != ComponentKind.STRATEGY:
            return drive_components([hp], ctx, ticks)
        return drive(hp.on_tick, hp.params, hp.state, ctx, ticks)

    def test_declares_a_hot_path(self, make_component: HotPathFactory, universe: Universe) -> None:
        hp = make_component(universe)
        assert isinstance(hp, HotPath), "tradeloop_hot_path must return a tradeloop_sdk.HotPath"
        assert hp.kind in (ComponentKind.STRATEGY, ComponentKind.STAGE), f"kind is {hp.kind!r}"
        assert hp.on_tick is not None, "strategies and stages need an on_tick kernel"
        if not hp.python_mode:
            assert hasattr(hp.on_tick, "py_func"), "on_tick must be a numba.njit function (or set python_mode)"
            mod = hp.on_tick.py_func.__module__
            assert "<locals>" not in hp.on_tick.py_func.__qualname__, \
                f"on_tick must be module-level in {mod} so the fused loop can import it"

    @pytest.fixture
    def run_in_fused_loop(self) -> Callable[[HotPathFactory, Universe, np.ndarray], None]:
        """Compile the component into a fused loop and run ticks (the suite shares one loop)."""
        return run_single

    def test_compiles_and_runs_in_the_fused_loop(self, make_component: HotPathFactory, universe: Universe,
                                                 ticks: np.ndarray, run_in_fused_loop: Any) -> None:
        run_in_fused_loop(make_component, universe, ticks)

    def test_emits_intents_on_its_scenario(self, make_component: HotPathFactory, universe: Universe,
                                           ticks: np.ndarray) -> None:
        hp = make_component(universe)
        if hp.kind != ComponentKind.STRATEGY:
            pytest.skip("stages need not emit intents")
        intents, _ = self._drive(make_component, universe, ticks)
        assert len(intents) > 0, "the scenario ticks must make the strategy emit at least one intent"

    def test_deterministic(self, make_component: HotPathFactory, universe: Universe, ticks: np.ndarray) -> None:
        a, ai = self._drive(make_component, universe, ticks)
        b, bi = self._drive(make_component, universe, ticks)
        assert _intent_rows(a) == _intent_rows(b), "two runs over the same ticks differ"
        assert list(ai) == list(bi)

    def test_no_look_ahead(self, make_component: HotPathFactory, universe: Universe, ticks: np.ndarray) -> None:
        cut = len(ticks) // 2
        changed = ticks.copy()
        rng = np.random.default_rng(7)
        # scale both sides (and trade prices, which alias bid) by one factor: a new future
        factor = 1 + rng.normal(0, 0.01, len(ticks) - cut)
        for f in ("bid", "ask"):
            changed[f][cut:] = changed[f][cut:] * factor
        a, ai = self._drive(make_component, universe, ticks)
        b, bi = self._drive(make_component, universe, changed)
        before_a = [row for row, i in zip(_intent_rows(a), ai, strict=True) if i < cut]
        before_b = [row for row, i in zip(_intent_rows(b), bi, strict=True) if i < cut]
        assert before_a == before_b, f"decisions before tick {cut} changed when only later ticks changed: look-ahead"


class GuardConformance:
    """Checks for guards. Fixtures: ``universe`` and ``make_component`` (universe -> HotPath)."""

    def _ctx(self, universe: Universe) -> Any:
        ctx = make_context(len(universe.venues), len(universe.symbols))
        b = ctx.books
        b["bid"], b["ask"], b["bid_size"], b["ask_size"] = 100.0, 100.02, 10.0, 10.0
        b["ts_recv"] = b["ts_exch"] = 1_700_000_000_000_000_000
        ctx.control[0]["now_ns"] = 1_700_000_000_000_000_000
        s = ctx.specs
        s["tick_size"], s["lot_step"], s["min_qty"] = 0.01, 0.001, 0.001
        s["order_types"] = sum(1 << int(t) for t in OrderType)
        s["tifs"] = sum(1 << int(t) for t in TimeInForce)
        return ctx

    def _check(self, hp: HotPath, ctx: Any, qty: float, price: float, side: int = int(Side.BUY)) -> tuple[int, float]:
        from .._context import submit

        ctx.counts[0] = 0
        submit(ctx, 0, 0, 0, side, int(OrderType.LIMIT), int(TimeInForce.GTC), qty, price)
        assert hp.check is not None
        code = int(hp.check(hp.params, hp.state, ctx, 0))
        return code, float(ctx.intents[0]["qty"])

    def test_declares_a_guard(self, make_component: HotPathFactory, universe: Universe) -> None:
        hp = make_component(universe)
        assert hp.kind == ComponentKind.GUARD, f"a guard's HotPath kind must be GUARD, got {hp.kind!r}"
        assert hp.check is not None and hasattr(hp.check, "py_func"), "check must be a numba.njit function"

    def test_passes_a_modest_intent(self, make_component: HotPathFactory, universe: Universe) -> None:
        hp = make_component(universe)
        code, qty = self._check(hp, self._ctx(universe), 0.01, 100.0)
        assert code == 0, f"a small, well-priced intent must pass; got reason {code}"
        assert qty == pytest.approx(0.01), "a passed intent keeps its size"

    def test_reasons_are_taxonomy_codes_and_resizes_only_shrink(
        self, make_component: HotPathFactory, universe: Universe
    ) -> None:
        rng = np.random.default_rng(11)
        valid = {int(r) for r in Reason}
        for _ in range(200):
            hp_ctx = self._ctx(universe)
            hp = make_component(universe)
            qty = float(10 ** rng.uniform(-3, 4))
            price = float(100 * (1 + rng.normal(0, 0.05)))
            side = int(rng.choice([int(Side.BUY), int(Side.SELL)]))
            code, new_qty = self._check(hp, hp_ctx, qty, price, side)
            assert code in valid, f"check returned {code}, which is not a tradeloop_sdk.Reason"
            assert code != int(Reason.NONE) or new_qty <= qty + 1e-12, \
                f"a guard may only lower an intent's qty (resize), it raised {qty} to {new_qty}"
            assert new_qty >= 0, "a resize below zero is a reject: return a Reason instead"


__all__ = ["TICK_DTYPE", "GuardConformance", "KernelConformance"]
