"""Sweep grammar, config-path overrides, grid and random points, serial runs and the table."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tradeloop.backtest import _sweep
from tradeloop.backtest._sweep import (
    SweepPoint,
    apply_overrides,
    grid_points,
    keep_loop_shared,
    parse_assignment,
    parse_value,
    random_points,
    run_points,
    set_path,
)
from tradeloop.backtest._sweep_report import heatmap, sweep_rows, write_sweep


def test_parse_values_and_assignments() -> None:
    assert [parse_value(v) for v in ("5", "2.5", "true", "'x'", "ema")] == [5, 2.5, True, "x", "ema"]
    assert parse_assignment("strategies[0].params.fast=5,10,20") == (
        "strategies[0].params.fast", [5, 10, 20])
    assert parse_assignment("guards[1].params.limit=0.5:2") == ("guards[1].params.limit", (0.5, 2))
    for bad in ("nopath", "a..b=1", "x=", "x=3:1", "x=a:b"):
        with pytest.raises(ValueError):
            parse_assignment(bad)


def test_set_path_on_toml_document() -> None:
    doc: dict[str, Any] = {"strategies": [{"use": "ema_cross", "params": {"fast": 10}}]}
    new = apply_overrides(doc, {"strategies[0].params.fast": 5, "backtest.seed": 3})
    assert new["strategies"][0]["params"]["fast"] == 5 and new["backtest"] == {"seed": 3}
    assert doc["strategies"][0]["params"]["fast"] == 10  # the base is not touched
    with pytest.raises(ValueError, match=r"no item \[2\]"):
        set_path(new, "strategies[2].params.fast", 1)
    with pytest.raises(ValueError, match="no list"):
        set_path(new, "stages[0].use", "x")


def test_a_sweep_over_compiled_in_params_keeps_one_loop_for_all_points() -> None:
    """Sweeping a guard's, the venue's or the universe's values turns off compiling them
    into the loop (else each point compiles one); a strategy sweep keeps it, and so does
    a document that sets it."""
    for path, shared in (("strategies[0].params.fast", None), ("guards[3].params.max_bps", False),
                         ("broker.params.latency_ms", False), ("universe.specs[0].taker_fee", False),
                         ("backtest.seed", None)):
        doc: dict[str, Any] = {"backtest": {"seed": 1}}
        keep_loop_shared(doc, [path])
        assert doc["backtest"].get("specialize") is shared, path
    doc = {"backtest": {"specialize": True}}
    keep_loop_shared(doc, ["guards[0].params.x"])
    assert doc["backtest"]["specialize"] is True


def test_grid_and_random_points() -> None:
    pts = grid_points({"a": [1, 2, 3], "b": [10, 20]})
    assert len(pts) == 6 and pts[1].overrides == {"a": 1, "b": 20}
    r1 = random_points({"a": (1, 5), "b": (0.0, 1.0), "c": ["x", "y"]}, 50, seed=4)
    r2 = random_points({"a": (1, 5), "b": (0.0, 1.0), "c": ["x", "y"]}, 50, seed=4)
    assert r1 == r2
    assert all(isinstance(p.overrides["a"], int) and 1 <= p.overrides["a"] <= 5 for p in r1)
    assert all(0.0 <= p.overrides["b"] <= 1.0 for p in r1)
    assert {p.overrides["c"] for p in r1} == {"x", "y"}
    # distinct points: a small discrete space is sampled without replacement, and asking
    # for more points than it has gives each configuration once
    r3 = random_points({"a": (1, 3), "c": ["x", "y", "y"]}, 4, seed=1)
    assert len({tuple(p.overrides.items()) for p in r3}) == 4
    r4 = random_points({"a": [100, 200, 400]}, 10, seed=0)
    assert sorted(p.overrides["a"] for p in r4) == [100, 200, 400]
    assert [p.index for p in r4] == [0, 1, 2]


def _fake_runner(doc: Any, ov: Any, source: str) -> dict[str, Any]:
    if ov["a"] == 3:
        raise ValueError("fast must be smaller than slow")
    return {"sharpe": ov["a"] * 1.0 - ov["b"] / 10, "max_drawdown": 0.1 * ov["a"], "net_pnl": "1.5"}


def test_serial_run_table_heatmap_and_files(tmp_path: Path) -> None:
    pts = grid_points({"a": [1, 2, 3], "b": [10, 20]})
    seen: list[int] = []
    res = run_points(_fake_runner, {}, pts, workers=1, on_result=lambda r: seen.append(r.point.index))
    assert [r.point.index for r in res] == list(range(6)) and sorted(seen) == list(range(6))
    failed = [r for r in res if r.error]
    assert len(failed) == 2 and "fast must be smaller" in failed[0].error
    cols, rows = sweep_rows(res, "sharpe")
    sharpe = [r[cols.index("sharpe")] for r in rows]
    assert sharpe[:4] == [1.0, 0.0, 0.0, -1.0] and sharpe[4:] == [None, None]
    _, rows_dd = sweep_rows(res, "max_drawdown")
    assert rows_dd[0][cols.index("max_drawdown")] == pytest.approx(0.1)
    title, png = heatmap(res, "sharpe")  # type: ignore[misc]
    assert png.startswith(b"\x89PNG") and "a x b" in title
    paths = write_sweep(res, tmp_path, name="t", metric="sharpe")
    table = pq.read_table(paths["table"]).to_pydict()
    assert table["sharpe"][0] == 1.0 and math.isnan(table["sharpe"][-1] or math.nan)
    html = paths["report"].read_text()
    assert 'id="sweep"' in html and "data:image/png;base64," in html and "http" not in html
    with pytest.raises(ValueError, match="unknown metric"):
        sweep_rows(res, "bogus")


def test_point_identity() -> None:
    assert SweepPoint(0, {"a": 1}) == SweepPoint(0, {"a": 1})


_PROBE = """
import os, time

