"""The plugin catalog: what is installed (without importing it) and loading by name.

Listing reads entry points and distribution metadata only (``importlib.metadata``, the
same source stevedore reads) plus a static ``ast`` read of each plugin's source for its
hooks (see ``_catalog_static``). Loading goes through stevedore's
``NamedExtensionManager``, one entry point at a time, so one plugin failing to import is
reported as that plugin's problem and never stops the others. This module must not
import ``tradeloop_sdk`` at module level: the SDK imports numba, and ``plugins list``
must stay cheap.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import re
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from ._catalog_cache import StaticCache
from ._catalog_static import check_hooks, required_hooks, reset, suggest

if TYPE_CHECKING:
    from tradeloop_sdk import PluginError

__all__ = [
    "GROUPS",
    "KINDS",
    "PluginInfo",
    "entry_point",
    "is_disabled",
    "list_plugins",
    "load_plugin",
    "validate_plugin",
]

_log = logging.getLogger("tradeloop.catalog")

#: component kind -> entry-point group
GROUPS: dict[str, str] = {
    "brokers": "tradeloop.brokers",
    "data": "tradeloop.data",
    "strategies": "tradeloop.strategies",
    "stages": "tradeloop.stages",
    "guards": "tradeloop.guards",
    "rails": "tradeloop.rails",
    "plugins": "tradeloop.plugins",
}
KINDS: tuple[str, ...] = tuple(GROUPS)
_SDK_REQ = re.compile(r"^\s*tradeloop[-_.]sdk\b\s*(?P<spec>[^;]*)", re.I)


class PluginInfo(NamedTuple):
    """One installed plugin (entry point) as ``plugins list`` shows it.

    A NamedTuple rather than attrs: listing must stay cheap to import.
    """

    name: str
    kind: str
    value: str
    distribution: str
    version: str
    sdk: str
    hooks: tuple[str, ...]
    status: str  # "ok" | "broken" | "disabled" | "unchecked"
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True unless broken."""
        return self.status != "broken"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return self._asdict() | {"hooks": list(self.hooks)}


def is_disabled(kind: str, name: str, disabled: Iterable[str]) -> bool:
    """True if ``name`` or ``kind:name`` is in ``disabled``."""
    d = set(disabled)
    return name in d or f"{kind}:{name}" in d


def _sdk_requirement(dist: md.Distribution | None) -> str:
    for req in (dist.requires or []) if dist is not None else []:
        m = _SDK_REQ.match(req)
        if m:
            return m.group("spec").strip() or "any"
    return ""


_EPS: tuple[tuple[tuple[str, int], ...], int, dict[str, list[md.EntryPoint]]] | None = None
#: folders changed this recently when the entry points were read may change again within
#: the file system's timestamp granularity without a new mtime ("racy" in git's terms)
_RACY_NS = 100_000_000


