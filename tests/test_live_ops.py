"""Operations on a running engine: ops auth, reloads, kill file, restart without id reuse.

The broker is a double here: the test is about the operations plumbing. Venue behaviour
under faults is in test_live_chaos.py, against the real venue process.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from tradeloop.config import load_config, parse_config
from tradeloop.engine import EngineSettings, Journal, build_engine
from tradeloop_sdk import ConfigError


def _helpers():  # tests run with --import-mode=importlib: load the sibling module by path
    import importlib.util
    import pathlib

    spec = importlib.util.spec_from_file_location(
        "_live_helpers", pathlib.Path(__file__).with_name("_live_helpers.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CFG = """
[engine]
mode = "paper"
[universe]
venues = ["sim"]
symbols = ["BTC-USD"]
[data]
use = "synthetic"
params = {{ n_ticks = 200000, interval_ms = 50.0, seed = 5, rate = 3000.0 }}
[[strategies]]
use = "ema_cross"
params = {{ venue = "sim", symbol = "BTC-USD", fast = {fast}, slow = 8, qty = 0.5, max_position = 1.0 }}
"""


def _http(url: str, method: str = "GET", token: str | None = None) -> int:
    req = urllib.request.Request(url, data=b"{}" if method == "POST" else None, method=method)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.slow
def test_ops_reload_killfile_and_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("TL_TEST_OPS_TOKEN", "tok-123")
    path = tmp_path / "c.toml"
    path.write_text(CFG.format(fast=3))
    from tradeloop_sdk import Secret

    settings = EngineSettings(journal=str(tmp_path / "j.sqlite"), kill_file=str(tmp_path / "KILL"),
                              ops_enabled=True, ops_port=0, ops_token=Secret("env:TL_TEST_OPS_TOKEN"),
                              journal_sync="normal")
    broker = _helpers().InstantBroker()
    engine = build_engine(load_config(path), settings=settings, brokers={"sim": broker},
                          load_config=lambda: load_config(path))

    async def scenario() -> dict:
        await engine.start()
        try:
            return await steps()
        finally:  # stop the loop thread and tasks even when a step fails (no hang at exit)
            if engine.ready:
                engine.request_stop()
                await engine.shutdown()

    async def steps() -> dict:
        out: dict = {}
        base = f"http://127.0.0.1:{engine.ops.port}"
        assert engine.ops.host == "127.0.0.1"
        call = lambda *a: asyncio.to_thread(_http, *a)  # noqa: E731
        for _ in range(200):
            if await call(base + "/health/ready") == 200:
                break
            await asyncio.sleep(0.05)
        out["ready"] = await call(base + "/health/ready")
        out["no_token"] = await call(base + "/admin/pause", "POST")
        out["bad_token"] = await call(base + "/admin/pause", "POST", "nope")
        out["paused_after_refusals"] = int(engine.control[0]["pause"])
        out["pause"] = await call(base + "/admin/pause", "POST", "tok-123")
        out["paused"] = int(engine.control[0]["pause"])
        await call(base + "/admin/resume", "POST", "tok-123")
        # reloads from a worker thread while the executor commits (this raced on the journal)
        gen0 = int(engine.control[0]["generation"])
        results = []
        for i in range(10):
            path.write_text(CFG.format(fast=2 + (i + 1) % 5))
            results.append(await asyncio.to_thread(engine.reload))
            await asyncio.sleep(0.1)
        out["reloads_ok"] = sum(r["ok"] for r in results)
        out["generations"] = int(engine.control[0]["generation"]) - gen0
        out["fast_now"] = int(engine.loop._params[0][0]["fast"]) if "fast" in (engine.loop._params[0].dtype.names or ()) else None
        path.write_text(CFG.format(fast=3).replace('symbols = ["BTC-USD"]', 'symbols = ["BTC-USD", "ETH-USD"]'))
        out["refused"] = await asyncio.to_thread(engine.reload)
        (tmp_path / "KILL").write_text("test says stop\n")
        for _ in range(100):
            if engine.kill_reason():
                break
            await asyncio.sleep(0.05)
        out["kill"] = engine.kill_reason()
        get = lambda u: urllib.request.urlopen(u, timeout=5).read()  # noqa: E731
        out["metrics"] = (await asyncio.to_thread(get, base + "/metrics")).decode()
        out["state"] = json.loads(await asyncio.to_thread(get, base + "/state"))
        return out

    out = asyncio.run(asyncio.wait_for(scenario(), 180))
    assert out["ready"] == 200
    assert out["no_token"] == 401 and out["bad_token"] == 403 and out["paused_after_refusals"] == 0
    assert out["pause"] == 200 and out["paused"] == 1
    assert out["reloads_ok"] == 10
    assert out["generations"] == 10  # one bump per swapped component per reload
    assert not out["refused"]["ok"] and "universe" in out["refused"]["reason"]
    assert out["kill"] == "KILL_SWITCH"
    assert "tradeloop_tick_to_intent_seconds_count" in out["metrics"]
    assert out["state"]["kill"] == "KILL_SWITCH"
    sent = list(broker.received)
    assert sent and len(set(sent)) == len(sent)

    # restart on the same journal: ids continue above everything ever used
    j = Journal(tmp_path / "j.sqlite")
    first = j.first_client_id
    j.close()
    assert first > max(sent)


def test_engine_section_exposes_live_policies_and_names_bad_keys(tmp_path):
    text = """
[engine]
mode = "paper"
snapshot = "state.json"
cancel_on_stop = false
cancel_on_kill = false
stale_after_s = 2.5
submit_timeout_s = 0.5
reconnect_feeds = true
journal_sync = "normal"
"""
    s = EngineSettings.from_config(parse_config(text, file="run.toml"))
    assert (s.snapshot, s.cancel_on_stop, s.cancel_on_kill, s.stale_after_s, s.submit_timeout_s,
            s.reconnect_feeds, s.journal_sync, s.process) == (
        "state.json", False, False, 2.5, 0.5, True, "normal", False)
    for bad, key in (("stale_after_s = 0", "engine.stale_after_s"),
                     ("submit_timeout_s = -1.0", "engine.submit_timeout_s"),
                     ('journal_sync = "sometimes"', "engine.journal_sync"),
                     ("cancel_on_stop = 1", "engine.cancel_on_stop"),
                     ("proces = true", "engine.proces")):
        with pytest.raises(ConfigError) as err:
            parse_config(f"[engine]\nmode = \"paper\"\n{bad}\n", file="run.toml")
        assert key in str(err.value), str(err.value)

