"""The catalog lists without importing, loads one plugin at a time, validates hooks."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tradeloop._catalog import entry_point, list_plugins, load_plugin, validate_plugin
from tradeloop._registry import Registry
from tradeloop_sdk import PluginError

MakeDist = Callable[..., Path]


def _sources(good: str) -> dict[str, str]:
    return {
        "tlz_good.py": good,
        "tlz_hook.py": good.replace(
            "def tradeloop_start(self, engine)", "def tradeloop_strat(self, engine)"
        ),
        "tlz_arg.py": good.replace(
            "def tradeloop_python_strategy(self, universe)",
            "def tradeloop_python_strategy(self, unverse)",
        ).replace('return ("python", self.params.fast)', "return unverse"),
        "tlz_dep.py": good.replace(
            "import attrs\n", "import attrs\nimport tl_no_such_dependency_xyz\n"
        ),
        "tlz_raises.py": good + "\nraise RuntimeError('boom at import')\n",
    }


@pytest.fixture
def zoo(plugin_site: MakeDist, good_plugin_source: str) -> Path:
    mods = _sources(good_plugin_source)
    eps = {
        "tradeloop.strategies": {
            "z_good": "tlz_good:FixtureStrategy",
            "z_hook": "tlz_hook:FixtureStrategy",
            "z_arg": "tlz_arg:FixtureStrategy",
            "z_dep": "tlz_dep:FixtureStrategy",
            "z_raises": "tlz_raises:FixtureStrategy",
            "z_noattr": "tlz_good:Nope",
        }
    }
    return plugin_site("tl-zoo", eps, mods, version="2.3.4", requires="tradeloop-sdk>=0.1,<2")


def _by_name() -> dict[str, object]:
    return {p.name: p for p in list_plugins(["strategies"]) if p.name.startswith("z_")}


def test_listing_reads_metadata_and_source_without_importing(zoo: Path) -> None:
    rows = _by_name()
    good = rows["z_good"]
    assert (good.kind, good.distribution, good.version, good.sdk) == (
        "strategies",
        "tl-zoo",
        "2.3.4",
        ">=0.1,<2",
    )  # type: ignore[attr-defined]
    assert good.hooks == ("tradeloop_python_strategy", "tradeloop_start")  # type: ignore[attr-defined]
    assert good.status == "ok"  # type: ignore[attr-defined]
    assert not [m for m in sys.modules if m.startswith("tlz_")]


def test_static_status_names_the_problem(zoo: Path) -> None:
    rows = _by_name()
    reasons = {n: (r.status, r.reason) for n, r in rows.items()}  # type: ignore[attr-defined]
    assert reasons["z_hook"] == (
        "broken",
        "hook 'tradeloop_strat' is not a tradeloop hook (did you mean 'tradeloop_start'?)",
    )
    assert reasons["z_arg"] == (
        "broken",
        "hook 'tradeloop_python_strategy' takes argument 'unverse', which the spec does not provide "
        "(did you mean 'universe'?); the spec's arguments are: universe",
    )
    assert reasons["z_dep"] == (
        "broken",
        "imports 'tl_no_such_dependency_xyz', which is not installed",
    )
    assert reasons["z_noattr"] == ("broken", "module 'tlz_good' has no attribute 'Nope'")
    # only importing can reveal an exception raised at import time
    assert reasons["z_raises"] == ("ok", "")
    assert not [m for m in sys.modules if m.startswith("tlz_")]


def test_check_imports_each_plugin_on_its_own(zoo: Path) -> None:
    rows = {
        p.name: p
        for p in list_plugins(["strategies"], check=True, disabled=["z_hook"])
        if p.name.startswith("z_")
    }
    assert rows["z_good"].status == "ok"
    assert rows["z_raises"].status == "broken"
    assert rows["z_raises"].reason.startswith(
        "failed to import tlz_raises:FixtureStrategy: RuntimeError: boom at import"
    )
    assert rows["z_hook"].status == "disabled" and "tlz_hook" not in sys.modules


def test_validation_errors_name_plugin_hook_and_fix(zoo: Path) -> None:
    with pytest.raises(PluginError) as info:
        validate_plugin("strategies", "z_hook", load_plugin("strategies", "z_hook"))
    err = info.value
    assert (err.plugin, err.hook, err.fix) == (
        "z_hook",
        "tradeloop_strat",
        "rename it to 'tradeloop_start'",
    )
    assert str(err) == (
        "plugin 'z_hook', hook 'tradeloop_strat': hook 'tradeloop_strat' is not a tradeloop hook "
        "(did you mean 'tradeloop_start'?); fix: rename it to 'tradeloop_start'"
    )
    with pytest.raises(PluginError) as info:
        validate_plugin("strategies", "z_arg", load_plugin("strategies", "z_arg"))
    assert (
        info.value.hook == "tradeloop_python_strategy"
        and info.value.fix == "rename it to 'universe'"
    )
    # a guard must implement the hot path: the same class is no guard
    with pytest.raises(
        PluginError, match=r"implements none of the guards hooks \(tradeloop_hot_path\)"
    ):
        validate_plugin("guards", "z_good", load_plugin("strategies", "z_good"))


def test_loading_one_broken_plugin_does_not_stop_others(zoo: Path) -> None:
    with pytest.raises(
        PluginError, match="ModuleNotFoundError: No module named 'tl_no_such_dependency_xyz'"
    ):
        load_plugin("strategies", "z_dep")
    assert load_plugin("strategies", "z_good").__name__ == "FixtureStrategy"
    with pytest.raises(PluginError) as info:
        load_plugin("strategies", "z_gdoo")
    assert info.value.fix == "did you mean 'z_good'?"
    with pytest.raises(PluginError, match="disabled"):
        load_plugin("strategies", "z_good", disabled=["strategies:z_good"])


def test_registry_refuses_a_misspelt_plugin_and_builds_a_good_one(zoo: Path) -> None:
    from tradeloop.config import ComponentConfig

    reg = Registry()
    with pytest.raises(PluginError, match="tradeloop_strat"):
        reg.create("strategies", ComponentConfig("z_hook", {"venue": "sim"}), key="strategies[0]")
    inst = reg.create(
        "strategies", ComponentConfig("z_good", {"venue": "sim", "fast": 3}), key="strategies[0]"
    )
    assert reg.call(inst, "tradeloop_python_strategy", universe=None) == ("python", 3)
    assert reg.call(inst, "tradeloop_broker", universe=None) is None


def test_the_static_cache_notices_edits_and_new_dependencies(zoo: Path) -> None:
    assert _by_name()["z_hook"].status == "broken"  # type: ignore[attr-defined]
    cache_files = list(Path(os.environ["TRADELOOP_CACHE_DIR"]).glob("catalog-*.json"))
    assert len(cache_files) == 1
    src = zoo / "tlz_hook.py"
    src.write_text(src.read_text().replace("tradeloop_strat(", "tradeloop_start("))
    assert _by_name()["z_hook"].status == "ok"  # type: ignore[attr-defined]
    # the missing dependency of z_dep appears: the cached "broken" is not reused
    (zoo / "tl_no_such_dependency_xyz.py").write_text("")
    importlib.invalidate_caches()
    assert _by_name()["z_dep"].status == "ok"  # type: ignore[attr-defined]


def test_a_plugin_installed_while_running_is_found(zoo: Path) -> None:
    """Entry points are read once per process, yet a package installed later is seen."""
    entry_point("strategies", "z_good")
    with pytest.raises(PluginError, match="no strategies plugin named 'z_late'"):
        entry_point("strategies", "z_late")
    info = zoo / "tl_late-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tl-late\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[tradeloop.strategies]\nz_late = tlz_good:FixtureStrategy\n"
    )
    assert entry_point("strategies", "z_late").value == "tlz_good:FixtureStrategy"


def test_a_plugin_is_validated_again_when_its_class_changes(zoo: Path) -> None:
    good = load_plugin("strategies", "z_good")
    assert "tradeloop_start" in validate_plugin("strategies", "z_good", good)
    assert validate_plugin("strategies", "z_good", good) == validate_plugin(
        "strategies", "z_good", good
    )
    # another class under the same name (a reinstall) is checked, not taken from memory
    broken = load_plugin("strategies", "z_hook")
    with pytest.raises(PluginError, match="tradeloop_strat"):
        validate_plugin("strategies", "z_good", broken)
