"""The generic conformance suite, run against installed plugins named with
``--tradeloop-plugin KIND:NAME``::

    pytest --pyargs tradeloop_sdk.conformance.suite --tradeloop-plugin strategies:ema_cross

or, from a test module, by subclassing a class below and naming the plugins in
``plugin_refs`` (how tradeloop's own CI runs the kit over every first-party plugin).

Components are built from their default parameters. A plugin may implement the hook
``tradeloop_conformance_harness(kind)`` to supply what the kit cannot make by itself
(see :mod:`tradeloop_sdk.conformance._resolve`): parameters, a universe and scenario
ticks, a broker harness, a rail's request factory, data for a provider to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .._enums import TickKind
from .._hotpath import HotPath, Universe
from ..strategy_testing import make_ticks
from . import (
    BrokerConformance,
    DataProviderConformance,
    FundingRailConformance,
    GateConformance,
    GuardConformance,
    KernelConformance,
)
from ._data import LiveChunks
from ._fused import run_shared
from ._resolve import Resolved, build_params, instantiate, resolve, split_ref


def default_scenario() -> tuple[Universe, np.ndarray]:
    """One venue, one symbol, 4000 quotes of a trending, mean-reverting random walk."""
    rng = np.random.default_rng(3)
    steps = rng.normal(0, 1, 4000) + 2 * np.sin(np.arange(4000) / 150)
    prices = 30_000 + np.cumsum(steps)
    return Universe(("sim",), ("BTCUSDT",), ("USDT", "BTC")), make_ticks(
        np.round(prices, 2), kind=TickKind.QUOTE, spread=0.5
    )


def load_component(ref: str, universe: Universe | None = None) -> Any:
    """Instantiate ``KIND:NAME`` from its entry point (harness params, hooks validated).

    Required ``venue``/``symbol``(``s``) parameters are taken from ``universe``.
    """
    return resolve(ref, universe or default_scenario()[0]).component


class _Base:
    kinds: tuple[str, ...] = ()
    #: plugins to check (``KIND:NAME``); None: those named by ``--tradeloop-plugin``
    plugin_refs: Sequence[str] | None = None

    @pytest.fixture
    def resolved(self, plugin_ref: str) -> Resolved:
        return resolve(plugin_ref, default_scenario()[0])

    @pytest.fixture
    def component(self, resolved: Resolved) -> Any:
        return resolved.component

    @pytest.fixture
    def scenario(self, resolved: Resolved) -> tuple[Universe, np.ndarray]:
        return scenario_of(resolved)

    @pytest.fixture
    def universe(self, scenario: tuple[Universe, np.ndarray]) -> Universe:
        return scenario[0]

    @pytest.fixture
    def ticks(self, scenario: tuple[Universe, np.ndarray]) -> np.ndarray:
        return scenario[1]

    @pytest.fixture
    def make_component(self, plugin_ref: str, resolved: Resolved) -> Any:
        def make(universe: Universe) -> HotPath:
            obj = instantiate(resolved.cls, resolved.params, universe, plugin_ref)
            hp: HotPath = obj.tradeloop_hot_path(universe=universe)
            return hp

        return make


def scenario_of(resolved: Resolved) -> tuple[Universe, np.ndarray]:
    """The harness's universe and ticks, or the default scenario."""
    ticks = getattr(resolved.harness, "ticks", None)
    return (resolved.universe, ticks) if ticks is not None else default_scenario()


class _Fused:
    """Compile every hot-path plugin of the session into one fused loop, once.

    A cold fused compile takes tens of seconds, so one loop holds the strategies, stages
    and gates under test together (as a real config does); a component that breaks that
    compile is then compiled alone, so the failure names it and spares the others.
    """

    @pytest.fixture
    def run_in_fused_loop(self, request: pytest.FixtureRequest, plugin_ref: str) -> Any:
        refs = tuple(r for r in _session_refs(request) if split_ref(r)[0] in _FUSED_KINDS)

        def build(ref: str, universe: Universe) -> HotPath:
            r = resolve(ref, default_scenario()[0])
            obj = instantiate(r.cls, r.params, universe, ref)
            hp: HotPath = obj.tradeloop_hot_path(universe=universe)
            return hp

        def scenario(ref: str) -> tuple[Universe, np.ndarray]:
            return scenario_of(resolve(ref, default_scenario()[0]))

        return lambda make, universe, ticks: run_shared(plugin_ref, refs, build, scenario, make, universe, ticks)


