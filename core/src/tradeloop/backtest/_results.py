"""What a backtest produces, and how it is written to and read from a results directory.

The arrays are the kernel's own records (fills and every report as REPORT_DTYPE, intents
after guards as INTENT_DTYPE, events as EVENT_DTYPE, equity samples as EQUITY_DTYPE), so
nothing is lost between the loop and the files. Parquet columns keep kernel floats as
float64: a float64 round-trips exactly, and the exact Decimal view is taken from its
shortest repr (``tradeloop_sdk.to_decimal``) when money is summed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tradeloop_sdk import (
    EVENT_DTYPE,
    INTENT_DTYPE,
    NO_GUARD,
    REPORT_DTYPE,
    IntentAction,
    Liquidity,
    OrderType,
    Reason,
    ReportKind,
    Side,
    TimeInForce,
    to_decimal,
)

from .._kstate import EQUITY_DTYPE

__all__ = ["PRICE_DTYPE", "BacktestResults", "fills_table", "orders_table", "write_results"]

log = logging.getLogger(__name__)

#: A downsampled price path per (venue, symbol), for charts.
PRICE_DTYPE = np.dtype([("ts", "i8"), ("venue", "u2"), ("symbol", "u2"), ("price", "f8")])

_FILL_KINDS = (int(ReportKind.PARTIAL), int(ReportKind.FILL))
_Z = Decimal(0)


def _empty(dtype: np.dtype[Any]) -> np.ndarray:
    return np.zeros(0, dtype)


@attrs.define(eq=False)
class BacktestResults:
    """Everything one backtest run produced (arrays are kernel records, money is float64 there).

    ``initial_cash`` is the starting cash per currency (Decimal, from the config);
    ``marks`` the last known price per ``(venue, symbol)`` used to value open positions.
    """

    name: str
    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    initial_cash: Mapping[str, Decimal]
    reports: np.ndarray = attrs.field(factory=lambda: _empty(REPORT_DTYPE))
    intents: np.ndarray = attrs.field(factory=lambda: _empty(INTENT_DTYPE))
    events: np.ndarray = attrs.field(factory=lambda: _empty(EVENT_DTYPE))
    equity: np.ndarray = attrs.field(factory=lambda: _empty(EQUITY_DTYPE))
    prices: np.ndarray = attrs.field(factory=lambda: _empty(PRICE_DTYPE))
    marks: Mapping[tuple[str, str], float] = attrs.field(factory=dict)
    #: names of the loop's components by index (events and intents refer to them by index)
    component_names: tuple[str, ...] = ()
    #: names of the guards by guard index (``INTENT.guard``)
    guard_names: tuple[str, ...] = ()
    n_ticks: int = 0
    #: wall time of the run, without ``warmup_s`` (compiling or loading the fused loop)
    elapsed_s: float = 0.0
    #: the part of ``elapsed_s`` the loop waited for the data source: its reading or
    #: generating beyond what overlapped the loop (the next chunk is read meanwhile)
    data_s: float = 0.0
    warmup_s: float = 0.0
    #: CPU time of this process over the same span as ``elapsed_s`` (what benchmarks on a
    #: shared machine compare: other processes' load does not count against the run)
    cpu_s: float = 0.0
    start_ns: int = 0
    end_ns: int = 0
    interrupted: bool = False
    seed: int = 0
    config_source: str = ""
    params: Mapping[str, Any] = attrs.field(factory=dict)
    #: report sections plugins returned from ``tradeloop_report_sections``
    sections: list[Any] = attrs.field(factory=list)

    @property
    def fills(self) -> np.ndarray:
        """The reports that moved a position (PARTIAL and FILL), in ledger order."""
        mask = np.isin(self.reports["kind"], _FILL_KINDS) & (self.reports["fill_qty"] > 0)
        return self.reports[mask]

    @property
    def initial_equity(self) -> Decimal:
        """Starting cash summed over currencies (quote currencies taken at par, as the loop does)."""
        return sum(self.initial_cash.values(), Decimal(0))

    def component_name(self, index: int) -> str:
        """Name of component ``index`` (``#index`` if unknown)."""
        if 0 <= index < len(self.component_names):
            return self.component_names[index]
        return f"#{index}"

    def guard_name(self, index: int) -> str:
        """Name of guard ``index`` (``#index`` if unknown)."""
        if 0 <= index < len(self.guard_names):
            return self.guard_names[index]
        return f"#{index}"


def _enum_names(codes: np.ndarray, enum: Any) -> list[str]:
    names = {int(m): m.name.lower() for m in enum}
    return [names.get(int(c), str(int(c))) for c in codes]


def _names(ids: np.ndarray, table: tuple[str, ...]) -> list[str]:
    return [table[int(i)] if int(i) < len(table) else str(int(i)) for i in ids]


def fills_table(res: BacktestResults) -> pa.Table:
    """One row per fill: when, which order, where, side, quantity, price, fee, liquidity."""
    f = res.fills
    return pa.table(
        {
            "ts": pa.array(f["ts"], pa.int64()),
            "client_id": pa.array(f["client_id"], pa.int64()),
            "venue_order_id": pa.array(f["venue_order_id"], pa.int64()),
            "venue": pa.array(_names(f["venue"], res.venues), pa.string()),
            "symbol": pa.array(_names(f["symbol"], res.symbols), pa.string()),
            "side": pa.array(_enum_names(f["side"], Side), pa.string()),
            "qty": pa.array(f["fill_qty"], pa.float64()),
            "price": pa.array(f["fill_price"], pa.float64()),
            "fee": pa.array(f["fee"], pa.float64()),
            "leaves_qty": pa.array(f["leaves_qty"], pa.float64()),
            "liquidity": pa.array(_enum_names(f["liquidity"], Liquidity), pa.string()),
            "kind": pa.array(_enum_names(f["kind"], ReportKind), pa.string()),
        }
    )


def _order_outcomes(reports: np.ndarray) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for r in reports:
        cid = int(r["client_id"])
        o = out.setdefault(
            cid, {"status": "open", "reason": 0, "filled": _Z, "notional": _Z, "fees": _Z}
        )
        kind = int(r["kind"])
        if kind in _FILL_KINDS and r["fill_qty"] > 0:
            q = to_decimal(r["fill_qty"])
            o["filled"] += q
            o["notional"] += q * to_decimal(r["fill_price"])
            o["fees"] += to_decimal(r["fee"])
        if kind in (int(ReportKind.ACK), int(ReportKind.REPLACED)):
            continue
        if kind == int(ReportKind.PARTIAL):
            o["status"] = "partially_filled"
        elif kind != int(ReportKind.ACK):
            o["status"] = ReportKind(kind).name.lower().replace("fill", "filled")
            if kind == int(ReportKind.REJECTED):
                o["reason"] = int(r["reason"])
    return out


def orders_table(res: BacktestResults) -> pa.Table:
    """One row per NEW order intent after guards, with its outcome from the venue's reports.

    An intent a guard refused never reached the venue: its status is ``guard_rejected`` and
    ``guard`` names the guard.
    """
    it = res.intents[res.intents["action"] == int(IntentAction.NEW)]
    outcomes = _order_outcomes(res.reports)
    status, reason, guard, filled, avg, fees = [], [], [], [], [], []
    for r in it:
        g = int(r["guard"])
        if int(r["reason"]) != 0:
            status.append("guard_rejected")
            reason.append(Reason(int(r["reason"])).name.lower())
            guard.append(res.guard_name(g) if g != NO_GUARD else "")
            filled.append(0.0)
            avg.append(float("nan"))
            fees.append(0.0)
            continue
        o = outcomes.get(int(r["client_id"]))
        if o is None:
            status.append("unacknowledged")
            reason.append("")
            filled.append(0.0)
            avg.append(float("nan"))
            fees.append(0.0)
        else:
            status.append(o["status"])
            reason.append(Reason(o["reason"]).name.lower() if o["reason"] else "")
            filled.append(float(o["filled"]))
            avg.append(float(o["notional"] / o["filled"]) if o["filled"] else float("nan"))
            fees.append(float(o["fees"]))
        guard.append(res.guard_name(g) if g != NO_GUARD else "")
    return pa.table(
        {
            "ts": pa.array(it["ts"], pa.int64()),
            "client_id": pa.array(it["client_id"], pa.int64()),
            "venue": pa.array(_names(it["venue"], res.venues), pa.string()),
            "symbol": pa.array(_names(it["symbol"], res.symbols), pa.string()),
            "side": pa.array(_enum_names(it["side"], Side), pa.string()),
            "type": pa.array(_enum_names(it["type"], OrderType), pa.string()),
            "tif": pa.array(_enum_names(it["tif"], TimeInForce), pa.string()),
            "qty": pa.array(it["qty"], pa.float64()),
            "price": pa.array(it["price"], pa.float64()),
            "source": pa.array(_names(it["source"], res.component_names), pa.string()),
            "status": pa.array(status, pa.string()),
            "reason": pa.array(reason, pa.string()),
            "guard": pa.array(guard, pa.string()),
            "filled_qty": pa.array(filled, pa.float64()),
            "avg_fill_price": pa.array(avg, pa.float64()),
            "fees": pa.array(fees, pa.float64()),
        }
    )


def _struct_table(arr: np.ndarray) -> pa.Table:
    cols = {n: pa.array(arr[n]) for n in arr.dtype.names or () if not n.startswith("_")}
    return pa.table(cols)


def equity_table(res: BacktestResults) -> pa.Table:
    """The equity samples (quote-currency units) as a table."""
    return _struct_table(res.equity)


def _write(table: pa.Table, path: Path) -> None:
    # fixed writer options and no timestamps in metadata: same input, same bytes
    pq.write_table(table, path, compression="zstd", write_statistics=False, store_schema=False)


def write_results(res: BacktestResults, out: Path, summary: Mapping[str, Any]) -> dict[str, Path]:
    """Write fills, orders, equity and prices (Parquet) and ``summary.json`` to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "fills": out / "fills.parquet",
        "orders": out / "orders.parquet",
        "equity": out / "equity.parquet",
        "prices": out / "prices.parquet",
        "summary": out / "summary.json",
    }
    _write(fills_table(res), paths["fills"])
    _write(orders_table(res), paths["orders"])
    _write(equity_table(res), paths["equity"])
    prices = pa.table(
        {
            "ts": pa.array(res.prices["ts"], pa.int64()),
            "venue": pa.array(_names(res.prices["venue"], res.venues), pa.string()),
            "symbol": pa.array(_names(res.prices["symbol"], res.symbols), pa.string()),
            "price": pa.array(res.prices["price"], pa.float64()),
        }
    )
    _write(prices, paths["prices"])
    paths["summary"].write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    log.info("results written to %s", out)
    return paths
