"""Scenario tests of the classic strategies with hand-checked intents."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import numpy as np
import pytest
from tradeloop_plugin_classic import Bollinger, EmaCross, RsiReversion, SmaCross
from tradeloop_sdk import (
    OrderState,
    ParamValueError,
    Side,
    TickFlag,
    TickKind,
    Universe,
    make_context,
)
from tradeloop_sdk import indicators as ind
from tradeloop_sdk.strategy_testing import drive, make_ticks

U = Universe(venues=("sim", "other"), symbols=("ETH", "BTC"))


def run(comp: Any, prices: Any, ctx: Any = None, **tick_kw: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    hp = comp.tradeloop_hot_path(U)
    ctx = ctx if ctx is not None else make_context(2, 2)
    ticks = prices if isinstance(prices, np.ndarray) and prices.dtype.names else make_ticks(
        prices, venue=0, symbol=1, **tick_kw
    )
    intents, at = drive(hp.on_tick, hp.params, hp.state, ctx, ticks)
    return intents, at, ctx


def summary(intents: np.ndarray, at: np.ndarray) -> list[tuple[int, str, float]]:
    return [
        (int(i), "BUY" if it["side"] == Side.BUY else "SELL", float(it["qty"]))
        for it, i in zip(intents, at, strict=True)
    ]


CROSS = [10, 10, 10, 10, 10, 11, 12, 13, 9, 8]


def test_entry_points_are_listed() -> None:
    names = {ep.name: ep.value for ep in entry_points(group="tradeloop.strategies")}
    for name in ("sma_cross", "ema_cross", "rsi_reversion", "bollinger"):
        assert names[name].startswith("tradeloop_plugin_classic:")


def test_sma_cross_at_known_ticks() -> None:
    # SMA(2) vs SMA(4): golden cross at tick 5 (10.5 > 10.25), death cross at tick 8 (11 < 11.25)
    p = SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4)
    intents, at, ctx = run(SmaCross(p), CROSS)
    assert summary(intents, at) == [(5, "BUY", 1.0), (8, "SELL", 2.0)]
    assert all(it["venue"] == 0 and it["symbol"] == 1 for it in intents)
    assert ctx.positions[0, 1]["qty"] == -1.0


def test_sma_cross_long_only_goes_flat() -> None:
    p = SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4, allow_short=False)
    intents, at, _ = run(SmaCross(p), CROSS)
    assert summary(intents, at) == [(5, "BUY", 1.0), (8, "SELL", 1.0)]


def test_sma_cross_ignores_other_instruments() -> None:
    p = SmaCross.Params(venue="sim", symbol="ETH", fast=2, slow=4)
    intents, _, _ = run(SmaCross(p), CROSS)
    assert intents.size == 0


def test_ema_cross_matches_reference_crossings() -> None:
    rng = np.random.default_rng(3)
    px = 100 + np.cumsum(rng.normal(0, 1, 400))
    p = EmaCross.Params(venue="sim", symbol="BTC", fast=5, slow=20)
    intents, at, _ = run(EmaCross(p), px)
    d = ind.ema(px, 5) - ind.ema(px, 20)
    ups = [i for i in range(21, px.size) if d[i - 1] <= 0 < d[i]]
    downs = [i for i in range(21, px.size) if d[i - 1] >= 0 > d[i]]
    assert len(ups) + len(downs) >= 4, "series should cross a few times"
    assert [int(i) for i in at] == sorted(ups + downs)
    for it, i in zip(intents, at, strict=True):
        assert (it["side"] == Side.BUY) == (i in ups)


def test_rsi_reversion_hand_checked() -> None:
    # RSI(2): t2=100 -> short; t3=50 -> exit; t4=25 -> long; t5=12.5 hold; t6=78.125 -> short
    p = RsiReversion.Params(venue="sim", symbol="BTC", period=2)
    intents, at, _ = run(RsiReversion(p), [10, 11, 12, 11, 10, 9, 12])
    assert summary(intents, at) == [(2, "SELL", 1.0), (3, "BUY", 1.0), (4, "BUY", 1.0), (6, "SELL", 2.0)]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("reversion", [(3, "BUY", 1.0), (4, "SELL", 1.0)]), ("breakout", [(3, "SELL", 1.0), (4, "BUY", 1.0)])],
)
def test_bollinger_hand_checked(mode: str, expected: list[tuple[int, str, float]]) -> None:
    # window [10,10,7]: mid 9, sd sqrt(2) -> 7 < 7.586 lower; next [10,7,9]: mid 8.667 < 9
    p = Bollinger.Params(venue="sim", symbol="BTC", period=3, width=1.0, mode=mode)
    intents, at, _ = run(Bollinger(p), [10, 10, 10, 7, 9])
    assert summary(intents, at) == expected


def test_quotes_feed_the_mid() -> None:
    p = SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4, tick_kind="quote")
    intents, at, _ = run(SmaCross(p), CROSS, kind=TickKind.QUOTE, spread=0.5)
    assert summary(intents, at) == [(5, "BUY", 1.0), (8, "SELL", 2.0)]
    # trades are ignored when the strategy wants quotes
    intents, _, _ = run(SmaCross(p), CROSS)
    assert intents.size == 0


def test_tainted_tick_is_not_acted_on() -> None:
    p = SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4)
    ticks = make_ticks(CROSS, venue=0, symbol=1)
    ticks["flags"][5] = int(TickFlag.STALE)
    intents, at, _ = run(SmaCross(p), ticks)
    # tick 5 is skipped entirely: at tick 6 the window is [10,10,10,12] -> 11 > 10.5; at
    # tick 8 [10,12,13,9] fast 11 == slow 11 (no cross yet); tick 9: 8.5 < 10.5
    assert summary(intents, at) == [(6, "BUY", 1.0), (9, "SELL", 2.0)]


def test_book_taint_suppresses_orders() -> None:
    p = SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4)
    ctx = make_context(2, 2)
    ctx.books[0, 1]["tainted_until"] = np.iinfo(np.int64).max  # a gate suspended the symbol
    intents, _, _ = run(SmaCross(p), CROSS, ctx=ctx)
    assert intents.size == 0


def test_position_limit_reached_blocks_more_buying() -> None:
    p = SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4, qty=1.0, max_position=1.0)
    ctx = make_context(2, 2)
    ctx.positions[0, 1]["qty"] = 1.0  # already at the limit
    intents, at, _ = run(SmaCross(p), CROSS[:8], ctx=ctx)
    assert intents.size == 0
    ctx.positions[0, 1]["qty"] = 3.0  # over the limit (external fill): only reduce
    intents, at, _ = run(SmaCross(p), CROSS, ctx=ctx)
    assert summary(intents, at) == [(5, "SELL", 2.0), (8, "SELL", 2.0)]


def test_working_order_defers_the_next_one() -> None:
    p = SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4)
    hp = SmaCross(p).tradeloop_hot_path(U)
    ctx = make_context(2, 2)
    ticks = make_ticks(CROSS, venue=0, symbol=1)
    # no fills: the buy from tick 5 stays working (CREATING in the table)
    intents, at = drive(hp.on_tick, hp.params, hp.state, ctx, ticks[:6], fills=False)
    assert summary(intents, at) == [(5, "BUY", 1.0)]
    cid = int(intents[0]["client_id"])
    o = ctx.orders[cid & (ctx.orders.shape[0] - 1)]
    o["client_id"], o["qty"], o["side"], o["state"] = cid, 1.0, int(Side.BUY), 1
    intents, at = drive(hp.on_tick, hp.params, hp.state, ctx, ticks[6:], fills=False)
    # the death cross at 8 sends nothing while the buy works: one order in flight at a time
    assert intents.size == 0
    o["filled"], o["state"] = 1.0, int(OrderState.FILLED)
    ctx.positions[0, 1]["qty"] = 1.0
    intents, at = drive(hp.on_tick, hp.params, hp.state, ctx, ticks[-1:], fills=False)
    # the next tick after the fill orders the deferred target (-1) from the position (+1)
    assert summary(intents, at) == [(0, "SELL", 2.0)]
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, ticks[-1:], fills=False)
    assert intents.size == 0


def test_params_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="fast"):
        SmaCross.Params(venue="sim", symbol="BTC", fast=30, slow=10)
    with pytest.raises(ParamValueError, match="qty"):
        SmaCross.Params(venue="sim", symbol="BTC", qty=0)
    with pytest.raises(ValueError, match="oversold"):
        RsiReversion.Params(venue="sim", symbol="BTC", oversold=60, exit_level=50)
    with pytest.raises(ParamValueError, match="mode"):
        Bollinger.Params(venue="sim", symbol="BTC", mode="sideways")
    with pytest.raises(KeyError, match="unknown venue"):
        SmaCross(SmaCross.Params(venue="nope", symbol="BTC")).tradeloop_hot_path(U)
