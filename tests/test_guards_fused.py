"""Guards and gates inside the fused loop: tainted data stops orders, order of guards,
first refusal wins, the kill switch within one iteration, the circuit breaker on venue
rejects, and breaches read back as GuardBreach records."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numba
import numpy as np
import pytest
import tradeloop_plugin_precision as prec
import tradeloop_plugin_quality as qual
import tradeloop_plugin_risk as risk
from tradeloop.loop import build_loop
from tradeloop_sdk import (
    NO_GUARD,
    TICK_DTYPE,
    BreakerState,
    ComponentKind,
    EventKind,
    HotPath,
    Reason,
    SymbolSpec,
    TickFlag,
    Universe,
    guard_breaches,
    is_tainted,
    params_array,
    report,
    submit,
)

S = 1_000_000_000
MS = 1_000_000
T0 = 1_700_000_000_000_000_000
U = Universe(
    venues=("sim",),
    symbols=("BTC",),
    specs={("sim", "BTC"): SymbolSpec(symbol="BTC", base="BTC", quote="USD",
                                      tick_size=Decimal("0.5"),
                                      lot_step=Decimal("0.01"))},
)

pytestmark = pytest.mark.slow  # each distinct component list compiles a fused loop


@numba.njit(cache=True)
def _buyer_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Test strategy: on every clean quote, buy ``per_tick`` limit orders at the ask."""
    if tick["kind"] != 1:
        return
    v = tick["venue"]
    s = tick["symbol"]
    state[0] += 1
    if is_tainted(ctx, v, s):
        state[1] += 1
        return
    for _ in range(params[0]["per_tick"]):
        submit(ctx, 0, v, s, 1, 2, 1, params[0]["qty"], tick["ask"] + params[0]["offset"])


@numba.njit(cache=True)
def _venue_intent(params: Any, state: Any, ctx: Any, i: int) -> None:
    """Test venue: acks every order, or rejects it while ``reject`` is set."""
    it = ctx.intents[i]
    if it["action"] != 1:
        return
    rej = params[0]["reject"] != 0
    report(ctx, 5 if rej else 1, it["client_id"], it["venue"], it["symbol"], it["side"], 0.0,
           np.nan, 0.0, 0.0 if rej else it["qty"], 0, 11 if rej else 0, 0, ctx.control[0]["now_ns"])


def buyer(per_tick: int = 1, qty: float = 1.0, offset: float = 0.0) -> HotPath:
    return HotPath(kind=ComponentKind.STRATEGY, name="buyer",
                   params=params_array({"per_tick": per_tick, "qty": qty, "offset": offset}),
                   state=np.zeros(2, np.int64), on_tick=_buyer_tick)


def venue(reject: bool = False) -> HotPath:
    return HotPath(kind=ComponentKind.VENUE, name="testvenue", params=params_array({"reject": int(reject)}),
                   state=np.zeros(1, np.int64), on_intent=_venue_intent)


def quotes(n: int, bid: float = 100.0, spread: float = 1.0) -> np.ndarray:
    t = np.zeros(n, TICK_DTYPE)
    t["kind"] = 1
    t["ts_exch"] = t["ts_recv"] = T0 + np.arange(n, dtype=np.int64) * S
    t["seq"] = np.arange(1, n + 1)
    t["bid"], t["ask"] = bid, bid + spread
    t["bid_size"] = t["ask_size"] = 10.0
    # small alternating moves so the price-jump gate has a volatility to compare with
    t["bid"][1::2] += 0.5
    t["ask"][1::2] += 0.5
    return t


def hot(components: list[Any]) -> list[HotPath]:
    return [c if isinstance(c, HotPath) else c.tradeloop_hot_path(U) for c in components]


