"""Sweeps on a process pool and on Ray, and replay through the engine equal to a backtest."""

from __future__ import annotations

import json
import re
import time
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
EMA = ROOT / "examples" / "ema_cross.toml"

pytestmark = pytest.mark.slow


def test_sweep_cli_on_a_local_pool(tmp_path: Path) -> None:
    from tradeloop.cli import cli

    out = tmp_path / "sweep"
    r = CliRunner().invoke(cli, [
        "sweep", str(EMA), "--grid", "strategies[0].params.fast=100,300",
        "--grid", "strategies[0].params.slow=200,1000", "--workers", "2",
        "--from", "2024-01-01", "--to", "2024-01-01T00:40", "--out", str(out),
    ])
    assert r.exit_code == 0, (r.output, r.exception)
    rows = json.loads((out / "sweep.json").read_text())
    assert len(rows) == 4
    ok = [row for row in rows if not row["error"]]
    # (fast 300, slow 200) is refused by the strategy's params: a row, not a crash
    bad = [row for row in rows if row["error"]]
    assert len(ok) == 3 and all(row["ticks_per_s"] for row in ok)
    assert len(bad) == 1 and "must be smaller than slow" in bad[0]["error"]
    assert (out / "heatmap.png").read_bytes().startswith(b"\x89PNG")
    html = (out / "sweep.html").read_text()
    assert html.count("<tr>") == 5 and "data:image/png;base64," in html


def test_sweep_on_local_ray_matches_serial() -> None:
    pytest.importorskip("ray")
    from tradeloop.backtest._point import run_point
    from tradeloop.backtest._sweep import grid_points, run_points

    doc = tomllib.loads(EMA.read_text())
    doc["backtest"]["to"] = datetime(2024, 1, 1, 0, 30)
    pts = grid_points({"strategies[0].params.fast": [50, 200], "strategies[0].params.slow": [1000]})
    serial = run_points(run_point, doc, pts, source=str(EMA), workers=1)
    ray = run_points(run_point, doc, pts, source=str(EMA), workers=2, ray_address="local")
    assert [r.error for r in ray] == ["", ""]
    for a, b in zip(serial, ray, strict=True):
        assert a.summary["net_pnl"] == b.summary["net_pnl"]
        assert a.summary["n_fills"] == b.summary["n_fills"] > 0


_PROBE = """
import os, time

def run(doc, ov, source):
    time.sleep(ov["sleep"])
    return {"pid": os.getpid(), "a": ov["a"]}
"""


