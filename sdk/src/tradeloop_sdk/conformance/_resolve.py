"""Turn ``KIND:NAME[@VARIANT]`` into a component and its conformance harness.

A plugin hands the kit what it cannot build alone through the hook
``tradeloop_conformance_harness(kind)``. The harness object may carry, per kind:

* ``params``: a mapping of parameter values (or a ``Params`` instance) the kit builds the
  component with instead of the defaults; required ``venue``/``symbol``(``s``)/``venues``
  left out are taken from the universe;
* ``universe`` and ``ticks``: the scenario strategies, stages, guards and gates run on;
* ``variants``: name -> parameter mapping, further configurations the kit also checks
  (``brokers:sim@remote``), each built from those params and asked for its own harness;
* the kind's own members (a broker harness, a rail's ``transfer_request``, a data
  provider's ``provider_params`` or ``serve``).

When a component cannot be built from its default parameters (a required file path, a
model), its hook must be a ``staticmethod``: the kit then asks the class, before any
instance exists, and builds the instance from ``harness.params``.
"""

from __future__ import annotations

import importlib.metadata as md
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pytest

from .._hookspecs import PROJECT, ComponentSpecs, EventSpecs
from .._hotpath import Universe

HOOK = "tradeloop_conformance_harness"

#: kind -> entry-point group
GROUPS = {
    "brokers": "tradeloop.brokers",
    "data": "tradeloop.data",
    "strategies": "tradeloop.strategies",
    "stages": "tradeloop.stages",
    "guards": "tradeloop.guards",
    "rails": "tradeloop.rails",
}

_FROM_UNIVERSE: dict[str, Callable[[Universe], Any]] = {
    "venue": lambda u: u.venues[0],
    "symbol": lambda u: u.symbols[0],
    "venues": lambda u: tuple(u.venues),
    "symbols": lambda u: tuple(u.symbols),
}


def split_ref(ref: str) -> tuple[str, str, str]:
    """``KIND:NAME@VARIANT`` -> (kind, name, variant or "")."""
    kind, _, rest = ref.partition(":")
    name, _, variant = rest.partition("@")
    if kind not in GROUPS:
        raise pytest.UsageError(f"--tradeloop-plugin {ref}: kind must be one of {', '.join(GROUPS)}")
    return kind, name, variant


def load_class(ref: str) -> Any:
    """The object the entry point of ``ref`` names (the component class)."""
    kind, name, _ = split_ref(ref)
    eps = [ep for ep in md.entry_points(group=GROUPS[kind]) if ep.name == name]
    if not eps:
        raise pytest.UsageError(f"--tradeloop-plugin {ref}: no plugin {name!r} in {GROUPS[kind]}")
    return eps[0].load()


def build_params(params_cls: Any, given: Any, universe: Universe, ref: str) -> Any:
    """A ``Params`` instance from ``given`` (mapping, instance or None) plus the universe."""
    if given is not None and not isinstance(given, Mapping):
        return given
    kwargs = dict(given or {})
    for f in attrs.fields(params_cls):
        if f.name in kwargs or f.default is not attrs.NOTHING:
            continue
        if f.name not in _FROM_UNIVERSE:
            raise pytest.UsageError(
                f"{ref}: parameter {f.name!r} has no default; implement "
                f"{HOOK}(kind) as a staticmethod returning a harness with params"
            )
        kwargs[f.name] = _FROM_UNIVERSE[f.name](universe)
    return params_cls(**kwargs)


def instantiate(cls: Any, params: Any, universe: Universe, ref: str) -> Any:
    """Build the component and register it with pluggy, hooks validated against the specs."""
    import pluggy

    params_cls = getattr(cls, "Params", None)
    obj = cls(build_params(params_cls, params, universe, ref)) if params_cls is not None else cls()
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(ComponentSpecs)
    pm.add_hookspecs(EventSpecs)
    pm.register(obj, name=ref)
    pm.check_pending()
    return obj


#: harness members that give a data provider's params per check
_PER_CHECK = ("provider_params", "serve")


def _is_static(cls: Any) -> bool:
    return isinstance(inspect.getattr_static(cls, HOOK, None), (staticmethod, classmethod))


@attrs.frozen
class Resolved:
    """A component built for the kit, the harness it offered (or None), and its universe."""

    component: Any
    harness: Any
    universe: Universe
    #: what the component was built from: a mapping, a Params instance, or None (defaults)
    params: Any = None
    #: the entry point's class (``component`` is None when the harness builds per check)
    cls: Any = None


def resolve(ref: str, default_universe: Universe) -> Resolved:
    """Build the component ``ref`` names, with its harness's params and universe."""
    kind, _, variant = split_ref(ref)
    cls = load_class(ref)
    static = _is_static(cls)
    if static:
        harness = getattr(cls, HOOK)(kind=kind)
        obj = None
    else:
        obj = instantiate(cls, None, default_universe, ref)
        fn = getattr(obj, HOOK, None)
        harness = fn(kind=kind) if fn is not None else None
    params = getattr(harness, "params", None)
    if variant:
        variants = getattr(harness, "variants", None) or {}
        if variant not in variants:
            raise pytest.UsageError(f"{ref}: the harness declares no variant {variant!r}")
        params = variants[variant]
    universe = getattr(harness, "universe", None) or default_universe
    if params is None and any(hasattr(harness, m) for m in _PER_CHECK):
        # the data it reads is written (or served) per check: built then, from those params
        return Resolved(None, harness, universe, None, cls)
    if obj is None or params is not None or universe is not default_universe:
        obj = instantiate(cls, params, universe, ref)
        if not static and variant:
            # the configuration chosen may need a different harness (a remote venue)
            harness = getattr(obj, HOOK)(kind=kind)
    return Resolved(obj, harness, universe, params, cls)


def variants_of(ref: str) -> list[str]:
    """Names of the extra configurations the harness of ``ref`` declares (none on error).

    Called while collecting; a plugin that fails to load here fails its tests instead.
    """
    try:
        kind, _, variant = split_ref(ref)
        if variant:
            return []
        cls = load_class(ref)
        if _is_static(cls):
            harness = getattr(cls, HOOK)(kind=kind)
        elif getattr(cls, HOOK, None) is not None:
            from .suite import default_scenario

            obj = instantiate(cls, None, default_scenario()[0], ref)
            harness = getattr(obj, HOOK)(kind=kind)
        else:
            return []
        return sorted(getattr(harness, "variants", None) or {})
    except Exception:
        return []
