"""A plugin of each kind from `tradeloop plugins new`, installed into a fresh virtual
environment next to tradeloop: listed by the host, passing its own tests and the
conformance kit, and usable from a config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tradeloop.cli._scaffold import KINDS, render_plugin

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    base = tmp_path_factory.mktemp("plugins")
    made = {kind: render_plugin(f"my_{kind}", kind, base) for kind in KINDS}
    venv = base / "venv"
    uv = [sys.executable, "-m", "uv"]
    r = _run([*uv, "venv", "-q", "--python", sys.executable, str(venv)])
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    local = ["sdk", "core", "plugins/brokers/sim"]
    args = [a for p in local for a in ("-e", str(ROOT / p))]
    args += [a for p in made.values() for a in ("-e", str(p))]
    r = _run([*uv, "pip", "install", "-q", "--python", str(py), "pytest", *args])
    assert r.returncode == 0, r.stderr
    return venv, made


def test_every_kind_is_listed_by_the_host(env: tuple[Path, dict[str, Path]]) -> None:
    venv, _ = env
    r = _run([str(venv / "bin" / "tradeloop"), "plugins", "list", "--json"])
    assert r.returncode == 0, r.stderr
    rows = {(p["kind"], p["name"]): p for p in json.loads(r.stdout)}
    groups = {"broker": "brokers", "data": "data", "strategy": "strategies",
              "stage": "stages", "guard": "guards", "rail": "rails"}
    for kind in KINDS:
        row = rows.get((groups[kind], f"my_{kind}"))
        assert row is not None, f"my_{kind} is not listed"
        assert row["status"] == "ok", row


@pytest.mark.parametrize("kind", KINDS)
def test_generated_tests_and_conformance_pass(env: tuple[Path, dict[str, Path]], kind: str) -> None:
    venv, made = env
    r = _run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=made[kind])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "passed" in r.stdout and "TestConformance" in _run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"],
        cwd=made[kind]).stdout


CONFIG = """
[universe]
venues = ["sim"]
symbols = ["BTCUSDT"]
currencies = ["USDT", "BTC"]

[data]
use = "my_data"
[data.params]
rows = 20000
start_price = 30000.0
spread = 0.5

[broker]
use = "sim"

[[strategies]]
use = "my_strategy"
[strategies.params]
venue = "sim"
symbol = "BTCUSDT"
run = 3

[[stages]]
use = "my_stage"

[[guards]]
use = "my_guard"
[guards.params]
max_qty = 0.005

[backtest.cash]
USDT = "100000"
"""


def test_generated_plugins_run_in_a_backtest(env: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    venv, _ = env
    cfg = tmp_path / "mine.toml"
    cfg.write_text(CONFIG)
    exe = str(venv / "bin" / "tradeloop")
    r = _run([exe, "check", str(cfg)])
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "out"
    r = _run([exe, "backtest", str(cfg), "--out", str(out), "--no-report", "--no-progress"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (out / "summary.json").exists()
    # the guard resized every order to 0.005: no fill can be larger
    import pyarrow.parquet as pq

    fills = pq.read_table(out / "fills.parquet").to_pylist()
    assert fills, "the generated strategy traded nothing"
    assert max(float(f["qty"]) for f in fills) <= 0.005 + 1e-12


def test_generated_broker_and_rail_pass_config_checks(env: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    venv, _ = env
    cfg = tmp_path / "live.toml"
    cfg.write_text(CONFIG.replace('use = "sim"', 'use = "my_broker"') + '\n[[rails]]\nuse = "my_rail"\n')
    r = _run([str(venv / "bin" / "tradeloop"), "check", str(cfg)])
    assert r.returncode == 0, r.stdout + r.stderr
