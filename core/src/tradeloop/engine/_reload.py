"""Config hot reload: new component parameters and guard limits, all at once or not at all.

A reload is planned first, with no side effect: the new config is compared with the running
one, and anything that needs a restart (universe, broker, data provider, the list or order
of components, engine mode, journal) refuses the reload with the reason. Otherwise every
hot-path component is rebuilt from the new params in a throwaway registry, and each new
params array must have the numba type of the running one (same dtype and shape), so the
compiled loop is reused as is.

Applying swaps all of them in one exclusive section while the loop thread is parked between
compiled calls (see ``Engine.exclusive``); ``control.generation`` is bumped once per swap.
The loop therefore sees either every old value or every new one, never a mix. In process
mode the loop process holds the params arrays themselves, so they are overwritten in place
(same exclusive section, the loop process parked); every component's new params are checked
against the running ones before the first byte is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from .._config._model import Config
from .._registry import Registry

#: Config sections whose change needs a restart, with the reason shown to the operator.
_RESTART_FIELDS = (
    ("universe", "the universe (venues, symbols, specs) changed"),
    ("broker", "the broker changed"),
    ("data", "the data provider changed"),
    ("rails", "the funding rails changed"),
    ("extensions", "the extension plugins changed"),
)


@attrs.frozen
class ReloadPlan:
    """What a reload would do: ``params[i]`` replaces component ``i``'s params."""

    ok: bool
    reason: str = ""
    params: tuple[Any, ...] = ()
    changed: tuple[str, ...] = ()
    config: Config | None = None


def _components(cfg: Config) -> list[tuple[str, Any]]:
    return ([("strategies", c) for c in cfg.strategies] + [("stages", c) for c in cfg.stages]
            + [("guards", c) for c in cfg.guards])


def plan_reload(old: Config, new: Config, current_params: Sequence[Any], *,
                disabled: Sequence[str] = ()) -> ReloadPlan:
    """Decide whether ``new`` can replace ``old`` live; never touches the running loop."""
    for field, why in _RESTART_FIELDS:
        if getattr(old, field) != getattr(new, field):
            return ReloadPlan(False, f"needs a restart: {why}")
    oe, ne = old.engine, new.engine
    # every [engine] key is read once at start (paths, rings, policies, ops server)
    for f in attrs.fields(type(oe)):
        if getattr(oe, f.name) != getattr(ne, f.name, None):
            return ReloadPlan(False, f"needs a restart: engine.{f.name} changed")
    oc, nc = _components(old), _components(new)
    if [(k, c.use, c.label) for k, c in oc] != [(k, c.use, c.label) for k, c in nc]:
        return ReloadPlan(False, "needs a restart: the components (or their order) changed")
    if len(nc) != len(current_params):
        return ReloadPlan(False, "needs a restart: the running loop has a different component count")
    universe = new.universe.to_universe()
    reg = Registry(disabled=disabled)
    params: list[Any] = []
    changed: list[str] = []
    try:
        for i, ((kind, spec), cur) in enumerate(zip(nc, current_params, strict=True)):
            inst = reg.create(kind, spec, key=f"{kind}[{i}]")
            hp = reg.call(inst, "tradeloop_hot_path", universe=universe)
            p = hp.params
            if isinstance(cur, np.ndarray):
                if not isinstance(p, np.ndarray) or p.dtype != cur.dtype or p.shape != cur.shape:
                    return ReloadPlan(False, f"needs a restart: {kind}[{i}] ({spec.label}) params "
                                             "changed type")
                if not np.array_equal(p, cur, equal_nan=True) if p.dtype.names is None else p.tobytes() != cur.tobytes():
                    changed.append(f"{kind}[{i}]")
            elif type(p) is not type(cur):
                return ReloadPlan(False, f"needs a restart: {kind}[{i}] params changed type")
            params.append(p)
    except Exception as exc:  # a bad value is refused with its message, never half-applied
        return ReloadPlan(False, f"invalid config: {exc}")
    return ReloadPlan(True, "", tuple(params), tuple(changed), new)


def apply_plan(loop: Any, plan: ReloadPlan) -> None:
    """Swap every params array of ``plan`` (call inside the engine's exclusive section)."""
    if not plan.ok:
        raise ValueError(f"cannot apply a refused reload: {plan.reason}")
    check = getattr(loop, "check_params", None)  # in-place writers check all first
    if check is not None:
        for i, p in enumerate(plan.params):
            check(i, p)
    for i, p in enumerate(plan.params):
        loop.set_params(i, p)


__all__ = ["ReloadPlan", "apply_plan", "plan_reload"]