def test_ray_and_this_process_share_the_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    import os

    from tradeloop.backtest._sweep import grid_points, run_points

    (tmp_path / "ray_probe.py").write_text(_PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    # Ray's workers import the runner by name: they inherit the environment from ray.init
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    import ray_probe  # type: ignore[import-not-found]

    pts = grid_points({"a": list(range(40)), "sleep": [0.25]})
    seen: list[int] = []
    res = run_points(ray_probe.run, {}, pts, workers=2, ray_address="local",
                     on_result=lambda r: seen.append(r.point.index))
    assert [r.point.index for r in res] == list(range(40)) and sorted(seen) == list(range(40))
    assert not [r.error for r in res if r.error]
    assert all(r.summary and r.summary["a"] == r.point.index for r in res)
    pids = {r.summary["pid"] for r in res if r.summary}
    # this process ran points while Ray started, and the one Ray CPU ran the others
    assert os.getpid() in pids and len(pids) >= 2


def test_replay_at_max_speed_gives_the_backtest_fills() -> None:
    from tradeloop.backtest import run_backtest
    from tradeloop.backtest._replay import parse_speed, run_replay
    from tradeloop.config import parse_config

    # a fast pair trades every few dozen ticks: the loop holds after each order until its
    # fill is back, and the venue sees each tick first while an order is live
    text = EMA.read_text()
    text = text[: text.index("# The standard guard set")] + (
        '[[guards]]\nuse = "precision"\n\n[[guards]]\nuse = "position_limit"\n'
        '[guards.params]\nmax_qty = 1.0\n\n'
    ) + text[text.index("[backtest]"):]
    text = re.sub(r"(?m)^fast = \d+", "fast = 20", text)
    text = re.sub(r"(?m)^slow = \d+", "slow = 100", text)
    assert "fast = 20" in text and "slow = 100" in text
    cfg = parse_config(text, file="replay.toml")
    assert parse_speed("max") == float("inf") and parse_speed("original") == 1.0
    bt = run_backtest(cfg, end="2024-01-01T00:20")
    rp = run_replay(cfg, speed=parse_speed("max"), end="2024-01-01T00:20")
    assert rp.n_ticks == bt.n_ticks and not rp.interrupted
    cols = ["ts", "client_id", "side", "fill_qty", "fill_price", "fee", "liquidity"]
    assert len(bt.fills) > 20
    assert bt.fills[cols].tobytes() == rp.fills[cols].tobytes()


def test_replay_of_the_shipped_example_runs_ahead_and_gives_the_backtest_fills(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tradeloop.backtest import _replay, run_backtest
    from tradeloop.config import load_config

    feeds: list[_replay.LockstepFeed] = []
    init = _replay.LockstepFeed.__init__

    def spy(self: _replay.LockstepFeed, *a: object, **kw: object) -> None:
        init(self, *a, **kw)  # type: ignore[arg-type]
        feeds.append(self)

    monkeypatch.setattr(_replay.LockstepFeed, "__init__", spy)
    # every gate and guard of the standard set: those that read the loop's clock (rate
    # limit, cooldown, stale reference, taints) see the ticks' time in a replay, as here
    cfg = load_config(EMA)
    bt = run_backtest(cfg, end="2024-01-01T06:00")
    rp = _replay.run_replay(cfg, end="2024-01-01T06:00")
    assert rp.n_ticks == bt.n_ticks > 200_000 and not rp.interrupted
    cols = ["ts", "client_id", "side", "fill_qty", "fill_price", "fee", "liquidity"]
    assert len(bt.fills) >= 40
    assert bt.fills[cols].tobytes() == rp.fills[cols].tobytes()
    assert rp.intents["client_id"].tolist() == bt.intents["client_id"].tolist()
    # with no order live at the venue the loop took runs of ticks, not one at a time
    (feed,) = feeds
    assert feed.batched + feed.stepped == rp.n_ticks
    assert feed.batched > 0.99 * rp.n_ticks


def test_paced_replay_with_every_guard_gives_the_backtest_fills() -> None:
    from tradeloop.backtest import run_backtest
    from tradeloop.backtest._replay import run_replay
    from tradeloop.config import parse_config

    # a fast pair trades every few dozen ticks through every gate and guard; paced at 60x
    # the guards that measure time (rate limit, cooldown, staleness) still see tick time
    text = re.sub(r"(?m)^fast = \d+", "fast = 20", EMA.read_text())
    text = re.sub(r"(?m)^slow = \d+", "slow = 100", text)
    cfg = parse_config(text, file="paced.toml")
    bt = run_backtest(cfg, end="2024-01-01T00:02")
    t0 = time.monotonic()
    rp = run_replay(cfg, speed=60.0, end="2024-01-01T00:02")
    # two minutes of ticks at 60x take about two seconds, not less
    assert time.monotonic() - t0 >= 1.9
    assert rp.n_ticks == bt.n_ticks and not rp.interrupted
    cols = ["ts", "client_id", "side", "fill_qty", "fill_price", "fee", "liquidity"]
    assert len(bt.fills) > 20
    assert bt.fills[cols].tobytes() == rp.fills[cols].tobytes()


def test_market_maker_replay_sends_the_backtest_intents(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradeloop.backtest import _lockstep, run_backtest
    from tradeloop.backtest._replay import run_replay
    from tradeloop.config import load_config

    cancels: list[int] = []
    inner_cancel = _lockstep.VenueFirst.cancel

    async def spy(self: _lockstep.VenueFirst, client_id: int) -> None:
        cancels.append(client_id)
        await inner_cancel(self, client_id)

    monkeypatch.setattr(_lockstep.VenueFirst, "cancel", spy)
    # quotes rest at the venue all the time (each tick goes to the venue first, one at a
    # time) and are replaced every few ticks: every intent and report equals the backtest's
    cfg = load_config(ROOT / "examples" / "market_making.toml")
    bt = run_backtest(cfg, end="2024-01-01T00:05")
    rp = run_replay(cfg, end="2024-01-01T00:05")
    assert rp.n_ticks == bt.n_ticks and not rp.interrupted
    assert len(bt.intents) > 500
    cols = [c for c in bt.intents.dtype.names or () if not c.startswith("_")]
    assert bt.intents[cols].tobytes() == rp.intents[cols].tobytes()
    rcols = ["client_id", "kind", "reason", "fill_qty", "fill_price"]
    assert bt.reports[rcols].tobytes() == rp.reports[rcols].tobytes()
    # the replay ends as the backtest does, quotes left resting: the venue got exactly the
    # cancels the strategy sent, none on stop (which no further tick would ever answer)
    sent = rp.intents[(rp.intents["action"] == 2) & (rp.intents["reason"] == 0)]
    assert cancels == [int(t or c) for t, c in zip(sent["target_id"].tolist(),
                                                   sent["client_id"].tolist(), strict=True)]


def test_replay_in_process_mode_gives_the_backtest_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradeloop.backtest import _replay, run_backtest
    from tradeloop.config import parse_config
    from tradeloop.engine._process_loop import ProcessLoop

    loops: list[object] = []
    start = _replay.LockstepFeed.stream

    def spy(self: _replay.LockstepFeed):  # type: ignore[no-untyped-def]
        loops.append(self.engine.loop)
        return start(self)

    monkeypatch.setattr(_replay.LockstepFeed, "stream", spy)
    # the loop runs in its own process over shared memory: the feed steps it through the
    # stepping counters there, and the fills are still the backtest's
    text = re.sub(r"(?m)^fast = \d+", "fast = 20", EMA.read_text())
    text = re.sub(r"(?m)^slow = \d+", "slow = 100", text)
    text = text.replace('[engine]\nmode = "backtest"', '[engine]\nmode = "backtest"\nprocess = true')
    cfg = parse_config(text, file="process.toml")
    assert cfg.engine.process
    bt = run_backtest(cfg, end="2024-01-01T00:05")
    rp = _replay.run_replay(cfg, end="2024-01-01T00:05")
    assert len(loops) == 1 and isinstance(loops[0], ProcessLoop)
    assert rp.n_ticks == bt.n_ticks and not rp.interrupted
    cols = ["ts", "client_id", "side", "fill_qty", "fill_price", "fee", "liquidity"]
    assert len(bt.fills) > 20
    assert bt.fills[cols].tobytes() == rp.fills[cols].tobytes()


def test_parse_speed_rejects_nonsense() -> None:
    from tradeloop.backtest._replay import parse_speed

    assert parse_speed("10") == 10.0
    for bad in ("0", "-2", "fast"):
        with pytest.raises(ValueError, match="--speed"):
            parse_speed(bad)
