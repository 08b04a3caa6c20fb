"""Shared fixtures for core tests.

``plugin_site`` builds real (unpacked) plugin distributions, a ``*.dist-info`` directory
with METADATA and entry_points.txt next to the plugin's module, in a directory put on
``sys.path``: exactly what an installer leaves in site-packages, without the install.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

GOOD_PLUGIN = '''
from __future__ import annotations

import attrs
from tradeloop_sdk import Secret, hookimpl, param


class FixtureStrategy:
    """A fixture strategy: records events, trades nothing."""

    @attrs.frozen
    class Params:
        fast: int = param(12, ge=1, doc="fast span")
        slow: int = param(26, ge=2, doc="slow span")
        venue: str = param(doc="venue to trade on")
        api_key: Secret | None = param(None, secret=True, doc="an API key reference")

    def __init__(self, params: Params) -> None:
        self.params = params
        self.events: list[str] = []

    @hookimpl
    def tradeloop_python_strategy(self, universe):
        return ("python", self.params.fast)

    @hookimpl
    def tradeloop_start(self, engine):
        self.events.append(f"start {engine}")
'''

MakeDist = Callable[..., Path]


def write_dist(
    site: Path,
    dist: str,
    entry_points: Mapping[str, Mapping[str, str]],
    modules: Mapping[str, str],
    *,
    version: str = "0.1.0",
    requires: str = "tradeloop-sdk>=0.1",
) -> Path:
    """Write modules and a dist-info for ``dist`` into ``site``; returns ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    for rel, src in modules.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(src), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\nRequires-Dist: {requires}\n",
        encoding="utf-8",
    )
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {value}" for name, value in eps.items())
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    return site


@pytest.fixture(autouse=True)
def _private_catalog_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the catalog's on-disk cache of static reads inside each test's tmp dir."""
    monkeypatch.setenv("TRADELOOP_CACHE_DIR", str(tmp_path / "tl-cache"))


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeDist:
    """``plugin_site(dist, entry_points, modules)`` installs a fixture dist on sys.path."""
    site = tmp_path / "site"

    def make(
        dist: str,
        entry_points: Mapping[str, Mapping[str, str]],
        modules: Mapping[str, str],
        **kw: str,
    ) -> Path:
        write_dist(site, dist, entry_points, modules, **kw)
        monkeypatch.syspath_prepend(str(site))
        return site

    return make


@pytest.fixture
def good_plugin_source() -> str:
    """Source of a good strategy module defining ``FixtureStrategy``."""
    return GOOD_PLUGIN


@pytest.fixture
def fixture_strategy(plugin_site: MakeDist) -> Path:
    """A good strategy plugin ``tl_fixture`` (group tradeloop.strategies)."""
    return plugin_site(
        "tl-fixture-plugin",
        {"tradeloop.strategies": {"tl_fixture": "tl_fixture_mod:FixtureStrategy"}},
        {
            "tl_fixture_mod/__init__.py": "from ._impl import FixtureStrategy\n",
            "tl_fixture_mod/_impl.py": GOOD_PLUGIN,
        },
    )
