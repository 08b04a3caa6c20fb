"""attrs mirrors convert to and from the kernel records without loss."""

from decimal import Decimal

import numpy as np
import tradeloop_sdk as sdk
from hypothesis import given
from hypothesis import strategies as st

U = sdk.Universe(venues=("sim", "alt"), symbols=("BTCUSDT", "ETHUSDT"), currencies=("USDT", "BTC"))
prices = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1e9"), places=8)


@given(
    cid=st.integers(1, 2**62),
    qty=prices,
    price=st.none() | prices,
    side=st.sampled_from([sdk.Side.BUY, sdk.Side.SELL]),
    otype=st.sampled_from(list(sdk.OrderType)),
    tif=st.sampled_from(list(sdk.TimeInForce)),
)
def test_intent_round_trip(cid, qty, price, side, otype, tif) -> None:
    it = sdk.Intent(cid, "alt", "ETHUSDT", side, otype, qty, price, tif, ts=5)
    rec = it.to_record(U)
    assert rec.dtype == sdk.INTENT_DTYPE
    back = sdk.Intent.from_record(rec[0], U)
    # float64 holds up to 15-17 significant digits; these decimals have at most 17
    assert back.client_id == cid and back.side == side and back.type == otype and back.tif == tif
    assert float(back.qty) == float(qty)
    assert (back.price is None) == (price is None)


def test_report_round_trip_keeps_decimal_repr() -> None:
    r = sdk.Report(7, "sim", "BTCUSDT", sdk.ReportKind.FILL, sdk.Side.BUY, Decimal("0.1"),
                   Decimal("30000.25"), Decimal("0.003"), Decimal(0), sdk.Liquidity.TAKER, ts=9)
    back = sdk.Report.from_record(r.to_record(U)[0], U)
    assert back == r


def test_tick_round_trip_for_quotes_and_trades() -> None:
    q = sdk.Tick("sim", "ETHUSDT", sdk.TickKind.QUOTE, 1, 2, 3, bid=10.0, ask=10.5, bid_size=1, ask_size=2)
    t = sdk.Tick("alt", "BTCUSDT", sdk.TickKind.TRADE, 4, 5, 6, price=99.5, size=0.25, side=sdk.Side.SELL)
    assert sdk.Tick.from_record(q.to_record(U)[0], U) == q
    back = sdk.Tick.from_record(t.to_record(U)[0], U)
    assert back.price == 99.5 and back.size == 0.25 and back.side == sdk.Side.SELL


def test_fill_specs_writes_rules_and_policy() -> None:
    spec = sdk.SymbolSpec("ETHUSDT", "ETH", "USDT", tick_size=Decimal("0.01"), lot_step=Decimal("0.001"),
                          min_notional=Decimal(5), taker_fee=Decimal("0.001"),
                          order_types=frozenset({sdk.OrderType.LIMIT}))
    u = sdk.Universe(("sim",), ("ETHUSDT",), ("USDT", "ETH"), {("sim", "ETHUSDT"): spec})
    ctx = sdk.make_context(1, 1)
    sdk.fill_specs(ctx.specs, u, {"sim": sdk.VenueSpec("sim", (spec,), shadow_only=True)})
    r = ctx.specs[0, 0]
    assert r["tick_size"] == 0.01 and r["min_notional"] == 5.0 and r["shadow_only"] == 1
    assert r["order_types"] == 1 << int(sdk.OrderType.LIMIT)
    assert r["quote"] == 0 and r["base"] == 1
    assert np.isclose(r["taker_fee"], 0.001)


def test_copy_ticks_equals_a_structured_copy_and_owns_its_rows() -> None:
    rng = np.random.default_rng(3)
    t = np.zeros(1000, sdk.TICK_DTYPE)
    t["ts_recv"] = np.arange(1000)
    t["bid"] = rng.random(1000)
    t["ask"] = t["bid"] + 0.5
    t["symbol"] = rng.integers(0, 3, 1000)
    t["kind"] = 1
    c = sdk.copy_ticks(t)
    assert c.dtype == sdk.TICK_DTYPE and c.dtype.fields["price"] == sdk.TICK_DTYPE.fields["price"]
    assert c.tobytes() == t.copy().tobytes()
    c["flags"] = 7
    assert not t["flags"].any()
    mask = t["symbol"] == 1
    assert sdk.copy_ticks(t, mask).tobytes() == t[mask].tobytes()
    idx = np.array([5, 3, 999])
    assert sdk.copy_ticks(t, idx).tobytes() == t[idx].tobytes()
    assert sdk.copy_ticks(t[::2]).tobytes() == t[::2].copy().tobytes()  # a strided view
