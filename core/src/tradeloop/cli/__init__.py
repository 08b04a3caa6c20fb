"""The ``tradeloop`` command line.

Commands are lazy: :data:`COMMANDS` maps each name to ``"module:attr"`` and a one-line
help, and the module is imported only when that command runs, so ``tradeloop plugins
list`` imports neither numba nor any plugin. To add a built-in command, add one row here.

Plugins add commands through entry points in group ``tradeloop.commands``
(``name = "module:attr"``, where ``attr`` is a click command or a zero-argument callable
returning one or a list of them, e.g. a ``tradeloop_cli_commands`` implementation); only
the names are read until the command is invoked. As a fallback, a command name that is
not found is looked up by calling the ``tradeloop_cli_commands`` hook of the
``tradeloop.plugins`` plugins whose source implements it (those are imported then).

Exit codes: 0 ok, 2 usage or config error, 1 runtime failure.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import logging
import sys
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["COMMANDS", "LazyGroup", "cli", "main"]

#: command -> (``module:attr``, one-line help). Others' modules may not exist yet.
COMMANDS: dict[str, tuple[str, str]] = {
    "backtest": ("tradeloop.cli._backtest:backtest", "Run a backtest from a config."),
    "replay": ("tradeloop.cli._backtest:replay", "Replay recorded ticks through a config."),
    "sweep": ("tradeloop.cli._backtest:sweep", "Sweep parameters over backtests."),
    "run": ("tradeloop.cli._live:run", "Trade paper or live from a config."),
    "ctl": ("tradeloop.cli._live:ctl", "Control a running engine (kill switch, status)."),
    "plugins": ("tradeloop.cli._plugins:plugins", "List, inspect and scaffold plugins."),
    "check": ("tradeloop.cli._check:check", "Load and validate a config without trading."),
    "demo": ("tradeloop.cli._demo:demo", "Check the embedded default config and its plugins."),
    "sim": ("tradeloop.cli._sim:sim", "Run the simulated venue as its own process."),
}

#: ``plugins`` subcommands (same format).
PLUGINS_COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("tradeloop.cli._plugins:list_cmd", "List installed plugins (imports none of them)."),
    "show": ("tradeloop.cli._plugins:show", "Show a plugin's docs, parameters and hooks."),
    "new": ("tradeloop.cli._scaffold:new", "Create a new plugin distribution from the template."),
}

COMMANDS_GROUP = "tradeloop.commands"


class CommandUnavailable(click.ClickException):
    """A registered command whose module cannot be imported (exit 1)."""

    exit_code = 1

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"command not available: {name}: {why}")


def _import_target(name: str, target: str) -> click.Command:
    module, _, attr = target.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise CommandUnavailable(name, f"module {module} is not installed yet") from None
        raise CommandUnavailable(
            name, f"{module} needs {exc.name!r}, which is not installed"
        ) from None
    except Exception as exc:
        raise CommandUnavailable(
            name, f"{module} failed to import: {type(exc).__name__}: {exc}"
        ) from None
    obj = getattr(mod, attr, None)
    if obj is None:
        raise CommandUnavailable(name, f"{module} has no {attr!r}")
    return _as_command(name, obj)


def _as_command(name: str, obj: Any) -> click.Command:
    if isinstance(obj, click.Command):
        return obj
    if callable(obj):
        made = obj()
        for cmd in made if isinstance(made, list | tuple) else [made]:
            if isinstance(cmd, click.Command) and (cmd.name == name or len(made) == 1):
                return cmd
    raise CommandUnavailable(name, f"{obj!r} is not a click command")


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when invoked."""

    def __init__(
        self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy if lazy is not None else {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.lazy, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return _import_target(cmd_name, self.lazy[cmd_name][0])
        return super().get_command(ctx, cmd_name)

    def help_table(self) -> dict[str, tuple[str, str]]:
        """The lazy table as shown by ``--help``."""
        return self.lazy

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text comes from the tables, so --help imports nothing.
        rows = []
        table = self.help_table()
        for name in self.list_commands(ctx):
            if name in table:
                rows.append((name, table[name][1]))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(60)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def plugin_command_names() -> dict[str, str]:
    """Commands plugins declare in the ``tradeloop.commands`` entry-point group: name -> value."""
    out: dict[str, str] = {}
    for ep in md.entry_points().select(group=COMMANDS_GROUP):
        if ep.name not in COMMANDS:  # built-ins win
            out.setdefault(ep.name, ep.value)
    return out


class RootGroup(LazyGroup):
    """The top-level group: built-in table, plugin entry points, then the hook fallback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *plugin_command_names()})

    def help_table(self) -> dict[str, tuple[str, str]]:
        extra = {
            name: (value, f"(plugin command from {value.partition(':')[0]})")
            for name, value in plugin_command_names().items()
        }
        return extra | self.lazy

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return super().get_command(ctx, cmd_name)
        extra = plugin_command_names()
        if cmd_name in extra:
            return _import_target(cmd_name, extra[cmd_name])
        return _hook_command(cmd_name)


def _hook_command(name: str) -> click.Command | None:
    """Find ``name`` among ``tradeloop_cli_commands`` hook results of ``tradeloop.plugins``."""
    from .._catalog import list_plugins, load_plugin

    for info in list_plugins(["plugins"]):
        if "tradeloop_cli_commands" not in info.hooks or not info.ok:
            continue
        try:
            obj = load_plugin("plugins", info.name)
            instance = obj() if isinstance(obj, type) else obj
            made = instance.tradeloop_cli_commands()
        except Exception:
            logging.getLogger("tradeloop.cli").warning("plugin %s: cli commands failed", info.name)
            continue
        for cmd in made or []:
            if isinstance(cmd, click.Command) and cmd.name == name:
                return cmd
    return None


def _version() -> str:
    try:
        sdk = md.version("tradeloop-sdk")
    except md.PackageNotFoundError:  # pragma: no cover
        sdk = "?"
    from tradeloop import __version__

    return f"tradeloop {__version__} (tradeloop-sdk {sdk})"


def _setup_logging(verbose: int) -> None:
    if verbose == 0:
        # rich costs a few hundred ms to import; plain warnings need none of it.
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        return
    from rich.logging import RichHandler

    from ._render import stderr

    logging.basicConfig(
        level=logging.INFO if verbose == 1 else logging.DEBUG,
        format="%(message)s",
        handlers=[RichHandler(console=stderr(), show_path=False)],
    )


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version())
        ctx.exit()


@click.group(cls=RootGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the tradeloop and SDK versions.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """tradeloop: closed-loop algorithmic trading with plugins."""
    _setup_logging(verbose)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the CLI and map errors to exit codes (0 / 1 / 2)."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="tradeloop",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        from ._render import render_error

        sys.exit(render_error(exc))
    sys.exit(0)
