"""``tradeloop demo``: check the embedded default config against the installed plugins.

It exercises the catalog (listing without import), the config loader and the registry
(loading only the named plugins and building their params) and reports what would run.
The backtest command replaces it as the README's first command once it lands.
"""

from __future__ import annotations

import click


@click.command("demo")
@click.option("--show-config", is_flag=True, help="Print the embedded default config and exit.")
def demo(show_config: bool) -> None:
    """Check the embedded default config and the plugins it names."""
    if show_config:
        from .._config._default import default_config_text

        click.echo(default_config_text())
        return
    from rich.table import Table
    from tradeloop_sdk import ConfigError, ConfigErrors, PluginError

    from .._catalog import list_plugins
    from .._registry import Registry
    from ..config import default_config
    from ._render import stdout

    con = stdout()
    cfg = default_config(check_plugins=False)
    catalog = list_plugins()
    installed = {(p.kind, p.name): p for p in catalog}
    con.print(
        f"[bold]tradeloop demo[/]: {len(catalog)} plugins installed; default config "
        f"({cfg.engine.mode}, {', '.join(cfg.universe.symbols)} on {', '.join(cfg.universe.venues)})"
    )
    reg = Registry(disabled=cfg.plugins.disabled)
    table = Table()
    for col in ("component", "plugin", "distribution", "status"):
        table.add_column(col, overflow="fold")
    ready = 0
    for kind, key, spec in cfg.components():
        info = installed.get((kind, spec.use))
        if info is None:
            table.add_row(key, spec.use, "-", "[yellow]not installed[/]")
            continue
        try:
            cls = reg.component_class(kind, spec.use)
            params = reg.make_params(cls, spec.params, key=f"{key}.params")
        except (PluginError, ConfigError) as exc:
            problems = exc.errors if isinstance(exc, ConfigErrors) else (exc,)
            table.add_row(
                key, spec.use, info.distribution, "[red]" + "; ".join(map(str, problems)) + "[/]"
            )
            continue
        ready += 1
        table.add_row(
            key, spec.use, f"{info.distribution} {info.version}", f"[green]ready[/] {params!r}"
        )
    con.print(table)
    total = len(cfg.components())
    con.print(
        f"{ready}/{total} components ready; run `tradeloop demo --show-config` to see the config"
    )
