"""Charts of a backtest as PNG bytes (matplotlib, Agg canvas, no pyplot global state).

Each function returns PNG bytes, or None when there is nothing to draw. PNG metadata is
fixed so the same results give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from tradeloop_sdk import Side

from ._results import BacktestResults

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "drawdown_chart",
    "equity_chart",
    "heatmap_chart",
    "position_chart",
    "render_all",
    "trades_chart",
]

_MAX_POINTS = 4000
_SIZE = (10, 3.2)
_DPI = 100


def _figure(size: tuple[float, float] = _SIZE) -> tuple[Figure, Any]:
    # imported here: matplotlib takes ~2 s to import, and only drawing needs it (a sweep's
    # workers and most CLI commands never draw)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.grid(True, alpha=0.3)
    return fig, ax


def _png(fig: Figure, dates: bool = True) -> bytes:
    if dates:
        # matplotlib's default date labels are full dates at every tick, and they run into
        # each other on a chart of a month or more; concise labels name each unit once
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        for ax in fig.axes:
            loc = AutoDateLocator()  # type: ignore[no-untyped-call]
            ax.xaxis.set_major_locator(loc)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))  # type: ignore[no-untyped-call]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _stride(n: int) -> slice:
    return slice(None, None, max(1, n // _MAX_POINTS))


def _times(ts: np.ndarray) -> np.ndarray:
    return ts.astype("datetime64[ns]")


def equity_chart(res: BacktestResults) -> bytes | None:
    """Equity over time."""
    eq = res.equity
    if len(eq) < 2:
        return None
    sl = _stride(len(eq))
    fig, ax = _figure()
    ax.plot(_times(eq["ts"][sl]), eq["equity"][sl], color="#1f6feb", lw=1.2)
    ax.axhline(float(res.initial_equity), color="grey", lw=0.8, ls="--")
    ax.set_title("Equity")
    ax.set_ylabel("equity")
    return _png(fig)


def drawdown_chart(res: BacktestResults) -> bytes | None:
    """Drawdown from the running peak, in percent."""
    eq = res.equity
    if len(eq) < 2:
        return None
    e = eq["equity"].astype(np.float64)
    peak = np.maximum.accumulate(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, e / peak - 1.0, 0.0) * 100
    sl = _stride(len(eq))
    t = _times(eq["ts"][sl])
    fig, ax = _figure()
    ax.fill_between(t, dd[sl], 0, color="#d1242f", alpha=0.35, lw=0)
    ax.plot(t, dd[sl], color="#d1242f", lw=0.8)
    ax.set_title("Drawdown")
    ax.set_ylabel("% from peak")
    return _png(fig)


def _position_steps(res: BacktestResults) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    f = res.fills
    out = {}
    sign = np.where(f["side"] == int(Side.BUY), 1.0, -1.0)
    for key in sorted({(int(v), int(s)) for v, s in zip(f["venue"], f["symbol"], strict=True)}):
        m = (f["venue"] == key[0]) & (f["symbol"] == key[1])
        ts = np.concatenate(([res.start_ns], f["ts"][m], [max(res.end_ns, int(f["ts"][m][-1]))]))
        q = np.cumsum(sign[m] * f["fill_qty"][m])
        out[key] = (ts, np.concatenate(([0.0], q, [q[-1]])))
    return out


def _label(res: BacktestResults, key: tuple[int, int]) -> str:
    v, s = key
    vn = res.venues[v] if v < len(res.venues) else str(v)
    sn = res.symbols[s] if s < len(res.symbols) else str(s)
    return f"{vn}:{sn}"


def position_chart(res: BacktestResults) -> bytes | None:
    """Position (signed quantity) over time per venue and symbol."""
    steps = _position_steps(res)
    if not steps:
        return None
    fig, ax = _figure()
    for key, (ts, q) in steps.items():
        ax.step(_times(ts), q, where="post", lw=1.0, label=_label(res, key))
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_title("Position")
    ax.set_ylabel("quantity")
    ax.legend(loc="upper left", fontsize="small")
    return _png(fig)


def trades_chart(res: BacktestResults) -> bytes | None:
    """Price per venue and symbol with buys (green ▲) and sells (red ▼) marked."""
    pr = res.prices
    if len(pr) == 0:
        return None
    keys = sorted({(int(v), int(s)) for v, s in zip(pr["venue"], pr["symbol"], strict=True)})
    fig, ax = _figure((10, 4.0))
    f = res.fills
    for key in keys:
        m = (pr["venue"] == key[0]) & (pr["symbol"] == key[1])
        ax.plot(_times(pr["ts"][m]), pr["price"][m], lw=0.8, label=_label(res, key))
        fm = (f["venue"] == key[0]) & (f["symbol"] == key[1])
        for side, marker, color in ((Side.BUY, "^", "#1a7f37"), (Side.SELL, "v", "#d1242f")):
            sm = fm & (f["side"] == int(side))
            if not np.any(sm):
                continue
            sl = _stride(int(np.count_nonzero(sm)))
            ax.scatter(
                _times(f["ts"][sm][sl]), f["fill_price"][sm][sl], marker=marker, s=22,
                color=color, zorder=3, label=f"{side.name.lower()} {_label(res, key)}",
            )
    ax.set_title("Trades on price")
    ax.set_ylabel("price")
    ax.legend(loc="upper left", fontsize="small", ncol=3)
    return _png(fig)


def heatmap_chart(
    xs: Sequence[Any], ys: Sequence[Any], values: np.ndarray, *, x_label: str, y_label: str,
    title: str,
) -> bytes:
    """A heat map of ``values[len(ys), len(xs)]`` (NaN cells blank), annotated."""
    fig, ax = _figure((max(4.0, 1.1 * len(xs) + 2), max(3.0, 0.6 * len(ys) + 1.5)))
    ax.grid(False)
    im = ax.imshow(values, cmap="RdYlGn", aspect="auto", origin="lower")
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_yticks(range(len(ys)), [str(y) for y in ys])
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title)
    for i in range(len(ys)):
        for j in range(len(xs)):
            v = values[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax)
    return _png(fig, dates=False)


def render_all(res: BacktestResults) -> dict[str, bytes]:
    """Every chart of a run that has something to draw, by file stem."""
    charts = {
        "equity": equity_chart(res),
        "drawdown": drawdown_chart(res),
        "position": position_chart(res),
        "trades": trades_chart(res),
    }
    return {k: v for k, v in charts.items() if v is not None}
