"""``tradeloop backtest``, ``replay`` and ``sweep``: the commands a user runs first.

Library code does the work (:mod:`tradeloop.backtest`); this module parses flags and
renders with rich. Exit codes: 0 ok, 2 config or usage error, 1 failure, 130 when Ctrl-C
stopped a run (its partial results are still written).
"""

from __future__ import annotations

import importlib.resources
import os
import sys
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ._interrupt import await_copy, ctrl_c_once

__all__ = ["backtest", "default_config_path", "replay", "sweep"]

DEFAULT_CONFIG = "ema_cross.toml"


def default_config_path() -> Path:
    """The embedded default config (a copy of ``examples/ema_cross.toml``)."""
    return Path(str(importlib.resources.files("tradeloop._defaults") / DEFAULT_CONFIG))


def _load(config: str | None) -> Any:
    from ..config import load_config

    path = Path(config) if config else default_config_path()
    return load_config(path)


def _out_dir(out: str | None, cfg: Any, suffix: str = "") -> Path:
    if out:
        return Path(out)
    stem = Path(cfg.source).stem if cfg.source else "backtest"
    return Path("out") / f"{stem}{suffix}-{time.strftime('%Y%m%d-%H%M%S')}"


def _symbols(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _summary_table(summary: Any, title: str) -> Any:
    from rich.table import Table

    from ..backtest import summary_rows

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, label, value in summary_rows(summary):
        style = ""
        if key in ("net_pnl", "total_return") and value.startswith("-"):
            style = "red"
        elif key in ("net_pnl", "total_return"):
            style = "green"
        table.add_row(label, f"[{style}]{value}[/]" if style else value)
    return table


def _run_options(f: Any) -> Any:
    f = click.option("--from", "start", metavar="DATE", help="Start (ISO date/time, UTC); overrides [backtest] from.")(f)
    f = click.option("--to", "end", metavar="DATE", help="End (ISO date/time, UTC); overrides [backtest] to.")(f)
    f = click.option("--symbols", metavar="A,B", help="Only these symbols (comma-separated).")(f)
    f = click.option("--out", type=click.Path(file_okay=False), help="Results directory (default out/<config>-<time>).")(f)
    return f


def _print_run(title: str, summary: Any, out_dir: Path, paths: dict[str, Path], interrupted: bool) -> None:
    """The summary table and where the results are; exit 130 after an interrupted run
    (called inside :func:`ctrl_c_once`)."""
    from ._render import stderr, stdout

    con = stdout()
    con.print(_summary_table(summary, title))
    con.print(f"results: {out_dir}{os.sep}", markup=False)
    if "report" in paths:
        con.print(f"report:  {paths['report']}", markup=False)
    if interrupted:
        stderr().print("[yellow]interrupted[/]: partial results written")
        await_copy()
        sys.exit(130)


def _speed(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, float]:
    from ..backtest._replay import parse_speed

    try:
        return value, parse_speed(value)
    except ValueError:
        raise click.BadParameter(f"expected original, max or a number > 0, got {value!r}") from None


@click.command("backtest")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@_run_options
@click.option("--no-report", is_flag=True, help="Skip the HTML report and charts.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def backtest(config: str | None, start: str | None, end: str | None, symbols: str | None,
             out: str | None, no_report: bool, progress: bool | None) -> None:
    """Backtest CONFIG (default: the embedded EMA-cross example) and write results and a report.

    Results go to DIR: fills.parquet, orders.parquet, equity.parquet, summary.json,
    charts/*.png and report.html (self-contained; opens offline).
    """
    from ..backtest import make_progress, run_backtest, write_artifacts
    from ._render import stderr

    cfg = _load(config)
    with ctrl_c_once():
        res = run_backtest(
            cfg, start=start, end=end, symbols=_symbols(symbols),
            progress=make_progress(progress, stderr()),
        )
        out_dir = _out_dir(out, cfg)
        summary, paths = write_artifacts(res, out_dir, report=not no_report)
        _print_run(f"Backtest: {res.name}", summary, out_dir, paths, res.interrupted)


@click.command("replay")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@_run_options
@click.option("--speed", default="max", show_default=True, metavar="original|N|max",
              callback=_speed, help="Pace: recorded timing, N times faster, or as fast as possible.")
@click.option("--no-report", is_flag=True, help="Skip the HTML report and charts.")
def replay(config: str | None, start: str | None, end: str | None, symbols: str | None,
           out: str | None, speed: tuple[str, float], no_report: bool) -> None:
    """Replay CONFIG's recorded ticks through the live engine path (paper, simulated venue)."""
    from ..backtest import write_artifacts
    from ..backtest._replay import run_replay

    speed_text, pace = speed
    cfg = _load(config)
    with ctrl_c_once():
        res = run_replay(cfg, speed=pace, start=start, end=end, symbols=_symbols(symbols))
        out_dir = _out_dir(out, cfg, "-replay")
        summary, paths = write_artifacts(res, out_dir, report=not no_report)
        _print_run(f"Replay ({speed_text}): {res.name}", summary, out_dir, paths, res.interrupted)


@click.command("sweep")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--grid", "grid", multiple=True, metavar="PATH=V1,V2|LO:HI",
              help="A swept parameter, e.g. strategies[0].params.fast=5,10,20 (repeatable). "
                   "With --random, LO:HI is a range.")
