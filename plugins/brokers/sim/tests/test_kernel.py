"""Matching-kernel scenarios with hand-computed expected reports (driven over make_context)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tradeloop_plugin_sim._layout import C_NLIVE, F_AHEAD
from tradeloop_plugin_sim.testing import KernelHarness, quote, ticks, trade
from tradeloop_sdk import Liquidity, OrderType, Reason, ReportKind, Side, TimeInForce

ACK, PARTIAL, FILL = ReportKind.ACK, ReportKind.PARTIAL, ReportKind.FILL
CANCELED, REJECTED, EXPIRED, REPLACED = (
    ReportKind.CANCELED, ReportKind.REJECTED, ReportKind.EXPIRED, ReportKind.REPLACED)
BUY, SELL = int(Side.BUY), int(Side.SELL)
MKT, LMT, STP = int(OrderType.MARKET), int(OrderType.LIMIT), int(OrderType.STOP)
GTC, IOC, FOK, PO = (int(TimeInForce.GTC), int(TimeInForce.IOC), int(TimeInForce.FOK),
                     int(TimeInForce.POST_ONLY))
M, T = int(Liquidity.MAKER), int(Liquidity.TAKER)


def rows(reps: np.ndarray) -> list[tuple]:
    """(kind, client_id, fill_qty, fill_price, leaves, liquidity, reason) per report."""
    return [(ReportKind(int(r["kind"])), int(r["client_id"]), float(r["fill_qty"]),
             float(r["fill_price"]), float(r["leaves_qty"]), int(r["liquidity"]),
             Reason(int(r["reason"]))) for r in reps]


def kinds(reps: np.ndarray) -> list[tuple[ReportKind, Reason]]:
    return [(ReportKind(int(r["kind"])), Reason(int(r["reason"]))) for r in reps]


def harness(cash: float = 100_000.0, pos: float = 0.0, **kw) -> KernelHarness:
    h = KernelHarness(**kw)
    sp = h.ctx.specs[0, 0]
    sp["tick_size"], sp["lot_step"] = 0.01, 0.001
    sp["taker_fee"], sp["maker_fee"] = 0.001, 0.0005
    h.state.cash[0, 0] = cash
    h.state.pos[0, 0] = pos
    return h


def test_market_partial_fills_walk_the_displayed_size_over_quotes() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    r = h.intent(client_id=1, side=BUY, otype=MKT, qty=5.0)
    assert rows(r) == [(ACK, 1, 0.0, 0.0, 5.0, 0, Reason.NONE),
                       (PARTIAL, 1, 3.0, 100.5, 2.0, T, Reason.NONE)]
    assert r[1]["fee"] == pytest.approx(3 * 100.5 * 0.001)
    r = h.feed(ticks([quote(2000, 100.0, 100.6, 2.0, 1.0), quote(3000, 100.0, 100.7, 2.0, 5.0)]))
    assert rows(r) == [(PARTIAL, 1, 1.0, 100.6, 1.0, T, Reason.NONE),
                       (FILL, 1, 1.0, 100.7, 0.0, T, Reason.NONE)]
    spent = 3 * 100.5 + 100.6 + 100.7
    assert h.state.cash[0, 0] == pytest.approx(100_000 - spent * 1.001)
    assert h.state.pos[0, 0] == 5.0
    assert h.state.held_cash[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert h.state.ctr[C_NLIVE] == 0


def test_ioc_leftover_expires_and_fok_is_all_or_nothing() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    r = h.intent(client_id=1, side=BUY, otype=MKT, tif=IOC, qty=5.0)
    assert rows(r)[1:] == [(PARTIAL, 1, 3.0, 100.5, 2.0, T, Reason.NONE),
                           (EXPIRED, 1, 0.0, 0.0, 0.0, 0, Reason.NONE)]
    h.feed(ticks([quote(2000, 100.0, 100.5, 2.0, 3.0)]))
    r = h.intent(client_id=2, side=BUY, otype=LMT, tif=FOK, qty=4.0, price=100.5)
    assert kinds(r) == [(ACK, Reason.NONE), (EXPIRED, Reason.FOK_UNFILLABLE)]
    r = h.intent(client_id=3, side=BUY, otype=LMT, tif=FOK, qty=3.0, price=100.5)
    assert rows(r)[1:] == [(FILL, 3, 3.0, 100.5, 0.0, T, Reason.NONE)]
    # a limit IOC that is not marketable expires at once, unfilled
    r = h.intent(client_id=4, side=SELL, otype=LMT, tif=IOC, qty=1.0, price=101.0)
    assert kinds(r) == [(ACK, Reason.NONE), (EXPIRED, Reason.NO_LIQUIDITY)]


def test_marketable_limit_takes_then_rests_at_the_front() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    r = h.intent(client_id=1, side=BUY, otype=LMT, qty=5.0, price=100.5)
    assert rows(r)[1:] == [(PARTIAL, 1, 3.0, 100.5, 2.0, T, Reason.NONE)]
    assert h.state.of[0, F_AHEAD] == 0.0  # improves the bid: alone at 100.5
    r = h.feed(ticks([trade(2000, 100.5, 1.0, side=SELL)]))
    assert rows(r) == [(PARTIAL, 1, 1.0, 100.5, 1.0, M, Reason.NONE)]
    assert r[0]["fee"] == pytest.approx(100.5 * 0.0005)


def test_queue_position_trades_and_size_decreases_consume_the_queue_ahead() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    h.intent(client_id=1, side=BUY, otype=LMT, qty=1.0, price=100.0)
    assert h.state.of[0, F_AHEAD] == 2.0  # joined behind the displayed 2.0
    r = h.feed(ticks([trade(2000, 100.0, 1.5, side=SELL)]))
    assert len(r) == 0 and h.state.of[0, F_AHEAD] == 0.5
    # the bid shows 0.2: the trade already took 1.5 of 2.0, so 0.3 more left from ahead
    r = h.feed(ticks([quote(3000, 100.0, 100.5, 0.2, 3.0)]))
    assert len(r) == 0 and h.state.of[0, F_AHEAD] == pytest.approx(0.2)
    # growth behind us does not move us back
    h.feed(ticks([quote(3500, 100.0, 100.5, 7.0, 3.0)]))
    assert h.state.of[0, F_AHEAD] == pytest.approx(0.2)
    r = h.feed(ticks([trade(4000, 100.0, 1.0, side=SELL)]))
    assert rows(r) == [(PARTIAL, 1, 0.8, 100.0, 0.2, M, Reason.NONE)]
    assert r[0]["fee"] == pytest.approx(0.8 * 100.0 * 0.0005)
    # a buy-aggressor trade at our price never fills a resting buy
    assert len(h.feed(ticks([trade(4500, 100.0, 5.0, side=BUY)]))) == 0


def test_order_behind_the_touch_learns_its_queue_when_the_level_becomes_the_touch() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    h.intent(client_id=1, side=BUY, otype=LMT, qty=2.0, price=99.9)
    assert math.isinf(h.state.of[0, F_AHEAD])
    r = h.feed(ticks([trade(1500, 99.9, 3.0, side=SELL)]))
    assert len(r) == 0  # unknown place: a trade there does not reach us
    r = h.feed(ticks([quote(2000, 99.9, 100.5, 4.0, 3.0), trade(3000, 99.9, 5.0, side=SELL)]))
    assert rows(r) == [(PARTIAL, 1, 1.0, 99.9, 1.0, M, Reason.NONE)]
    # the level empties (bid drops below us): we are alone at the front
    r = h.feed(ticks([quote(4000, 99.8, 100.5, 4.0, 3.0), trade(5000, 99.9, 0.5, side=SELL)]))
    assert rows(r) == [(PARTIAL, 1, 0.5, 99.9, 0.5, M, Reason.NONE)]


def test_trade_through_and_crossing_quote_fill_resting_orders_at_their_price() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    h.intent(client_id=1, side=BUY, otype=LMT, qty=1.0, price=100.0)
    r = h.feed(ticks([trade(2000, 99.9, 0.4, side=SELL)]))
    assert rows(r) == [(PARTIAL, 1, 0.4, 100.0, 0.6, M, Reason.NONE)]
    r = h.feed(ticks([quote(3000, 99.8, 99.95, 1.0, 0.25)]))
    assert rows(r) == [(PARTIAL, 1, 0.25, 100.0, 0.35, M, Reason.NONE)]
    r = h.feed(ticks([quote(4000, 99.8, 99.95, 1.0, 9.0)]))
    assert rows(r) == [(FILL, 1, 0.35, 100.0, 0.0, M, Reason.NONE)]


def test_post_only() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    r = h.intent(client_id=1, side=BUY, otype=LMT, tif=PO, qty=1.0, price=100.5)
    assert kinds(r) == [(REJECTED, Reason.POST_ONLY_WOULD_CROSS)]
    r = h.intent(client_id=2, side=BUY, otype=LMT, tif=PO, qty=1.0, price=100.4)
    assert kinds(r) == [(ACK, Reason.NONE)]
    r = h.intent(client_id=3, side=BUY, otype=MKT, tif=PO, qty=1.0)
    assert kinds(r) == [(REJECTED, Reason.VENUE_POLICY)]
    r = h.feed(ticks([trade(2000, 100.4, 2.0, side=SELL)]))
    assert rows(r) == [(FILL, 2, 1.0, 100.4, 0.0, M, Reason.NONE)]


def test_stop_market_and_stop_limit() -> None:
    h = harness(pos=2.0)
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    r = h.intent(client_id=1, side=SELL, otype=STP, qty=2.0, stop_price=99.5)
    assert kinds(r) == [(ACK, Reason.NONE)]
    assert len(h.feed(ticks([quote(2000, 99.6, 100.5, 2.0, 3.0)]))) == 0
    r = h.feed(ticks([quote(3000, 99.5, 100.0, 1.0, 3.0), quote(4000, 99.4, 100.0, 5.0, 3.0)]))
    assert rows(r) == [(PARTIAL, 1, 1.0, 99.5, 1.0, T, Reason.NONE),
                       (FILL, 1, 1.0, 99.4, 0.0, T, Reason.NONE)]
    assert h.state.pos[0, 0] == 0.0
    # buy stop-limit: triggered by a trade at 101, then a limit at 101.2
    h.feed(ticks([quote(4500, 100.9, 101.3, 1.0, 1.0)]))
    r = h.intent(client_id=2, side=BUY, otype=STP, qty=1.0, stop_price=101.0, price=101.2)
    assert kinds(r) == [(ACK, Reason.NONE)]
    r = h.feed(ticks([trade(5000, 101.0, 0.1, side=BUY), quote(6000, 101.0, 101.3, 1.0, 1.0),
                      quote(7000, 101.0, 101.2, 1.0, 0.5)]))
    assert rows(r) == [(PARTIAL, 2, 0.5, 101.2, 0.5, M, Reason.NONE)]


def test_cancel_and_unknown_order() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    h.intent(client_id=1, side=BUY, otype=LMT, qty=1.0, price=99.0)
    assert h.state.held_cash[0, 0] == pytest.approx(99.0 * 1.001)
    r = h.intent(action=2, client_id=1, target_id=1)
    assert rows(r) == [(CANCELED, 1, 0.0, 0.0, 0.0, 0, Reason.NONE)]
    assert h.state.held_cash[0, 0] == 0.0
    assert kinds(h.intent(action=2, client_id=1, target_id=1)) == [(REJECTED, Reason.UNKNOWN_ORDER)]
    assert kinds(h.intent(action=2, client_id=9, target_id=9)) == [(REJECTED, Reason.UNKNOWN_ORDER)]


def test_replace_keeps_priority_on_size_decrease_and_loses_it_on_price_change() -> None:
    h = harness()
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    h.intent(client_id=1, side=BUY, otype=LMT, qty=3.0, price=100.0)
    h.feed(ticks([trade(2000, 100.0, 1.0, side=SELL)]))
    assert h.state.of[0, F_AHEAD] == 1.0
    r = h.intent(action=3, client_id=1, target_id=1, qty=2.0, price=100.0)
    assert rows(r) == [(REPLACED, 1, 0.0, 100.0, 2.0, 0, Reason.NONE)]
    assert h.state.of[0, F_AHEAD] == 1.0  # kept its place
    h.feed(ticks([quote(3000, 100.0, 100.5, 4.0, 3.0)]))  # 1 ahead, 3 behind us
    r = h.intent(action=3, client_id=1, target_id=1, qty=3.0, price=100.0)
    assert h.state.of[0, F_AHEAD] == 4.0  # a size increase goes to the back
    r = h.intent(action=3, client_id=1, target_id=1, qty=3.0, price=100.6)
    # a replace that crosses takes like a new order: 3 at 100.5 as taker
    assert rows(r) == [(REPLACED, 1, 0.0, 100.6, 3.0, 0, Reason.NONE),
                       (FILL, 1, 3.0, 100.5, 0.0, T, Reason.NONE)]
    # refused replace: the order stays live (leaves > 0 in the REJECTED report)
    h.intent(client_id=2, side=BUY, otype=LMT, qty=1.0, price=99.0)
    r = h.intent(action=3, client_id=2, target_id=2, qty=1.0, price=99.005)
    assert rows(r) == [(REJECTED, 2, 0.0, 0.0, 1.0, 0, Reason.PRICE_PRECISION)]
    assert kinds(h.intent(action=3, client_id=7, target_id=7, qty=1.0, price=99.0)) == [
        (REJECTED, Reason.UNKNOWN_ORDER)]


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        (dict(qty=1.0, price=100.005), Reason.PRICE_PRECISION),
        (dict(qty=0.0005, price=100.0), Reason.SIZE_PRECISION),
        (dict(qty=0.002, price=100.0), Reason.MIN_SIZE),
        (dict(qty=60.0, price=100.0), Reason.MAX_SIZE),
        (dict(qty=0.05, price=100.0), Reason.MIN_NOTIONAL),
        (dict(qty=1.0, price=90.0), Reason.PRICE_BAND),
        (dict(qty=40.0, price=100.0), Reason.INSUFFICIENT_BALANCE),
        (dict(qty=1.0, price=100.2, side=SELL), Reason.INSUFFICIENT_BALANCE),
        (dict(qty=1.0, price=100.0, symbol=1), Reason.INVALID_SYMBOL),
    ],
)
def test_rejects(kw: dict, reason: Reason) -> None:
    h = KernelHarness(n_symbols=2)
    sp = h.ctx.specs[0, 0]
    sp["tick_size"], sp["lot_step"], sp["min_qty"], sp["max_qty"] = 0.01, 0.001, 0.01, 50.0
    sp["min_notional"], sp["band_bps"] = 10.0, 500.0
    h.ctx.specs[0, 1]["active"] = 0
    h.state.cash[0, 0] = 1000.0
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    args = dict(side=BUY, otype=LMT) | kw
    assert kinds(h.intent(client_id=1, **args)) == [(REJECTED, reason)]


def test_short_selling_needs_allow_short_and_shadow_only_venues_refuse() -> None:
    h = harness(allow_short=True)
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    r = h.intent(client_id=1, side=SELL, otype=MKT, qty=1.0)
    assert rows(r)[1:] == [(FILL, 1, 1.0, 100.0, 0.0, T, Reason.NONE)]
    assert h.state.pos[0, 0] == -1.0
    assert h.state.cash[0, 0] == pytest.approx(100_000 + 100.0 * 0.999)
    h.ctx.specs[0, 0]["shadow_only"] = 1
    assert kinds(h.intent(client_id=2, side=BUY, otype=MKT, qty=1.0)) == [
        (REJECTED, Reason.VENUE_POLICY)]


def test_duplicate_client_id_is_refused_and_never_double_filled() -> None:
    h = harness(dedup_capacity=8)
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 30.0)]))
    for cid in range(1, 7):  # past half the set: it is recycled into a watermark
        assert kinds(h.intent(client_id=cid, side=BUY, otype=MKT, qty=1.0))[-1][0] == FILL
    for cid in (2, 6):
        assert kinds(h.intent(client_id=cid, side=BUY, otype=MKT, qty=1.0)) == [
            (REJECTED, Reason.DUPLICATE_ORDER)]
    assert h.state.pos[0, 0] == 6.0


def test_latency_queues_intents_and_reports_in_venue_time() -> None:
    h = harness(latency_ns=1000, report_latency_ns=500)
    h.feed(ticks([quote(1000, 100.0, 100.5, 2.0, 3.0)]))
    assert len(h.intent(client_id=1, side=BUY, otype=MKT, qty=1.0, ts=1000)) == 0
    # arrives at 2000: handled before the 2000 tick, against the 1500 book (ask 100.7)
    r = h.feed(ticks([quote(1500, 100.0, 100.7, 2.0, 3.0), quote(2000, 100.0, 101.0, 2.0, 3.0)]))
    assert len(r) == 0  # reports wait for 2500
    r = h.feed(ticks([quote(2499, 100.0, 101.0, 2.0, 3.0), quote(2600, 100.0, 101.0, 2.0, 3.0)]))
    assert rows(r) == [(ACK, 1, 0.0, 0.0, 1.0, 0, Reason.NONE),
                       (FILL, 1, 1.0, 100.7, 0.0, T, Reason.NONE)]
    assert [int(x["ts"]) for x in r] == [2000, 2000]
    # flush advances venue time without a tick
    h.intent(action=2, client_id=5, target_id=5, ts=2600)
    assert len(h.flush(3599)) == 0
    assert kinds(h.flush(4100)) == [(REJECTED, Reason.UNKNOWN_ORDER)]


def test_negative_maker_fee_is_a_rebate() -> None:
    h = harness()
    h.ctx.specs[0, 0]["maker_fee"] = -0.0002
    h.feed(ticks([quote(1000, 100.0, 100.5, 0.0, 3.0)]))
    h.intent(client_id=1, side=BUY, otype=LMT, qty=1.0, price=100.0)
    r = h.feed(ticks([trade(2000, 100.0, 1.0, side=SELL)]))
    assert rows(r)[0][0] == FILL and r[0]["fee"] == pytest.approx(-0.02)
    assert h.state.cash[0, 0] == pytest.approx(100_000 - 100.0 + 0.02)
