"""tradeloop configuration: TOML files loaded into frozen attrs classes.

>>> from tradeloop.config import load_config
>>> cfg = load_config("examples/backtest.toml")   # doctest: +SKIP
>>> [c.use for c in cfg.strategies]                # doctest: +SKIP
['ema_cross']

Every mistake raises :class:`tradeloop_sdk.ConfigError` (``ConfigErrors`` for several)
naming the file, line, key path (``strategies[1].params.fast``, 0-based indexes), what
was found and what was expected, with a did-you-mean for misspelt keys and names.
"""

from __future__ import annotations

from ._config._load import default_config, default_config_text, load_config, parse_config
from ._config._model import (
    BacktestConfig,
    ComponentConfig,
    Config,
    EngineConfig,
    OpsConfig,
    PluginsConfig,
    SymbolSpecConfig,
    UniverseConfig,
)

__all__ = [
    "BacktestConfig",
    "ComponentConfig",
    "Config",
    "EngineConfig",
    "OpsConfig",
    "PluginsConfig",
    "SymbolSpecConfig",
    "UniverseConfig",
    "default_config",
    "default_config_text",
    "load_config",
    "parse_config",
]
