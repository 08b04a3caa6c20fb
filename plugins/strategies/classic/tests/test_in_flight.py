"""Orders in flight: signals faster than fills must not push the position past its limit.

The SDK's :func:`~tradeloop_sdk.strategy_testing.drive` fills at once; here a small venue
in the test takes each accepted order into ``ctx.orders`` after the tick (as the loop's
dispatch does), fills it some ticks later, or refuses it (a guard said no: it never
enters the table). Exposure is the position plus every live order's remaining quantity,
all orders, not only the strategy's last one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tradeloop_plugin_classic import Bollinger, EmaCross, RsiReversion, SmaCross
from tradeloop_sdk import (
    OrderState,
    OrderType,
    Side,
    TimeInForce,
    Universe,
    make_context,
    order_in_flight,
    order_live,
    submit,
)
from tradeloop_sdk.strategy_testing import drive, make_ticks

U = Universe(venues=("sim",), symbols=("BTC",))
V, S = 0, 0
_LIVE = (int(OrderState.CREATING), int(OrderState.PENDING_CANCEL))


class LaggyVenue:
    """Accepts or refuses each order; an accepted one fills ``delay`` ticks after it."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.due: dict[int, tuple[int, float]] = {}  # cid -> (tick it fills at, fraction)
        self.n_live: list[int] = []  # live orders after each tick

    def _slot(self, cid: int) -> Any:
        return self.ctx.orders[cid & (self.ctx.orders.shape[0] - 1)]

    def take(self, it: Any, now: int, delay: int, refuse: bool, frac: float) -> None:
        if refuse:
            return
        cid = int(it["client_id"])
        o = self._slot(cid)
        o["client_id"], o["venue"], o["symbol"] = cid, it["venue"], it["symbol"]
        o["side"], o["type"], o["tif"] = it["side"], it["type"], it["tif"]
        o["qty"], o["filled"], o["state"] = it["qty"], 0.0, int(OrderState.OPEN)
        self.due[cid] = (now + 1 + delay, frac)

    def fill_due(self, now: int) -> None:
        """Apply the reports that arrived before tick ``now``; an IOC's unfilled rest is cancelled."""
        for cid, (at, frac) in list(self.due.items()):
            if at > now:
                continue
            del self.due[cid]
            o = self._slot(cid)
            q = float(o["qty"]) * frac
            o["filled"] = q
            o["state"] = int(OrderState.FILLED if frac == 1.0 else OrderState.CANCELED)
            pos = self.ctx.positions[V, S]
            pos["qty"] += q if o["side"] == Side.BUY else -q
            pos["n_fills"] += 1

    def exposure(self) -> float:
        """Position plus what every live order on the instrument still works (signed)."""
        o = self.ctx.orders
        live = (o["state"] >= _LIVE[0]) & (o["state"] <= _LIVE[1])
        left = np.where(live, o["qty"] - o["filled"], 0.0)
        signed = np.where(o["side"] == Side.BUY, left, -left)
        return float(self.ctx.positions[V, S]["qty"] + signed.sum())


def run_laggy(
    comp: Any,
    prices: Any,
    delays: list[int],
    refusals: list[bool] | None = None,
    fracs: list[float] | None = None,
    setup: Callable[[Any], None] | None = None,
) -> tuple[list[tuple[int, str, float]], list[float], LaggyVenue]:
    """Tick by tick through ``comp``; the n-th order gets ``delays[n % len]`` and so on.

    Returns the intents (tick, side, qty), the exposure after each tick and the venue.
    """
    hp = comp.tradeloop_hot_path(U)
    ctx = make_context(1, 1)
    if setup is not None:
        setup(ctx)
    venue = LaggyVenue(ctx)
    ticks = make_ticks(prices, venue=V, symbol=S)
    log: list[tuple[int, str, float]] = []
    exposure: list[float] = []
    for i in range(ticks.size):
        venue.fill_due(i)
        intents, _ = drive(
            hp.on_tick, hp.params, hp.state, ctx, ticks[i : i + 1], fills=False, max_intents=8
        )
        for it in intents:
            n = len(log)
            log.append((i, "BUY" if it["side"] == Side.BUY else "SELL", float(it["qty"])))
            venue.take(
                it,
                i,
                delays[n % len(delays)],
                bool(refusals[n % len(refusals)]) if refusals else False,
                fracs[n % len(fracs)] if fracs else 1.0,
            )
        exposure.append(venue.exposure())
        venue.n_live.append(len(venue.due))
    return log, exposure, venue


