"""Python mode: plain-Python strategies run in the same fused pipeline."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from tradeloop.loop import build_loop, from_hook, python_strategy
from tradeloop_sdk import (
    TICK_DTYPE,
    ComponentKind,
    HotPath,
    OrderType,
    Side,
    TimeInForce,
    Universe,
    params_array,
    submit,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import _bench_kernels as bk

U = Universe(venues=("sim",), symbols=("A", "B"), currencies=("USD",))


def plain_on_tick(params, state, ctx, tick) -> None:  # type: ignore[no-untyped-def]
    """A HotPath(python_mode=True) kernel: counts ticks of symbol A, buys on the 3rd."""
    if int(tick["symbol"]) != 0:
        return
    state[0] += 1
    if state[0] == 3:
        submit(ctx, 0, 0, 0, int(Side.BUY), int(OrderType.MARKET), int(TimeInForce.IOC),
               float(params[0]["qty"]), np.nan)


class HookStrategy:
    """What ``tradeloop_python_strategy`` returns: sells symbol B when its bid > 100."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def on_tick(self, ctx, tick) -> None:  # type: ignore[no-untyped-def]
        if int(tick["symbol"]) == 1:
            self.seen.append(float(tick["bid"]))
            if len(self.seen) == 2:
                submit(ctx, 0, 0, 1, 2, 1, 2, 50.0, np.nan)  # the max_qty guard resizes it to 5


class Component:
    def tradeloop_python_strategy(self, universe):  # type: ignore[no-untyped-def]
        assert universe is U
        return HookStrategy()


@pytest.mark.slow  # compiled without the disk cache: ~20 s
def test_python_strategies_run_in_the_fused_pipeline(tmp_path: Path) -> None:
    plain = HotPath(kind=ComponentKind.STRATEGY, params=params_array({"qty": 2.0}),
                    state=np.zeros(1), on_tick=plain_on_tick, python_mode=True, name="plain")
    hook = from_hook(Component(), U)
    loop = build_loop(U, [plain, hook, *bk.guard_components(max_qty=5.0, limit=10.0),
                          bk.venue_component()], cache_dir=tmp_path)
    t = np.zeros(8, TICK_DTYPE)
    t["ts_exch"] = np.arange(1, 9)
    t["symbol"] = [0, 1, 0, 1, 0, 1, 0, 1]
    t["bid"], t["ask"], t["kind"] = 101.0, 101.5, 1
    loop.run(t)
    assert plain.state[0] == 4
    assert hook.on_tick.obj.seen == [101.0] * 4
    it = loop.drain_intents()
    assert it["qty"].tolist() == [5.0, 2.0] and it["reason"].tolist() == [0, 0]
    assert loop.ctx.positions[0, 0]["qty"] == 2.0 and loop.ctx.positions[0, 1]["qty"] == -5.0
    assert not loop._mod.CACHE  # python mode is compiled without the disk cache


def test_python_strategy_validation() -> None:
    with pytest.raises(TypeError, match="no callable on_tick"):
        python_strategy(object())
    with pytest.raises(TypeError, match="tradeloop_python_strategy"):
        from_hook(object(), U)
    bad = HotPath(kind=ComponentKind.STRATEGY, params=params_array({"x": 1}), state=np.zeros(1),
                  on_tick=plain_on_tick)  # a plain function without python_mode
    with pytest.raises(TypeError, match="python_mode=True"):
        build_loop(U, [bad])
