"""``tradeloop sim``: the simulated venue as its own process.

``tradeloop sim serve`` loads the data provider a config names (the embedded default, a
synthetic market, without one) and the ``sim`` venue through the plugin registry, replays
the ticks at the chosen pace, and serves orders and market data on 127.0.0.1 (JSON lines;
see docs/sim-venue.md). The first line on stdout is ``listening on HOST:PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import attrs
import click

__all__ = ["serve", "sim"]


@click.group("sim")
def sim() -> None:
    """The simulated venue."""


@sim.command("serve")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Config whose [data], [universe] and [broker] are used.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=7777, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Replay pace in ticks per second.")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Replay pace as a multiple of the ticks' own timing.")
@click.option("--seed", type=int, default=None, help="Override the data provider's seed.")
@click.option("--symbols", default=None,
              help="Comma-separated symbols to replay (default: all of the universe).")
def serve(config_path: str | None, host: str, port: int, rate: float | None,
          speed: float | None, seed: int | None, symbols: str | None) -> None:
    """Run the simulated venue server until SIGTERM or SIGINT."""
    from tradeloop_sdk import ConfigError

    from .._registry import Registry
    from ..config import default_config, load_config

    if rate is not None and speed is not None:
        raise click.UsageError("give --rate or --speed, not both")
    config = load_config(config_path) if config_path else default_config()
    if config.data is None:
        raise ConfigError(key="data", found="nothing", expected='a data provider, e.g. use = "synthetic"')
    data_cfg = config.data
    if seed is not None:
        data_cfg = attrs.evolve(data_cfg, params={**data_cfg.params, "seed": seed})
    universe = config.universe.to_universe()
    wanted = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    for s in wanted or []:
        universe.symbol_id(s)  # a clear KeyError naming the known symbols
    reg = Registry(disabled=config.plugins.disabled)
    data = reg.create("data", data_cfg, key="data")
    provider = reg.call(data, "tradeloop_data_provider", universe=universe)
    broker_cfg = config.broker
    sim_cls = reg.component_class("brokers", "sim")
    raw = broker_cfg.params if broker_cfg is not None and broker_cfg.use == "sim" else {}
    venue = sim_cls(reg.make_params(sim_cls, raw, key="broker.params"))
    server = venue.venue_server(
        universe, ticks=provider.chunks(symbols=wanted), host=host, port=port, rate=rate,
        speed=speed, default_balances=dict(config.backtest.cash),
    )
    asyncio.run(_run(server, host))


async def _run(server: Any, host: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    port = await server.start()
    click.echo(f"listening on {host}:{port}")
    try:
        await stop.wait()
    finally:
        await server.stop()
        click.echo(f"stopped after {server.ticks_published} ticks", err=True)
