"""Build an :class:`Engine` from a config: components through the registry, brokers, feeds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradeloop_sdk import Broker, ConfigError

from .._config._model import Config
from .._registry import Registry
from ..loop import build_loop
from ._engine import Engine
from ._process_loop import ProcessModeError
from ._reload import plan_reload
from ._settings import EngineSettings
from ._venues import split_venues


def build_engine(
    config: Config,
    *,
    settings: EngineSettings | None = None,
    brokers: Mapping[str, Broker] | None = None,
    feeds: list[Any] | None = None,
    load_config: Any = None,
) -> Engine:
    """Create the loop (mode ``live``), broker(s) and feed(s) a config names.

    ``brokers`` / ``feeds`` override what the config names (tests, replay). ``load_config``
    is a zero-argument callable returning the config to reload (``ctl reload``, SIGHUP).
    """
    universe = config.universe.to_universe()
    reg = Registry(disabled=config.plugins.disabled)
    parts = reg.build(config)
    hot = []
    specs = ([("strategies", c) for c in config.strategies] + [("stages", c) for c in config.stages]
             + [("guards", c) for c in config.guards])
    for i, ((kind, spec), inst) in enumerate(zip(specs, [*parts.strategies, *parts.stages,
                                                         *parts.guards], strict=True)):
        hp = reg.call(inst, "tradeloop_hot_path", universe=universe)
        if hp is None:
            raise ConfigError(key=f"{kind}[{i}].use", found=spec.use,
                              expected="a component with a hot path (tradeloop_hot_path)")
        hot.append(hp if hp.name else _named(hp, spec.label))
    if brokers is None:
        if parts.broker is None:
            raise ConfigError(key="broker", found="nothing", expected='a broker, e.g. use = "sim"')
        b = reg.call(funded_broker(reg, config, parts.broker), "tradeloop_broker", universe=universe)
        if b is None:
            raise ConfigError(key="broker.use", found=config.broker.use if config.broker else "",
                              expected="a plugin implementing tradeloop_broker")
        name = getattr(b, "name", None)
        if len(universe.venues) == 1:
            brokers = {universe.venues[0]: b}
        elif name in universe.venues:
            brokers = {name: b}
        else:
            # a broker serving the whole universe (the sim venue, a router): one view per
            # venue, so each keeps its own queue, breaker, report stream and reconciliation
            brokers = split_venues(b, universe.venues, universe)
    if feeds is None:
        if parts.data is None:
            raise ConfigError(key="data", found="nothing", expected='a data provider, e.g. use = "synthetic"')
        feeds = [reg.call(parts.data, "tradeloop_data_provider", universe=universe)]
    settings = settings or EngineSettings.from_config(config)
    loop = build_loop(universe, hot, mode="live", cache_dir=None,
                      initial_cash=dict(config.backtest.cash) if config.backtest.cash else None)
    state = {"config": config}
    # the running loop's params: in process mode the engine swaps in a shared copy of ``loop``
    running: list[Any] = [loop]

    def reloader() -> Any:
        if load_config is None:
            from ._reload import ReloadPlan

            return ReloadPlan(False, "no config file to reload from")
        try:
            new = load_config()
        except Exception as exc:
            from ._reload import ReloadPlan

            return ReloadPlan(False, f"invalid config: {exc}")
        plan = plan_reload(state["config"], new, list(running[0]._params),
                           disabled=config.plugins.disabled)
        if plan.ok:
            state["config"] = new
        return plan

    try:
        engine = Engine(loop, brokers, feeds, settings, hooks=reg.hook, reloader=reloader)
    except ProcessModeError as exc:
        raise ConfigError(key="engine.process", found="true",
                          expected=f"false for these components: {exc}") from None
    running[0] = engine.loop
    return engine


def funded_broker(reg: Registry, config: Config, inst: Any) -> Any:
    """``inst``, or the config's broker again funded with ``[backtest.cash]``.

    A simulated venue with no starting balances of its own takes the backtest's cash in a
    backtest; in paper (``tradeloop run``, replay) it is funded the same way, so one config
    trades alike in both. Brokers without ``starting_balances`` (real venues) are left as
    they are.
    """
    p = getattr(inst, "params", None)
    if (config.broker is None or not config.backtest.cash or p is None
            or not hasattr(p, "starting_balances") or p.starting_balances):
        return inst
    import attrs

    cash = {c: str(a) for c, a in config.backtest.cash.items()}
    reg.pm.unregister(inst)
    return reg.create("brokers", attrs.evolve(config.broker, params={
        **config.broker.params, "starting_balances": cash}), key="broker")


def _named(hp: Any, name: str) -> Any:
    import attrs

    return attrs.evolve(hp, name=name)


__all__ = ["build_engine", "funded_broker"]
