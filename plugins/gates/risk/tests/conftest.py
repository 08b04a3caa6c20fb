"""Helpers for driving risk guard kernels over a bare make_context()."""

from __future__ import annotations

import math
from typing import Any

import pytest
import tradeloop_sdk as sdk
from tradeloop_sdk import OrderType, Side, TimeInForce, Universe

U = Universe(venues=("v0", "v1"), symbols=("AAA", "BBB"))
T0 = 1_700_000_000_000_000_000  # a Tuesday, 22:13:20 UTC
S = 1_000_000_000


class Rig:
    """A context with books, a clock, and a way to submit an intent and check it."""

    T0 = T0
    S = S
    U = U

    def __init__(self) -> None:
        self.ctx = sdk.make_context(2, 2)
        self.set_book(0, 0, 99.0, 101.0)
        self.now(T0)

    def now(self, t: int) -> None:
        self.ctx.control[0]["now_ns"] = t

    def set_book(self, v: int, s: int, bid: float, ask: float) -> None:
        b = self.ctx.books[v, s]
        b["bid"], b["ask"], b["bid_size"], b["ask_size"] = bid, ask, 10.0, 10.0

    def position(self, v: int, s: int, qty: float, avg: float = 100.0) -> None:
        self.ctx.positions[v, s]["qty"] = qty
        self.ctx.positions[v, s]["avg_price"] = avg

    def live_order(self, cid: int, v: int, s: int, side: Side, qty: float, filled: float = 0.0) -> None:
        o = self.ctx.orders[cid & (self.ctx.orders.shape[0] - 1)]
        o["client_id"], o["venue"], o["symbol"], o["side"] = cid, v, s, side
        o["qty"], o["filled"], o["state"] = qty, filled, sdk.OrderState.OPEN

    def check(self, hp: Any, side: Side = Side.BUY, qty: float = 1.0, price: float = math.nan,
              v: int = 0, s: int = 0) -> int:
        self.ctx.counts[0] = 0
        ot = OrderType.MARKET if math.isnan(price) else OrderType.LIMIT
        sdk.submit(self.ctx, 0, v, s, side, ot, TimeInForce.GTC, qty, price)
        return int(hp.check(hp.params, hp.state, self.ctx, 0))

    @property
    def qty(self) -> float:
        return float(self.ctx.intents[0]["qty"])

    def report(self, hp: Any, kind: sdk.ReportKind, v: int = 0, s: int = 0, qty: float = 0.0,
               reason: int = 0, ts: int = 0) -> None:
        self.ctx.counts[1] = 0
        j = sdk.report(self.ctx, kind, 1, v, s, Side.BUY, qty, 100.0, 0.0, 0.0, 0, reason, 0, ts)
        hp.on_report(hp.params, hp.state, self.ctx, j)

    def last_event(self) -> Any:
        return self.ctx.events[self.ctx.counts[2] - 1]


@pytest.fixture
def rig() -> Rig:
    return Rig()
