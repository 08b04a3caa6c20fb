"""attrs records survive the trip through kernel rings: attrs -> record -> ring -> attrs."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tradeloop.loop import DROP_OLDEST, ShmRing, SpscRing
from tradeloop_sdk import (
    INTENT_DTYPE,
    REPORT_DTYPE,
    TICK_DTYPE,
    Intent,
    IntentAction,
    Liquidity,
    OrderType,
    Reason,
    Report,
    ReportKind,
    Side,
    Tick,
    TickKind,
    TimeInForce,
    Universe,
)

U = Universe(venues=("binance", "kraken"), symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"))

# Decimals a float64 carries exactly through its shortest repr (<= 15 significant digits)
money = st.integers(0, 10**12).map(lambda n: Decimal(n).scaleb(-6).normalize())
ids = st.integers(0, 2**62)
ts = st.integers(0, 2**62)

reports = st.builds(
    Report, client_id=ids, venue=st.sampled_from(U.venues), symbol=st.sampled_from(U.symbols),
    kind=st.sampled_from(ReportKind), side=st.sampled_from(Side), fill_qty=money,
    fill_price=money, fee=money, leaves_qty=money, liquidity=st.sampled_from(Liquidity),
    reason=st.sampled_from(Reason), venue_order_id=ids, ts=ts,
)
intents = st.builds(
    Intent, client_id=ids, venue=st.sampled_from(U.venues), symbol=st.sampled_from(U.symbols),
    side=st.sampled_from(Side), type=st.sampled_from(OrderType), qty=money,
    price=st.none() | money, tif=st.sampled_from(TimeInForce), stop_price=st.none() | money,
    action=st.sampled_from(IntentAction), target_id=ids, ts=ts, reason=st.sampled_from(Reason),
)
prices = st.floats(0.0, 1e9, allow_nan=False)
ticks = st.builds(
    Tick, venue=st.sampled_from(U.venues), symbol=st.sampled_from(U.symbols),
    kind=st.sampled_from(TickKind), ts_exch=ts, ts_recv=ts, seq=ids, bid=prices, ask=prices,
    bid_size=prices, ask_size=prices, price=prices, size=prices,
    side=st.sampled_from(Side), flags=st.integers(0, 255),
)


def _through(ring: SpscRing, recs: np.ndarray) -> np.ndarray:
    assert ring.push_many(recs) == recs.shape[0]
    return ring.pop_many()


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(reports, min_size=1, max_size=8))
def test_reports_round_trip_through_a_ring(batch) -> None:
    ring = SpscRing(REPORT_DTYPE, 8)
    recs = np.concatenate([r.to_record(U) for r in batch])
    out = _through(ring, recs)
    assert out.tobytes() == recs.tobytes()
    back = [Report.from_record(r, U) for r in out]
    assert back == batch  # (``message`` stays on the Python side; the strategy leaves it "")


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(intents, min_size=1, max_size=8))
def test_intents_round_trip_through_a_ring(batch) -> None:
    ring = SpscRing(INTENT_DTYPE, 8)
    recs = np.concatenate([i.to_record(U) for i in batch])
    back = [Intent.from_record(r, U) for r in _through(ring, recs)]
    assert back == batch


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(ticks, min_size=1, max_size=8))
def test_ticks_round_trip_through_a_ring(batch) -> None:
    ring = SpscRing(TICK_DTYPE, 8, DROP_OLDEST)
    # not np.concatenate: it re-lays-out TICK_DTYPE's aliased fields into a new dtype
    recs = np.zeros(len(batch), TICK_DTYPE)
    for k, t in enumerate(batch):
        recs[k] = t.to_record(U)[0]
    out = _through(ring, recs)
    assert out.tobytes() == recs.tobytes()
    back = [Tick.from_record(r, U) for r in out]
    # a Tick keeps only its kind's fields (a quote has no price): compare the canonical form
    assert back == [Tick.from_record(t.to_record(U)[0], U) for t in batch]


def test_report_round_trip_across_processes_memory() -> None:
    rep = Report(client_id=42, venue="kraken", symbol="ETHUSDT", kind=ReportKind.FILL,
                 side=Side.SELL, fill_qty=Decimal("0.125"), fill_price=Decimal("3012.55"),
                 fee=Decimal("0.0003"), liquidity=Liquidity.TAKER, ts=17)
    ring = ShmRing.create(REPORT_DTYPE, 4)
    try:
        peer = ShmRing.attach(ring.name)
        assert ring.push(rep.to_record(U)[0])
        assert Report.from_record(peer.pop(), U) == rep
        peer.close_shm()
    finally:
        ring.close_shm()
        ring.unlink()
