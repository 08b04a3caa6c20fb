"""``engine.process = true``: the fused loop in its own process over shared memory.

The end-to-end test is paper trading with the real sim venue (local matching kernel),
an EMA crossover behind the standard guard set, and a synthetic feed whose clock follows
the wall clock (so the data-quality gates pass it). The others use the broker double:
they are about the process plumbing (death of the loop process, pause/kill/flatten and
reload through the shared control words and params).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tradeloop.config import load_config, parse_config
from tradeloop.engine import EngineSettings, Journal, build_engine
from tradeloop.engine._journal import CONTROL, INTENT, REPORT, SUBMIT
from tradeloop_sdk import ConfigError


def _helpers():  # tests run with --import-mode=importlib: load the sibling module by path
    import importlib.util

    spec = importlib.util.spec_from_file_location("_live_helpers", Path(__file__).with_name("_live_helpers.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


H = _helpers()
ROOT = Path(__file__).resolve().parents[1]

PAPER = """
[engine]
mode = "paper"
process = true
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
lot_step = "0.0001"
min_notional = "10"
maker_fee = "0.0002"
taker_fee = "0.0005"
[data]
use = "synthetic"
params = {{ n_ticks = 3000, interval_ms = 2.0, rate = 500.0, seed = 5, start = "{start}" }}
[broker]
use = "sim"
params = {{ allow_short = true, starting_balances = {{ USD = "1000000" }} }}
[[strategies]]
use = "ema_cross"
params = {{ venue = "sim", symbol = "BTC-USD", fast = 3, slow = 8, qty = 0.01, max_position = 0.02 }}
"""

PLUMBING = """
[engine]
mode = "paper"
process = true
[universe]
venues = ["sim"]
symbols = ["BTC-USD"]
[data]
use = "synthetic"
params = {{ n_ticks = 400000, interval_ms = 50.0, seed = 5, rate = 2000.0 }}
[[strategies]]
use = "ema_cross"
params = {{ venue = "sim", symbol = "BTC-USD", fast = 3, slow = 8, qty = {qty}, max_position = 1.0 }}
"""


def _settings(tmp_path: Path, **kw) -> EngineSettings:
    return EngineSettings(journal=str(tmp_path / "j.sqlite"), kill_file=str(tmp_path / "KILL"),
                          journal_sync="normal", process=True, **kw)


def _our_segments() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith(f"tl{os.getpid()}_")}


def _standard_guards() -> str:
    return (ROOT / "examples" / "guards-standard.toml").read_text()


@pytest.mark.slow  # ~10 s warm; a cold compile of this guard set adds ~30 s
def test_paper_end_to_end_in_its_own_process(tmp_path):
    start = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    cfg = parse_config(PAPER.format(start=start) + _standard_guards(), file="paper.toml")
    engine = build_engine(cfg, settings=_settings(tmp_path, stop_when_feeds_end=True))
    block = engine.loop.block.name
    assert (Path("/dev/shm") / block).exists()
    code = asyncio.run(asyncio.wait_for(engine.run(install_signals=False), 240))
    assert code == 0
    pid = engine._lp.pid
    assert pid is not None and pid != os.getpid() and not engine._lp.alive()
    assert not (Path("/dev/shm") / block).exists() and not _our_segments()

    j = Journal(tmp_path / "j.sqlite")
    intents = {e.client_id for e in j.entries([INTENT])}
    submits = {e.client_id for e in j.entries([SUBMIT])}
    fills = [e.data for e in j.entries([REPORT]) if e.data["kind"] in ("FILL", "PARTIAL")]
    actions = [e.data["action"] for e in j.entries([CONTROL])]
    j.close()
    assert len(fills) >= 4, "the scenario must trade"
    assert submits and submits <= intents
    assert actions[0] == "start" and actions[-1] == "stop"
    # positions and PnL as the engine process sees them: written by the loop process
    net = sum((1 if f["side"] == "BUY" else -1) * float(f["fill_qty"]) for f in fills)
    st = engine.state()
    pos = st["positions"]["sim/BTC-USD"]
    assert pos["qty"] == pytest.approx(net, abs=1e-9)
    assert pos["n_fills"] == len(fills)
    assert pos["fees"] > 0 and st["control"]["ticks_in"] > 1000
    assert sum(st["guard_stats"][g][0] for g in st["guard_stats"]) > 0, "guards saw the orders"
    assert engine.events.counts.get("tradeloop_fill", 0) == len(fills)
    assert engine.events.counts.get("tradeloop_order_update", 0) >= 2 * len(fills)


def test_engine_notices_a_killed_loop_process(tmp_path):
    cfg = parse_config(PLUMBING.format(qty=0.5), file="run.toml")
    broker = H.InstantBroker()
    engine = build_engine(cfg, settings=_settings(tmp_path), brokers={"sim": broker})
    block = engine.loop.block.name
    et = H.EngineThread(engine)
    et.wait_ready()
    H.wait_for(lambda: len(broker.received) >= 5, 30, "orders before the kill")
    os.kill(engine._lp.pid, signal.SIGKILL)
    t0 = time.monotonic()
    assert et.stop(30) == 1
    assert time.monotonic() - t0 < 15, "the engine must stop promptly, not hang"
    assert not (Path("/dev/shm") / block).exists() and not _our_segments()
    j = Journal(tmp_path / "j.sqlite")
    died = [e.data for e in j.entries([CONTROL]) if e.data["action"] == "loop_died"]
    stop = [e.data for e in j.entries([CONTROL]) if e.data["action"] == "stop"]
    j.close()
    assert died and "SIGKILL" in died[0]["reason"]
    assert stop and stop[-1]["exit_code"] == 1
    assert any(e["kind"] == "loop_died" for e in engine.recent_events(1000))


def test_pause_flatten_and_reload_reach_the_loop_process(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(PLUMBING.format(qty=0.5))
    broker = H.InstantBroker()
    engine = build_engine(load_config(path), settings=_settings(tmp_path), brokers={"sim": broker},
                          load_config=lambda: load_config(path))
    et = H.EngineThread(engine)
    et.wait_ready()
    try:
        H.wait_for(lambda: len(broker.received) >= 5, 30, "orders")
        # pause: the loop process stops making new orders (the word lives in shared memory)
        et.on_loop(engine.pause)
        time.sleep(0.3)
        n = len(broker.received)
        time.sleep(0.7)
        assert len(broker.received) == n
        et.on_loop(engine.resume)
        H.wait_for(lambda: len(broker.received) > n, 30, "orders after resume")

        # reload: new params written in place while the loop process is parked
        gen = int(engine.control[0]["generation"])
        n = len(broker.fills_)
        path.write_text(PLUMBING.format(qty=0.25))
        res = et.on_loop(engine.reload)
        assert res["ok"] and res["changed"] == ["strategies[0]"], res
        assert int(engine.control[0]["generation"]) == gen + 1
        assert float(engine.loop._params[0][0]["qty"]) == 0.25
        path.write_text(PLUMBING.format(qty=0.25).replace('"BTC-USD"]', '"BTC-USD", "ETH-USD"]'))
        refused = et.on_loop(engine.reload)
        assert not refused["ok"] and "universe" in refused["reason"]
        # the loop process trades with the new size: target-position orders were multiples
        # of 0.5 so far; a target of +-0.25 makes an order of 0.25 plus a multiple of 0.5

        def quarters(fills):
            return [f for f in fills if f.fill_qty % Decimal("0.5") == Decimal("0.25")]

        assert not quarters(broker.fills_[:n])
        H.wait_for(lambda: quarters(broker.fills_[n:]), 30, "an order of the reloaded size")

        # kill, then flatten: the closing order is made in the engine process while the
        # loop process is parked, and its fill is applied by the loop process afterwards
        et.on_loop(engine.kill)
        assert engine.kill_reason() == "KILL_SWITCH"

        def settled():
            n = len(broker.received)
            time.sleep(0.4)
            return len(broker.received) == n

        H.wait_for(settled, 30, "orders in flight at the kill to settle")
        n = len(broker.received)
        held = engine.state()["positions"]["sim/BTC-USD"]["qty"]
        res = et.on_loop(engine.flatten)
        assert res["ok"] and res["orders"] == (1 if abs(held) > 1e-9 else 0), (res, held)
        H.wait_for(lambda: abs(engine.state()["positions"]["sim/BTC-USD"]["qty"]) < 1e-9, 30,
                   "a flat position", describe=lambda: engine.state()["positions"])
        time.sleep(0.3)
        assert len(broker.received) == n + res["orders"], "no strategy order after the kill"
    finally:
        code = et.stop(60)
    assert code == 0
    assert not _our_segments()


def test_python_mode_components_are_refused_in_process_mode(tmp_path):
    from tradeloop.engine import Engine
    from tradeloop.loop import build_loop, python_strategy
    from tradeloop_sdk import Universe

    u = Universe(venues=("sim",), symbols=("BTC-USD",))
    class Quiet:
        def on_tick(self, ctx, tick):
            return None

    loop = build_loop(u, [python_strategy(Quiet(), name="py")], mode="live")
    with pytest.raises(ValueError, match="Python mode"):
        Engine(loop, {"sim": H.InstantBroker()}, [], _settings(tmp_path))
    assert not _our_segments()
    _ = ConfigError
