"""The host finds these plugins by their entry points."""

from __future__ import annotations

from importlib.metadata import entry_points

from tradeloop_sdk import describe_params


def test_entry_points_are_registered_and_load() -> None:
    data = {ep.name: ep for ep in entry_points(group="tradeloop.data")}
    for name in ("csv", "parquet", "catalog"):
        assert data[name].dist.name == "tradeloop-plugin-files"
        cls = data[name].load()
        assert cls.__doc__ and describe_params(cls)
    cmds = {ep.name: ep for ep in entry_points(group="tradeloop.commands")}
    assert cmds["data"].load().name == "data"
    plugin = {ep.name: ep for ep in entry_points(group="tradeloop.plugins")}["data-cli"].load()
    assert [c.name for c in plugin.tradeloop_cli_commands()] == ["data"]
