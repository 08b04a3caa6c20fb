"""Helpers to build tick arrays and drive the venue kernel directly, for tests and examples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tradeloop_sdk import REPORT_DTYPE, TICK_DTYPE, TickKind, make_context

from ._driver import run_flush, run_intent, run_ticks
from ._layout import SimState, make_state, sim_params

__all__ = ["KernelHarness", "quote", "ticks", "trade"]


def quote(ts: int, bid: float, ask: float, bid_size: float, ask_size: float, *,
          venue: int = 0, symbol: int = 0, ts_recv: int | None = None) -> tuple[Any, ...]:
    """A quote tick as a tuple for :func:`ticks`."""
    return (TickKind.QUOTE, ts, ts if ts_recv is None else ts_recv, venue, symbol,
            bid, ask, bid_size, ask_size, 0)


def trade(ts: int, price: float, size: float, *, side: int = 0, venue: int = 0,
          symbol: int = 0, ts_recv: int | None = None) -> tuple[Any, ...]:
    """A trade tick (``side`` is the aggressor, 0 when unknown) as a tuple for :func:`ticks`."""
    return (TickKind.TRADE, ts, ts if ts_recv is None else ts_recv, venue, symbol,
            price, np.nan, size, 0.0, side)


def ticks(rows: Sequence[tuple[Any, ...]]) -> np.ndarray:
    """A TICK_DTYPE array from :func:`quote` / :func:`trade` tuples (seq numbered from 1)."""
    out = np.zeros(len(rows), TICK_DTYPE)
    for i, (kind, ts, ts_recv, v, s, a, b, c, d, side) in enumerate(rows):
        r = out[i]
        r["kind"], r["ts_exch"], r["ts_recv"], r["seq"] = int(kind), ts, ts_recv, i + 1
        r["venue"], r["symbol"], r["side"] = v, s, side
        r["bid"], r["ask"], r["bid_size"], r["ask_size"] = a, b, c, d
    return out


class KernelHarness:
    """A private context plus venue state, driven through the compiled drivers.

    ``ctx.specs`` and ``state.cash``/``state.pos`` are plain arrays to set up directly.
    """

    def __init__(self, n_venues: int = 1, n_symbols: int = 1, n_currencies: int = 2, *,
                 latency_ns: int = 0, report_latency_ns: int = 0, allow_short: bool = False,
                 check_balance: bool = True, max_orders: int = 256,
                 queue_capacity: int = 256, dedup_capacity: int = 1 << 10) -> None:
        self.ctx = make_context(n_venues, n_symbols, n_currencies=n_currencies,
                                order_capacity=256, report_capacity=256)
        self.state: SimState = make_state(n_venues, n_symbols, n_currencies,
                                          max_orders=max_orders, queue_capacity=queue_capacity,
                                          dedup_capacity=dedup_capacity)
        self.params = sim_params(latency_ns=latency_ns, report_latency_ns=report_latency_ns,
                                 allow_short=allow_short, check_balance=check_balance)
        self._out = np.zeros(4096, REPORT_DTYPE)

    def feed(self, tick_array: np.ndarray) -> np.ndarray:
        """Run ticks through ``on_tick``; returns the reports they released."""
        got = []
        i = 0
        while i < tick_array.shape[0]:
            i, n = run_ticks(self.params, self.state, self.ctx, tick_array, i, self._out)
            got.append(self._out[:n].copy())
        return np.concatenate(got) if got else np.zeros(0, REPORT_DTYPE)

    def intent(self, *, action: int = 1, client_id: int, side: int = 1, otype: int = 2,
               tif: int = 1, qty: float = 1.0, price: float = np.nan,
               stop_price: float = np.nan, target_id: int = 0, venue: int = 0,
               symbol: int = 0, ts: int | None = None) -> np.ndarray:
        """Hand one intent to ``on_intent`` (stamped at venue time unless ``ts``)."""
        it = self.ctx.intents[0]
        it["ts"] = self.ctx.control[0]["now_ns"] if ts is None else ts
        it["client_id"], it["target_id"] = client_id, target_id
        it["qty"], it["price"], it["stop_price"] = qty, price, stop_price
        it["venue"], it["symbol"] = venue, symbol
        it["side"], it["type"], it["tif"], it["action"] = side, otype, tif, action
        it["reason"], it["guard"] = 0, 255
        n = run_intent(self.params, self.state, self.ctx, self._out)
        return self._out[:n].copy()

    def flush(self, now: int) -> np.ndarray:
        """Advance venue time to ``now`` with no tick; returns the reports released."""
        n = run_flush(self.params, self.state, self.ctx, now, self._out)
        return self._out[:n].copy()
