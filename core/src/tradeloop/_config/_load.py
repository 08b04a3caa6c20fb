"""Read a TOML config, structure it strictly, check secrets and the plugins it names."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import attrs
from tradeloop_sdk import ConfigError, ConfigErrors, PluginError

from .._catalog import GROUPS, entry_point, is_disabled
from .._secrets import inline_secrets
from ._convert import structure
from ._default import default_config_text
from ._lines import key_lines, line_of
from ._model import Config

__all__ = ["default_config", "default_config_text", "load_config", "parse_config"]


def default_config(*, check_plugins: bool = True) -> Config:
    """The embedded default config, parsed."""
    return parse_config(default_config_text(), file="<default>", check_plugins=check_plugins)


def load_config(path: str | os.PathLike[str], *, check_plugins: bool = True) -> Config:
    """Load and validate a TOML config file.

    With ``check_plugins`` each named plugin is imported (only those) and its params are
    checked against its ``Params`` class. Raises ConfigError (ConfigErrors when several)
    naming the file, the line, the key path, what was found and what was expected.
    """
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file=shown, found="no such file", expected="a TOML config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {type(exc).__name__}", file=shown) from None
    return parse_config(text, file=shown, check_plugins=check_plugins)


def parse_config(text: str, *, file: str = "<config>", check_plugins: bool = True) -> Config:
    """Validate config ``text`` (``file`` names it in errors); see :func:`load_config`."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=file) from None
    errors = list(inline_secrets(raw))
    bad = {e.key for e in errors}
    cfg, more = structure(raw, Config)
    errors += [e for e in more if e.key not in bad]
    if cfg is not None and check_plugins:
        errors += check_components(cfg, raw)
    if errors:
        lines = key_lines(text)
        located = [e.with_location(file=file, line=line_of(lines, e.key or "")) for e in errors]
        ConfigErrors.raise_if_any(located)
    assert isinstance(cfg, Config)
    return attrs.evolve(cfg, source=file)


def check_components(cfg: Config, raw: Any = None) -> list[ConfigError]:
    """Check every component: installed, not disabled, importable, hooks and params valid."""
    from .._registry import Registry

    reg = Registry(disabled=cfg.plugins.disabled)
    errors: list[ConfigError] = []
    for kind, key, spec in cfg.components():
        use_key = f"{key}.use"
        if is_disabled(kind, spec.use, cfg.plugins.disabled):
            errors.append(
                ConfigError(
                    key=use_key,
                    found=f"{spec.use!r}, which [plugins] disabled turns off",
                    expected="an enabled plugin",
                )
            )
            continue
        try:
            entry_point(kind, spec.use)
        except PluginError as exc:
            errors.append(
                ConfigError(
                    key=use_key,
                    found=repr(spec.use),
                    expected=f"an installed {kind} plugin ({GROUPS[kind]}); {exc.problem}",
                    suggestion=_mentioned(exc.fix),
                )
            )
            continue
        try:
            cls = reg.component_class(kind, spec.use)
        except PluginError as exc:
            errors.append(ConfigError(f"plugin cannot be used: {exc}", key=use_key))
            continue
        try:
            reg.make_params(cls, spec.params, key=f"{key}.params")
        except ConfigErrors as exc:
            errors.extend(exc.errors)
        except ConfigError as exc:
            errors.append(exc)
    return errors


def _mentioned(fix: str | None) -> str | None:
    if fix and fix.startswith("did you mean "):
        return fix.removeprefix("did you mean ").strip("'?")
    return None
