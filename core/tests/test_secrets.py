"""A secret held in an environment variable never reaches output, logs or error messages."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tradeloop._registry import Registry
from tradeloop.config import load_config, parse_config
from tradeloop_sdk import ConfigError, Secret

SECRET = "tl-s3cr3t-7a91c4e2-do-not-print"

CONFIG = """
[engine]
mode = "paper"
[engine.ops]
enabled = true
token = "env:TL_TEST_OPS_TOKEN"
[[strategies]]
use = "tl_fixture"
params = { venue = "sim", api_key = "env:TL_TEST_OPS_TOKEN" }
"""


def test_secret_values_stay_out_of_logs_reprs_and_errors(
    fixture_strategy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TL_TEST_OPS_TOKEN", SECRET)
    path = tmp_path / "run.toml"
    path.write_text(CONFIG)
    with caplog.at_level(logging.DEBUG):
        cfg = load_config(path)
        reg = Registry()
        parts = reg.build(cfg)
        logging.getLogger("tradeloop.test").info(
            "config %r params %r", cfg, parts.strategies[0].params
        )
        token = cfg.engine.ops.token
        assert isinstance(token, Secret) and token.resolve() == SECRET  # resolved only at use
        # the same value pasted inline is refused, and not echoed
        with pytest.raises(ConfigError) as info:
            parse_config(CONFIG.replace('"env:TL_TEST_OPS_TOKEN"', f'"{SECRET}"'), file="run.toml")
        logging.getLogger("tradeloop.test").error("%s", info.value)
    text = caplog.text + repr(cfg) + str(cfg) + repr(parts) + str(info.value)
    assert "engine.ops.token: found an inline value (hidden)" in str(info.value)
    assert "strategies[0].params.api_key: found an inline value (hidden)" in str(info.value)
    assert SECRET not in text


@pytest.mark.slow
def test_cli_never_prints_the_secret(fixture_strategy: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(CONFIG)
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.replace('"env:TL_TEST_OPS_TOKEN"', f'"{SECRET}"'))
    env = dict(os.environ, TL_TEST_OPS_TOKEN=SECRET, PYTHONPATH=str(fixture_strategy))
    outputs = []
    for args, code in ((["-vv", "check", str(good)], 0), (["-vv", "check", str(bad)], 2)):
        proc = subprocess.run(
            [sys.executable, "-m", "tradeloop.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == code, proc.stderr
        outputs.append(proc.stdout + proc.stderr)
    assert "found an inline value (hidden)" in outputs[1]
    assert not any(SECRET in out for out in outputs)