# SMA(2) vs SMA(4) crosses at ticks 5 (up), 8 (down), 10 (up), 11 (down), 13 (up)
WHIPSAW = [10, 10, 10, 10, 10, 11, 12, 13, 9, 14, 14, 8, 8] + [15] * 7


def sma(**kw: Any) -> SmaCross:
    return SmaCross(SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4, **kw))


def test_instant_fills_trade_every_crossing() -> None:
    log, exposure, _ = run_laggy(sma(), WHIPSAW, [0])
    assert log == [
        (5, "BUY", 1.0),
        (8, "SELL", 2.0),
        (10, "BUY", 2.0),
        (11, "SELL", 2.0),
        (13, "BUY", 2.0),
    ]
    assert max(abs(x) for x in exposure) == 1.0


def test_crossings_faster_than_fills_wait_for_the_order() -> None:
    # Each fill takes 4 ticks. The buy from 5 works until 10: the cross at 8 only moves the
    # target; at 10 the buy has filled (+1) and the new cross wants +1: nothing to send.
    # 11 sells 2 (working until 16); 13 defers +1; 16, after the fill (-1), buys 2.
    # Before the fix: 8 sold 2 against the working buy, 10 bought 2 against the working
    # sell, 11 sold 4 (forgetting the sell from 8): exposure -3 with max_position 1.
    log, exposure, venue = run_laggy(sma(), WHIPSAW, [4])
    assert log == [(5, "BUY", 1.0), (11, "SELL", 2.0), (16, "BUY", 2.0)]
    assert max(abs(x) for x in exposure) <= 1.0
    assert max(venue.n_live) <= 1


def test_deferred_target_overtaken_by_a_newer_signal_is_dropped() -> None:
    # the sell from 8 works until 11; the golden cross at 10 is deferred, but at 11 the
    # death cross asks -1 again, which the filled sell already is: nothing is sent
    log, _, _ = run_laggy(sma(), WHIPSAW, [0, 2])
    assert log == [(5, "BUY", 1.0), (8, "SELL", 2.0), (13, "BUY", 2.0)]


def test_refused_retry_is_not_repeated() -> None:
    # as above, but a guard refuses the deferred buy sent at 16: the flag was cleared
    # before it went out, so the long flat tail brings no retries
    log, _, venue = run_laggy(sma(), WHIPSAW + [15] * 30, [4], refusals=[False, False, True])
    assert log == [(5, "BUY", 1.0), (11, "SELL", 2.0), (16, "BUY", 2.0)]
    assert not venue.due


def test_partial_fill_is_topped_up_from_the_position() -> None:
    # the sell from 11 fills half (the IOC rest is cancelled): position 0 at 16, and the
    # deferred +1 is ordered from there
    log, exposure, _ = run_laggy(sma(), WHIPSAW, [4], fracs=[1.0, 0.5])
    assert log == [(5, "BUY", 1.0), (11, "SELL", 2.0), (16, "BUY", 1.0)]
    assert max(abs(x) for x in exposure) <= 1.0



# SMA(2) vs SMA(4): one golden cross at tick 5, then a long flat tail with no signal
ONE_CROSS = [10, 10, 10, 10, 10, 11, 12, 13] + [13] * 30


def test_partial_fill_rest_is_ordered_without_a_new_signal() -> None:
    # each order fills half of what it asks, 2 ticks later: 1 -> 0.5 -> 0.25 ..., one
    # order at a time, until max_reorders (3) re-orders have gone out for this target
    log, exposure, venue = run_laggy(sma(max_reorders=3), ONE_CROSS, [2], fracs=[0.5])
    assert log == [(5, "BUY", 1.0), (8, "BUY", 0.5), (11, "BUY", 0.25), (14, "BUY", 0.125)]
    assert max(venue.n_live) <= 1
    assert exposure[-1] == pytest.approx(0.9375)


