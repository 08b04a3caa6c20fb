"""The kill switch in a backtest through the simulated venue, driven by the config.

A strategy goes long; then the price gaps down with no order in flight. The drawdown
guard marks the position on that tick (its ``on_tick``), trips the kill switch before any
strategy sees the tick, the strategy's exit on the same tick is refused, and the kill
policy from ``[engine]`` decides what happens to the position: closed by kernel-sourced
market IOC orders (``flatten_on_kill = true``) or kept (``false``).
"""

from __future__ import annotations

import numpy as np
import pytest
from tradeloop.backtest import run_backtest
from tradeloop.backtest._memory import ArrayData
from tradeloop.config import parse_config
from tradeloop_sdk import KERNEL_SOURCE, NO_GUARD, TICK_DTYPE, EventKind, Reason, Side

pytestmark = pytest.mark.slow  # compiles a fused loop with the sim venue

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
GAP = 30  # index of the tick that gaps down

CONFIG = """
[engine]
mode = "backtest"
flatten_on_kill = {flatten}

[universe]
venues = ["sim"]
symbols = ["BTC-USD"]
currencies = ["USD", "BTC"]

[[universe.specs]]
venue = "sim"
symbol = "BTC-USD"
base = "BTC"
quote = "USD"
tick_size = "0.01"
lot_step = "0.001"

[backtest]
cash = {{ USD = "100000" }}

[data]
use = "synthetic"  # replaced by the in-memory ticks below

[broker]
use = "sim"

[[strategies]]
use = "ema_cross"
[strategies.params]
venue = "sim"
symbol = "BTC-USD"
fast = 2
slow = 5
qty = 1.0
max_position = 1.0
allow_short = false
tick_kind = "quote"

[[guards]]
use = "kill_switch"

[[guards]]
use = "drawdown"
[guards.params]
capital = 100000.0
max_total = {max_total}

[[guards]]
use = "precision"
"""


def _ticks() -> np.ndarray:
    n = GAP + 10
    # down (the averages settle below), up to 127.6 (a golden cross: long), then a gap to 75
    mid = np.concatenate([110.0 - np.arange(10) * 1.0, 101.0 + np.arange(GAP - 10) * 1.4,
                          np.full(10, 75.0)])
    t = np.zeros(n, TICK_DTYPE)
    t["kind"] = 1
    t["ts_exch"] = t["ts_recv"] = T0 + np.arange(n, dtype=np.int64) * S
    t["seq"] = np.arange(1, n + 1)
    t["bid"], t["ask"] = mid - 0.05, mid + 0.05
    t["bid_size"] = t["ask_size"] = 100.0
    return t


def _run(flatten: bool, max_total: float) -> tuple[object, float]:
    cfg = parse_config(CONFIG.format(flatten=str(flatten).lower(), max_total=max_total))
    res = run_backtest(cfg, provider=ArrayData(_ticks()))
    fills = res.fills
    signed = np.where(fills["side"] == int(Side.BUY), 1.0, -1.0) * fills["fill_qty"]
    return res, float(signed.sum())


@pytest.mark.parametrize("flatten", [True, False])
def test_a_price_gap_kills_on_its_tick_and_the_policy_decides_the_position(flatten: bool) -> None:
    res, position = _run(flatten, max_total=50.0)  # the gap: 52.6 below the peak
    t_gap = T0 + GAP * S
    kills = [e for e in res.events if e["kind"] == EventKind.KILL]
    assert len(kills) == 1 and int(kills[0]["ts"]) == t_gap  # no order in flight tripped it
    assert int(kills[0]["code"]) == Reason.DRAWDOWN
    it = res.intents
    before = it[(it["ts"] < t_gap) & (it["source"] != KERNEL_SOURCE)]
    assert len(before) >= 1 and np.all(before["reason"] == 0)  # the long went out
    # the strategy's exit on the gap tick (and any later one) met the kill in the kernel
    after = it[(it["ts"] >= t_gap) & (it["source"] != KERNEL_SOURCE)]
    assert len(after) >= 1
    assert np.all(after["reason"] == Reason.KILL_SWITCH) and np.all(after["guard"] == NO_GUARD)
    flat = it[it["source"] == KERNEL_SOURCE]
    if flatten:
        # one market IOC, sent on the gap tick, through the guards (none refused it), filled
        assert len(flat) == 1 and int(flat[0]["ts"]) == t_gap and flat[0]["reason"] == 0
        assert flat[0]["side"] == Side.SELL and flat[0]["qty"] == pytest.approx(1.0)
        assert position == pytest.approx(0.0, abs=1e-12)
    else:
        assert len(flat) == 0
        assert position == pytest.approx(1.0)


def test_just_inside_the_limit_nothing_is_killed() -> None:
    # the gap is 52.6 below the peak (mid 127.6 -> 75): a limit of 60 is never reached
    res, _ = _run(True, max_total=60.0)
    assert not any(e["kind"] == EventKind.KILL for e in res.events)
    assert not np.any(res.intents["source"] == KERNEL_SOURCE)
    assert np.all(res.intents["reason"] != Reason.KILL_SWITCH)
