"""Paper trading through the engine and SimBroker gives the same fills as a backtest.

The same synthetic ticks go (a) through ``build_loop(mode="backtest")`` with the sim
venue's HotPath compiled in, and (b) through the live engine in paper mode: fused loop on
its thread, intents over the order ring, executor, journal, SimBroker (the same matching
kernel) and reports back over the report ring, paced tick by tick (``LockstepFeed``).
"""

from __future__ import annotations

import numpy as np
import pytest
from tradeloop.backtest._replay import run_replay
from tradeloop.backtest._runner import run_backtest
from tradeloop.config import parse_config

CFG = """
[engine]
mode = "paper"
[universe]
venues = ["sim"]
symbols = ["BTC-USD"]
[data]
use = "synthetic"
params = { n_ticks = 800, interval_ms = 200.0, seed = 11 }
[broker]
use = "sim"
params = { latency_ns = LATENCY, report_latency_ns = REPORT_LATENCY, allow_short = true, starting_balances = { USD = "1000000" } }
[[strategies]]
use = "ema_cross"
params = { venue = "sim", symbol = "BTC-USD", fast = 3, slow = 8, qty = 0.01, max_position = 0.02 }
[backtest]
cash = { USD = 1000000 }
"""


def _key(fills: np.ndarray) -> list[tuple]:
    return [(int(f["client_id"]), int(f["side"]), float(f["fill_qty"]), float(f["fill_price"]),
             int(f["ts"]), int(f["kind"])) for f in fills]


@pytest.mark.parametrize(("latency", "report_latency"), [(0, 0), (150_000_000, 30_000_000)])
def test_paper_fills_equal_backtest_fills(tmp_path, latency, report_latency):
    text = CFG.replace("REPORT_LATENCY", str(report_latency)).replace("LATENCY", str(latency))
    cfg = parse_config(text, file="equiv.toml")
    bt = run_backtest(cfg)
    paper = run_replay(cfg, state_dir=tmp_path)
    assert len(bt.fills) > 5, "the scenario must trade"
    assert _key(paper.fills) == _key(bt.fills)
    pos_bt = sum((1 if f["side"] == 1 else -1) * f["fill_qty"] for f in bt.fills)
    pos_paper = sum((1 if f["side"] == 1 else -1) * f["fill_qty"] for f in paper.fills)
    assert pos_bt == pos_paper
    # the paper run journaled every fill it applied
    from tradeloop.engine import Journal

    j = Journal(tmp_path / "journal.sqlite")
    journal_fills = [e for e in j.entries(["report"]) if e.data["kind"] in ("FILL", "PARTIAL")]
    assert len(journal_fills) == len(paper.fills)
    j.close()
