"""The hot-path contract: record sizes and the context helpers compile and behave."""

import numpy as np
import tradeloop_sdk as sdk


def test_streamed_records_are_one_cache_line() -> None:
    for dt in (sdk.TICK_DTYPE, sdk.INTENT_DTYPE, sdk.REPORT_DTYPE, sdk.EVENT_DTYPE):
        assert dt.itemsize == 64
    for dt in (sdk.BOOK_DTYPE, sdk.ORDER_DTYPE, sdk.SYMBOL_SPEC_DTYPE, sdk.CONTROL_DTYPE):
        assert dt.itemsize % 64 == 0


def test_trade_aliases_share_storage() -> None:
    t = np.zeros(1, sdk.TICK_DTYPE)
    t[0]["price"] = 101.5
    t[0]["size"] = 3.0
    assert t[0]["bid"] == 101.5 and t[0]["bid_size"] == 3.0


def test_submit_assigns_monotonic_client_ids_and_counts_overflow() -> None:
    ctx = sdk.make_context(1, 1, intent_capacity=2, first_client_id=41)
    a = sdk.submit(ctx, 0, 0, 0, sdk.Side.BUY, sdk.OrderType.LIMIT, sdk.TimeInForce.GTC, 1.0, 99.0)
    b = sdk.submit(ctx, 0, 0, 0, sdk.Side.SELL, sdk.OrderType.MARKET, sdk.TimeInForce.IOC, 2.0, np.nan)
    c = sdk.submit(ctx, 0, 0, 0, sdk.Side.SELL, sdk.OrderType.MARKET, sdk.TimeInForce.IOC, 2.0, np.nan)
    assert (a, b, c) == (41, 42, -1)
    assert ctx.counts[sdk._context.N_INTENTS] == 2
    assert ctx.counts[sdk._context.INTENTS_LOST] == 1
    assert ctx.intents[1]["qty"] == 2.0 and ctx.intents[1]["side"] == sdk.Side.SELL
