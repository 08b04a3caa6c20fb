"""The standard guard set: the preset file, the SDK constant and the entry points agree."""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import tradeloop_sdk as sdk
from tradeloop_sdk import ComponentKind

PRESET = Path(__file__).resolve().parents[1] / "examples" / "guards-standard.toml"


def test_preset_lists_the_standard_set_in_order_and_every_params_table_is_valid() -> None:
    tables = tomllib.loads(PRESET.read_text())["guards"]
    assert tuple(t["use"] for t in tables) == sdk.STANDARD_GATES + sdk.STANDARD_GUARDS
    eps = {ep.name: ep for ep in entry_points(group="tradeloop.guards")}
    universe = sdk.Universe(venues=("sim",), symbols=("BTC-USD",))
    for t in tables:
        cls = eps[t["use"]].load()
        comp = cls(cls.Params(**t.get("params", {})))
        hp = comp.tradeloop_hot_path(universe)
        expected = ComponentKind.GATE if t["use"] in sdk.STANDARD_GATES else ComponentKind.GUARD
        assert hp.kind == expected and hp.name == t["use"]


def test_every_guard_entry_point_is_documented_with_params() -> None:
    eps = [ep for ep in entry_points(group="tradeloop.guards")
           if ep.value.startswith(("tradeloop_plugin_quality", "tradeloop_plugin_precision",
                                   "tradeloop_plugin_risk"))]
    assert len(eps) == 22
    for ep in eps:
        cls = ep.load()
        assert cls.__doc__ and cls.Params.__doc__, ep.name
        for field in cls.Params.__attrs_attrs__:
            assert field.metadata.get("doc"), f"{ep.name}.{field.name} has no doc"
