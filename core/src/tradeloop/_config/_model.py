"""The config model: what a tradeloop TOML file may contain.

Components are chosen by entry-point name (``use``) with free-form ``params`` that are
checked later against the plugin's own ``Params`` class (see ``_plugins.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import attrs
from tradeloop_sdk import Secret, StrictPolicy, SymbolSpec, Universe

__all__ = [
    "BacktestConfig",
    "ComponentConfig",
    "Config",
    "EngineConfig",
    "OpsConfig",
    "PluginsConfig",
    "SymbolSpecConfig",
    "UniverseConfig",
]

Mode = Literal["backtest", "paper", "live", "replay"]


@attrs.frozen
class ComponentConfig:
    """One component: the entry-point name it uses and its raw params."""

    use: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    #: an optional label, for configs that use one plugin twice (defaults to ``use``)
    name: str = ""

    @property
    def label(self) -> str:
        """``name`` if set, else ``use``."""
        return self.name or self.use


@attrs.frozen
class SymbolSpecConfig:
    """Trading rules of one symbol at one venue (``[[universe.specs]]``); money is Decimal."""

    venue: str
    symbol: str
    base: str = ""
    quote: str = ""
    tick_size: Decimal = Decimal("0.01")
    lot_step: Decimal = Decimal("0.0001")
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    max_qty: Decimal = Decimal(0)
    band_bps: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)

    def to_spec(self) -> SymbolSpec:
        """The SDK record."""
        return SymbolSpec(
            symbol=self.symbol,
            base=self.base,
            quote=self.quote,
            tick_size=self.tick_size,
            lot_step=self.lot_step,
            min_qty=self.min_qty,
            min_notional=self.min_notional,
            max_qty=self.max_qty,
            band_bps=self.band_bps,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
        )


@attrs.frozen
class UniverseConfig:
    """Venues, symbols and currencies of a run (``[universe]``)."""

    venues: tuple[str, ...] = ("sim",)
    symbols: tuple[str, ...] = ("BTC-USD",)
    currencies: tuple[str, ...] = ("USD",)
    specs: tuple[SymbolSpecConfig, ...] = ()

    def to_universe(self) -> Universe:
        """The SDK :class:`Universe` with ids and symbol specs."""
        return Universe(
            venues=self.venues,
            symbols=self.symbols,
            currencies=self.currencies,
            specs={(s.venue, s.symbol): s.to_spec() for s in self.specs},
        )


def _positive(attribute: Any, value: float) -> None:
    from tradeloop_sdk import ParamValueError

    if not value > 0:
        raise ParamValueError(attribute.name, str(value), "a number of seconds > 0")


@attrs.frozen
class OpsConfig:
    """The operations HTTP server (health, metrics, kill switch) of ``[engine.ops]``."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8765
    #: bearer token for mutating endpoints: a reference, never the value
    token: Secret | None = None


@attrs.frozen
class EngineConfig:
    """``[engine]``: mode, strictness, state paths."""

    mode: Mode = "backtest"
    #: None means the mode's default (on for live, off otherwise)
    strict: bool | None = None
    journal: str = ".tradeloop/journal.sqlite"
    cache_dir: str = ".tradeloop/cache"
    kill_file: str = ".tradeloop/KILL"
    ring_capacity: int = 1 << 16
    #: kill policy: a kill (guard, CLI, kill file) cancels open orders / closes positions
    cancel_on_kill: bool = True
    flatten_on_kill: bool = False
    # live-engine policies (tradeloop run; see docs/live.md and EngineSettings)
    #: engine state snapshot file; empty: ``<journal>.snapshot.json``
    snapshot: str = ""
    #: on SIGINT/SIGTERM, cancel open orders before exiting
    cancel_on_stop: bool = True
    #: seconds a feed may stay silent before its venues stop trading
    stale_after_s: float = attrs.field(default=5.0, validator=lambda i, a, v: _positive(a, v))
    #: seconds a broker call may take before it counts as a timeout
    submit_timeout_s: float = attrs.field(default=5.0, validator=lambda i, a, v: _positive(a, v))
    #: reopen a feed whose stream ended (live sources)
    reconnect_feeds: bool = False
    #: run the fused loop in its own process over shared-memory rings
    process: bool = False
    #: journal durability: "full" (fsync each commit) or "normal" (survives a crash, not power loss)
    journal_sync: Literal["full", "normal"] = "full"
    ops: OpsConfig = attrs.field(factory=OpsConfig)

    def strict_policy(self) -> StrictPolicy:
        """The strict-mode policy for this mode (``strict`` overrides the mode's default)."""
        return StrictPolicy.for_mode(self.mode, self.strict)


@attrs.frozen
class BacktestConfig:
    """``[backtest]``: period (TOML keys ``from`` / ``to``), output dir, seed, starting cash,
    and whether the guards', gates' and venue's params are compiled into the loop."""

    start: datetime | None = None
    end: datetime | None = None
    out: str = "out/backtest"
    seed: int = 0
    cash: Mapping[str, Decimal] = attrs.field(factory=lambda: {"USD": Decimal(100_000)})
    #: compile the gates', guards' and venue's params into the loop: 5 to 10 % faster a tick;
    #: a new value of one of them compiles the loop again (once: it is cached)
    specialize: bool = True


@attrs.frozen
class PluginsConfig:
    """``[plugins]``: plugins never to import, as ``name`` or ``kind:name``."""

    disabled: tuple[str, ...] = ()


@attrs.frozen
class Config:
    """A whole tradeloop config. ``source`` is the file it came from (not a TOML key)."""

    engine: EngineConfig = attrs.field(factory=EngineConfig)
    universe: UniverseConfig = attrs.field(factory=UniverseConfig)
    data: ComponentConfig | None = None
    broker: ComponentConfig | None = None
    strategies: tuple[ComponentConfig, ...] = ()
    stages: tuple[ComponentConfig, ...] = ()
    guards: tuple[ComponentConfig, ...] = ()
    rails: tuple[ComponentConfig, ...] = ()
    #: observer / extension plugins of group ``tradeloop.plugins``
    extensions: tuple[ComponentConfig, ...] = ()
    backtest: BacktestConfig = attrs.field(factory=BacktestConfig)
    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    source: str = ""

    def components(self) -> list[tuple[str, str, ComponentConfig]]:
        """Every configured component as ``(kind, key path, config)``, in run order."""
        out: list[tuple[str, str, ComponentConfig]] = []
        if self.data is not None:
            out.append(("data", "data", self.data))
        if self.broker is not None:
            out.append(("brokers", "broker", self.broker))
        for kind, items in (
            ("strategies", self.strategies),
            ("stages", self.stages),
            ("guards", self.guards),
            ("rails", self.rails),
            ("plugins", self.extensions),
        ):
            key = "extensions" if kind == "plugins" else kind
            out.extend((kind, f"{key}[{i}]", c) for i, c in enumerate(items))
        return out
