"""Cross-venue arbitrage: fires only above fees plus threshold, sizes legs, hedges failures."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import numpy as np
import pytest
from tradeloop_plugin_arbitrage import CrossVenueArb
from tradeloop_sdk import (
    TICK_DTYPE,
    OrderState,
    OrderType,
    Side,
    TickFlag,
    TickKind,
    TimeInForce,
    Universe,
    make_context,
)
from tradeloop_sdk.strategy_testing import drive

U = Universe(venues=("a", "b", "c"), symbols=("BTC",))


def quotes(rows: list[tuple[int, float, float, float, float]]) -> np.ndarray:
    t = np.zeros(len(rows), TICK_DTYPE)
    for i, (v, bid, ask, bsz, asz) in enumerate(rows):
        t[i]["ts_recv"] = t[i]["ts_exch"] = 1_000_000_000 * (i + 1)
        t[i]["venue"], t[i]["kind"] = v, int(TickKind.QUOTE)
        t[i]["bid"], t[i]["ask"], t[i]["bid_size"], t[i]["ask_size"] = bid, ask, bsz, asz
    return t


def setup(fee: float = 0.001, **kw: Any) -> tuple[Any, Any]:
    base: dict[str, Any] = {"venues": ("a", "b"), "symbol": "BTC"}
    base.update(kw)
    hp = CrossVenueArb(CrossVenueArb.Params(**base)).tradeloop_hot_path(U)
    ctx = make_context(3, 1)
    ctx.specs["taker_fee"] = fee
    return hp, ctx


# a: ask 100.0; b: bid 100.3. Gross edge 0.3; fees 0.1 + 0.1003 = 0.2003; net 0.0997
# = 9.955 bps of the mid 100.15.
CROSS = [(0, 99.9, 100.0, 5.0, 2.0), (1, 100.3, 100.4, 0.5, 5.0)]


def test_entry_point_listed() -> None:
    eps = {ep.name: ep.value for ep in entry_points(group="tradeloop.strategies")}
    assert eps["cross_venue_arb"] == "tradeloop_plugin_arbitrage:CrossVenueArb"


@pytest.mark.parametrize(("threshold", "fires"), [(5.0, True), (9.9, True), (10.0, False), (20.0, False)])
def test_fires_only_above_fees_plus_threshold(threshold: float, fires: bool) -> None:
    hp, ctx = setup(threshold_bps=threshold)
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS))
    assert (intents.size == 2) is fires
    assert hp.state[10] == pytest.approx(0.3 - 0.2003)


def test_no_fire_when_fees_eat_the_edge() -> None:
    hp, ctx = setup(threshold_bps=0.0, fee=0.0016)  # fees 0.32 > 0.3 gross
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS))
    assert intents.size == 0


def test_legs_sized_to_smaller_book_and_priced_at_touch() -> None:
    hp, ctx = setup(threshold_bps=5.0, max_qty=10.0)
    intents, at = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS))
    buy, sell = intents
    assert (buy["venue"], buy["side"], buy["price"], buy["qty"]) == (0, Side.BUY, 100.0, 0.5)
    assert (sell["venue"], sell["side"], sell["price"], sell["qty"]) == (1, Side.SELL, 100.3, 0.5)
    assert buy["type"] == OrderType.LIMIT and buy["tif"] == TimeInForce.IOC
    assert at.tolist() == [1, 1]
    # both filled by the test venue: flat overall, nothing to hedge
    assert ctx.positions[0, 0]["qty"] == 0.5 and ctx.positions[1, 0]["qty"] == -0.5
    more, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS[1:]))
    assert hp.state[8] == 0  # no hedge
    assert more.size == 0  # only b refreshed: a's ask was taken and is not requoted yet
    more, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS))
    assert more.size == 2  # both refreshed: the persisting cross is taken once more


def test_picks_best_pair_among_three_venues() -> None:
    hp, ctx = setup(venues=("a", "b", "c"), threshold_bps=1.0, leg_timeout_ms=10_000)
    rows = [*CROSS, (2, 100.5, 100.6, 1.0, 1.0)]
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(rows), fills=False)
    # the first cross (a->b) fires at tick 1 and is in flight when c shows a better bid
    assert [(int(x["venue"]), int(x["side"])) for x in intents] == [(0, 1), (1, 2)]
    hp, ctx = setup(venues=("a", "b", "c"), threshold_bps=1.0, leg_timeout_ms=10_000)
    rows = [(1, 100.3, 100.4, 0.5, 5.0), (2, 100.5, 100.6, 1.0, 1.0), (0, 99.9, 100.0, 5.0, 2.0)]
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(rows), fills=False)
    assert [(int(x["venue"]), int(x["side"]), float(x["qty"])) for x in intents] == [(0, 1, 1.0), (2, 2, 1.0)]


def test_tainted_venue_is_ignored() -> None:
    hp, ctx = setup(threshold_bps=1.0)
    t = quotes(CROSS)
    ctx.books[1, 0]["tainted_until"] = np.iinfo(np.int64).max
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, t)
    assert intents.size == 0
    hp, ctx = setup(threshold_bps=1.0)
    t["flags"][1] = int(TickFlag.STALE)  # the crossing quote itself is flagged
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, t)
    assert intents.size == 0


def test_position_limit_caps_the_legs() -> None:
    hp, ctx = setup(threshold_bps=1.0, max_position=1.0)
    ctx.positions[0, 0]["qty"] = 0.8  # only 0.2 more may be bought on a
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS))
    assert intents["qty"].tolist() == [pytest.approx(0.2)] * 2


def _set_order(ctx: Any, cid: int, side: Side, qty: float, filled: float, state: OrderState) -> None:
    o = ctx.orders[cid & (ctx.orders.shape[0] - 1)]
    o["client_id"], o["side"], o["qty"], o["filled"], o["state"] = cid, int(side), qty, filled, int(state)


def fired_with_buy_filled(**kw: Any) -> tuple[Any, Any, int]:
    """An arb that fired both legs on CROSS (no simulated fills), its buy leg since filled
    in full: (hot path, ctx, the sell leg's client id)."""
    hp, ctx = setup(threshold_bps=1.0, **kw)
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS), fills=False)
    buy, sell = (int(x) for x in intents["client_id"])
    _set_order(ctx, buy, Side.BUY, 0.5, 0.5, OrderState.FILLED)
    return hp, ctx, sell