def run(doc, ov, source):
    time.sleep(ov["sleep"])
    return {"pid": os.getpid(), "a": ov["a"]}
"""


def _probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A point runner in a module the pool's (spawned) workers can import too."""
    (tmp_path / "sweep_probe.py").write_text(_PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import sweep_probe  # type: ignore[import-not-found]

    return sweep_probe.run


def test_short_sweep_runs_here_without_a_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    pts = grid_points({"a": list(range(20)), "sleep": [0.0]})
    res = run_points(_probe(tmp_path, monkeypatch), {}, pts, workers=2)
    assert [r.summary["a"] for r in res if r.summary] == list(range(20))
    # the points take microseconds, a spawned worker seconds to start: no pool was worth it
    assert {r.summary["pid"] for r in res if r.summary} == {os.getpid()}


def test_pool_sweep_shares_points_with_the_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(_sweep, "POOL_MIN_S", 1.0)
    pts = grid_points({"a": list(range(16)), "sleep": [0.4]})
    seen: list[int] = []
    res = run_points(_probe(tmp_path, monkeypatch), {}, pts, workers=2,
                     on_result=lambda r: seen.append(r.point.index))
    assert [r.point.index for r in res] == list(range(16)) and sorted(seen) == list(range(16))
    assert all(r.summary and r.summary["a"] == r.point.index for r in res)
    pids = [r.summary["pid"] for r in res if r.summary]
    # this process and the pool both ran points, and on two processes in all: this one
    # counts as one of the ``workers`` (one more would only contend for the cores)
    assert os.getpid() in pids and len(set(pids)) == 2


def _slow_local_runner(doc: Any, ov: Any, source: str) -> dict[str, Any]:
    import time

    time.sleep(0.05)
    return {"a": ov["a"]}


def test_a_broken_pool_loses_no_point(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # this test module is not importable by name in a spawned worker: the pool breaks
    monkeypatch.setattr(_sweep, "POOL_MIN_S", 1.0)
    monkeypatch.setattr(_sweep, "start_method", lambda: "spawn")
    pts = grid_points({"a": list(range(200))})
    res = run_points(_slow_local_runner, {}, pts, workers=2)
    assert [r.summary["a"] for r in res if r.summary] == list(range(200))
    assert not [r for r in res if r.error]
    assert "process pool" in caplog.text


_PARENT = os.getpid()


def _dies_in_a_worker(doc: Any, ov: Any, source: str) -> dict[str, Any]:
    import time

    if os.getpid() != _PARENT:
        os._exit(3)  # a worker killed mid-point (out of memory, say)
    time.sleep(0.02)
    return {"a": ov["a"]}


def test_a_forked_worker_that_dies_loses_no_point(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    if _sweep.start_method() != "fork":
        pytest.skip("fork is not used here (not Linux, or other threads are alive)")
    monkeypatch.setattr(_sweep, "FORK_POOL_MIN_S", 0.1)
    pts = grid_points({"a": list(range(60))})
    res = run_points(_dies_in_a_worker, {}, pts, workers=2)
    assert [r.summary["a"] for r in res if r.summary] == list(range(60))
    assert not [r for r in res if r.error]
    assert "process pool broke" in caplog.text


_MARKED = """
import os, time

MARK = 0

def run(doc, ov, source):
    time.sleep(0.2)
    return {"pid": os.getpid(), "mark": MARK, "a": ov["a"]}
"""


def test_forked_workers_start_with_what_this_process_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if _sweep.start_method() != "fork":
        pytest.skip("fork is not used here (not Linux, or other threads are alive)")
    monkeypatch.setattr(_sweep, "FORK_POOL_MIN_S", 0.5)
    (tmp_path / "sweep_marked.py").write_text(_MARKED)
    monkeypatch.syspath_prepend(str(tmp_path))
    import sweep_marked  # type: ignore[import-not-found]

    sweep_marked.MARK = 7  # state of this process, as a loaded loop or a kept market is
    res = run_points(sweep_marked.run, {}, grid_points({"a": list(range(12))}), workers=2)
    assert [r.summary["a"] for r in res if r.summary] == list(range(12))
    pids = {r.summary["pid"] for r in res if r.summary}
    assert os.getpid() in pids and len(pids) == 2
    assert {r.summary["mark"] for r in res if r.summary} == {7}  # a spawned worker sees 0


def test_invalid_points_are_found_without_running_them() -> None:
    """A sweep learns which configurations cannot run before it starts any."""
    import tomllib

    from tradeloop.backtest._point import invalid_points

    ema = Path(__file__).resolve().parents[2] / "examples" / "ema_cross.toml"
    doc = tomllib.loads(ema.read_text())
    pts = grid_points({"strategies[0].params.fast": [100, 20_000, "x"]})
    bad = invalid_points(doc, pts, str(ema))
    assert sorted(bad) == [1, 2]
    assert "fast (20000) must be smaller than slow (9000)" in bad[1]
    assert bad[2].startswith("ConfigError: ") and "expected an integer" in bad[2]
    assert invalid_points(doc, grid_points({"strategies[0].params.fsat": [1]}), str(ema)) == {
        0: "ConfigError: strategies[0].params.fsat: found unknown key 'fsat', expected one of "
           "venue, symbol, fast, slow, qty, max_position, allow_short, max_reorders, tick_kind "
           "(did you mean 'fast'?)"}
