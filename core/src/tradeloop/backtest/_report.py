"""The self-contained HTML report: summary, charts (inline base64 PNG) and plugin sections.

The page loads nothing from the network (no scripts at all, CSS inline), so it opens
offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tradeloop_sdk.reporting import ReportSection

from ._stats import Summary, summary_rows

__all__ = ["render_report", "render_sweep_report"]

log = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1f2328;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.sub{color:#656d76;margin-top:0}
table{border-collapse:collapse;font-size:.92rem}
td,th{padding:.3rem .8rem;border-bottom:1px solid #eaeef2;text-align:left}
td.v{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;display:block;margin:.5rem 0}
pre{background:#f6f8fa;padding:.8rem;overflow:auto}
.warn{background:#fff8c5;padding:.6rem;border:1px solid #d4a72c}
"""


def _img(name: str, png: bytes) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img id="chart-{html.escape(name)}" alt="{html.escape(name)}" src="data:image/png;base64,{b64}">'


def _summary_table(summary: Summary) -> str:
    rows = "".join(
        f'<tr data-key="{html.escape(k)}"><th>{html.escape(label)}</th>'
        f'<td class="v">{html.escape(value)}</td></tr>'
        for k, label, value in summary_rows(summary)
    )
    return f'<table id="summary">{rows}</table>'


def _section(sec: ReportSection) -> str:
    parts = [f"<h2>{html.escape(sec.title)}</h2>"]
    if sec.text:
        parts.append(f"<pre>{html.escape(sec.text)}</pre>")
    if sec.html:
        parts.append(sec.html)
    parts.extend(f"<figure>{_img(cap, png)}<figcaption>{html.escape(cap)}</figcaption></figure>"
                 for cap, png in sec.images)
    return '<section class="plugin">' + "".join(parts) + "</section>"


def _page(title: str, subtitle: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class=\"sub\">{html.escape(subtitle)}</p>"
        + "".join(body)
        + "</body></html>\n"
    )


_CHART_TITLES = {
    "equity": "Equity curve",
    "drawdown": "Drawdown",
    "position": "Position over time",
    "trades": "Trades on price",
}


def render_report(
    summary: Summary,
    charts: Mapping[str, bytes],
    sections: Sequence[ReportSection] = (),
    *,
    config_source: str = "",
) -> str:
    """The backtest report as one HTML string."""
    body = []
    if summary.interrupted:
        body.append('<p class="warn">The run was interrupted: these are partial results.</p>')
    body.append("<h2>Summary</h2>")
    body.append(_summary_table(summary))
    for name, png in charts.items():
        body.append(f"<h2>{html.escape(_CHART_TITLES.get(name, name))}</h2>{_img(name, png)}")
    body.extend(_section(s) for s in sections)
    sub = f"{summary.start} → {summary.end}"
    if config_source:
        sub += f" · config {config_source}"
    return _page(f"Backtest: {summary.name}", sub, body)


def render_sweep_report(
    name: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    heatmaps: Mapping[str, bytes],
) -> str:
    """The sweep report: the results table (best first) and heat maps."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body_rows = "".join(
        "<tr>" + "".join(f'<td class="v">{html.escape(_fmt(v))}</td>' for v in r) + "</tr>"
        for r in rows
    )
    body = [
        "<h2>Results</h2>",
        f'<table id="sweep"><thead><tr>{head}</tr></thead><tbody>{body_rows}</tbody></table>',
    ]
    for title, png in heatmaps.items():
        body.append(f"<h2>{html.escape(title)}</h2>{_img('heatmap', png)}")
    return _page(f"Sweep: {name}", f"{len(rows)} configurations", body)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)
