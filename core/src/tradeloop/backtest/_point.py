"""One sweep point in a worker: a TOML document plus overrides -> a backtest summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from tradeloop_sdk import ConfigError, ConfigErrors

from .._config._convert import structure
from .._config._load import check_components
from ..config import Config
from ._runner import run_backtest
from ._stats import compute_summary
from ._sweep import SweepPoint, apply_overrides

__all__ = ["config_from_document", "invalid_points", "run_point"]


def config_from_document(doc: Mapping[str, Any], source: str = "<sweep>") -> Config:
    """Validate a parsed TOML document into a Config (plugins and params checked)."""
    cfg, errors = structure(doc, Config)
    if cfg is not None:
        errors += check_components(cfg, doc)
    ConfigErrors.raise_if_any(errors)
    assert cfg is not None
    out: Config = attrs.evolve(cfg, source=source)
    return out


def run_point(doc: Mapping[str, Any], overrides: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Run one configuration of a sweep and return its summary (JSON-ready)."""
    cfg = config_from_document(apply_overrides(doc, overrides), source)
    res = run_backtest(cfg)
    return compute_summary(res).to_dict()


def invalid_points(
    doc: Mapping[str, Any], points: Sequence[SweepPoint], source: str
) -> dict[int, str]:
    """The points whose configuration does not validate, by index, with the error a run of
    each would end with (a few ms a point: no plugin is built, no data read)."""
    bad: dict[int, str] = {}
    for p in points:
        try:
            config_from_document(apply_overrides(doc, p.overrides), source)
        except (ConfigError, ValueError) as exc:  # ValueError: a path the document lacks
            bad[p.index] = f"{type(exc).__name__}: {exc}"
    return bad