def test_no_reorders_when_disabled() -> None:
    log, _, _ = run_laggy(sma(max_reorders=0), ONE_CROSS, [2], fracs=[0.5])
    assert log == [(5, "BUY", 1.0)]


def test_order_that_filled_nothing_ends_the_chase() -> None:
    # the second order fills nothing (no liquidity, or a guard refused it): no retry storm
    log, _, _ = run_laggy(sma(), ONE_CROSS, [2], fracs=[0.5, 0.0])
    assert log == [(5, "BUY", 1.0), (8, "BUY", 0.5)]
    log, _, _ = run_laggy(sma(), ONE_CROSS, [2], refusals=[False, True], fracs=[0.5])
    assert log == [(5, "BUY", 1.0), (8, "BUY", 0.5)]


@pytest.mark.parametrize(
    ("field", "value"), [("lot_step", 0.3), ("min_qty", 0.3), ("min_notional", 5.0)]
)
def test_rest_below_a_tradable_quantity_is_not_ordered(field: str, value: float) -> None:
    # the buy of 1 fills 0.75: a rest of 0.25 (notional ~3.3 at 13) is below the bound
    def spec(ctx: Any) -> None:
        ctx.specs[V, S][field] = value

    log, _, _ = run_laggy(sma(), ONE_CROSS, [2], fracs=[0.75], setup=spec)
    assert log == [(5, "BUY", 1.0)]
    log, _, _ = run_laggy(sma(), ONE_CROSS, [2], fracs=[0.5], setup=spec)
    assert log[:2] == [(5, "BUY", 1.0), (8, "BUY", 0.5)]  # a rest of 0.5 is tradable

KINDS: dict[str, Callable[[float, float], Any]] = {
    "sma_cross": lambda q, m: SmaCross(
        SmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=4, qty=q, max_position=m)
    ),
    "ema_cross": lambda q, m: EmaCross(
        EmaCross.Params(venue="sim", symbol="BTC", fast=2, slow=5, qty=q, max_position=m)
    ),
    "rsi_reversion": lambda q, m: RsiReversion(
        RsiReversion.Params(venue="sim", symbol="BTC", period=2, qty=q, max_position=m)
    ),
    "bollinger_reversion": lambda q, m: Bollinger(
        Bollinger.Params(venue="sim", symbol="BTC", period=3, width=0.5, qty=q, max_position=m)
    ),
    "bollinger_breakout": lambda q, m: Bollinger(
        Bollinger.Params(
            venue="sim", symbol="BTC", period=3, width=0.5, mode="breakout", qty=q, max_position=m
        )
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.integers(-4, 4), min_size=8, max_size=60),
    delays=st.lists(st.integers(0, 6), min_size=1, max_size=6),
    refusals=st.lists(st.booleans(), min_size=1, max_size=4),
    fracs=st.lists(st.sampled_from([1.0, 0.5, 0.0]), min_size=1, max_size=3),
    qty=st.sampled_from([0.5, 1.0]),
)
def test_exposure_never_exceeds_max_position(
    kind: str,
    steps: list[int],
    delays: list[int],
    refusals: list[bool],
    fracs: list[float],
    qty: float,
) -> None:
    prices = 100.0 + np.cumsum(steps)
    log, exposure, venue = run_laggy(KINDS[kind](qty, 1.0), prices, delays, refusals, fracs)
    assert max(abs(x) for x in exposure) <= 1.0 + 1e-9, (log, exposure)
    assert max(venue.n_live) <= 1, log


def test_order_in_flight_sees_this_iterations_intents() -> None:
    # an order sent earlier in the same iteration is not in ctx.orders yet: only the
    # intent buffer shows it
    ctx = make_context(1, 1)
    cid = submit(
        ctx, 0, V, S, int(Side.BUY), int(OrderType.MARKET), int(TimeInForce.IOC), 1.0, np.nan
    )
    assert not order_live(ctx, cid) and order_in_flight(ctx, cid)
    assert not order_in_flight(ctx, cid + 1) and not order_in_flight(ctx, 0)
    ctx.counts[0] = 0  # dispatched and refused: never entered the table
    assert not order_in_flight(ctx, cid)
