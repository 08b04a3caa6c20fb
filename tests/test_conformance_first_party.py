"""The conformance kit over every first-party plugin, in this process.

The plugins are every entry point that ``plugins/*/*/pyproject.toml`` declares in a
component group, so a new first-party plugin is checked without editing this file. The
kit's own suite classes run here with ``plugin_refs`` set, the way a plugin author runs
``pytest --pyargs tradeloop_sdk.conformance.suite --tradeloop-plugin KIND:NAME``, but in
one process: strategies, stages and gates share one fused loop (and the numba cache).
"""

from __future__ import annotations

import importlib.metadata as md
import tomllib
from pathlib import Path

import pytest
from tradeloop_sdk.conformance import suite
from tradeloop_sdk.conformance._resolve import GROUPS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

#: groups that are not components: observers and CLI commands, checked below
NON_COMPONENT_GROUPS = {"tradeloop.plugins", "tradeloop.commands"}


def _declared() -> dict[str, list[tuple[str, str]]]:
    """group -> [(name, value)] over every first-party pyproject."""
    out: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(ROOT.glob("plugins/*/*/pyproject.toml")):
        eps = tomllib.loads(path.read_text())["project"].get("entry-points", {})
        for group, table in eps.items():
            if group.startswith("tradeloop."):
                out.setdefault(group, []).extend(table.items())
    return out


DECLARED = _declared()
_KIND = {group: kind for kind, group in GROUPS.items()}
REFS = [f"{_KIND[g]}:{name}" for g, items in DECLARED.items() if g in _KIND for name, _ in items]


def test_every_first_party_entry_point_is_a_known_group_and_installed() -> None:
    assert len(REFS) >= 40, REFS
    for group, items in DECLARED.items():
        assert group in _KIND or group in NON_COMPONENT_GROUPS, f"unknown entry-point group {group}"
        installed = {ep.name: ep.value for ep in md.entry_points(group=group)}
        for name, value in items:
            assert installed.get(name) == value, f"{group}:{name} is declared but not installed as {value}"


def test_observer_and_command_entry_points_load_and_validate() -> None:
    """``tradeloop.plugins`` objects register with hooks validated; commands load."""
    import pluggy
    from tradeloop_sdk._hookspecs import PROJECT, ComponentSpecs, EventSpecs

    for group in NON_COMPONENT_GROUPS & DECLARED.keys():
        for name, value in DECLARED[group]:
            obj = md.EntryPoint(name, value, group).load()
            if group == "tradeloop.plugins":
                pm = pluggy.PluginManager(PROJECT)
                pm.add_hookspecs(ComponentSpecs)
                pm.add_hookspecs(EventSpecs)
                pm.register(obj() if isinstance(obj, type) else obj, name=name)
                pm.check_pending()
                assert pm.get_hookcallers(pm.get_plugin(name)), f"{name} implements no hook"
            else:
                assert callable(obj), f"command {name} is not callable"


class TestKernels(suite.TestKernels):
    plugin_refs = REFS


class TestGuards(suite.TestGuards):
    plugin_refs = REFS


class TestGates(suite.TestGates):
    plugin_refs = REFS


class TestDataProviders(suite.TestDataProviders):
    plugin_refs = REFS


class TestBrokers(suite.TestBrokers):
    plugin_refs = REFS


class TestRails(suite.TestRails):
    plugin_refs = REFS
