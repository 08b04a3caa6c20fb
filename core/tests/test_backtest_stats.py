"""Backtest statistics against hand computations on small, known fill sequences."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from tradeloop._kstate import EQUITY_DTYPE
from tradeloop.backtest._results import BacktestResults
from tradeloop.backtest._stats import YEAR_NS, compute_summary, round_trips, summary_rows
from tradeloop_sdk import (
    EVENT_DTYPE,
    GUARD_DETAIL,
    INTENT_DTYPE,
    REPORT_DTYPE,
    EventKind,
    Reason,
    ReportKind,
    Side,
)

S = 10**9


def _fills(rows: list[tuple[int, int, float, float, float]]) -> np.ndarray:
    """rows of (ts_s, side, qty, price, fee)."""
    r = np.zeros(len(rows), REPORT_DTYPE)
    for i, (ts, side, q, p, fee) in enumerate(rows):
        r[i]["ts"] = ts * S
        r[i]["client_id"] = i + 1
        r[i]["side"] = side
        r[i]["fill_qty"] = q
        r[i]["fill_price"] = p
        r[i]["fee"] = fee
        r[i]["kind"] = ReportKind.FILL
    return r


def _res(fills: np.ndarray, **kw: object) -> BacktestResults:
    base = dict(
        name="t", venues=("sim",), symbols=("X",), initial_cash={"USD": Decimal(1000)},
        reports=fills, start_ns=0, end_ns=100 * S, marks={("sim", "X"): 12.0},
    )
    base.update(kw)
    return BacktestResults(**base)  # type: ignore[arg-type]


B, SELL = int(Side.BUY), int(Side.SELL)


def test_round_trips_flat_to_flat_and_flip() -> None:
    f = _fills([
        (10, B, 1.0, 10.0, 0.1),  # open long
        (20, SELL, 2.0, 11.0, 0.2),  # close long (+1 - fees), open short 1 @ 11
        (30, B, 1.0, 10.5, 0.1),  # close short (+0.5)
        (40, B, 0.3, 10.0, 0.0),  # open, stays open
    ])
    trades = list(round_trips(f))
    assert [t.pnl for t in trades] == [
        Decimal("1") - Decimal("0.1") - Decimal("0.1"),
        Decimal("0.5") - Decimal("0.1") - Decimal("0.1"),
    ]
    s = compute_summary(_res(f))
    # cash flows: -10 -0.1 +22 -0.2 -10.5 -0.1 -3.0 ; held 0.3 @ 12 = 3.6
    assert s.net_pnl == Decimal("1.7")
    assert s.final_equity == Decimal("1001.7")
    assert s.fees_paid == Decimal("0.4")
    assert s.traded_notional == Decimal("10") + Decimal("22") + Decimal("10.5") + Decimal("3.0")
    assert s.total_return == Decimal("1.7") / Decimal(1000)
    assert s.n_trades == 2 and s.hit_rate == 1.0
    assert s.avg_win == Decimal("0.55") and s.avg_loss is None
    # in the market from 10 s to 30 s and from 40 s to the end (100 s)
    assert s.exposure == pytest.approx((20 + 60) / 100)
    expected = math.expm1(math.log1p(0.0017) * YEAR_NS / (100 * S))
    assert s.annualised_return == pytest.approx(expected)


def test_losses_and_hit_rate() -> None:
    f = _fills([
        (1, B, 1.0, 10.0, 0.0), (2, SELL, 1.0, 9.0, 0.0),
        (3, SELL, 2.0, 9.0, 0.0), (4, B, 2.0, 8.0, 0.0),
        (5, B, 1.0, 8.0, 0.0), (6, SELL, 1.0, 8.0, 0.01),
    ])
    s = compute_summary(_res(f))
    assert s.n_trades == 3
    assert s.hit_rate == pytest.approx(1 / 3)
    assert s.avg_win == Decimal("2")
    assert s.avg_loss == (Decimal("-1") + Decimal("-0.01")) / 2


def test_drawdown_and_ratios_from_equity() -> None:
    eq = np.zeros(6, EQUITY_DTYPE)
    eq["ts"] = np.arange(6) * 60 * S
    eq["equity"] = [100.0, 110.0, 99.0, 104.5, 110.0, 121.0]
    s = compute_summary(_res(_fills([]), equity=eq))
    assert s.max_drawdown == pytest.approx(0.1)
    assert s.max_drawdown_duration_s == pytest.approx(180.0)  # peak at 60 s, back at 240 s
    r = np.diff(eq["equity"]) / eq["equity"][:-1]
    ann = math.sqrt(YEAR_NS / (60 * S))
    assert s.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * ann)
    assert s.sortino == pytest.approx(r.mean() / math.sqrt((np.minimum(r, 0) ** 2).mean()) * ann)


def test_rejects_and_guard_breaches() -> None:
    rep = _fills([(1, B, 1.0, 10.0, 0.0)])
    rej = np.zeros(1, REPORT_DTYPE)
    rej[0]["kind"] = ReportKind.REJECTED
    rej[0]["reason"] = Reason.MIN_NOTIONAL
    it = np.zeros(4, INTENT_DTYPE)
    it["action"] = 1
    it[1]["reason"] = Reason.POSITION_LIMIT
    it[1]["guard"] = 0
    it[3]["reason"] = Reason.MIN_NOTIONAL  # the same reason as the venue's reject: added up
    ev = np.zeros(3, EVENT_DTYPE)
    ev["kind"] = [EventKind.GUARD_REJECT, EventKind.GUARD_RESIZE, EventKind.GUARD_RESIZE]
    ev["component"] = [2, 2, 1]
    s = compute_summary(_res(np.concatenate([rep, rej]), intents=it, events=ev,
                             component_names=("sim", "ema", "risk")))
    assert s.n_orders == 4
    assert s.rejects_by_reason == {"min_notional": 2, "position_limit": 1}
    assert s.guard_breaches == {"ema": {"rejected": 0, "resized": 1},
                                "risk": {"rejected": 1, "resized": 1}}
    keys = [k for k, _, _ in summary_rows(s)]
    assert {"sharpe", "max_drawdown", "fees_paid", "ticks_per_s", "guard_breaches"} <= set(keys)


def test_open_position_without_mark_is_an_error() -> None:
    with pytest.raises(ValueError, match="no mark price"):
        compute_summary(_res(_fills([(1, B, 1.0, 10.0, 0.0)]), marks={}))


def test_time_in_the_data_source_is_shown_apart() -> None:
    f = _fills([(10, B, 1.0, 10.0, 0.0)])
    s = compute_summary(_res(f, n_ticks=1_000_000, elapsed_s=2.0, data_s=1.5))
    assert s.ticks_per_s == 500_000 and s.loop_ticks_per_s == 2_000_000
    rows = {k: v for k, _, v in summary_rows(s)}
    assert rows["data_s"] == "1.5s of 2.0s (75%)"
    assert rows["loop_ticks_per_s"] == "2,000,000"
    # a replay's feeder is not timed apart: no such rows rather than a misleading 0 %
    s = compute_summary(_res(f, n_ticks=1_000_000, elapsed_s=2.0))
    assert "data_s" not in {k for k, _, _ in summary_rows(s)}


def test_a_breach_is_counted_once_with_its_detail_and_the_kernel_by_name() -> None:
    """A guard that says what it measured (record_breach) adds a detail event before the
    loop's verdict event: one breach, not two; the kernel's own refusals read "kernel"."""
    ev = np.zeros(4, EVENT_DTYPE)
    ev["kind"] = [EventKind.GUARD_REJECT] * 3 + [EventKind.GUARD_RESIZE]
    ev["component"] = [GUARD_DETAIL, 1, 0xFFFF, 1]
    ev["client_id"] = [7, 7, 8, 9]
    s = compute_summary(_res(_fills([(1, B, 1.0, 10.0, 0.0)]), events=ev,
                             component_names=("sim", "stale_reference")))
    assert s.guard_breaches == {"kernel": {"rejected": 1, "resized": 0},
                                "stale_reference": {"rejected": 1, "resized": 1}}
