"""The sweep's terminal table: short headers and each metric in its own unit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table

#: Terminal headers of the summary keys; keys not listed show as they are.
_LABELS = {
    "sharpe": "Sharpe", "sortino": "Sortino", "total_return": "Return", "net_pnl": "Net PnL",
    "max_drawdown": "Max DD", "n_trades": "Trades", "hit_rate": "Hit rate",
    "fees_paid": "Fees", "turnover": "Turnover", "ticks_per_s": "Ticks/s", "error": "Error",
}
_PERCENT = {"total_return", "max_drawdown", "hit_rate"}
_MONEY = {"net_pnl", "fees_paid"}
_RATIO = {"sharpe", "sortino", "turnover"}
#: Left out in this order when the terminal is too narrow for every column.
_DROP_FIRST = ("sortino", "turnover", "fees_paid", "n_trades")


def cell(col: str, v: Any) -> str:
    """``v`` of column ``col`` as the table shows it (money to the cent, returns and rates
    in %)."""
    if v is None:
        return "-"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if col in _PERCENT:
        return f"{x:.2%}"
    if col in _MONEY:
        return f"{x:,.2f}"
    if col in _RATIO:
        return f"{x:.2f}"
    if col == "ticks_per_s":
        return f"{x:,.0f}"
    return str(v) if isinstance(v, int | str) else f"{x:.6g}"


def short_names(paths: Sequence[str]) -> dict[str, str]:
    """Each swept path by its shortest dotted suffix that no other path shares."""
    out = {}
    for p in paths:
        parts = p.split(".")
        for k in range(1, len(parts) + 1):
            name = ".".join(parts[-k:])
            if not any(q != p and (q == name or q.endswith("." + name)) for q in paths):
                break
        out[p] = name
    return out


def sweep_table(cols: list[str], rows: list[list[Any]], n_params: int, title: str,
                metric: str, width: int = 120, limit: int = 20) -> Table:
    """The best ``limit`` rows in ``width`` columns: the error column only when a point
    failed, and the least telling metrics other than ``metric`` left out (they stay in the
    files) when narrow."""
    shown = [c for c in cols if c != "ticks_per_s" or c == metric]
    if not any(r[cols.index("error")] for r in rows):
        shown.remove("error")
    names = short_names(cols[1 : 1 + n_params])
    header = {c: names.get(c) or _LABELS.get(c, c) for c in shown}
    text = {c: [cell(c, r[cols.index(c)]) for r in rows[:limit]] for c in shown}

    def needed() -> int:
        return sum(max(len(header[c]), *map(len, text[c]), 1) + 2 for c in shown)

    for c in _DROP_FIRST:
        if needed() <= width:
            break
        if c in shown and c != metric:
            shown.remove(c)
    # no column rules and shared padding: twelve columns fit a 100-column terminal
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for c in shown:
        table.add_column(header[c], justify="right", overflow="fold")
    for i in range(len(text[shown[0]])):
        table.add_row(*(text[c][i] for c in shown))
    return table
