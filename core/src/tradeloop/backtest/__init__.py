"""Backtests as a product: run a config, write results, statistics, charts and a report;
replay recorded ticks; sweep parameters locally or on Ray.

>>> from tradeloop.config import load_config                     # doctest: +SKIP
>>> from tradeloop.backtest import run_backtest, write_artifacts  # doctest: +SKIP
>>> res = run_backtest(load_config("examples/ema_cross.toml"))    # doctest: +SKIP
>>> summary, paths = write_artifacts(res, Path("out/ema"))        # doctest: +SKIP

See ``docs/backtest.md``.
"""

from __future__ import annotations

from ._artifacts import write_artifacts
from ._charts import render_all
from ._progress import NullProgress, RunProgress, TickProgress, make_progress
from ._report import render_report
from ._results import BacktestResults, fills_table, orders_table, write_results
from ._runner import run_backtest, to_ns
from ._stats import Summary, compute_summary, summary_rows
from ._sweep import (
    SweepPoint,
    SweepResult,
    grid_points,
    parse_assignment,
    random_points,
    run_points,
)

__all__ = [
    "BacktestResults",
    "NullProgress",
    "RunProgress",
    "Summary",
    "SweepPoint",
    "SweepResult",
    "TickProgress",
    "compute_summary",
    "fills_table",
    "grid_points",
    "make_progress",
    "orders_table",
    "parse_assignment",
    "random_points",
    "render_all",
    "render_report",
    "run_backtest",
    "run_points",
    "summary_rows",
    "to_ns",
    "write_artifacts",
    "write_results",
]
