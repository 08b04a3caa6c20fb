"""Every risk and precision guard passes the SDK's guard conformance kit, built from its
default parameters the way ``pytest --pyargs tradeloop_sdk.conformance.suite
--tradeloop-plugin guards:NAME`` builds it."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest
from tradeloop_sdk import Universe
from tradeloop_sdk.conformance import GuardConformance

_EPS = {ep.name: ep for ep in entry_points(group="tradeloop.guards")
        if ep.value.startswith(("tradeloop_plugin_risk", "tradeloop_plugin_precision"))}


def test_the_kit_sees_every_risk_and_precision_guard() -> None:
    assert len(_EPS) == 16


@pytest.fixture(params=sorted(_EPS))
def guard_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestRiskAndPrecisionGuards(GuardConformance):
    """The kit's checks, once per guard."""

    @pytest.fixture
    def universe(self) -> Universe:
        return Universe(("sim",), ("BTCUSDT",), ("USDT", "BTC"))

    @pytest.fixture
    def make_component(self, guard_name: str) -> Any:
        cls = _EPS[guard_name].load()

        def make(universe: Universe) -> Any:
            return cls(cls.Params()).tradeloop_hot_path(universe=universe)

        return make
