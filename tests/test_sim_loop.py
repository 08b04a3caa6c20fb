"""The sim venue inside the fused loop: a scripted strategy's orders fill as hand-computed,
the kernel's ledger agrees with the venue's account, and a paper SimVenue over the same
ticks and intents produces the very same reports (backtest == paper)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numba
import numpy as np
import pytest
from tradeloop.loop import build_loop
from tradeloop_plugin_sim import Sim, SimVenue
from tradeloop_plugin_sim.testing import quote, ticks, trade
from tradeloop_sdk import (
    ComponentKind,
    HotPath,
    Intent,
    OrderType,
    ReportKind,
    Side,
    SymbolSpec,
    TimeInForce,
    Universe,
    cancel,
    submit,
)

pytestmark = pytest.mark.slow  # compiles a fused loop

SPEC = SymbolSpec(symbol="BTC-USD", base="BTC", quote="USD", tick_size=Decimal("0.01"),
                  lot_step=Decimal("0.001"), maker_fee=Decimal("0.0005"),
                  taker_fee=Decimal("0.001"))
U = Universe(("sim",), ("BTC-USD",), ("USD", "BTC"), {("sim", "BTC-USD"): SPEC})

# at_tick, action, side, type, tif, qty, price (for CANCEL: price = target client id)
SCRIPT = np.array([
    [0, 1, 1, 1, 1, 5.0, np.nan],  # cid 1: market buy 5 vs 3 displayed
    [0, 1, 1, 2, 1, 1.0, 100.0],  # cid 2: limit buy 1 @ 100 behind 2.0
    [2, 1, 2, 2, 4, 1.0, 101.0],  # cid 3: post-only sell 1 @ 101
    [3, 2, 0, 0, 0, 0.0, 3.0],  # cancel cid 3
    [3, 1, 1, 2, 3, 9.0, 100.7],  # cid 4: FOK buy 9: expires unfilled
], dtype=np.float64)

TICKS = ticks([
    quote(1_000, 100.0, 100.5, 2.0, 3.0),
    quote(2_000, 100.0, 100.6, 2.0, 1.0),
    trade(3_000, 100.0, 2.5, side=int(Side.SELL)),
    quote(4_000, 100.0, 100.7, 1.0, 5.0),
    quote(5_000, 100.0, 100.7, 1.0, 5.0),
])


@numba.njit(cache=True)
def _script_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    script, n = state
    k = n[0]
    n[0] = k + 1
    for r in range(script.shape[0]):
        if script[r, 0] != k:
            continue
        if script[r, 1] == 1:
            submit(ctx, 0, tick["venue"], tick["symbol"], int(script[r, 2]), int(script[r, 3]),
                   int(script[r, 4]), script[r, 5], script[r, 6])
        else:
            cancel(ctx, 0, int(script[r, 6]))


def scripted() -> HotPath:
    return HotPath(kind=ComponentKind.STRATEGY, params=np.zeros(1),
                   state=(SCRIPT.copy(), np.zeros(1, np.int64)), on_tick=_script_tick,
                   name="script")


def rows(reps: Any) -> list[tuple]:
    return [(int(r["ts"]), ReportKind(int(r["kind"])), int(r["client_id"]),
             round(float(r["fill_qty"]), 9), float(r["fill_price"]), round(float(r["fee"]), 9),
             round(float(r["leaves_qty"]), 9), int(r["liquidity"]), int(r["reason"]))
            for r in reps]


def paper_reports() -> list[tuple]:
    """The same script against a paper SimVenue fed one tick at a time."""
    venue = SimVenue(U, starting_balances={"USD": "10000"})
    out = []
    cid = 0
    for k in range(len(TICKS)):
        out += venue.feed(TICKS[k : k + 1])
        for row in SCRIPT[SCRIPT[:, 0] == k]:
            if row[1] == 1:
                cid += 1
                intent = Intent(client_id=cid, venue="sim", symbol="BTC-USD",
                                side=Side(int(row[2])), type=OrderType(int(row[3])),
                                tif=TimeInForce(int(row[4])), qty=Decimal(repr(float(row[5]))),
                                price=None if np.isnan(row[6]) else Decimal(repr(float(row[6]))),
                                ts=int(TICKS[k]["ts_recv"]))
                out += venue.submit(intent)
            else:
                out += venue.cancel(int(row[6]))
    recs = np.concatenate([r.to_record(U) for r in out])
    return rows(recs)


def test_fused_loop_fills_match_hand_computed_and_paper() -> None:
    venue = Sim().tradeloop_hot_path(U)  # no starting balances: seeded from the ledger
    loop = build_loop(U, [scripted(), venue], mode="backtest", initial_cash={"USD": 10_000})
    loop.run(TICKS)
    got = rows(loop.drain_reports())
    A, P, F, C, X = (ReportKind.ACK, ReportKind.PARTIAL, ReportKind.FILL, ReportKind.CANCELED,
                     ReportKind.EXPIRED)
    assert [(g[0], g[1], g[2], g[3], g[4], g[6], g[7]) for g in got] == [
        (1_000, A, 1, 0.0, 0.0, 5.0, 0),
        (1_000, P, 1, 3.0, 100.5, 2.0, 2),  # 3 displayed at 100.5, taker
        (1_000, A, 2, 0.0, 0.0, 1.0, 0),  # joins behind 2.0 at 100
        (2_000, P, 1, 1.0, 100.6, 1.0, 2),  # the market remainder walks: 1 at 100.6
        (3_000, P, 2, 0.5, 100.0, 0.5, 1),  # 2.5 traded at 100: 2.0 ahead, 0.5 to us
        (3_000, A, 3, 0.0, 0.0, 1.0, 0),
        (4_000, F, 1, 1.0, 100.7, 0.0, 2),
        (4_000, C, 3, 0.0, 0.0, 0.0, 0),
        (4_000, A, 4, 0.0, 0.0, 9.0, 0),
        (4_000, X, 4, 0.0, 0.0, 0.0, 0),  # FOK: only 4.0 left displayed
    ]
    assert got[1][5] == pytest.approx(3 * 100.5 * 0.001)
    assert got == paper_reports()
    # the kernel's ledger agrees with the venue's own account
    st = venue.state
    assert loop.ctx.positions[0, 0]["qty"] == pytest.approx(st.pos[0, 0]) == 5.5
    assert loop.ctx.cash[0, 0] == pytest.approx(st.cash[0, 0])
