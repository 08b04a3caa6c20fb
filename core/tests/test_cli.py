"""The CLI: lazy commands, exit codes, plugin commands, and cheap listing (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from tradeloop import cli

MakeDist = Callable[..., Path]

PROBE = """
import sys
from tradeloop.cli import main
try:
    main(sys.argv[1:])
finally:
    heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'tradeloop_sdk', 'llvmlite')
                   or m.startswith(('tl_', 'tradeloop_plugin_')))
    print('IMPORTED=' + ','.join(heavy), file=sys.stderr)
"""


def run(args: list[str], site: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ, COLUMNS="200", **env)
    if site is not None:
        e["PYTHONPATH"] = os.pathsep.join([str(site), e.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=e, timeout=120
    )


def imported(proc: subprocess.CompletedProcess[str]) -> list[str]:
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("IMPORTED=")][-1]
    return [m for m in line.removeprefix("IMPORTED=").split(",") if m]


def test_version_and_help_import_nothing_heavy() -> None:
    proc = run(["--version"])
    assert proc.returncode == 0 and proc.stdout.startswith("tradeloop 0.1.0 (tradeloop-sdk ")
    assert imported(proc) == []
    proc = run(["--help"])
    assert proc.returncode == 0
    for name in ("backtest", "replay", "sweep", "run", "ctl", "plugins", "check", "demo"):
        assert f"  {name} " in proc.stdout
    assert imported(proc) == []
    proc = run(["plugins", "--help"])
    assert proc.returncode == 0 and "  new " in proc.stdout and "  list " in proc.stdout


def test_plugins_list_of_the_workspace_imports_no_plugin_and_no_numba() -> None:
    proc = run(["plugins", "list", "--json"])
    assert proc.returncode == 0, proc.stderr
    assert isinstance(json.loads(proc.stdout), list)
    assert imported(proc) == []


@pytest.mark.slow
def test_plugins_list_imports_neither_numba_nor_plugins(
    plugin_site: MakeDist, good_plugin_source: str
) -> None:
    site = plugin_site(
        "tl-cli-fixture",
        {
            "tradeloop.strategies": {
                "cli_good": "tl_cli_good:FixtureStrategy",
                "cli_bad": "tl_cli_bad:X",
            }
        },
        {
            "tl_cli_good.py": good_plugin_source,
            "tl_cli_bad.py": "import tl_missing_dep_for_cli\nclass X: ...\n",
        },
    )
    proc = run(["plugins", "list", "--json"], site)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert (
        rows["cli_good"]["status"] == "ok" and rows["cli_good"]["distribution"] == "tl-cli-fixture"
    )
    assert rows["cli_good"]["hooks"] == ["tradeloop_python_strategy", "tradeloop_start"]
    assert rows["cli_bad"]["status"] == "broken"
    assert rows["cli_bad"]["reason"] == "imports 'tl_missing_dep_for_cli', which is not installed"
    assert imported(proc) == []
    proc = run(["plugins", "list", "--kind", "strategy"], site)
    assert proc.returncode == 0 and "cli_good" in proc.stdout and "broken: imports" in proc.stdout
    assert imported(proc) == []
    proc = run(["plugins", "show", "cli_good"], site)
    assert proc.returncode == 0, proc.stderr
    assert "A fixture strategy: records events, trades nothing." in proc.stdout
    assert "fast" in proc.stdout and ">= 1" in proc.stdout and "tradeloop_start" in proc.stdout
    proc = run(["plugins", "show", "cli_godo"], site)
    assert proc.returncode == 2 and "did you mean 'cli_good'?" in proc.stderr


def test_unavailable_command_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.COMMANDS, "ghost", ("tradeloop.cli._no_such_module:ghost", "A ghost."))
    with pytest.raises(SystemExit) as info:
        cli.main(["ghost"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert (
        "command not available: ghost: module tradeloop.cli._no_such_module is not installed yet"
        in err
    )
    assert "Traceback" not in err


@pytest.mark.slow
def test_check_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[engine]\nmode = "paper"\nstrickt = true\n')
    proc = run(["check", "--no-plugins", str(bad)])
    assert proc.returncode == 2
    assert f"{bad}:3: engine.strickt: found unknown key 'strickt'" in proc.stderr
    assert "(did you mean 'strict'?)" in proc.stderr
    proc = run(["check"])
    assert proc.returncode == 2 and "Missing argument" in proc.stderr


@pytest.mark.slow
def test_plugin_commands_from_entry_points_and_hook(plugin_site: MakeDist) -> None:
    cmd_mod = """
    import click

    @click.command("hello")
    @click.argument("who")
    def hello(who):
        '''Say hello.'''
        click.echo(f"hello {who}")
    """
    hook_mod = """
    import click
    from tradeloop_sdk import hookimpl

    class Tools:
        '''Adds `tradeloop wave`.'''

        @hookimpl
        def tradeloop_cli_commands(self):
            @click.command("wave")
            def wave():
                click.echo("waving")
            return [wave]
    """
    site = plugin_site(
        "tl-cli-cmds",
        {
            "tradeloop.commands": {"hello": "tl_cmds:hello"},
            "tradeloop.plugins": {"tools": "tl_tools:Tools"},
        },
        {"tl_cmds.py": textwrap.dedent(cmd_mod), "tl_tools.py": textwrap.dedent(hook_mod)},
    )
    proc = run(["--help"], site)
    assert "  hello " in proc.stdout and imported(proc) == []
    proc = run(["hello", "world"], site)
    assert proc.returncode == 0 and proc.stdout.strip() == "hello world"
    assert "tl_tools" not in imported(proc)
    proc = run(["wave"], site)
    assert proc.returncode == 0 and proc.stdout.strip() == "waving"
    proc = run(["wavee"], site)
    assert proc.returncode == 2 and "No such command 'wavee'" in proc.stderr


@pytest.mark.slow
def test_demo_runs_on_the_embedded_default() -> None:
    proc = run(["demo"])
    assert proc.returncode == 0, proc.stderr
    assert "tradeloop demo" in proc.stdout and "components ready" in proc.stdout
    proc = run(["demo", "--show-config"])
    assert proc.returncode == 0 and '[broker]\nuse = "sim"' in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--from", "2024-01-02", "--to", "2024-01-01"],
         "to: found 2024-01-01T00:00:00+00:00, expected a time after the start, 2024-01-02T00:00:00+00:00"),
        (["backtest", "--from", "yesterday"],
         "from: found 'yesterday', expected an ISO date or date-time"),
        (["backtest", "--symbols", "ETH-USD"],
         "symbols: found 'ETH-USD', expected a symbol of the universe: BTC-USD"),
        (["replay", "--symbols", "ETH-USD"],
         "symbols: found 'ETH-USD', expected a symbol of the universe: BTC-USD"),
        (["replay", "--speed", "fast"],
         "Invalid value for '--speed': expected original, max or a number > 0, got 'fast'"),
        (["sweep", "--grid", "strategies[0].params.fsat=5,10"],
         "no configuration of the sweep is valid; #0 {'strategies[0].params.fsat': 5}: "
         "ConfigError: strategies[0].params.fsat: found unknown key 'fsat'"),
        (["sweep", "--grid", "strategies[1].params.fast=5,10"],
         "ValueError: config path 'strategies[1].params.fast': no item [1] here"),
    ],
)
def test_bad_run_options_are_usage_errors_naming_the_option(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Caught before any loop is built: exit 2 and the bad value, no traceback."""
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err and "Traceback" not in err
