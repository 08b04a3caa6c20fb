"""The exact ledger: the in-loop ledger's rules replayed in Decimal on the Python side.

It consumes the same reports the loop applied (``FusedLoop.drain_reports()``), converting
each kernel float through its shortest repr (``tradeloop_sdk.to_decimal``), and keeps
positions, average prices, realized PnL, fees and cash exactly. The float ledger agrees
with it within :func:`tolerance`; a larger gap means a bug, not rounding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import ReportKind, Side, Universe, to_decimal

ZERO = Decimal(0)


@attrs.define
class ExactPosition:
    """One (venue, symbol) position in exact arithmetic."""

    qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    volume: Decimal = ZERO
    n_fills: int = 0

    def unrealized(self, mark: Decimal) -> Decimal:
        """qty * (mark - avg_price)."""
        return self.qty * (mark - self.avg_price) if self.qty else ZERO


def tolerance(volume: float, cash_scale: float = 0.0) -> float:
    """Documented float-vs-exact bound for money figures after fills of total ``volume``.

    Each float operation errs by at most ~1.1e-16 relative; a ledger figure is a sum over
    fills of terms bounded by their notional, so the gap is bounded by a small multiple of
    eps * (volume + starting cash). We allow 1e-12 relative plus 1e-9 absolute.
    """
    return 1e-12 * (abs(volume) + abs(cash_scale)) + 1e-9


class ExactLedger:
    """Decimal replay of fills with the kernel's conventions (see ``tradeloop._ledger``)."""

    def __init__(self, universe: Universe, initial_cash: Mapping[Any, Any] | None = None):
        self.universe = universe
        self.positions: dict[tuple[int, int], ExactPosition] = {}
        self.cash: dict[tuple[int, int], Decimal] = {}
        for key, amount in (initial_cash or {}).items():
            if isinstance(key, tuple):
                venue, cur = key
                vids = [universe.venue_id(venue)]
            else:
                cur, vids = key, list(range(len(universe.venues)))
            for v in vids:
                self.cash[(v, universe.currency_id(cur))] = Decimal(str(amount))
        self._quote: dict[tuple[int, int], int] = {}
        for (venue, symbol), spec in universe.specs.items():
            q = getattr(spec, "quote", None)
            cid = universe.currency_id(q) if q in universe.currencies else 0
            self._quote[(universe.venue_id(venue), universe.symbol_id(symbol))] = cid

    def apply_fill(self, v: int, s: int, side: int, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        """Book one fill exactly."""
        if qty <= 0:
            return
        q = qty if side == Side.BUY else -qty
        p = self.positions.setdefault((v, s), ExactPosition())
        Q, A = p.qty, p.avg_price
        if Q == 0 or (Q > 0) == (q > 0):
            p.avg_price = (A * abs(Q) + price * qty) / (abs(Q) + qty)
            p.qty = Q + q
        else:
            closed = min(qty, abs(Q))
            p.realized += closed * (price - A) * (1 if Q > 0 else -1)
            p.qty = Q + q
            if p.qty == 0:
                p.avg_price = ZERO
            elif qty > abs(Q):
                p.avg_price = price
        p.fees += fee
        p.volume += qty * price
        p.n_fills += 1
        key = (v, self._quote.get((v, s), 0))
        self.cash[key] = self.cash.get(key, ZERO) - (q * price + fee)

    def replay(self, reports: np.ndarray, sides: Mapping[int, int] | None = None) -> None:
        """Apply every PARTIAL/FILL row of a REPORT_DTYPE array.

        A report with side NONE takes its order's side from ``sides`` (client_id -> Side),
        as the loop takes it from its order table.
        """
        for r in _rows(reports):
            if r["kind"] not in (ReportKind.PARTIAL, ReportKind.FILL) or r["fill_qty"] <= 0:
                continue
            side = r["side"] or (sides or {}).get(r["client_id"], 0)
            if side == 0:
                continue
            self.apply_fill(
                r["venue"], r["symbol"], side, to_decimal(r["fill_qty"]),
                to_decimal(r["fill_price"]), to_decimal(r["fee"]),
            )

    def total_cash(self) -> Decimal:
        """Sum of all cash balances (quote currencies at par, as the loop's equity)."""
        return sum(self.cash.values(), ZERO)


def _rows(reports: np.ndarray) -> Iterable[dict[str, Any]]:
    cols = {n: reports[n].tolist() for n in ("kind", "fill_qty", "fill_price", "fee", "side",
                                              "client_id", "venue", "symbol")}
    for k in range(reports.shape[0]):
        yield {n: c[k] for n, c in cols.items()}


__all__ = ["ExactLedger", "ExactPosition", "tolerance"]
