"""``tradeloop plugins list|show|new``.

``list`` never imports a plugin: it reads entry points, distribution metadata and a static
``ast`` read of the source (hooks, missing imports, misspelt hooks). ``list --check`` and
``show`` import plugins (each on its own) to find what only running them reveals.
"""

from __future__ import annotations

import json
import sys

import click

from .._catalog import KINDS, list_plugins
from . import PLUGINS_COMMANDS, LazyGroup

_KIND_ALIASES = {
    "broker": "brokers",
    "strategy": "strategies",
    "stage": "stages",
    "guard": "guards",
    "rail": "rails",
    "plugin": "plugins",
}


def _kind(value: str | None) -> str | None:
    if value is None:
        return None
    kind = _KIND_ALIASES.get(value, value)
    if kind not in KINDS:
        raise click.BadParameter(
            f"{value!r}; expected one of {', '.join(KINDS)}", param_hint="--kind"
        )
    return kind


def _disabled_from(config: str | None) -> tuple[str, ...]:
    """``[plugins] disabled`` of ``config``, read with tomllib alone (the SDK imports numba)."""
    if not config:
        return ()
    import tomllib

    try:
        with open(config, "rb") as f:
            disabled = tomllib.load(f).get("plugins", {}).get("disabled", [])
        if isinstance(disabled, list) and all(isinstance(d, str) for d in disabled):
            return tuple(disabled)
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        pass
    from ..config import load_config  # a bad file: let the loader name the error

    return load_config(config, check_plugins=False).plugins.disabled


@click.group(cls=LazyGroup, lazy=PLUGINS_COMMANDS, name="plugins")
def plugins() -> None:
    """List, inspect and scaffold plugins."""


@click.command("list")
@click.option("--kind", "kind", default=None, help=f"Only this kind ({', '.join(KINDS)}).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--check", is_flag=True, help="Also import each plugin and validate its hooks.")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    default=None,
    help="Honour [plugins] disabled of this config.",
)
def list_cmd(kind: str | None, as_json: bool, check: bool, config: str | None) -> None:
    """List installed plugins: name, kind, distribution, version, SDK range, hooks, status."""
    k = _kind(kind)
    rows = list_plugins([k] if k else None, disabled=_disabled_from(config), check=check)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    from rich.table import Table

    from ._render import stdout

    table = Table(title=None, show_lines=False, expand=False)
    for col in ("name", "kind", "distribution", "version", "sdk", "hooks", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        status = {
            "ok": "[green]ok[/]",
            "disabled": "[yellow]disabled[/]",
            "unchecked": "[yellow]unchecked[/]",
        }.get(r.status, f"[red]broken:[/] {r.reason}")
        hooks = ", ".join(h.removeprefix("tradeloop_") for h in r.hooks) or "-"
        table.add_row(r.name, r.kind, r.distribution, r.version, r.sdk or "-", hooks, status)
    stdout().print(table)
    broken = sum(not r.ok for r in rows)
    stdout().print(
        f"{len(rows)} plugins, {broken} broken"
        + ("" if check else " (static check; --check imports)")
    )


@click.command("show")
@click.argument("name")
@click.option("--kind", "kind", default=None, help="Disambiguate when several kinds use NAME.")
def show(name: str, kind: str | None) -> None:
    """Show a plugin's docstring, parameters (types, defaults, bounds) and hooks."""
    k = _kind(kind)
    matches = [p for p in list_plugins([k] if k else None) if p.name == name]
    if not matches:
        from .._catalog_static import suggest

        names = {p.name for p in list_plugins([k] if k else None)}
        close = suggest(name, names)
        raise click.UsageError(
            f"no plugin named {name!r}" + (f" (did you mean {close!r}?)" if close else "")
        )
    if len(matches) > 1:
        kinds = ", ".join(p.kind for p in matches)
        raise click.UsageError(f"{name!r} is a plugin of several kinds ({kinds}); pass --kind")
    info = matches[0]
    import inspect

    from rich.table import Table
    from tradeloop_sdk import PluginError, describe_params

    from .._catalog import load_plugin, validate_plugin
    from ._render import stdout

    con = stdout()
    con.print(f"[bold]{info.name}[/] ({info.kind}) from {info.distribution} {info.version}")
    con.print(f"entry point: {info.value}", markup=False)
    if info.sdk:
        con.print(f"requires tradeloop-sdk {info.sdk}", markup=False)
    try:
        obj = load_plugin(info.kind, info.name)
        hooks = validate_plugin(info.kind, info.name, obj)
    except PluginError as exc:
        con.print("[red]broken:[/] ", end="")
        con.print(str(exc), markup=False)
        sys.exit(1)
    doc = inspect.getdoc(obj) or "(no docstring)"
    con.print()
    con.print(doc, markup=False)
    params = describe_params(obj)
    con.print()
    if params:
        table = Table(title="parameters")
        for col in ("name", "type", "default", "bounds", "doc"):
            table.add_column(col, overflow="fold")
        for p in params:
            default = (
                "(required)" if p.required else ("(secret ref)" if p.secret else repr(p.default))
            )
            table.add_row(p.name, p.type, default, p.bounds or "-", p.doc or "")
        con.print(table)
    else:
        con.print("parameters: none")
    con.print("hooks: " + (", ".join(hooks) or "none"), markup=False)
