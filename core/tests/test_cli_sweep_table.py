"""The sweep's terminal table: headers, units, and what it leaves out when narrow."""

from __future__ import annotations

from rich.console import Console
from tradeloop.backtest._sweep_report import METRICS
from tradeloop.cli._sweep_table import cell, short_names, sweep_table

PATHS = ["strategies[0].params.fast", "strategies[0].params.slow"]
COLS = ["#", *PATHS, *METRICS, "error"]


def _row(i: int, error: str = "") -> list[object]:
    summary = {"sharpe": 1.23456, "sortino": 2.0, "total_return": "0.0123", "net_pnl": "1234.5",
               "max_drawdown": 0.05, "n_trades": 7, "hit_rate": 0.5, "fees_paid": "12.345",
               "turnover": 3.14159, "ticks_per_s": 1e6}
    return [i, 10 * i, 100 * i, *(None if error else summary[m] for m in METRICS), error]


def _render(table: object, width: int) -> list[str]:
    con = Console(width=width, record=True)
    con.print(table)
    return con.export_text().splitlines()


def test_cells_carry_their_unit() -> None:
    assert cell("total_return", "0.0123") == "1.23%"
    assert cell("net_pnl", "1234.5") == "1,234.50"
    assert cell("sharpe", 1.23456) == "1.23"
    assert cell("n_trades", 7) == "7"
    assert cell("sharpe", None) == "-"


def test_params_show_by_their_shortest_unique_suffix() -> None:
    assert short_names(PATHS) == {PATHS[0]: "fast", PATHS[1]: "slow"}
    two = ["strategies[0].params.fast", "strategies[1].params.fast"]
    assert short_names(two) == {p: p for p in two}


def test_narrow_terminal_drops_minor_metrics_but_never_the_sort_metric() -> None:
    rows = [_row(i) for i in range(3)]
    wide = _render(sweep_table(COLS, rows, 2, "t", "sortino", width=200), 200)
    head = next(line for line in wide if "fast" in line)
    assert "Sortino" in head and "Turnover" in head and "Error" not in head
    narrow = _render(sweep_table(COLS, rows, 2, "t", "sortino", width=70), 70)
    head = next(line for line in narrow if "fast" in line)
    assert "Sortino" in head and "Turnover" not in head and "Sharpe" in head
    # nothing wraps: one line per row, every cell whole
    assert len([line for line in narrow if "1.23%" in line]) == 3
    assert max(len(line) for line in narrow) <= 70


def test_error_column_only_when_a_point_failed() -> None:
    rows = [_row(1), _row(2, error="fast (20) must be smaller than slow (10)")]
    text = "\n".join(_render(sweep_table(COLS, rows, 2, "t", "sharpe", width=250), 250))
    assert "Error" in text and "must be smaller" in text


def test_ticks_per_second_shows_only_when_it_is_the_metric() -> None:
    rows = [_row(1)]
    assert "Ticks/s" not in "\n".join(_render(sweep_table(COLS, rows, 2, "t", "sharpe"), 200))
    text = "\n".join(_render(sweep_table(COLS, rows, 2, "t", "ticks_per_s"), 200))
    assert "Ticks/s" in text and "1,000,000" in text
