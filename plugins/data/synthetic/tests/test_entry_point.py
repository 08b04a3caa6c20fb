"""The host finds the synthetic market by its entry point."""

from __future__ import annotations

from importlib.metadata import entry_points

from tradeloop_sdk import describe_params


def test_entry_point_is_registered_and_loads() -> None:
    ep = {e.name: e for e in entry_points(group="tradeloop.data")}["synthetic"]
    assert ep.dist.name == "tradeloop-plugin-synthetic"
    cls = ep.load()
    names = {p.name for p in describe_params(cls)}
    assert {"seed", "regime_vols", "jumps_per_day", "venue_noise_bps", "rate"} <= names