def test_gates_flag_bad_ticks_and_the_strategy_stands_aside() -> None:
    seq_gate = qual.SequenceGap(qual.SequenceGap.Params(taint_ms=1500.0))
    strat = buyer()
    comps = hot([
        qual.CrossedBook(), qual.StaleQuote(qual.StaleQuote.Params(max_age_ms=500.0)), seq_gate,
        qual.TimeSkew(), qual.WideSpread(qual.WideSpread.Params(max_spread_bps=500.0)),
        qual.PriceJump(qual.PriceJump.Params(n_sigma=6.0, min_samples=5)), strat,
    ])
    loop = build_loop(U, comps, mode="backtest")
    t = quotes(30)
    t[12]["bid"], t[12]["ask"] = 101.0, 100.5  # crossed
    t[14:]["seq"] += 5  # gap: taints 1.5 s, so tick 15 is tainted too
    t[17]["ts_exch"] = t[17]["ts_recv"] + 1001 * MS  # exchange clock ahead by > 1 s
    t[19]["ts_exch"] = t[19]["ts_recv"] - 501 * MS  # arrived late: stale
    t[21]["ask"] = t[21]["bid"] + 10.0  # 1000 bps: wide
    t[23:]["bid"] += 20.0  # a jump, then the new level holds
    t[23:]["ask"] += 20.0
    loop.run(t)
    F = TickFlag
    expected = {12: F.CROSSED, 14: F.GAP, 17: F.SKEW, 19: F.STALE, 21: F.WIDE | F.JUMP, 22: F.JUMP, 23: F.JUMP}
    # 21's mid moves +5 (a jump too) and 22 comes back; 23 is the +20 level shift
    flagged = {int(i): int(f) for i, f in enumerate(t["flags"]) if f}
    assert flagged == {k: int(v) for k, v in expected.items()}
    intents = loop.drain_intents()
    placed_at = sorted(int((ts - T0) // S) for ts in intents["ts"])
    tainted_ticks = {*expected, 15}
    assert placed_at == [i for i in range(30) if i not in tainted_ticks]
    assert strat.state[1] == len(tainted_ticks)
    assert seq_gate.pending_snapshots() == [("sim", "BTC")]
    assert loop.ctx.control[0]["tainted_ticks"] == len(expected)


def _order_loop(precision_first: bool, **risk_params: Any) -> tuple[Any, list[Any]]:
    limits = risk.OrderLimits(risk.OrderLimits.Params(max_notional=1000.0, resize=True))
    fit = prec.Precision()
    pair = [fit, limits] if precision_first else [limits, fit]
    guards = [
        risk.KillSwitch(), risk.Blocklist(risk.Blocklist.Params(symbols=risk_params.get("block", ()))),
        *pair,
        risk.Drawdown(risk.Drawdown.Params(capital=10_000.0, max_total=risk_params.get("max_dd", 1e9))),
        risk.CircuitBreakerGuard(risk.CircuitBreakerGuard.Params(max_consecutive=3, open_timeout_s=5.0)),
    ]
    strat = buyer(per_tick=risk_params.get("per_tick", 1), qty=risk_params.get("qty", 1.0))
    comps = hot([strat, *guards, venue(risk_params.get("reject", False))])
    return build_loop(U, comps, mode="backtest"), guards


def test_guard_order_matters_resize_before_precision() -> None:
    # 5 @ 301 (ask) is 1505 notional: order_limits cuts to 1000/301 = 3.3222...
    good, _ = _order_loop(precision_first=False, qty=5.0)
    good.run(quotes(1, bid=300.0))
    (it,) = good.drain_intents()
    assert it["reason"] == 0 and it["qty"] == pytest.approx(3.32)  # then floored to the lot
    bad, _ = _order_loop(precision_first=True, qty=5.0)
    bad.run(quotes(1, bid=300.0))
    (it,) = bad.drain_intents()
    assert it["reason"] == 0 and it["qty"] == pytest.approx(1000.0 / 301.0)  # off-lot leaves
    assert not math.isclose(round(it["qty"] / 0.01) * 0.01, it["qty"], rel_tol=1e-12)


def test_first_refusal_wins_and_breaches_carry_value_and_limit() -> None:
    loop, _ = _order_loop(precision_first=False, qty=0.001, block=("BTC",))
    loop.run(quotes(1))
    (it,) = loop.drain_intents()
    # blocklist (guard 1) and precision (min size after flooring to 0.00) both refuse: 1 wins
    assert it["reason"] == Reason.BLOCKLIST and it["guard"] == 1
    names = [c.name for c in loop.components]
    (b,) = guard_breaches(loop.drain_events(), U, names)
    assert (b.guard, b.action, b.reason, b.symbol) == ("blocklist", "reject", Reason.BLOCKLIST, "BTC")

    loop, _ = _order_loop(precision_first=False, qty=50.0)
    loop.run(quotes(1, bid=300.0))
    breaches = guard_breaches(loop.drain_events(), U, [c.name for c in loop.components])
    first = breaches[0]
    assert (first.guard, first.action, first.reason) == ("order_limits", "resize", Reason.NOTIONAL_LIMIT)
    assert first.value == pytest.approx(50 * 301.0) and first.limit == 1000.0
    assert [b.reason for b in breaches[1:]] == [Reason.SIZE_PRECISION]


def test_kill_switch_stops_the_next_intent_in_the_same_iteration() -> None:
    loop, guards = _order_loop(precision_first=False, per_tick=3, max_dd=100.0)
    loop.ctx.positions[0, 0]["qty"] = 10.0
    loop.ctx.positions[0, 0]["avg_price"] = 120.0  # marked at ~100.5: 195 under water
    loop.run(quotes(2))
    intents = loop.drain_intents()
    reasons = [int(r) for r in intents["reason"]]
    # the drawdown guard marks the position on the first tick (its on_tick, before the
    # strategy) and trips the switch: all three intents of that tick, and everything
    # after, meet the kernel's kill check before any guard
    assert reasons == [Reason.KILL_SWITCH] * 6
    assert set(intents["guard"]) == {NO_GUARD}
    (kill,) = [e for e in loop.drain_events() if e["kind"] == EventKind.KILL]
    assert kill["ts"] == T0 and kill["code"] == Reason.DRAWDOWN
    assert loop.ctx.control[0]["kill"] == Reason.DRAWDOWN
    assert guards[-2].state[0]["worst_total"] > 100.0


def test_a_guard_that_trips_the_kill_stops_the_rest_of_its_iteration() -> None:
    loop, guards = _order_loop(precision_first=False, per_tick=3, max_dd=100.0)
    loop.ctx.positions[0, 0]["realized"] = -195.0  # flat, so no tick moves equity
    loop.run(quotes(2))
    reasons = [int(r) for r in loop.drain_intents()["reason"]]
    # drawdown refuses the first intent and trips the switch; the next two in the same
    # tick and everything after meet the kernel's kill check
    assert reasons == [Reason.DRAWDOWN] + [Reason.KILL_SWITCH] * 5
    assert loop.ctx.control[0]["kill"] == Reason.DRAWDOWN
    assert guards[-2].state[0]["worst_total"] == pytest.approx(195.0)


def test_circuit_breaker_opens_on_venue_rejects_in_the_loop() -> None:
    loop, guards = _order_loop(precision_first=False, reject=True)
    breaker = guards[-1]
    loop.run(quotes(5))
    reasons = [int(r) for r in loop.drain_intents()["reason"]]
    assert reasons[:3] == [0, 0, 0]  # went out, rejected by the venue
    assert reasons[3:] == [Reason.CIRCUIT_OPEN] * 2
    assert breaker.states() == {"sim": BreakerState.OPEN}
    # opened at t=2 s with a 5 s timeout: t=5, 6 refused, t=7 one trial, rejected: OPEN again
    loop.run(quotes(9)[5:])
    co = Reason.CIRCUIT_OPEN
    assert [int(r) for r in loop.drain_intents()["reason"]] == [co, co, 0, co]
    assert breaker.states() == {"sim": BreakerState.OPEN}
