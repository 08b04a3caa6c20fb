"""Rate limit, concurrency, cooldown, blocklist, trading hours, circuit breaker, kill switch."""

from __future__ import annotations

from typing import Any

import pytest
import tradeloop_plugin_risk as risk
from tradeloop_sdk import BREAKER_SCENARIOS, BreakerState, Reason, ReportKind, Side


def hp(rig: Any, comp: Any) -> Any:
    return comp.tradeloop_hot_path(rig.U)


def test_rate_limit_sliding_window(rig: Any) -> None:
    g = hp(rig, risk.RateLimit(risk.RateLimit.Params(venue_max=3, symbol_max=2, window_s=1.0)))
    S, T0 = rig.S, rig.T0
    for t, s, expected in [
        (0, 0, 0), (1, 0, 0), (2, 0, Reason.RATE_LIMIT),  # symbol cap 2
        (3, 1, 0), (4, 1, Reason.RATE_LIMIT),  # venue cap 3
    ]:
        rig.now(T0 + t * S // 10)
        assert rig.check(g, s=s) == expected, (t, s)
    rig.now(T0 + S - 1)  # the first order is still inside the window
    assert rig.check(g, v=0, s=1) == Reason.RATE_LIMIT
    rig.now(T0 + S)  # exactly one window after the first: it has left
    assert rig.check(g, v=0, s=1) == 0
    assert rig.check(g, v=1, s=0) == 0  # other venue, own budget


def test_concurrency_caps(rig: Any) -> None:
    g = hp(rig, risk.Concurrency(risk.Concurrency.Params(venue_max=3, symbol_max=2)))
    rig.live_order(1, 0, 0, Side.BUY, 1.0)
    assert rig.check(g) == 0  # 1 live on the symbol: one more allowed
    rig.live_order(2, 0, 0, Side.SELL, 1.0)
    assert rig.check(g) == Reason.CONCURRENCY  # 2 == symbol cap
    assert rig.check(g, s=1) == 0
    rig.live_order(3, 0, 1, Side.SELL, 1.0)
    assert rig.check(g, s=1) == Reason.CONCURRENCY  # 3 == venue cap
    assert rig.check(g, v=1) == 0
    rig.ctx.orders[1]["state"] = 6  # FILLED: no longer live...
    rig.report(g, ReportKind.FILL, qty=1.0)  # ...as the kernel's report of order 1 tells the guard
    assert rig.check(g, s=1) == 0


def test_cooldown_after_fill(rig: Any) -> None:
    g = hp(rig, risk.Cooldown(risk.Cooldown.Params(cooldown_s=2.0)))
    assert rig.check(g) == 0
    rig.report(g, ReportKind.FILL, qty=1.0, ts=rig.T0)
    for dt, expected in ((rig.S, Reason.COOLDOWN), (2 * rig.S - 1, Reason.COOLDOWN), (2 * rig.S, 0)):
        rig.now(rig.T0 + dt)
        assert rig.check(g) == expected
    assert rig.check(g, s=1) == 0  # other symbol unaffected
    on_order = hp(rig, risk.Cooldown(risk.Cooldown.Params(cooldown_s=1.0, on_order=True)))
    assert rig.check(on_order) == 0 and rig.check(on_order) == Reason.COOLDOWN


def test_blocklist(rig: Any) -> None:
    g = hp(rig, risk.Blocklist(risk.Blocklist.Params(symbols=("BBB", "v1:AAA", "NOT_HERE"), venues=())))
    assert rig.check(g) == 0
    assert rig.check(g, s=1) == Reason.BLOCKLIST
    assert rig.check(g, v=1, s=1) == Reason.BLOCKLIST
    assert rig.check(g, v=1, s=0) == Reason.BLOCKLIST
    rig.ctx.specs[0, 0]["active"] = 0
    assert rig.check(g) == Reason.BLOCKLIST
    whole = hp(rig, risk.Blocklist(risk.Blocklist.Params(venues=("v1",))))
    assert rig.check(whole, v=1) == Reason.BLOCKLIST


def test_trading_hours_from_spec_and_overrides(rig: Any) -> None:
    day = rig.T0 - rig.T0 % (86_400 * rig.S)
    h = 3600 * rig.S
    rig.ctx.specs[0, 0]["open_ns"], rig.ctx.specs[0, 0]["close_ns"] = 14 * h, 21 * h
    g = hp(rig, risk.TradingHours(risk.TradingHours.Params(hours={"v0:BBB": "22:00-06:00"})))
    for t, expected in ((14 * h, 0), (14 * h - 1, Reason.MARKET_CLOSED), (21 * h - 1, 0),
                        (21 * h, Reason.MARKET_CLOSED)):
        rig.now(day + t)
        assert rig.check(g) == expected, t
    for t, expected in ((23 * h, 0), (5 * h, 0), (6 * h, Reason.MARKET_CLOSED), (21 * h, Reason.MARKET_CLOSED)):
        rig.now(day + t)
        assert rig.check(g, s=1) == expected, t
    rig.now(day + 3 * h)
    assert rig.check(g, v=1) == 0  # spec open == close: around the clock
    weekdays = hp(rig, risk.TradingHours(risk.TradingHours.Params(weekdays_only=True)))
    saturday = day + 4 * 86_400 * rig.S  # T0 is a Tuesday
    rig.now(saturday)
    assert rig.check(weekdays, v=1) == Reason.MARKET_CLOSED
    rig.now(saturday - 1)
    assert rig.check(weekdays, v=1) == 0
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        hp(rig, risk.TradingHours(risk.TradingHours.Params(hours={"AAA": "9am-5pm"})))


@pytest.mark.parametrize("k", range(len(BREAKER_SCENARIOS)))
def test_breaker_guard_follows_the_shared_spec(rig: Any, k: int) -> None:
    spec, steps = BREAKER_SCENARIOS[k]
    fields = {f: getattr(spec, f) for f in ("max_consecutive", "max_failures", "window_s",
                                            "open_timeout_s", "half_open_max_calls")}
    comp = risk.CircuitBreakerGuard(risk.CircuitBreakerGuard.Params(**fields))
    g = hp(rig, comp)
    for n, (t, op, expected) in enumerate(steps):
        rig.now(rig.T0 + round(t * rig.S))
        if op == "allow":
            got: Any = rig.check(g) == 0
        else:
            if op == "ok":
                rig.report(g, ReportKind.ACK)
            else:
                rig.report(g, ReportKind.REJECTED, reason=Reason.VENUE_POLICY)
            got = comp.states()["v0"]
        assert got == expected, f"step {n} {(t, op)}"
    assert comp.states()["v1"] is BreakerState.CLOSED  # per venue


def test_breaker_guard_per_venue_spec_timeouts_and_ignored_reasons(rig: Any) -> None:
    params = risk.CircuitBreakerGuard.Params(
        max_consecutive=3, venues={"v1": {"max_consecutive": 1}}, ignore_reason="INSUFFICIENT_BALANCE")
    comp = risk.CircuitBreakerGuard(params)
    g = hp(rig, comp)
    rig.report(g, ReportKind.REJECTED, v=1, reason=Reason.INSUFFICIENT_BALANCE)  # not a venue fault
    assert comp.states()["v1"] is BreakerState.CLOSED
    rig.report(g, ReportKind.EXPIRED, v=1, reason=Reason.TIMEOUT)
    assert comp.states() == {"v0": BreakerState.CLOSED, "v1": BreakerState.OPEN}
    assert rig.check(g, v=1) == Reason.CIRCUIT_OPEN and rig.check(g, v=0) == 0
    with pytest.raises(KeyError, match="unknown venue"):
        hp(rig, risk.CircuitBreakerGuard(risk.CircuitBreakerGuard.Params(venues={"vX": {}})))
    with pytest.raises(ValueError, match="not a Reason"):
        hp(rig, risk.CircuitBreakerGuard(risk.CircuitBreakerGuard.Params(ignore_reason="NOPE")))


def test_kill_switch_reject_storm(rig: Any) -> None:
    comp = risk.KillSwitch(risk.KillSwitch.Params(max_rejects=3, window_s=10.0))
    g = hp(rig, comp)
    for t in (0, 5):
        rig.now(rig.T0 + t * rig.S)
        rig.report(g, ReportKind.REJECTED)
    rig.now(rig.T0 + 10 * rig.S)  # third reject, but the first is a full window old
    rig.report(g, ReportKind.REJECTED)
    assert rig.ctx.control[0]["kill"] == 0 and rig.check(g) == 0
    rig.now(rig.T0 + 10 * rig.S + 1)  # 5, 10, 10+: three within 10 s
    rig.report(g, ReportKind.REJECTED)
    assert rig.ctx.control[0]["kill"] == Reason.KILL_SWITCH
    assert rig.check(g) == Reason.KILL_SWITCH


def test_kill_switch_loss_stuck_and_guard_storm(rig: Any) -> None:
    loss = hp(rig, risk.KillSwitch(risk.KillSwitch.Params(max_loss=100.0)))
    rig.ctx.positions[0, 0]["realized"] = -100.0
    assert rig.check(loss) == 0
    rig.ctx.positions[0, 0]["fees"] = 0.01
    assert rig.check(loss) == Reason.KILL_SWITCH and rig.ctx.control[0]["kill"] == Reason.DRAWDOWN

    rig.ctx.control[0]["kill"] = 0
    rig.ctx.positions[0, 0]["realized"] = 0.0
    stuck = hp(rig, risk.KillSwitch(risk.KillSwitch.Params(max_stuck=2)))
    rig.ctx.control[0]["stuck_orders"] = 1
    assert rig.check(stuck) == 0
    rig.ctx.control[0]["stuck_orders"] = 2
    assert rig.check(stuck) == Reason.KILL_SWITCH and rig.ctx.control[0]["kill"] == Reason.TIMEOUT

    rig.ctx.control[0]["kill"] = 0
    storm = hp(rig, risk.KillSwitch(risk.KillSwitch.Params(max_guard_rejects=5, window_s=1.0)))
    assert rig.check(storm) == 0
    rig.ctx.control[0]["guard_rejects"] += 4
    assert rig.check(storm) == 0
    rig.ctx.control[0]["guard_rejects"] += 1
    assert rig.check(storm) == Reason.KILL_SWITCH and rig.ctx.control[0]["kill"] == Reason.KILL_SWITCH
