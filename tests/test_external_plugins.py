"""Third-party plugin distributions, built and installed for real, as a user would.

The distributions under ``tests/plugin_dists`` are not workspace members. The test builds
their wheels (``uv build``), creates a fresh venv, installs the workspace's sdk and core
(editable, no deps) and the wheels with ``uv pip install --offline``, and borrows the
workspace environment's third-party libraries through a ``.pth`` file so nothing is
downloaded. Then it runs that venv's ``tradeloop``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISTS = ROOT / "tests" / "plugin_dists"
pytestmark = pytest.mark.slow


def _uv(*args: str) -> None:
    cmd = [sys.executable, "-m", "uv", *args]
    proc = subprocess.run(
        [*cmd[:3], args[0], "--offline", *args[1:]], capture_output=True, text=True
    )
    if proc.returncode != 0:  # an empty uv cache: allow the index (PyPI is reachable)
        proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("ext")
    wheels = tmp / "wheels"
    for d in ("ext_good", "ext_broken", "ext_misspelt"):
        _uv("build", "-q", "--wheel", "--out-dir", str(wheels), str(DISTS / d))
    env = tmp / "venv"
    _uv("venv", "-q", "--python", sys.executable, str(env))
    py = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_tl_workspace_libs.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _uv(
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--python",
        str(py),
        "-e",
        str(ROOT / "sdk"),
        "-e",
        str(ROOT / "core"),
        *map(str, sorted(wheels.glob("*.whl"))),
    )
    return env


def tradeloop(env: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = env / ("Scripts/tradeloop.exe" if os.name == "nt" else "bin/tradeloop")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env=dict(os.environ, COLUMNS="250", TRADELOOP_CACHE_DIR=str(env / "tl-cache")),
    )


def test_installed_plugins_are_listed_and_broken_ones_reported(venv: Path) -> None:
    proc = tradeloop(venv, "plugins", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    good = rows["ext_momentum"]
    assert (good["kind"], good["distribution"], good["version"], good["sdk"], good["status"]) == (
        "strategies",
        "tl-ext-good",
        "1.2.3",
        "<2,>=0.1",
        "ok",
    )
    assert good["hooks"] == ["tradeloop_python_strategy"]
    assert rows["ext_broken"]["status"] == "broken"
    assert rows["ext_broken"]["reason"] == (
        "imports 'tl_ext_dependency_that_is_not_installed', which is not installed"
    )
    assert rows["ext_misspelt"]["reason"] == (
        "hook 'tradeloop_hot_pth' is not a tradeloop hook (did you mean 'tradeloop_hot_path'?)"
    )
    # the workspace's own plugins are still listed next to them
    assert any(r["distribution"].startswith("tradeloop-plugin-") for r in rows.values())


def test_everything_else_keeps_working_next_to_a_broken_plugin(venv: Path, tmp_path: Path) -> None:
    proc = tradeloop(venv, "plugins", "show", "ext_momentum")
    assert proc.returncode == 0, proc.stderr
    assert "Buys after ``lookback`` rising ticks" in proc.stdout and "<= 1000" in proc.stdout
    proc = tradeloop(venv, "ext-hello")
    assert proc.returncode == 0 and proc.stdout.strip() == "hello from tl-ext-good"
    cfg = tmp_path / "ext.toml"
    cfg.write_text('[[strategies]]\nuse = "ext_momentum"\n[strategies.params]\nlookback = 0\n')
    proc = tradeloop(venv, "check", str(cfg))
    assert proc.returncode == 2
    assert (
        f"{cfg}:4: strategies[0].params.lookback: found 0, expected >= 1 and <= 1000" in proc.stderr
    )
    cfg.write_text('[plugins]\ndisabled = ["ext_broken"]\n')
    proc = tradeloop(
        venv, "plugins", "list", "--json", "--kind", "strategies", "--config", str(cfg)
    )
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["ext_broken"]["status"] == "disabled" and rows["ext_momentum"]["status"] == "ok"


def test_a_broken_plugin_named_by_a_config_is_a_clear_error(venv: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[guards]]\nuse = "ext_misspelt"\n')
    proc = tradeloop(venv, "check", str(cfg))
    assert proc.returncode == 2
    assert (
        "guards[0].use: plugin cannot be used: plugin 'ext_misspelt', hook 'tradeloop_hot_pth': "
        "hook 'tradeloop_hot_pth' is not a tradeloop hook (did you mean 'tradeloop_hot_path'?); "
        "fix: rename it to 'tradeloop_hot_path'"
    ) in proc.stderr