_FUSED_KINDS = ("strategies", "stages", "guards")


def _session_refs(request: pytest.FixtureRequest) -> list[str]:
    refs = getattr(request.cls, "plugin_refs", None)
    return list(refs) if refs is not None else list(request.config.getoption("--tradeloop-plugin"))


class TestKernels(_Fused, _Base, KernelConformance):
    """Strategies and stages."""

    kinds = ("strategies", "stages")


class TestGuards(_Base, GuardConformance):
    """Guards: components that check intents (``HotPath`` kind GUARD)."""

    kinds = ("guards",)
    hot_path_kinds = ("GUARD",)


class TestGates(_Fused, _Base, GateConformance):
    """Data-quality gates: components of the ``guards`` group that flag ticks (kind GATE)."""

    kinds = ("guards",)
    hot_path_kinds = ("GATE",)

    @pytest.fixture
    def defect_ticks(self, resolved: Resolved) -> np.ndarray | None:
        return getattr(resolved.harness, "defect_ticks", None)


class TestDataProviders(_Base, DataProviderConformance):
    """Data providers: historical (``chunks()``), or live (``stream()``, harness ``serve``)."""

    kinds = ("data",)

    def _build(self, plugin_ref: str, resolved: Resolved, params: Any) -> Any:
        obj = instantiate(resolved.cls, params, resolved.universe, plugin_ref)
        return obj.tradeloop_data_provider(universe=resolved.universe)

    @pytest.fixture
    def universe(self, resolved: Resolved) -> Universe:
        return resolved.universe

    @pytest.fixture
    def provider(self, plugin_ref: str, resolved: Resolved, tmp_path: Path) -> Any:
        h = resolved.harness
        if hasattr(h, "serve"):
            return LiveChunks(h, lambda params: self._build(plugin_ref, resolved, params))
        if hasattr(h, "provider_params"):
            return self._build(plugin_ref, resolved, h.provider_params(tmp_path / "data", gap=False))
        return resolved.component.tradeloop_data_provider(universe=resolved.universe)

    @pytest.fixture
    def gappy_provider(self, plugin_ref: str, resolved: Resolved, tmp_path: Path) -> Any:
        h = resolved.harness
        params = h.provider_params(tmp_path / "gappy", gap=True) if hasattr(h, "provider_params") else None
        if params is None:
            pytest.skip("the harness offers no gappy data: this provider does not claim gap detection")
        return self._build(plugin_ref, resolved, params)


class TestBrokers(_Base, BrokerConformance):
    """Brokers: need ``tradeloop_conformance_harness(kind="brokers")``."""

    kinds = ("brokers",)

    @pytest.fixture
    def harness(self, resolved: Resolved) -> Any:
        if resolved.harness is None:
            pytest.fail("broker plugins must implement tradeloop_conformance_harness(kind) for the kit")
        return resolved.harness


class TestRails(_Base, FundingRailConformance):
    """Funding rails: need ``tradeloop_conformance_harness(kind="rails")``."""

    kinds = ("rails",)

    @pytest.fixture
    def rail(self, component: Any) -> Any:
        return component.tradeloop_funding_rail()

    @pytest.fixture
    def transfer_request(self, resolved: Resolved) -> Any:
        if resolved.harness is None:
            pytest.fail("rail plugins must implement tradeloop_conformance_harness(kind) for the kit")
        return resolved.harness.transfer_request


__all__ = ["build_params", "default_scenario", "load_component"]