def _mtime(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return -1


def _installed_entry_points() -> dict[str, list[md.EntryPoint]]:
    """Every installed entry point by group, re-read only when ``sys.path`` or one of its
    folders changes (installing or removing a package adds or removes a ``*.dist-info``).

    Reading them opens every installed distribution's metadata (~12 ms here), and building
    one backtest looks plugins up dozens of times: in a sweep that was most of each point.
    Grouped once per read: a ``select(group=...)`` scans every entry point each time.
    """
    global _EPS
    key = tuple((p, _mtime(p)) for p in sys.path)
    if _EPS is not None and _EPS[0] == key and max((m for _p, m in key), default=0) < _EPS[1] - _RACY_NS:
        return _EPS[2]
    eps = md.entry_points()
    by_group = {g: list(eps.select(group=g)) for g in GROUPS.values()}
    _EPS = (key, time.time_ns(), by_group)
    return by_group


def _entry_points(kinds: Iterable[str]) -> list[tuple[str, md.EntryPoint]]:
    eps = _installed_entry_points()
    out: list[tuple[str, md.EntryPoint]] = []
    for kind in kinds:
        out.extend((kind, ep) for ep in eps.get(GROUPS[kind], ()))
    return out


def entry_point(kind: str, name: str) -> md.EntryPoint:
    """The entry point of plugin ``name`` of ``kind``; PluginError with did-you-mean if absent."""
    if kind not in GROUPS:
        raise ValueError(f"unknown plugin kind {kind!r}; known: {', '.join(KINDS)}")
    found = [ep for _k, ep in _entry_points([kind]) if ep.name == name]
    if found:
        return found[0]
    names = sorted({ep.name for _k, ep in _entry_points([kind])})
    close = suggest(name, names)
    raise _plugin_error(
        name,
        f"no {kind} plugin named {name!r} is installed"
        + (f" (installed: {', '.join(names)})" if names else ""),
        fix=f"did you mean {close!r}?"
        if close
        else f"install a package providing {GROUPS[kind]} = {name}",
    )


def _plugin_error(
    plugin: str, problem: str, *, hook: str | None = None, fix: str | None = None
) -> PluginError:
    from tradeloop_sdk import PluginError

    return PluginError(plugin, problem, hook=hook, fix=fix)


def list_plugins(
    kinds: Iterable[str] | None = None, *, disabled: Iterable[str] = (), check: bool = False
) -> list[PluginInfo]:
    """Every installed plugin of ``kinds`` (default all), sorted by kind and name.

    Without ``check`` nothing is imported: hooks and problems come from a static read of
    the source. With ``check`` each plugin is also imported on its own and its hooks are
    validated against the specs with pluggy (disabled plugins are never imported).
    """
    disabled = tuple(disabled)
    reset()
    cache = StaticCache()
    seen: dict[tuple[str, str], str] = {}
    out: list[PluginInfo] = []
    for kind, ep in _entry_points(kinds or KINDS):
        dist = ep.dist
        dist_name = dist.name if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        sdk = _sdk_requirement(dist)
        static = cache.analyze(ep.value, kind, version)
        status, reason = "ok", static.problem
        if static.problem:
            status = "broken"
        elif not static.analyzed:
            status = "unchecked"
        if (kind, ep.name) in seen:
            status, reason = (
                "broken",
                f"name clash: {kind} {ep.name!r} is also provided by {seen[kind, ep.name]}",
            )
        seen.setdefault((kind, ep.name), dist_name)
        if is_disabled(kind, ep.name, disabled):
            status, reason = "disabled", "disabled by config"
        elif check and status != "broken":
            try:
                validate_plugin(kind, ep.name, load_plugin(kind, ep.name))
                status, reason = "ok", ""
            except Exception as exc:
                status, reason = "broken", _reason(exc)
        out.append(
            PluginInfo(
                ep.name, kind, ep.value, dist_name, version, sdk, static.hooks, status, reason
            )
        )
    cache.save()
    out.sort(key=lambda p: (KINDS.index(p.kind), p.name))
    return out


def _reason(exc: BaseException) -> str:
    from tradeloop_sdk import PluginError

    if isinstance(exc, PluginError):
        return exc.problem + (f"; fix: {exc.fix}" if exc.fix else "")
    return f"{type(exc).__name__}: {exc}"


def load_plugin(kind: str, name: str, *, disabled: Iterable[str] = ()) -> Any:
    """Import plugin ``name`` of ``kind`` (only it) and return what its entry point names.

    Raises PluginError naming the plugin when it is disabled, absent, or fails to import.
    """
    if is_disabled(kind, name, disabled):
        raise _plugin_error(
            name,
            f"{kind} plugin is disabled by [plugins] disabled",
            fix="remove it from [plugins] disabled",
        )
    ep = entry_point(kind, name)
    from stevedore.named import NamedExtensionManager

    failures: list[BaseException] = []
    mgr: NamedExtensionManager[Any] = NamedExtensionManager(
        GROUPS[kind],
        names=[name],
        on_load_failure_callback=lambda _m, _ep, err: failures.append(err),
        on_missing_entrypoints_callback=None,
    )
    if failures:
        err = failures[0]
        raise _plugin_error(
            name,
            f"failed to import {ep.value}: {type(err).__name__}: {err}",
            fix=f"fix or reinstall {ep.dist.name if ep.dist else 'its distribution'}, or disable it",
        ) from err
    if name in mgr.names():
        return mgr[name].plugin
    # stevedore's on-disk entry-point cache can lag a fresh install; load directly then.
    try:
        return ep.load()
    except Exception as err:
        raise _plugin_error(
            name, f"failed to import {ep.value}: {type(err).__name__}: {err}"
        ) from err


#: (kind, name) -> the plugin object that passed validation and its hooks
_VALID: dict[tuple[str, str], tuple[Any, tuple[str, ...]]] = {}


def validate_plugin(kind: str, name: str, obj: Any) -> list[str]:
    """Check a loaded plugin's hooks against the specs with pluggy; return the hook names.

    A misspelt hook or argument raises PluginError naming the plugin, the hook and the fix.
    A plugin that passed is not checked again in this process (a sweep builds the same
    components for every point).
    """
    seen = _VALID.get((kind, name))
    if seen is not None and seen[0] is obj:
        return list(seen[1])
    hooks = _validate(kind, name, obj)
    _VALID[(kind, name)] = (obj, tuple(hooks))
    return hooks


def _validate(kind: str, name: str, obj: Any) -> list[str]:
    import pluggy
    from tradeloop_sdk._hookspecs import PROJECT, ComponentSpecs, EventSpecs

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(ComponentSpecs)
    pm.add_hookspecs(EventSpecs)
    hooks: dict[str, list[str]] = {}
    for attr in dir(obj):
        opts = pm.parse_hookimpl_opts(obj, attr)
        if opts is not None:
            hooks[attr] = list(pluggy._hooks.varnames(getattr(obj, attr))[0])
    problem = check_hooks(hooks, kind)
    if problem:
        hook = next((h for h in hooks if f"hook {h!r}" in problem), None)
        raise _plugin_error(name, problem, hook=hook, fix=_fix_for(problem, kind))
    try:
        pm.register(obj, name=f"{kind}:{name}")
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _plugin_error(name, str(exc)) from exc
    return sorted(hooks)


def _fix_for(problem: str, kind: str) -> str:
    m = re.search(r"did you mean '([^']+)'", problem)
    if m:
        return f"rename it to {m.group(1)!r}"
    need = required_hooks(kind)
    if need:
        return f"add a @hookimpl method {sorted(need)[0]}"
    return "see the hook specs in tradeloop_sdk"