@click.option("--random", "n_random", type=click.IntRange(min=1), help="Random search: N points instead of the full grid.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random search.")
@click.option("--workers", type=click.IntRange(min=1), help="Processes, this one included (default: all cores; 1 = serial; a sweep shorter than its workers' start-up runs serially).")
@click.option("--ray", "ray_address", metavar="ADDRESS|local", help="Run on a Ray cluster (or 'local' to start one).")
@click.option("--metric", default="sharpe", show_default=True, help="Sort and heat-map by this summary key.")
@click.option("--from", "start", metavar="DATE", help="Start of every run (ISO, UTC); overrides [backtest] from.")
@click.option("--to", "end", metavar="DATE", help="End of every run (ISO, UTC); overrides [backtest] to.")
@click.option("--out", type=click.Path(file_okay=False), help="Output directory (default out/<config>-sweep-<time>).")
def sweep(config: str | None, grid: tuple[str, ...], n_random: int | None, seed: int,
          workers: int | None, ray_address: str | None, metric: str, start: str | None,
          end: str | None, out: str | None) -> None:
    """Backtest CONFIG over a parameter grid (or a random search) and rank the results."""
    from ..backtest._point import invalid_points, run_point
    from ..backtest._sweep import (
        SweepResult,
        grid_points,
        keep_loop_shared,
        parse_assignment,
        random_points,
        run_points,
    )
    from ..backtest._sweep_report import METRICS, sweep_rows, write_sweep
    from ._render import stderr, stdout
    from ._sweep_table import cell, sweep_table

    if not grid:
        raise click.UsageError("give at least one --grid PATH=VALUES")
    if metric not in METRICS:
        raise click.UsageError(f"--metric must be one of {', '.join(METRICS)}")
    try:
        space = dict(parse_assignment(g) for g in grid)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if n_random:
        points = random_points(space, n_random, seed)
        if len(points) < n_random:
            stderr().print(f"--random {n_random}: the space has only {len(points)} distinct "
                           "configurations; running each once", highlight=False)
    else:
        ranges = [p for p, v in space.items() if isinstance(v, tuple)]
        if ranges:
            raise click.UsageError(f"{ranges[0]}: a LO:HI range needs --random N")
        points = grid_points(space)
    cfg = _load(config)  # validates the base config before any worker starts
    source = cfg.source
    doc = tomllib.loads(Path(source).read_text(encoding="utf-8"))
    for key, value in (("from", start), ("to", end)):
        if value:
            try:
                doc.setdefault("backtest", {})[key] = datetime.fromisoformat(value)
            except ValueError:
                raise click.UsageError(f"--{key} {value!r}: expected an ISO date or date-time") from None
    keep_loop_shared(doc, space)
    # A config error is the same on every run: find them before any worker starts.
    bad = invalid_points(doc, points, source)
    if len(bad) == len(points):
        first = points[0]
        raise click.UsageError(
            f"no configuration of the sweep is valid; #{first.index} "
            f"{dict(first.overrides)}: {bad[first.index]}")
    err = stderr()
    err.print(f"sweep: {len(points)} configurations", highlight=False)
    done = [0]

    def tick(r: Any) -> None:
        done[0] += 1
        what = r.error or f"{metric}={cell(metric, r.summary.get(metric))}"
        err.print(f"  [{done[0]}/{len(points)}] #{r.point.index} {dict(r.point.overrides)}: {what}",
                  markup=False, highlight=False)

    refused = [SweepResult(p, None, bad[p.index]) for p in points if p.index in bad]
    for r in refused:
        tick(r)
    t0 = time.perf_counter()
    results = run_points(run_point, doc, [p for p in points if p.index not in bad],
                         source=source, workers=workers, ray_address=ray_address, on_result=tick)
    results = sorted(results + refused, key=lambda r: r.point.index)
    elapsed = time.perf_counter() - t0
    out_dir = _out_dir(out, cfg, "-sweep")
    paths = write_sweep(results, out_dir, name=Path(source).stem, metric=metric)
    cols, rows = sweep_rows(results, metric)
    con = stdout()
    con.print(sweep_table(cols, rows, len(space),
                          f"Sweep: {len(results)} configurations in {elapsed:.1f}s (best first)",
                          metric, width=con.width))
    con.print(f"results: {out_dir}{os.sep}", markup=False)
    con.print(f"report:  {paths['report']}", markup=False)
    if all(r.error for r in results):
        sys.exit(1)
