"""Charts and the HTML report from hand-made results: inline, offline, plugin sections."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from tradeloop._kstate import EQUITY_DTYPE
from tradeloop.backtest import BacktestResults, write_artifacts
from tradeloop.backtest._artifacts import collect_sections
from tradeloop.backtest._results import PRICE_DTYPE
from tradeloop_sdk import INTENT_DTYPE, REPORT_DTYPE, ReportKind, Side
from tradeloop_sdk.reporting import ReportSection

S = 10**9


def _results() -> BacktestResults:
    rep = np.zeros(4, REPORT_DTYPE)
    rep["ts"] = [10 * S, 10 * S, 50 * S, 50 * S]
    rep["client_id"] = [1, 1, 2, 2]
    rep["kind"] = [ReportKind.ACK, ReportKind.FILL, ReportKind.ACK, ReportKind.FILL]
    rep["side"] = [Side.BUY, Side.BUY, Side.SELL, Side.SELL]
    rep["fill_qty"] = [0, 0.5, 0, 0.5]
    rep["fill_price"] = [0, 100.0, 0, 110.0]
    rep["fee"] = [0, 0.05, 0, 0.055]
    it = np.zeros(3, INTENT_DTYPE)
    it["client_id"] = [1, 2, 3]
    it["action"] = 1
    it["side"] = [Side.BUY, Side.SELL, Side.BUY]
    it["qty"] = 0.5
    it["reason"] = [0, 0, 17]
    it["guard"] = [255, 255, 0]
    eq = np.zeros(11, EQUITY_DTYPE)
    eq["ts"] = np.arange(11) * 10 * S
    eq["equity"] = 1000 + np.array([0, 0, 1, 2, 1, 4.9, 4.9, 4.9, 4.9, 4.9, 4.9])
    pr = np.zeros(100, PRICE_DTYPE)
    pr["ts"] = np.arange(100) * S
    pr["price"] = 100 + np.arange(100) / 10
    return BacktestResults(
        name="hand", venues=("sim",), symbols=("X",), initial_cash={"sim:USD": Decimal(1000)},
        reports=rep, intents=it, equity=eq, prices=pr, marks={("sim", "X"): 110.0},
        component_names=("strat", "risk", "sim"), guard_names=("risk",),
        start_ns=0, end_ns=100 * S, n_ticks=100, elapsed_s=0.5,
        sections=[ReportSection(title="From a plugin", text="<b>escaped</b>",
                                html='<p id="plug">trusted</p>')],
    )


def test_artifacts_report_and_orders(tmp_path: Path) -> None:
    summary, paths = write_artifacts(_results(), tmp_path)
    assert summary.net_pnl == Decimal("4.895") and summary.n_orders == 3
    assert summary.rejects_by_reason == {"position_limit": 1}
    page = paths["report"].read_text()
    for chart in ("equity", "drawdown", "position", "trades"):
        assert re.search(rf'<img id="chart-{chart}" alt="{chart}" src="data:image/png;base64,', page)
        assert (tmp_path / "charts" / f"{chart}.png").read_bytes().startswith(b"\x89PNG")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "&lt;b&gt;escaped&lt;/b&gt;" in page and '<p id="plug">trusted</p>' in page
    orders = pq.read_table(paths["orders"]).to_pydict()
    assert orders["status"] == ["filled", "filled", "guard_rejected"]
    assert orders["guard"] == ["", "", "risk"] and orders["reason"][2] == "position_limit"
    assert orders["avg_fill_price"][:2] == [100.0, 110.0]


def test_same_results_same_bytes(tmp_path: Path) -> None:
    _, a = write_artifacts(_results(), tmp_path / "a")
    _, b = write_artifacts(_results(), tmp_path / "b")
    for key in ("fills", "orders", "equity", "chart_equity", "report"):
        assert a[key].read_bytes() == b[key].read_bytes(), key


def test_collect_sections_skips_junk() -> None:
    sec = ReportSection(title="t")
    assert collect_sections([[sec, "junk"], None, [sec]]) == [sec, sec]


def test_price_points_keep_their_density_in_long_chunks() -> None:
    from tradeloop.backtest._runner import _sample_prices
    from tradeloop_sdk import TICK_DTYPE

    def chunk(n: int) -> np.ndarray:
        t = np.zeros(n, TICK_DTYPE)
        t["ts_recv"] = np.arange(n)
        t["kind"], t["bid"], t["ask"] = 1, 99.0, 101.0
        return t

    assert len(_sample_prices(chunk(1_000))) == 1_000  # a short chunk: every tick
    assert len(_sample_prices(chunk(65_536))) == 512
    # a source's long chunk is charted as densely as the same ticks in short ones
    assert len(_sample_prices(chunk(1 << 20))) == (1 << 20) // 128
