"""The conformance kit fails non-conforming plugins with a message that says what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from tradeloop.cli._scaffold import render_plugin
from tradeloop_sdk import ComponentKind, DataStats, HotPath, params_array
from tradeloop_sdk.conformance import DataProviderConformance, GateConformance
from tradeloop_sdk.conformance._gates import with_defects
from tradeloop_sdk.conformance.suite import default_scenario


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
        ("FAILED" in r.stdout and "duplicate_client_id" in r.stdout)
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


# --- gates and data providers that break the contract, checked in process ---

@numba.njit
def _blind_gate(params, state, ctx, tick):  # type: ignore[no-untyped-def]
    return 0  # never flags anything


@numba.njit
def _paranoid_gate(params, state, ctx, tick):  # type: ignore[no-untyped-def]
    return 2  # STALE on every tick


@numba.njit
def _bogus_gate(params, state, ctx, tick):  # type: ignore[no-untyped-def]
    return 1 << 12 if tick["bid"] > tick["ask"] else 0  # not a TickFlag bit


def _gate(kernel):  # type: ignore[no-untyped-def]
    return lambda u: HotPath(ComponentKind.GATE, params_array({"x": 0.0}), np.zeros(1), on_tick=kernel)


def test_gate_kit_fails_a_gate_that_never_flags() -> None:
    u, ticks = default_scenario()
    kit = GateConformance()
    kit.test_returns_tick_flags_and_passes_clean_data(_gate(_blind_gate), u, ticks)
    with pytest.raises(AssertionError, match="must flag the defect it exists for"):
        kit.test_flags_defective_data(_gate(_blind_gate), u, ticks, None)


def test_gate_kit_fails_a_gate_that_taints_clean_data() -> None:
    u, ticks = default_scenario()
    with pytest.raises(AssertionError, match=r"flagged 100\.0% of a clean scenario"):
        GateConformance().test_returns_tick_flags_and_passes_clean_data(_gate(_paranoid_gate), u, ticks)


def test_gate_kit_fails_flags_outside_the_taxonomy() -> None:
    u, ticks = default_scenario()
    with pytest.raises(AssertionError, match=r"outside tradeloop_sdk\.TickFlag"):
        GateConformance().test_returns_tick_flags_and_passes_clean_data(_gate(_bogus_gate), u, with_defects(ticks))


class _AlwaysGappy:
    """A provider that reports gaps whatever its data: clean or not."""

    def __init__(self, ticks: np.ndarray) -> None:
        self.ticks = ticks

    def chunks(self):  # type: ignore[no-untyped-def]
        yield self.ticks

    def stats(self) -> DataStats:
        return DataStats(rows=len(self.ticks), gaps=3)


class _Request:
    def __init__(self, **fixtures: object) -> None:
        self.fixtures = fixtures

    def getfixturevalue(self, name: str) -> object:
        return self.fixtures[name]


def test_data_kit_fails_a_provider_that_reports_gaps_in_clean_data() -> None:
    _, ticks = default_scenario()
    clean, gappy = _AlwaysGappy(ticks), _AlwaysGappy(ticks)
    with pytest.raises(AssertionError, match="gap-free data reports 3 gaps"):
        DataProviderConformance().test_gaps_are_reported(_Request(gappy_provider=gappy), clean)  # type: ignore[arg-type]
