"""The live engine end to end with a real strategy and synthetic feed (broker double)."""

from __future__ import annotations

import asyncio

import pytest
from tradeloop.config import parse_config
from tradeloop.engine import EngineSettings, build_engine
from tradeloop.engine._journal import INTENT, REPORT, SUBMIT
from tradeloop_sdk import Side


def _helpers():  # tests run with --import-mode=importlib: load the sibling module by path
    import importlib.util
    import pathlib

    spec = importlib.util.spec_from_file_location(
        "_live_helpers", pathlib.Path(__file__).with_name("_live_helpers.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


InstantBroker = _helpers().InstantBroker

CFG = """
[engine]
mode = "paper"
[universe]
venues = ["sim"]
symbols = ["BTC-USD"]
[data]
use = "synthetic"
params = { n_ticks = 4000, interval_ms = 50.0, seed = 3, rate = 0.0 }
[[strategies]]
use = "ema_cross"
params = { venue = "sim", symbol = "BTC-USD", fast = 3, slow = 8, qty = 0.5, max_position = 1.0 }
"""


def test_engine_trades_journals_and_broadcasts(tmp_path):
    cfg = parse_config(CFG, file="test.toml")
    broker = InstantBroker()
    settings = EngineSettings(journal=str(tmp_path / "j.sqlite"), kill_file=str(tmp_path / "KILL"),
                              stop_when_feeds_end=True, journal_sync="normal")
    engine = build_engine(cfg, settings=settings, brokers={"sim": broker})
    code = asyncio.run(asyncio.wait_for(engine.run(install_signals=False), 120))
    assert code == 0
    assert broker.received, "no order reached the broker"
    assert len(set(broker.received)) == len(broker.received)
    from tradeloop.engine._journal import Journal

    j = Journal(settings.journal)
    intents = {e.client_id for e in j.entries([INTENT])}
    submits = {e.client_id for e in j.entries([SUBMIT])}
    fills = [e for e in j.entries([REPORT]) if e.data["kind"] == "FILL"]
    assert set(broker.received) <= intents and set(broker.received) == submits
    assert len(fills) == len(broker.received)
    net = sum((1 if f.data["side"] == "BUY" else -1) * float(f.data["qty"] if "qty" in f.data else f.data["fill_qty"]) for f in fills)
    st = engine.state()
    assert st["positions"]["sim/BTC-USD"]["qty"] == pytest.approx(net)
    assert engine.events.counts.get("tradeloop_fill", 0) == len(fills)
    assert engine.events.counts.get("tradeloop_order_update", 0) >= 2 * len(fills)
    j.close()
    _ = Side


def test_a_guard_breach_is_broadcast_once_with_what_the_guard_measured(tmp_path):
    """order_limits says what it measured (record_breach) before the loop's verdict: the
    observers get one breach per refused order, named after the guard, with its numbers."""
    cfg = parse_config(CFG + """
[[guards]]
use = "order_limits"
params = { max_notional = 1.0 }
""", file="test.toml")
    broker = InstantBroker()
    settings = EngineSettings(journal=str(tmp_path / "j.sqlite"), kill_file=str(tmp_path / "KILL"),
                              stop_when_feeds_end=True, journal_sync="normal")
    engine = build_engine(cfg, settings=settings, brokers={"sim": broker})
    got = []
    relay = engine.events.hooks

    class Tap:  # sees each breach on its way to the plugins' hook
        def __getattr__(self, name):
            return getattr(relay, name)

        def tradeloop_guard_breach(self, breach):
            got.append(breach)
            relay.tradeloop_guard_breach(breach=breach)

    engine.events.hooks = Tap()
    assert asyncio.run(asyncio.wait_for(engine.run(install_signals=False), 120)) == 0
    assert broker.received == []  # every order was refused
    assert got, "no breach broadcast"
    assert {b.guard for b in got} == {"order_limits"}
    assert len({b.client_id for b in got}) == len(got)  # once per refused order
    assert all(b.limit == 1.0 and b.value > 1.0 for b in got)  # the guard's numbers
    assert engine.events.counts["tradeloop_guard_breach"] == len(got)