def test_failed_leg_is_hedged_on_best_venue() -> None:
    hp, ctx, sell = fired_with_buy_filled()
    # the buy filled 0.5; the sell got only 0.2 before the IOC expired: long 0.3 too many
    _set_order(ctx, sell, Side.SELL, 0.5, 0.2, OrderState.CANCELED)
    ctx.counts[0] = 0
    hp.on_report(hp.params, hp.state, ctx, 0)
    hedge = ctx.intents[: ctx.counts[0]]
    assert hedge.size == 1
    h = hedge[0]
    # sell 0.3 at market where the bid is best (b: 100.3)
    assert (h["venue"], h["side"], h["type"]) == (1, Side.SELL, OrderType.MARKET)
    assert h["qty"] == pytest.approx(0.3)
    assert hp.state[8] == 1 and hp.state[0] == 2  # hedging until the hedge is done


def test_unfilled_hedge_is_retried_then_given_up() -> None:
    hp, ctx, sell = fired_with_buy_filled(max_hedges=2, leg_timeout_ms=60_000)
    _set_order(ctx, sell, Side.SELL, 0.5, 0.0, OrderState.EXPIRED)
    hedges: list[float] = []
    for _ in range(3):
        out, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS), fills=False)
        for h in out[out["type"] == OrderType.MARKET]:
            hedges.append(float(h["qty"]))
            # nobody there: the first hedge fills 0.2 and expires, the second nothing
            _set_order(ctx, int(h["client_id"]), Side.SELL, float(h["qty"]), 0.2 if len(hedges) == 1 else 0.0,
                       OrderState.EXPIRED)
    assert hedges == [pytest.approx(0.5), pytest.approx(0.3)]
    assert hp.state[12] == pytest.approx(0.3)  # residual left to the guards
    assert hp.state[8] == 2
    assert hp.state[11] == pytest.approx(-0.2)


def test_same_quotes_are_not_taken_twice() -> None:
    hp, ctx = setup(threshold_bps=1.0)
    intents, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS))
    assert intents.size == 2
    t = quotes([(2, 1.0, 2.0, 1.0, 1.0)])  # a tick of another venue: books of a and b unchanged
    more, _ = drive(hp.on_tick, hp.params, hp.state, ctx, t)
    assert more.size == 0


def test_leg_still_working_waits() -> None:
    hp, ctx, sell = fired_with_buy_filled()
    _set_order(ctx, sell, Side.SELL, 0.5, 0.0, OrderState.OPEN)
    more, _ = drive(hp.on_tick, hp.params, hp.state, ctx, quotes(CROSS), fills=False)
    assert more.size == 0 and hp.state[0] == 1


def test_unadmitted_leg_times_out_then_hedges() -> None:
    hp, ctx, _ = fired_with_buy_filled(leg_timeout_ms=1500)
    # the sell leg never reached the order table (a guard refused it)
    t = quotes([*CROSS, *CROSS])
    more, at = drive(hp.on_tick, hp.params, hp.state, ctx, t[2:], fills=False)
    assert more.size >= 1
    assert (more[0]["side"], more[0]["type"], more[0]["qty"]) == (Side.SELL, OrderType.MARKET, 0.5)
    assert at[0] == 1  # 2 s after submission (ticks are 1 s apart), past the 1.5 s timeout


def test_params_validation() -> None:
    with pytest.raises(ValueError, match="venues"):
        CrossVenueArb.Params(venues=("a",), symbol="BTC")
    with pytest.raises(ValueError, match="venues"):
        CrossVenueArb.Params(venues=("a", "a"), symbol="BTC")
