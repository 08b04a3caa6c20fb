"""pytest plugin of the conformance kit (entry point ``tradeloop_conformance``).

Adds ``--tradeloop-plugin KIND:NAME`` (repeatable), which the generic suite
``tradeloop_sdk.conformance.suite`` runs against installed plugins, and parametrizes the
suite's classes: by those options, or by a subclass's ``plugin_refs``. A harness's
``variants`` add ``KIND:NAME@VARIANT`` items; plugins of the ``guards`` group go to the
guard or the gate checks by the kind of hot path they declare.
"""

from __future__ import annotations

import functools
from typing import Any

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


@functools.cache
def _hot_path_kind(ref: str) -> str | None:
    """GUARD or GATE for a ``guards`` plugin; None when it cannot be built (its tests say why)."""
    from ._resolve import resolve
    from .suite import default_scenario

    try:
        r = resolve(ref, default_scenario()[0])
        hp = r.component.tradeloop_hot_path(universe=r.universe)
        return str(getattr(hp.kind, "name", hp.kind))
    except Exception:
        return None


def expand(refs: list[str], kinds: tuple[str, ...], hot_path_kinds: tuple[str, ...] | None) -> list[str]:
    """The items a suite class runs: refs of its kinds, plus their harness variants."""
    chosen: list[str] = []
    for ref in refs:
        if ref.partition(":")[0] not in kinds:
            continue
        if hot_path_kinds is not None:
            hk = _hot_path_kind(ref)
            # a plugin that cannot be built goes to the first class, which reports it
            if hk not in hot_path_kinds and not (hk is None and hot_path_kinds == ("GUARD",)):
                continue
        chosen.append(ref)
        chosen += [f"{ref}@{v}" for v in _variants(ref)]
    return chosen


@functools.cache
def _variants(ref: str) -> tuple[str, ...]:
    from ._resolve import variants_of

    return tuple(variants_of(ref))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the generic suite by the plugins named on the command line (or the class)."""
    if "plugin_ref" not in metafunc.fixturenames:
        return
    cls: Any = metafunc.cls
    refs = getattr(cls, "plugin_refs", None)
    if refs is None:
        refs = metafunc.config.getoption("--tradeloop-plugin")
    chosen = expand(list(refs), getattr(cls, "kinds", ()), getattr(cls, "hot_path_kinds", None))
    metafunc.parametrize("plugin_ref", chosen, ids=chosen)
