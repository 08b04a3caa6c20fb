"""The embedded default config text (read without importing the SDK)."""

from __future__ import annotations

import importlib.resources


def default_config_text() -> str:
    """The embedded default config (what ``tradeloop demo`` runs)."""
    return (importlib.resources.files("tradeloop._config") / "default.toml").read_text(
        encoding="utf-8"
    )
