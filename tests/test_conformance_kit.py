"""The conformance kit fails a non-conforming broker with a message that says what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tradeloop.cli._scaffold import render_plugin


def _broken_broker(tmp_path: Path) -> Path:
    made = render_plugin("leaky", "broker", tmp_path)
    src = made / "src" / "tradeloop_plugin_leaky" / "__init__.py"
    text = src.read_text()
    # the defect: forget every client id, so a repeated one is filled again
    assert "if intent.client_id in v.seen:" in text
    src.write_text(text.replace("if intent.client_id in v.seen:", "if False:"))
    return made


def test_double_filling_broker_fails_the_kit_with_a_clear_message(tmp_path: Path) -> None:
    made = _broken_broker(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(made / "src")}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "TestConformance",
         str(made / "tests")],
        capture_output=True, text=True, env=env, timeout=300, cwd=made,
    )
    assert r.returncode == 1, r.stdout[-2000:]
    assert "test_duplicate_client_id_never_double_fills FAILED" in r.stdout or \
        "FAILED" in r.stdout and "duplicate_client_id" in r.stdout
    assert "submitted twice was filled" in r.stdout
    assert "never filled again" in r.stdout
    # everything else the kit checks still passes: the message points at the one defect
    assert "1 failed" in r.stdout


def test_conforming_template_broker_passes(tmp_path: Path) -> None:
    made = render_plugin("tidy", "broker", tmp_path)
    env = {**os.environ, "PYTHONPATH": str(made / "src")}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "TestConformance",
         str(made / "tests")],
        capture_output=True, text=True, env=env, timeout=300, cwd=made,
    )
    assert r.returncode == 0, r.stdout[-3000:]
