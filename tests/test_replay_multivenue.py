"""Replay across two simulated venues: the engine path gives a backtest's fills.

One SimBroker simulates both venues of ``examples/arbitrage.toml``; the engine sees it as
one view per venue (``split_venues``), so each report is streamed once. The arbitrage
strategy hedges on reports, which a backtest does on the same tick: the replay feed waits
for those reactions before the next tick.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
ARB = ROOT / "examples" / "arbitrage.toml"
END = "2024-01-01T00:02"

pytestmark = pytest.mark.slow


def _rows(arr: np.ndarray, cols: list[str]) -> list[tuple[object, ...]]:
    return [tuple(r) for r in arr[cols].tolist()]


def test_two_venue_replay_at_max_speed_gives_the_backtest_fills(tmp_path: Path) -> None:
    from tradeloop.backtest import run_backtest
    from tradeloop.backtest._replay import parse_speed, run_replay
    from tradeloop.config import load_config
    from tradeloop_sdk import OrderType

    cfg = load_config(ARB)
    bt = run_backtest(cfg, end=END)
    rp = run_replay(cfg, speed=parse_speed("max"), end=END, state_dir=tmp_path)
    assert rp.n_ticks == bt.n_ticks and not rp.interrupted
    cols = ["ts", "client_id", "venue", "side", "fill_qty", "fill_price", "fee", "liquidity"]
    assert len(bt.fills) > 40 and set(bt.fills["venue"].tolist()) == {0, 1}
    # each venue's fills in venue order; across venues a tick's reports have no common
    # order (two streams, as with two real venues)
    for v in (0, 1):
        assert _rows(bt.fills[bt.fills["venue"] == v], cols) == \
            _rows(rp.fills[rp.fills["venue"] == v], cols)
    # every report once: none lost, none streamed twice by the shared venue
    rcols = ["ts", "client_id", "venue", "kind", "fill_qty", "fill_price", "reason"]
    assert sorted(_rows(rp.reports, rcols)) == sorted(_rows(bt.reports, rcols))
    # the same orders in the same sequence, hedges sent on reports included
    icols = ["client_id", "venue", "side", "type", "action", "qty"]
    assert _rows(rp.intents, icols) == _rows(bt.intents, icols)
    # hedges (market orders) are sent on reports: the replay waited for those reactions
    assert (bt.intents["type"] == int(OrderType.MARKET)).sum() > 2


def test_replay_cli_two_venues_writes_results(tmp_path: Path) -> None:
    from tradeloop.cli import cli

    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["replay", str(ARB), "--speed", "max", "--to", "2024-01-01T00:01",
                                 "--no-report", "--out", str(out)])
    assert r.exit_code == 0, (r.output, r.exception)
    fills = pq.read_table(out / "fills.parquet").to_pydict()
    assert set(fills["venue"]) == {"alpha", "beta"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_fills"] == len(fills["venue"]) > 0


def test_one_broker_under_two_venues_is_refused() -> None:
    from tradeloop.engine._executor import Executor
    from tradeloop_plugin_sim import SimBroker, SimVenue
    from tradeloop_sdk import Universe

    u = Universe(venues=("alpha", "beta"), symbols=("BTC-USD",), currencies=("USD", "BTC"))
    b = SimBroker(SimVenue(u))
    with pytest.raises(ValueError, match=r"registered for venues \['alpha', 'beta'\].*split_venues"):
        Executor(None, None, {"alpha": b, "beta": b}, None, u)  # type: ignore[arg-type]


def test_venue_views_show_one_venue_each() -> None:
    import asyncio

    from tradeloop.engine import split_venues
    from tradeloop_plugin_sim import SimBroker, SimVenue
    from tradeloop_sdk import Universe

    u = Universe(venues=("alpha", "beta"), symbols=("BTC-USD",), currencies=("USD", "BTC"))
    b = SimBroker(SimVenue(u, starting_balances={"USD": "100"}))
    views = split_venues(b, u.venues, u)

    async def go() -> None:
        for v in views.values():
            await v.connect()
        for name, v in views.items():
            assert {x.venue for x in await v.balances()} == {name}
            assert (await v.venue_spec()).name == name
        await views["alpha"].close()
        assert b._connected, "the shared broker stays open while a view uses it"
        await views["beta"].close()
        assert not b._connected

    asyncio.run(go())
    assert callable(getattr(views["alpha"], "feed", None))
    assert getattr(views["beta"], "feed", None) is None, "the shared venue is fed once"
    with pytest.raises(ValueError, match="distinct venues of the universe"):
        split_venues(b, ["alpha", "gamma"], u)
