"""pluggy hook specifications: what each component kind implements and which events the
kernel broadcasts.

A component is the class an entry point names. The host instantiates it with its parsed
``Params`` and registers the instance with the plugin manager, so hook implementations are
methods marked with :data:`hookimpl`. Implementations may take fewer arguments than the
spec (pluggy passes only those they name), which lets specs grow without breaking plugins.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "tradeloop"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Marker for hook implementations in plugins.
hookimpl = pluggy.HookimplMarker(PROJECT)


class ComponentSpecs:
    """Hooks a component implements for its own kind (called on that component only)."""

    @hookspec(firstresult=True)
    def tradeloop_hot_path(self, universe: Any) -> Any:
        """Strategies, stages, guards and the simulated venue: return a HotPath."""

    @hookspec(firstresult=True)
    def tradeloop_broker(self, universe: Any) -> Any:
        """Brokers: return an object implementing the Broker protocol."""

    @hookspec(firstresult=True)
    def tradeloop_data_provider(self, universe: Any) -> Any:
        """Data providers: return an object implementing the DataProvider protocol."""

    @hookspec(firstresult=True)
    def tradeloop_funding_rail(self) -> Any:
        """Funding rails: return an object implementing the FundingRail protocol."""

    @hookspec(firstresult=True)
    def tradeloop_python_strategy(self, universe: Any) -> Any:
        """Python-mode strategies: return an object with ``on_tick(ctx, tick)``."""

    @hookspec(firstresult=True)
    def tradeloop_conformance_harness(self, kind: str) -> Any:
        """What the conformance kit cannot build alone: a broker harness, a rail request
        factory, or a scenario (an object with ``universe`` and ``ticks``)."""


class EventSpecs:
    """Events the kernel broadcasts to every loaded plugin."""

    @hookspec
    def tradeloop_configure(self, config: Any) -> None:
        """The validated config, before anything starts."""

    @hookspec
    def tradeloop_start(self, engine: Any) -> None:
        """The engine or backtest is about to process its first tick."""

    @hookspec
    def tradeloop_stop(self, engine: Any) -> None:
        """The engine or backtest has stopped."""

    @hookspec
    def tradeloop_order_update(self, order: Any) -> None:
        """An order changed state (an OrderUpdate record)."""

    @hookspec
    def tradeloop_fill(self, fill: Any) -> None:
        """A fill was applied to the ledger (a Report record of kind PARTIAL or FILL)."""

    @hookspec
    def tradeloop_guard_breach(self, breach: Any) -> None:
        """A guard refused or resized an intent (a GuardBreach record)."""

    @hookspec
    def tradeloop_kill(self, reason: str) -> None:
        """The kill switch was set."""

    @hookspec
    def tradeloop_report_sections(self, results: Any) -> list[Any]:
        """Extra sections for a backtest report: return a list of ReportSection."""

    @hookspec
    def tradeloop_cli_commands(self) -> list[Any]:
        """Extra ``tradeloop`` CLI commands: return a list of click commands."""
