"""Sweep output: a results table (best first), heat maps, Parquet and HTML files."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ._charts import heatmap_chart
from ._report import render_sweep_report
from ._sweep import SweepResult

__all__ = ["METRICS", "heatmap", "sweep_rows", "write_sweep"]

#: Summary keys shown in the sweep table (and accepted by ``--metric``).
METRICS = (
    "sharpe", "sortino", "total_return", "net_pnl", "max_drawdown", "n_trades", "hit_rate",
    "fees_paid", "turnover", "ticks_per_s",
)


def _num(v: Any) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _paths(results: Sequence[SweepResult]) -> list[str]:
    seen: dict[str, None] = {}
    for r in results:
        for p in r.point.overrides:
            seen.setdefault(p, None)
    return list(seen)


def sweep_rows(
    results: Sequence[SweepResult], metric: str = "sharpe"
) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows (params, metrics, error), sorted by ``metric``, best first.

    ``max_drawdown`` sorts ascending (smaller is better); failed points sort last.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    paths = _paths(results)
    cols = ["#", *paths, *METRICS, "error"]
    rows = []
    for r in results:
        s = r.summary or {}
        rows.append(
            [r.point.index, *(r.point.overrides.get(p) for p in paths),
             *(s.get(m) for m in METRICS), r.error]
        )
    mi = cols.index(metric)
    sign = 1.0 if metric == "max_drawdown" else -1.0

    def key(row: list[Any]) -> tuple[int, float]:
        v = _num(row[mi])
        return (1, 0.0) if math.isnan(v) else (0, sign * v)

    rows.sort(key=key)
    return cols, rows


def heatmap(results: Sequence[SweepResult], metric: str = "sharpe") -> tuple[str, bytes] | None:
    """A heat map of ``metric`` over the first two swept paths (mean over any others)."""
    paths = _paths(results)
    if len(paths) < 2:
        return None
    px, py = paths[0], paths[1]
    xs = sorted({r.point.overrides[px] for r in results}, key=_sort_key)
    ys = sorted({r.point.overrides[py] for r in results}, key=_sort_key)
    if len(xs) * len(ys) > 2500:
        return None
    acc = np.zeros((len(ys), len(xs)))
    cnt = np.zeros((len(ys), len(xs)))
    for r in results:
        v = _num((r.summary or {}).get(metric))
        if math.isnan(v):
            continue
        i, j = ys.index(r.point.overrides[py]), xs.index(r.point.overrides[px])
        acc[i, j] += v
        cnt[i, j] += 1
    with np.errstate(invalid="ignore"):
        grid = np.where(cnt > 0, acc / np.maximum(cnt, 1), np.nan)
    title = f"{metric} by {px} x {py}"
    return title, heatmap_chart(xs, ys, grid, x_label=px, y_label=py, title=title)


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, (int, float)) else (1, str(v))


def write_sweep(
    results: Sequence[SweepResult], out: Path, *, name: str, metric: str = "sharpe"
) -> dict[str, Path]:
    """Write ``sweep.parquet``, ``sweep.json``, ``sweep.html`` and ``heatmap.png`` to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    cols, rows = sweep_rows(results, metric)
    paths = {"table": out / "sweep.parquet", "json": out / "sweep.json", "report": out / "sweep.html"}
    table = {c: [_cell(r[i]) for r in rows] for i, c in enumerate(cols)}
    pq.write_table(pa.table(table), paths["table"])
    paths["json"].write_text(
        json.dumps([dict(zip(cols, r, strict=True)) for r in rows], indent=2, default=str) + "\n"
    )
    hm = heatmap(results, metric)
    maps = {}
    if hm is not None:
        maps[hm[0]] = hm[1]
        paths["heatmap"] = out / "heatmap.png"
        paths["heatmap"].write_bytes(hm[1])
    paths["report"].write_text(render_sweep_report(name, cols, rows, maps))
    return paths


def _cell(v: Any) -> Any:
    # Parquet columns need one type: numbers as float, everything else as text
    if v is None:
        return None
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)
