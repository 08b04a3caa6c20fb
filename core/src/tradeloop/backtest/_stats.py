"""Backtest statistics: money exact from the fills, risk ratios from the equity curve.

Money (PnL, fees, notional, equity, wins and losses) is summed as Decimal from each fill's
float64 fields through their shortest repr, so the summary agrees to the cent with any
independent recomputation from ``fills.parquet``. Ratios of a sampled curve (Sharpe,
Sortino, drawdown) are statistics, not money, and use float64.

Conventions, stated once:

* a year is 365 days (synthetic and crypto markets trade around the clock);
* Sharpe and Sortino use simple returns between equity samples, a zero risk-free rate, and
  annualise by the median sampling interval; Sortino's downside deviation is the root mean
  square of the negative returns over all samples;
* a trade is a round trip from flat to flat per (venue, symbol); a fill that flips the
  position closes one trade and opens the next, its fee split pro rata by quantity; a trade
  still open at the end is valued in the equity, not counted in the hit rate;
* exposure is the fraction of the run's time with any non-zero position.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import Reason, ReportKind, Side, Universe, guard_breaches, to_decimal

from ._results import BacktestResults

__all__ = ["YEAR_NS", "Summary", "compute_summary", "round_trips", "summary_rows"]

YEAR_NS = 365 * 24 * 3600 * 10**9
_ZERO = Decimal(0)


@attrs.frozen
class Summary:
    """The headline numbers of a backtest. Decimal fields are money (or exact ratios of money)."""

    name: str
    interrupted: bool
    start: str
    end: str
    duration_s: float
    ticks: int
    elapsed_s: float
    warmup_s: float
    ticks_per_s: float
    #: seconds of ``elapsed_s`` spent waiting for the data source, and the rate without them
    data_s: float
    loop_ticks_per_s: float
    initial_equity: Decimal
    final_equity: Decimal
    net_pnl: Decimal
    fees_paid: Decimal
    traded_notional: Decimal
    total_return: Decimal
    annualised_return: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_duration_s: float
    turnover: Decimal
    n_orders: int
    n_fills: int
    n_trades: int
    hit_rate: float | None
    avg_win: Decimal | None
    avg_loss: Decimal | None
    exposure: float
    rejects_by_reason: dict[str, int]
    guard_breaches: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings (exact), non-finite floats as None."""
        out: dict[str, Any] = {}
        for f in attrs.fields(Summary):
            v = getattr(self, f.name)
            if isinstance(v, Decimal):
                v = str(v)
            elif isinstance(v, float) and not math.isfinite(v):
                v = None
            out[f.name] = v
        return out


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def _iso(ns: int) -> str:
    if ns <= 0:
        return ""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="seconds")


@attrs.frozen
class Trade:
    """One round trip: net PnL after its share of fees."""

    venue: int
    symbol: int
    open_ts: int
    close_ts: int
    pnl: Decimal


#: A fill as the statistics use it: ((venue, symbol), +1 buy / -1 sell, qty, price, fee, ts).
_Fill = tuple[tuple[int, int], int, Decimal, Decimal, Decimal, int]


def _fill_rows(fills: np.ndarray) -> list[_Fill]:
    """Every fill converted once, column by column (a numpy record read field by field
    costs more than the Decimal arithmetic, and the summary walks the fills three times)."""
    buy = int(Side.BUY)
    cols = (fills[n].tolist() for n in ("venue", "symbol", "side", "fill_qty", "fill_price",
                                        "fee", "ts"))
    return [((v, s), 1 if side == buy else -1, to_decimal(q), to_decimal(p), to_decimal(fee), ts)
            for v, s, side, q, p, fee, ts in zip(*cols, strict=True)]


def round_trips(fills: np.ndarray) -> Iterator[Trade]:
    """Closed round trips, flat to flat, per (venue, symbol), in fill order."""
    return _round_trips(_fill_rows(fills))


def _round_trips(rows: list[_Fill]) -> Iterator[Trade]:
    pos: dict[tuple[int, int], Decimal] = {}
    acc: dict[tuple[int, int], list[Any]] = {}  # [cash, fee, open_ts]
    for key, s, q, p, fee, ts in rows:
        old = pos.get(key, _ZERO)
        new = old + s * q
        pos[key] = new
        a = acc.get(key)
        if a is None:
            a = acc[key] = [_ZERO, _ZERO, ts]
        if old != 0 and new != 0 and (old > 0) != (new > 0):
            closing = abs(old)
            fee_close = fee * closing / q
            a[0] -= s * closing * p
            a[1] += fee_close
            yield Trade(key[0], key[1], a[2], ts, a[0] - a[1])
            acc[key] = [-s * (q - closing) * p, fee - fee_close, ts]
            continue
        if old == 0:
            a[0], a[1], a[2] = _ZERO, _ZERO, ts
        a[0] -= s * q * p
        a[1] += fee
        if new == 0:
            yield Trade(key[0], key[1], a[2], ts, a[0] - a[1])
            del acc[key]


