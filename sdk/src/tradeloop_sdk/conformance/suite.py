"""The generic conformance suite, run against installed plugins named with
``--tradeloop-plugin KIND:NAME``::

    pytest --pyargs tradeloop_sdk.conformance.suite --tradeloop-plugin strategies:ema_cross

Components are built from their default parameters. A plugin may implement the hook
``tradeloop_conformance_harness(kind)`` to supply what the kit cannot make by itself: a
broker harness, a rail with a request factory, or a universe and scenario ticks.
"""

from __future__ import annotations

import importlib.metadata as md
from typing import Any

import numpy as np
import pytest

from .._hookspecs import ComponentSpecs, EventSpecs, PROJECT
from .._hotpath import Universe
from ..strategy_testing import make_ticks
from . import (
    BrokerConformance,
    DataProviderConformance,
    FundingRailConformance,
    GuardConformance,
    KernelConformance,
)

_GROUP = {
    "brokers": "tradeloop.brokers",
    "data": "tradeloop.data",
    "strategies": "tradeloop.strategies",
    "stages": "tradeloop.stages",
    "guards": "tradeloop.guards",
    "rails": "tradeloop.rails",
}


_FROM_UNIVERSE = {
    "venue": lambda u: u.venues[0],
    "symbol": lambda u: u.symbols[0],
    "venues": lambda u: list(u.venues),
    "symbols": lambda u: list(u.symbols),
}


def _default_params(params_cls: Any, universe: Universe, ref: str) -> Any:
    import attrs

    kwargs = {}
    for f in attrs.fields(params_cls):
        if f.default is not attrs.NOTHING:
            continue
        if f.name not in _FROM_UNIVERSE:
            raise pytest.UsageError(
                f"{ref}: parameter {f.name!r} has no default; implement "
                "tradeloop_conformance_harness(kind) to give the kit a scenario"
            )
        kwargs[f.name] = _FROM_UNIVERSE[f.name](universe)
    return params_cls(**kwargs)


def load_component(ref: str, universe: Universe | None = None) -> Any:
    """Instantiate ``KIND:NAME`` from its entry point with default params, hooks validated.

    Required ``venue``/``symbol``(``s``) parameters are taken from ``universe``.
    """
    import pluggy

    kind, _, name = ref.partition(":")
    if kind not in _GROUP:
        raise pytest.UsageError(f"--tradeloop-plugin {ref}: kind must be one of {', '.join(_GROUP)}")
    eps = [ep for ep in md.entry_points(group=_GROUP[kind]) if ep.name == name]
    if not eps:
        raise pytest.UsageError(f"--tradeloop-plugin {ref}: no plugin {name!r} in {_GROUP[kind]}")
    cls = eps[0].load()
    params_cls = getattr(cls, "Params", None)
    universe = universe or default_scenario()[0]
    obj = cls(_default_params(params_cls, universe, ref)) if params_cls is not None else cls()
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(ComponentSpecs)
    pm.add_hookspecs(EventSpecs)
    pm.register(obj, name=ref)
    pm.check_pending()
    return obj


def _harness(obj: Any, kind: str) -> Any:
    fn = getattr(obj, "tradeloop_conformance_harness", None)
    return fn(kind=kind) if fn is not None else None


def default_scenario() -> tuple[Universe, np.ndarray]:
    """One venue, one symbol, 4000 quotes of a trending, mean-reverting random walk."""
    rng = np.random.default_rng(3)
    steps = rng.normal(0, 1, 4000) + 2 * np.sin(np.arange(4000) / 150)
    prices = 30_000 + np.cumsum(steps)
    from .._enums import TickKind

    return Universe(("sim",), ("BTCUSDT",), ("USDT", "BTC")), make_ticks(
        np.round(prices, 2), kind=TickKind.QUOTE, spread=0.5
    )


class _Base:
    kinds: tuple[str, ...] = ()

    @pytest.fixture
    def component(self, plugin_ref: str) -> Any:
        return load_component(plugin_ref)

    @pytest.fixture
    def scenario(self, component: Any, plugin_ref: str) -> tuple[Universe, np.ndarray]:
        h = _harness(component, plugin_ref.partition(":")[0])
        return (h.universe, h.ticks) if h is not None and hasattr(h, "ticks") else default_scenario()

    @pytest.fixture
    def universe(self, scenario: tuple[Universe, np.ndarray]) -> Universe:
        return scenario[0]

    @pytest.fixture
    def ticks(self, scenario: tuple[Universe, np.ndarray]) -> np.ndarray:
        return scenario[1]

    @pytest.fixture
    def make_component(self, plugin_ref: str) -> Any:
        def make(universe: Universe) -> Any:
            return load_component(plugin_ref, universe).tradeloop_hot_path(universe=universe)

        return make


class TestKernels(_Base, KernelConformance):
    """Strategies and stages."""

    kinds = ("strategies", "stages")


class TestGuards(_Base, GuardConformance):
    """Guards (not data-quality gates, which check ticks)."""

    kinds = ("guards",)

    @pytest.fixture
    def make_component(self, plugin_ref: str) -> Any:
        from .._enums import ComponentKind

        def make(universe: Universe) -> Any:
            hp = load_component(plugin_ref, universe).tradeloop_hot_path(universe=universe)
            if hp.kind == ComponentKind.GATE:
                pytest.skip(f"{plugin_ref} is a data-quality gate: it checks ticks, not intents")
            return hp

        return make


class TestDataProviders(_Base, DataProviderConformance):
    """Data providers."""

    kinds = ("data",)

    @pytest.fixture
    def provider(self, component: Any, universe: Universe) -> Any:
        return component.tradeloop_data_provider(universe=universe)


class TestBrokers(_Base, BrokerConformance):
    """Brokers: need ``tradeloop_conformance_harness(kind="brokers")``."""

    kinds = ("brokers",)

    @pytest.fixture
    def harness(self, component: Any) -> Any:
        h = _harness(component, "brokers")
        if h is None:
            pytest.fail("broker plugins must implement tradeloop_conformance_harness(kind) for the kit")
        return h


class TestRails(_Base, FundingRailConformance):
    """Funding rails: need ``tradeloop_conformance_harness(kind="rails")``."""

    kinds = ("rails",)

    @pytest.fixture
    def rail(self, component: Any) -> Any:
        return component.tradeloop_funding_rail()

    @pytest.fixture
    def transfer_request(self, component: Any) -> Any:
        h = _harness(component, "rails")
        if h is None:
            pytest.fail("rail plugins must implement tradeloop_conformance_harness(kind) for the kit")
        return h.transfer_request
