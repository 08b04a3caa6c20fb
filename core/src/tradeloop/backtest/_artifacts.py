"""Write a run's artifacts: Parquet results, summary JSON, chart PNGs and the HTML report."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tradeloop_sdk.reporting import ReportSection

from ._charts import render_all
from ._report import render_report
from ._results import BacktestResults, write_results
from ._stats import Summary, compute_summary

__all__ = ["collect_sections", "write_artifacts"]

log = logging.getLogger(__name__)


def collect_sections(hook_results: Iterable[Any]) -> list[ReportSection]:
    """Flatten ``tradeloop_report_sections`` hook results, skipping anything not a section."""
    out: list[ReportSection] = []
    for item in hook_results or ():
        for sec in item if isinstance(item, (list, tuple)) else [item]:
            if isinstance(sec, ReportSection):
                out.append(sec)
            else:
                log.warning("ignoring a report section of type %s", type(sec).__name__)
    return out


def write_artifacts(
    res: BacktestResults,
    out: Path,
    *,
    report: bool = True,
    sections: Sequence[ReportSection] | None = None,
) -> tuple[Summary, dict[str, Path]]:
    """Compute the summary and write everything to ``out``; returns the summary and paths.

    ``sections`` defaults to the plugin sections the run collected.
    """
    if sections is None:
        sections = res.sections
    summary = compute_summary(res)
    paths = write_results(res, out, summary.to_dict())
    if report:
        charts = render_all(res)
        cdir = out / "charts"
        cdir.mkdir(exist_ok=True)
        for name, png in charts.items():
            p = cdir / f"{name}.png"
            p.write_bytes(png)
            paths[f"chart_{name}"] = p
        html = render_report(summary, charts, sections, config_source=res.config_source)
        paths["report"] = out / "report.html"
        paths["report"].write_text(html, encoding="utf-8")
    return summary, paths
