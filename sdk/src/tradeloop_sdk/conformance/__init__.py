"""The conformance kit: the checks every plugin of a kind must pass.

Use it by subclassing the class for your kind in your tests and providing its fixtures::

    from tradeloop_sdk.conformance import BrokerConformance

    class TestMyBroker(BrokerConformance):
        @pytest.fixture
        def harness(self): ...

or run it against any installed plugin with
``pytest --pyargs tradeloop_sdk.conformance.suite --tradeloop-plugin KIND:NAME``
(the plugin must implement ``tradeloop_conformance_harness`` for brokers and rails, and
for any component the kit cannot build from default parameters).
"""

from ._broker import BrokerConformance, BrokerHarness, Session
from ._data import DataProviderConformance
from ._gates import GateConformance
from ._kernels import GuardConformance, KernelConformance
from ._rail import FundingRailConformance

__all__ = [
    "BrokerConformance",
    "BrokerHarness",
    "DataProviderConformance",
    "FundingRailConformance",
    "GateConformance",
    "GuardConformance",
    "KernelConformance",
    "Session",
]
