"""pytest plugin of the conformance kit (entry point ``tradeloop_conformance``).

Adds ``--tradeloop-plugin KIND:NAME`` (repeatable), which the generic suite
``tradeloop_sdk.conformance.suite`` runs against installed plugins.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the command-line option."""
    parser.addoption(
        "--tradeloop-plugin",
        action="append",
        default=[],
        metavar="KIND:NAME",
        help="run the conformance suite against an installed plugin, e.g. strategies:ema_cross",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the conformance marker."""
    config.addinivalue_line("markers", "conformance: tradeloop plugin conformance checks")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the generic suite by the plugins named on the command line."""
    if "plugin_ref" in metafunc.fixturenames:
        refs = metafunc.config.getoption("--tradeloop-plugin")
        kind = getattr(metafunc.cls, "kinds", ())
        chosen = [r for r in refs if r.partition(":")[0] in kind]
        metafunc.parametrize("plugin_ref", chosen, ids=chosen)
