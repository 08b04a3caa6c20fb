"""The host lists the plugin: entry points resolve to the component classes."""

from __future__ import annotations

from importlib.metadata import entry_points

import tradeloop_plugin_sim as sim
from tradeloop_sdk import describe_params


def test_entry_points_name_the_components() -> None:
    brokers = {ep.name: ep for ep in entry_points(group="tradeloop.brokers")}
    data = {ep.name: ep for ep in entry_points(group="tradeloop.data")}
    assert brokers["sim"].load() is sim.Sim
    assert data["sim_feed"].load() is sim.SimFeedComponent
    names = {p.name for p in describe_params(sim.Sim)}
    assert {"mode", "latency_ns", "report_latency_ns", "starting_balances", "allow_short"} <= names
