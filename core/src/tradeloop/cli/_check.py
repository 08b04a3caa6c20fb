"""``tradeloop check CONFIG``: load and validate a config without trading."""

from __future__ import annotations

import click


@click.command("check")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--no-plugins", is_flag=True, help="Check structure only; import no plugin.")
def check(config: str, no_plugins: bool) -> None:
    """Validate CONFIG: keys, types, secrets, and (unless --no-plugins) each plugin and its params.

    Exits 0 when valid, 2 with every error (file:line: key.path: found ..., expected ...)
    otherwise.
    """
    from ..config import load_config
    from ._render import stdout

    cfg = load_config(config, check_plugins=not no_plugins)
    con = stdout()
    comps = cfg.components()
    con.print(
        f"[green]ok[/]: {config} ({cfg.engine.mode}, {len(comps)} components)", highlight=False
    )
    for kind, key, spec in comps:
        con.print(f"  {key}: {spec.use} ({kind})", markup=False)
