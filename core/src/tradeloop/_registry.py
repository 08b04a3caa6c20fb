"""The plugin registry: instantiate configured components and broadcast events (pluggy).

The engine and the backtest build everything a config names through one
:class:`Registry`::

    reg = Registry(disabled=config.plugins.disabled)
    parts = reg.build(config)            # imports only the named plugins
    hot = reg.call(parts.strategies[0], "tradeloop_hot_path", universe=universe)
    reg.hook.tradeloop_start(engine=engine)   # broadcast to every component

Each component class is loaded through the catalog, its hooks validated against the specs,
its ``Params`` built from the config's params (every mistake a ConfigError with the key
path), and the instance registered with the pluggy ``PluginManager``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

import attrs
import pluggy
from tradeloop_sdk import ConfigError, ConfigErrors, PluginError, params_class
from tradeloop_sdk._hookspecs import PROJECT, ComponentSpecs, EventSpecs

from ._catalog import entry_point, load_plugin, validate_plugin
from ._config._convert import structure
from ._config._model import ComponentConfig, Config

__all__ = ["Components", "Registry"]


@attrs.frozen
class Components:
    """The component instances a config names, in config order."""

    data: Any = None
    broker: Any = None
    strategies: tuple[Any, ...] = ()
    stages: tuple[Any, ...] = ()
    guards: tuple[Any, ...] = ()
    rails: tuple[Any, ...] = ()
    extensions: tuple[Any, ...] = ()


class _PluginManager(pluggy.PluginManager):
    """Hook implementations looked up once per component class, not per instance.

    pluggy inspects every attribute of every registered object (``getattr_static``); a
    sweep builds ~25 components per point, which made that ~18 % of a point. An attribute
    set on the instance itself is still looked up every time.
    """

    _found: dict[tuple[type, str], pluggy.HookimplOpts | None] = {}

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> pluggy.HookimplOpts | None:
        if isinstance(plugin, ModuleType) or name in getattr(plugin, "__dict__", ()):
            return super().parse_hookimpl_opts(plugin, name)
        key = (type(plugin), name)
        if key not in self._found:
            self._found[key] = super().parse_hookimpl_opts(plugin, name)
        opts = self._found[key]
        return None if opts is None else pluggy.HookimplOpts(**opts)  # pluggy fills it in


class Registry:
    """Wraps a pluggy ``PluginManager`` with the tradeloop hook specs."""

    def __init__(self, *, disabled: Iterable[str] = ()) -> None:
        self.pm = _PluginManager(PROJECT)
        self.pm.add_hookspecs(ComponentSpecs)
        self.pm.add_hookspecs(EventSpecs)
        self.disabled = tuple(disabled)
        self._classes: dict[tuple[str, str], Any] = {}

    @property
    def hook(self) -> Any:
        """Broadcast events to every registered component: ``reg.hook.tradeloop_stop(engine=e)``."""
        return self.pm.hook

    def component_class(self, kind: str, name: str) -> Any:
        """Load (once) and validate the class plugin ``name`` of ``kind`` names."""
        key = (kind, name)
        if key not in self._classes:
            cls = load_plugin(kind, name, disabled=self.disabled)
            validate_plugin(kind, name, cls)
            self._classes[key] = cls
        return self._classes[key]

    def make_params(self, cls: Any, raw: Mapping[str, Any], *, key: str = "params") -> Any:
        """Build ``cls.Params`` from raw config values; ConfigError(s) name ``key``-prefixed paths."""
        pcls = params_class(cls)
        if pcls is None:
            ConfigErrors.raise_if_any(
                ConfigError(
                    key=f"{key}.{k}",
                    found=f"unknown key {k!r}",
                    expected="no params (this plugin takes none)",
                )
                for k in raw
            )
            return None
        obj, errors = structure(raw, pcls, path=key)
        ConfigErrors.raise_if_any(errors)
        return obj

    def create(self, kind: str, spec: ComponentConfig, *, key: str = "") -> Any:
        """Instantiate and register one component; ``key`` is its config path (``strategies[0]``)."""
        key = key or kind
        cls = self.component_class(kind, spec.use)
        params = self.make_params(cls, spec.params, key=f"{key}.params")
        try:
            instance = cls(params) if params is not None else cls()
        except (ConfigError, PluginError):
            raise
        except (TypeError, ValueError) as exc:
            raise PluginError(spec.use, f"could not be created from {key}: {exc}") from exc
        name = f"{kind}:{spec.label}:{len(self.pm.get_plugins())}"
        self.pm.register(instance, name=name)
        self.pm.check_pending()
        return instance

    def build(self, config: Config) -> Components:
        """Create every component ``config`` names (and only those), then send ``tradeloop_configure``."""
        made: dict[str, list[Any]] = {}
        single: dict[str, Any] = {}
        for kind, key, spec in config.components():
            inst = self.create(kind, spec, key=key)
            if kind in ("data", "brokers"):
                single[kind] = inst
            else:
                made.setdefault(kind, []).append(inst)
        parts = Components(
            data=single.get("data"),
            broker=single.get("brokers"),
            strategies=tuple(made.get("strategies", ())),
            stages=tuple(made.get("stages", ())),
            guards=tuple(made.get("guards", ())),
            rails=tuple(made.get("rails", ())),
            extensions=tuple(made.get("plugins", ())),
        )
        self.hook.tradeloop_configure(config=config)
        return parts

    def call(self, component: Any, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on ``component`` only (component hooks are not broadcast).

        Returns None when the component does not implement it. Arguments the
        implementation does not name are not passed (pluggy's rule), so specs can grow.
        """
        caller = getattr(self.pm.hook, hook)
        for impl in caller.get_hookimpls():
            if impl.plugin is component:
                return impl.function(*[kwargs[a] for a in impl.argnames])
        return None

    def known(self, kind: str, name: str) -> bool:
        """True if a plugin ``name`` of ``kind`` is installed (no import)."""
        try:
            entry_point(kind, name)
        except PluginError:
            return False
        return True