def _exposure(rows: list[_Fill], start: int, end: int) -> float:
    if end <= start or not rows:
        return 0.0
    pos: dict[tuple[int, int], Decimal] = {}
    n_open, since, total = 0, 0, 0
    for key, sign, q, _p, _fee, t in rows:
        old = pos.get(key, _ZERO)
        new = old + sign * q
        pos[key] = new
        ts = min(max(t, start), end)
        if old == 0 and new != 0:
            if n_open == 0:
                since = ts
            n_open += 1
        elif old != 0 and new == 0:
            n_open -= 1
            if n_open == 0:
                total += ts - since
    if n_open:
        total += end - since
    return total / (end - start)


def _ratios(equity: np.ndarray) -> tuple[float | None, float | None]:
    if len(equity) < 3:
        return None, None
    eq = equity["equity"].astype(np.float64)
    if np.any(eq[:-1] <= 0):
        return None, None
    r = eq[1:] / eq[:-1] - 1.0
    step = float(np.median(np.diff(equity["ts"])))
    if step <= 0:
        return None, None
    ann = math.sqrt(YEAR_NS / step)
    sd = float(np.std(r, ddof=1))
    mean = float(np.mean(r))
    sharpe = mean / sd * ann if sd > 0 else None
    down = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    sortino = mean / down * ann if down > 0 else None
    return sharpe, sortino


def _drawdown(equity: np.ndarray) -> tuple[float, float]:
    if len(equity) == 0:
        return 0.0, 0.0
    eq = equity["equity"].astype(np.float64)
    ts = equity["ts"]
    peak = np.maximum.accumulate(eq)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - eq / peak, 0.0)
    trough = int(np.argmax(dd))
    mdd = float(dd[trough])
    if mdd <= 0:
        return 0.0, 0.0
    start = int(np.flatnonzero(eq[: trough + 1] == peak[trough])[-1])
    rec = np.flatnonzero(eq[trough:] >= peak[trough])
    end_ts = int(ts[trough + rec[0]]) if len(rec) else int(ts[-1])
    return mdd, (end_ts - int(ts[start])) / 1e9


def _rejects(res: BacktestResults) -> dict[str, int]:
    c: Counter[str] = Counter()
    rep = res.reports
    its = res.intents
    for codes in (rep["reason"][rep["kind"] == int(ReportKind.REJECTED)],
                  its["reason"][its["reason"] != 0]):
        # counted per distinct code: a run refused by a guard has thousands of them
        for code, n in zip(*np.unique(codes, return_counts=True), strict=True):
            c[Reason(int(code)).name.lower()] += int(n)
    return dict(sorted(c.items()))


def _guard_breaches(res: BacktestResults) -> dict[str, dict[str, int]]:
    # the SDK's reading of the events, as the live engine's: a guard's detail event is part
    # of its verdict, and the kernel's own refusals are "kernel"
    out: dict[str, dict[str, int]] = {}
    for b in guard_breaches(res.events, Universe(res.venues, res.symbols), res.component_names):
        d = out.setdefault(b.guard, {"rejected": 0, "resized": 0})
        d["rejected" if b.action == "reject" else "resized"] += 1
    return dict(sorted(out.items()))


