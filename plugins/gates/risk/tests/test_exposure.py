"""Position, portfolio, order-size, drawdown and VaR guards at, below and above each limit."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import pytest
import tradeloop_plugin_risk as risk
import tradeloop_sdk as sdk
from tradeloop_sdk import TICK_DTYPE, OrderType, Reason, ReportKind, Side, TickFlag, TimeInForce


def hp(rig: Any, comp: Any) -> Any:
    return comp.tradeloop_hot_path(rig.U)


@pytest.mark.parametrize(("qty", "expected"), [(10.0, 0), (9.99, 0), (10.01, Reason.POSITION_LIMIT)])
def test_position_limit_units(rig: Any, qty: float, expected: int) -> None:
    g = hp(rig, risk.PositionLimit(risk.PositionLimit.Params(max_qty=10.0)))
    assert rig.check(g, Side.BUY, qty) == expected


def test_position_limit_counts_position_and_open_orders_and_lets_reductions_pass(rig: Any) -> None:
    g = hp(rig, risk.PositionLimit(risk.PositionLimit.Params(max_qty=10.0)))
    rig.position(0, 0, 6.0)
    rig.live_order(7, 0, 0, Side.BUY, 3.0, filled=1.0)  # 2 left
    assert rig.check(g, Side.BUY, 2.0) == 0
    assert rig.check(g, Side.BUY, 2.01) == Reason.POSITION_LIMIT
    assert rig.last_event()["value"] == pytest.approx(10.01) and rig.last_event()["limit"] == 10.0
    assert rig.check(g, Side.SELL, 16.0) == 0  # 6 long -> 10 short: at the limit
    assert rig.check(g, Side.SELL, 16.5) == Reason.POSITION_LIMIT


def test_position_limit_notional_resize_and_overrides(rig: Any) -> None:
    params = risk.PositionLimit.Params(max_notional=1000.0, resize=True,
                                       per_symbol={"v0:AAA": {"max_qty": 4.0}})
    g = hp(rig, risk.PositionLimit(params))
    assert rig.check(g, Side.BUY, 6.0) == 0 and rig.qty == pytest.approx(4.0)  # units bind first
    rig.set_book(0, 1, 199.0, 201.0)  # mark 200: 1000 notional is 5 units
    assert rig.check(g, Side.BUY, 7.0, s=1) == 0 and rig.qty == pytest.approx(5.0)
    with pytest.raises(KeyError, match="unknown symbol"):
        hp(rig, risk.PositionLimit(risk.PositionLimit.Params(per_symbol={"ZZZ": {"max_qty": 1.0}})))


def test_portfolio_gross_and_net(rig: Any) -> None:
    rig.set_book(0, 1, 49.0, 51.0)
    rig.position(0, 1, -20.0, 50.0)  # -1000 at mark 50
    g = hp(rig, risk.PortfolioLimit(risk.PortfolioLimit.Params(max_gross=3000.0)))
    for qty, expected in ((20.0, 0), (19.9, 0), (20.1, Reason.NOTIONAL_LIMIT)):  # +2000 at mark 100
        assert rig.check(g, Side.BUY, qty) == expected
    assert rig.check(g, Side.BUY, 40.0, s=1) == 0  # -20 -> +20: gross unchanged
    net = hp(rig, risk.PortfolioLimit(risk.PortfolioLimit.Params(max_net=500.0, resize=True)))
    assert rig.check(net, Side.BUY, 20.0) == 0 and rig.qty == pytest.approx(15.0)  # -1000 + 1500
    assert rig.check(net, Side.SELL, 1.0) == Reason.NOTIONAL_LIMIT  # already past: no more short
    assert rig.check(net, Side.BUY, 5.0) == 0 and rig.qty == 5.0  # reducing |net| passes


def test_order_limits(rig: Any) -> None:
    g = hp(rig, risk.OrderLimits(risk.OrderLimits.Params(max_qty=5.0, max_notional=400.0)))
    assert rig.check(g, Side.BUY, 4.0) == 0  # 400 at mark 100
    assert rig.check(g, Side.BUY, 4.01) == Reason.NOTIONAL_LIMIT
    assert rig.check(g, Side.BUY, 5.01, price=1.0) == Reason.MAX_SIZE
    assert rig.check(g, Side.BUY, 5.0, price=80.0) == 0
    cut = hp(rig, risk.OrderLimits(risk.OrderLimits.Params(max_qty=5.0, max_notional=400.0, resize=True)))
    assert rig.check(cut, Side.SELL, 9.0, price=100.0) == 0 and rig.qty == pytest.approx(4.0)


def test_drawdown_trips_the_kill_switch(rig: Any) -> None:
    g = hp(rig, risk.Drawdown(risk.Drawdown.Params(capital=10_000.0, max_total=500.0)))
    rig.position(0, 0, 10.0, avg=100.0)  # mark 100: flat pnl
    assert rig.check(g) == 0
    rig.set_book(0, 0, 149.0, 151.0)  # +500: new peak 10500
    assert rig.check(g) == 0
    rig.set_book(0, 0, 99.0, 101.0)  # back to 10000: drawdown 500 == limit
    assert rig.check(g) == 0 and rig.ctx.control[0]["kill"] == 0
    rig.set_book(0, 0, 98.9, 100.9)  # 10499... below: 501 from the peak
    assert rig.check(g) == Reason.DRAWDOWN
    assert rig.ctx.control[0]["kill"] == Reason.DRAWDOWN
    assert rig.last_event()["value"] == pytest.approx(501.0)


def test_daily_drawdown_resets_at_utc_midnight(rig: Any) -> None:
    g = hp(rig, risk.Drawdown(risk.Drawdown.Params(capital=10_000.0, max_daily_pct=1.0, kill=False)))
    rig.position(0, 0, 10.0, avg=100.0)
    rig.set_book(0, 0, 109.0, 111.0)  # +100
    assert rig.check(g) == 0
    rig.set_book(0, 0, 98.0, 100.0)  # -10 below start: 110 from the day's peak 10100 > 101
    assert rig.check(g) == Reason.DRAWDOWN and rig.ctx.control[0]["kill"] == 0
    rig.now(rig.T0 + 86_400 * rig.S)  # next day: peak restarts at 9990
    assert rig.check(g) == 0
    with pytest.raises(ValueError, match="capital"):
        risk.Drawdown.Params(max_daily_pct=1.0)


def test_drawdown_checks_on_reports_too(rig: Any) -> None:
    g = hp(rig, risk.Drawdown(risk.Drawdown.Params(capital=1000.0, max_total=10.0)))
    rig.report(g, ReportKind.ACK)
    rig.ctx.positions[0, 0]["realized"] = -20.0
    rig.report(g, ReportKind.FILL, qty=1.0)
    assert rig.ctx.control[0]["kill"] == Reason.DRAWDOWN


def test_ewma_var_limit(rig: Any) -> None:
    params = risk.EwmaVar.Params(max_var=1000.0, z=1.0, horizon_s=86400.0, floor_daily_vol=0.01,
                                 min_samples=10**9)
    g = hp(rig, risk.EwmaVar(params))
    # floor only: sigma_day 1%: VaR of a position of notional N is 0.01 N; limit 1000 -> 100k
    for qty, expected in ((1000.0, 0), (999.0, 0), (1001.0, Reason.VAR_LIMIT)):
        assert rig.check(g, Side.BUY, qty) == expected
    rig.position(0, 1, 500.0, 100.0)
    rig.set_book(0, 1, 99.0, 101.0)
    assert rig.check(g, Side.BUY, 500.0) == 0
    assert rig.check(g, Side.BUY, 501.0) == Reason.VAR_LIMIT
    assert rig.check(g, Side.SELL, 500.0) == 0  # a short counts the same
    rig.position(0, 0, 800.0, 100.0)  # 1300 already: only reductions pass
    assert rig.check(g, Side.SELL, 100.0) == 0
    assert rig.check(g, Side.BUY, 1.0) == Reason.VAR_LIMIT


def test_ewma_var_learns_volatility_from_marks(rig: Any) -> None:
    params = risk.EwmaVar.Params(max_var=1000.0, z=1.0, horizon_s=1.0, halflife_s=60.0, min_samples=5)
    g = hp(rig, risk.EwmaVar(params))
    t = rig.T0
    for k in range(40):  # +-1% every second: variance rate 1e-4 per second
        px = 100.0 * (1.01 if k % 2 else 1.0)
        rig.set_book(0, 0, px - 0.01, px + 0.01)
        t += rig.S
        rig.now(t)
        rig.report(g, ReportKind.ACK)
    sigma = g.state[0, 0]["var_rate"] ** 0.5
    assert sigma == pytest.approx(0.00995, rel=0.05)
    # VaR of N notional = N * sigma: the limit 1000 allows ~100k notional, ~1000 units
    assert rig.check(g, Side.BUY, 900.0) == 0
    assert rig.check(g, Side.BUY, 1200.0) == Reason.VAR_LIMIT


@numba.njit(cache=True)
def _on_tick(fn: Any, params: Any, state: Any, ctx: Any, ticks: Any) -> None:
    # a Tick record has aliased fields: it reaches a kernel only from inside compiled code
    fn(params, state, ctx, ticks[0])


class _Tick:
    def __init__(self, v: int = 0, s: int = 0, flags: int = 0) -> None:
        self.t = np.zeros(1, TICK_DTYPE)
        self.t["venue"], self.t["symbol"], self.t["kind"], self.t["flags"] = v, s, 1, flags


def on_tick(g: Any, ctx: Any, tick: _Tick) -> None:
    _on_tick(g.on_tick, g.params, g.state, ctx, tick.t)


def test_drawdown_on_tick_kills_at_a_price_with_no_order(rig: Any) -> None:
    comp = risk.Drawdown(risk.Drawdown.Params(capital=10_000.0, max_total=500.0))
    g = hp(rig, comp)
    assert g.on_tick is not None

    def tick(bid: float, ask: float, **kw: Any) -> None:
        rig.set_book(0, 0, bid, ask)
        on_tick(g, rig.ctx, _Tick(**kw))

    tick(99.0, 101.0)
    assert comp.state[0]["tick_evals"] == 0  # flat: a tick cannot move equity
    rig.position(0, 0, 10.0, avg=100.0)
    tick(149.0, 151.0)  # +500: peak 10500
    assert comp.state[0]["peak"] == pytest.approx(10_500.0)
    tick(99.0, 101.0)  # drawdown 500 == limit
    assert rig.ctx.control[0]["kill"] == 0
    tick(0.9, 1.1, flags=TickFlag.CROSSED)  # a tainted print does not move equity
    assert rig.ctx.control[0]["kill"] == 0 and comp.state[0]["equity"] == pytest.approx(10_000.0)
    before = comp.state[0]["tick_evals"]
    on_tick(g, rig.ctx, _Tick(s=1))  # no position on BBB
    assert comp.state[0]["tick_evals"] == before
    tick(98.9, 100.9)  # 501 below the peak
    assert rig.ctx.control[0]["kill"] == Reason.DRAWDOWN
    assert comp.state[0]["worst_total"] == pytest.approx(501.0)


def test_drawdown_tick_path_agrees_with_a_full_evaluation(rig: Any) -> None:
    g = hp(rig, risk.Drawdown(risk.Drawdown.Params(capital=1000.0)))
    rig.position(0, 0, 3.0, avg=100.0)
    rig.position(1, 1, -2.0, avg=50.0)
    rig.set_book(1, 1, 49.0, 51.0)
    rig.ctx.positions[1, 1]["realized"] = 7.0
    assert rig.check(g) == 0  # full evaluation seeds the cache
    rng = np.random.default_rng(5)
    for _ in range(50):
        v = int(rng.integers(0, 2))
        mid = 100.0 * float(np.exp(rng.normal(0, 0.02))) if v == 0 else 50.0 * float(np.exp(rng.normal(0, 0.02)))
        rig.set_book(v, v, mid - 0.5, mid + 0.5)
        on_tick(g, rig.ctx, _Tick(v, v))
        b = rig.ctx.books
        full = 1000.0 + 7.0 + 3.0 * (0.5 * (b[0, 0]["bid"] + b[0, 0]["ask"]) - 100.0) - 2.0 * (
            0.5 * (b[1, 1]["bid"] + b[1, 1]["ask"]) - 50.0)
        assert g.state[0][0]["equity"] == pytest.approx(full, rel=1e-12)


def test_ewma_var_samples_ticks_at_most_every_sample_s(rig: Any) -> None:
    comp = risk.EwmaVar(risk.EwmaVar.Params(max_var=1e9, sample_s=1.0))
    g = hp(rig, comp)
    t = rig.T0
    for k in range(21):  # a move every 0.5 s: only every other one is sampled
        px = 100.0 * 1.001**k
        rig.set_book(0, 0, px - 0.01, px + 0.01)
        rig.now(t)
        on_tick(g, rig.ctx, _Tick())
        t += rig.S // 2
    assert comp.state[0, 0]["n"] == 10
    rig.now(t)
    on_tick(g, rig.ctx, _Tick(flags=TickFlag.JUMP))
    assert comp.state[0, 0]["n"] == 10  # tainted: not volatility
    assert risk.EwmaVar.Params().max_var == 0.0  # default: estimate only, no limit
    assert rig.check(hp(rig, risk.EwmaVar()), Side.BUY, 1e9) == 0


@pytest.mark.parametrize(("qty", "expected"), [(5.0, 0), (4.99, 0), (5.01, Reason.POSITION_LIMIT)])
def test_position_limit_notional_at_the_mark(rig: Any, qty: float, expected: int) -> None:
    g = hp(rig, risk.PositionLimit(risk.PositionLimit.Params(max_notional=500.0)))  # mark 100
    assert rig.check(g, Side.BUY, qty) == expected


@pytest.mark.parametrize(("qty", "expected"), [(15.0, 0), (14.9, 0), (15.1, Reason.NOTIONAL_LIMIT)])
def test_portfolio_net_limit(rig: Any, qty: float, expected: int) -> None:
    rig.set_book(0, 1, 49.0, 51.0)
    rig.position(0, 1, -20.0, 50.0)  # net -1000; +1500 at mark 100 reaches +500
    g = hp(rig, risk.PortfolioLimit(risk.PortfolioLimit.Params(max_net=500.0)))
    assert rig.check(g, Side.BUY, qty) == expected


@pytest.mark.parametrize(("qty", "expected"), [(5.0, 0), (4.99, 0), (5.01, Reason.MAX_SIZE)])
def test_order_limits_size(rig: Any, qty: float, expected: int) -> None:
    g = hp(rig, risk.OrderLimits(risk.OrderLimits.Params(max_qty=5.0)))
    assert rig.check(g, Side.BUY, qty, price=80.0) == expected


def test_kernel_flatten_orders_pass_the_risk_guards_and_forgeries_do_not(rig: Any) -> None:
    # (guard, whether it refuses the same order when it is not the kernel's)
    comps = [
        (risk.KillSwitch(), True),
        (risk.Drawdown(risk.Drawdown.Params(capital=1000.0, max_total=10.0)), True),
        (risk.Blocklist(risk.Blocklist.Params(symbols=("AAA",))), True),
        (risk.OrderLimits(risk.OrderLimits.Params(max_qty=1.0)), True),
        (risk.Concurrency(risk.Concurrency.Params(symbol_max=1)), True),
        (risk.Cooldown(risk.Cooldown.Params(cooldown_s=60.0)), True),
        (risk.RateLimit(risk.RateLimit.Params(symbol_max=1)), True),
        # closing a position reduces exposure: these pass it either way
        (risk.PositionLimit(risk.PositionLimit.Params(max_qty=1.0)), False),
        (risk.PortfolioLimit(risk.PortfolioLimit.Params(max_gross=1.0)), False),
        (risk.EwmaVar(risk.EwmaVar.Params(max_var=1.0, floor_daily_vol=0.5)), False),
    ]
    guards = [(hp(rig, c), refuses) for c, refuses in comps]
    rig.check(guards[6][0])  # spends the rate limit's budget
    rig.report(guards[5][0], ReportKind.FILL, qty=1.0, ts=rig.T0)  # starts the cooldown
    rig.position(0, 0, 50.0, 120.0)  # long at 120, marked at 100: drawdown trips
    rig.live_order(9, 0, 0, Side.BUY, 1.0)
    rig.ctx.control[0]["kill"] = Reason.DRAWDOWN
    c = rig.ctx.control[0]
    for forged in (False, True):
        cid = int(c["next_client_id"])
        c["flatten_from"], c["flatten_to"] = (cid + 1, cid + 2) if forged else (cid, cid + 1)
        for g, refuses in guards:
            rig.ctx.counts[0] = 0
            sdk.submit(rig.ctx, sdk.KERNEL_SOURCE, 0, 0, Side.SELL, OrderType.MARKET, TimeInForce.IOC,
                       50.0, np.nan)
            c["next_client_id"] = cid  # every guard sees the same intent
            code = int(g.check(g.params, g.state, rig.ctx, 0))
            assert (code != 0) == (refuses and forged), (g.name, forged, code)


@pytest.mark.parametrize("secs", [1e-3, 0.1, 1.0, 5.0, 60.0, 3600.0, 86_400.0])
@pytest.mark.parametrize("halflife_s", [60.0, 3600.0])
def test_ewma_weights_are_the_exponential_ones(secs: float, halflife_s: float) -> None:
    from tradeloop_plugin_risk._limits import _ewma_weights

    tau = halflife_s / math.log(2.0)
    w, gain = _ewma_weights(secs, 1.0 / tau)
    y = secs / tau
    if y < 1e-3:  # the series: as exact as the references
        tol_w = tol_gain = 3e-16
    else:  # exp: y's own rounding grows y-fold in exp(-y), and 1 - w cancels by 1 / y
        tol_w, tol_gain = 5e-16 * max(y, 1.0), 5e-16 / min(y, 1.0)
    assert w == pytest.approx(math.exp(-y), rel=tol_w, abs=0.0)
    # -expm1 is the exact 1 - exp(-y)
    assert gain == pytest.approx(-math.expm1(-y) / secs, rel=tol_gain, abs=0.0)
