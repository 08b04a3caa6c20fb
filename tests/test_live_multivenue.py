"""Paper trading across two simulated venues: the config's one sim broker serves both."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from tradeloop.config import parse_config
from tradeloop.engine import EngineSettings, build_engine
from tradeloop.engine._journal import REPORT, SUBMIT, Journal

ROOT = Path(__file__).resolve().parents[1]


def test_arbitrage_example_trades_both_venues_in_paper_mode(tmp_path):
    text = (ROOT / "examples" / "arbitrage.toml").read_text()
    # a finite, unpaced feed: the run ends when the data does
    text = text.replace("seed = 5\n", "seed = 5\nn_ticks = 6000\nrate = 0.0\n", 1)
    cfg = parse_config(text, file="arbitrage.toml")
    settings = EngineSettings.from_config(
        cfg, journal=str(tmp_path / "j.sqlite"), kill_file=str(tmp_path / "KILL"),
        ops_enabled=False, stop_when_feeds_end=True, journal_sync="normal",
        snapshot=str(tmp_path / "snap.json"))
    engine = build_engine(cfg, settings=settings)
    assert sorted(engine.brokers) == ["alpha", "beta"]
    code = asyncio.run(asyncio.wait_for(engine.run(install_signals=False), 240))
    assert code == 0

    j = Journal(settings.journal)
    try:
        submits = list(j.entries([SUBMIT]))
        reports = list(j.entries([REPORT]))
    finally:
        j.close()
    venues = Counter(e.venue for e in submits)
    assert venues["alpha"] > 0 and venues["beta"] > 0, venues
    # every report reached the engine once: no (order, kind, fill) twice
    keys = [(e.client_id, e.data["kind"], e.data.get("fill_qty"), e.data.get("ts_exch"))
            for e in reports]
    assert len(keys) == len(set(keys))
    fills = [e for e in reports if e.data["kind"] in ("FILL", "PARTIAL")]
    assert fills, "no fill came back"
    st = engine.state()
    for v in ("alpha", "beta"):
        net = sum((1 if f.data["side"] == "BUY" else -1) * float(f.data["fill_qty"])
                  for f in fills if f.venue == v)
        assert st["positions"].get(f"{v}/BTC-USD", {"qty": 0.0})["qty"] == pytest.approx(net, abs=1e-9)