def compute_summary(res: BacktestResults) -> Summary:
    """Compute the summary of one run."""
    fills = res.fills
    cash = _ZERO
    fees = _ZERO
    notional = _ZERO
    pos: dict[tuple[int, int], Decimal] = {}
    rows = _fill_rows(fills)
    for key, s, q, p, fee, _ts in rows:
        cash -= s * q * p + fee
        fees += fee
        notional += q * p
        pos[key] = pos.get(key, _ZERO) + s * q
    held = _ZERO
    for (v, s_), qty in pos.items():
        if qty != 0:
            mark = res.marks.get((res.venues[v], res.symbols[s_]))
            if mark is None or math.isnan(mark):
                raise ValueError(
                    f"no mark price for open position {res.venues[v]}:{res.symbols[s_]}"
                )
            held += qty * to_decimal(mark)
    initial = res.initial_equity
    final = initial + cash + held
    pnl = final - initial
    total_return = pnl / initial if initial else _ZERO
    duration_ns = max(res.end_ns - res.start_ns, 0)
    annual: float | None = None
    if duration_ns > 0 and initial:
        r = float(total_return)
        if r <= -1:
            annual = -1.0
        else:
            try:
                annual = math.expm1(math.log1p(r) * YEAR_NS / duration_ns)
            except OverflowError:
                annual = None
    trades = list(_round_trips(rows))
    wins = [t.pnl for t in trades if t.pnl > 0]
    losses = [t.pnl for t in trades if t.pnl <= 0]
    sharpe, sortino = _ratios(res.equity)
    mdd, mdd_s = _drawdown(res.equity)
    n_orders = int(np.count_nonzero(res.intents["action"] == 1))
    return Summary(
        name=res.name,
        interrupted=res.interrupted,
        start=_iso(res.start_ns),
        end=_iso(res.end_ns),
        duration_s=duration_ns / 1e9,
        ticks=res.n_ticks,
        elapsed_s=res.elapsed_s,
        warmup_s=res.warmup_s,
        ticks_per_s=_rate(res.n_ticks, res.elapsed_s),
        data_s=res.data_s,
        loop_ticks_per_s=_rate(res.n_ticks, res.elapsed_s - res.data_s),
        initial_equity=initial,
        final_equity=final,
        net_pnl=pnl,
        fees_paid=fees,
        traded_notional=notional,
        total_return=total_return,
        annualised_return=annual,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=mdd,
        max_drawdown_duration_s=mdd_s,
        turnover=notional / initial if initial else _ZERO,
        n_orders=n_orders,
        n_fills=len(fills),
        n_trades=len(trades),
        hit_rate=len(wins) / len(trades) if trades else None,
        avg_win=sum(wins, _ZERO) / len(wins) if wins else None,
        avg_loss=sum(losses, _ZERO) / len(losses) if losses else None,
        exposure=_exposure(rows, res.start_ns, res.end_ns),
        rejects_by_reason=_rejects(res),
        guard_breaches=_guard_breaches(res),
    )


def _money(x: Decimal | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


def _pct(x: float | Decimal | None) -> str:
    return "-" if x is None else f"{float(x) * 100:,.2f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:,.{digits}f}"


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{s / 60:.1f}min"
    if s < 86400:
        return f"{s / 3600:.1f}h"
    return f"{s / 86400:.1f}d"


def summary_rows(s: Summary) -> list[tuple[str, str, str]]:
    """``(key, label, formatted value)`` rows, shared by the terminal table and the report."""
    rows = [
        ("period", "Period", f"{s.start} → {s.end} ({_duration(s.duration_s)})"),
        ("initial_equity", "Initial equity", _money(s.initial_equity)),
        ("final_equity", "Final equity", _money(s.final_equity)),
        ("net_pnl", "Net PnL (after fees)", _money(s.net_pnl)),
        ("total_return", "Total return", _pct(s.total_return)),
        ("annualised_return", "Annualised return", _pct(s.annualised_return)),
        ("sharpe", "Sharpe (annualised)", _num(s.sharpe)),
        ("sortino", "Sortino (annualised)", _num(s.sortino)),
        ("max_drawdown", "Max drawdown", _pct(s.max_drawdown)),
        ("max_drawdown_duration_s", "Max drawdown duration", _duration(s.max_drawdown_duration_s)),
        ("turnover", "Turnover (x initial equity)", _num(float(s.turnover))),
        ("traded_notional", "Traded notional", _money(s.traded_notional)),
        ("fees_paid", "Fees paid", _money(s.fees_paid)),
        ("n_orders", "Orders", f"{s.n_orders:,}"),
        ("n_fills", "Fills", f"{s.n_fills:,}"),
        ("n_trades", "Round trips", f"{s.n_trades:,}"),
        ("hit_rate", "Hit rate", _pct(s.hit_rate)),
        ("avg_win", "Average win", _money(s.avg_win)),
        ("avg_loss", "Average loss", _money(s.avg_loss)),
        ("exposure", "Exposure (time in market)", _pct(s.exposure)),
        (
            "rejects_by_reason",
            "Rejects by reason",
            ", ".join(f"{k}: {v}" for k, v in s.rejects_by_reason.items()) or "none",
        ),
        (
            "guard_breaches",
            "Guard breaches",
            ", ".join(
                f"{g}: {d['rejected']} rejected / {d['resized']} resized"
                for g, d in s.guard_breaches.items()
            )
            or "none",
        ),
        ("ticks", "Ticks", f"{s.ticks:,}"),
        ("ticks_per_s", "Ticks per second", f"{s.ticks_per_s:,.0f}"),
        ("warmup_s", "Compile / cache load", f"{s.warmup_s:.1f}s"),
    ]
    if s.data_s > 0:  # timed apart (a backtest; a replay's feeder thread is not)
        rows[-1:-1] = [
            ("data_s", "of which waiting for data",
             f"{s.data_s:.1f}s of {s.elapsed_s:.1f}s ({s.data_s / s.elapsed_s:.0%})"),
            ("loop_ticks_per_s", "Ticks per second, data aside", f"{s.loop_ticks_per_s:,.0f}"),
        ]
    if s.interrupted:
        rows.insert(0, ("interrupted", "Interrupted", "yes: partial results"))
    return rows
