"""The conformance kit, run the way a plugin author runs it, against first-party plugins."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

# A compiled strategy, the market maker, pipeline stages, guards, a gate (skipped by the
# guard kit: gates check ticks) and the synthetic data source.
PLUGINS = [
    "strategies:ema_cross",
    "strategies:avellaneda_stoikov",
    "stages:predict",
    "stages:size",
    "guards:precision",
    "guards:position_limit",
    "guards:order_limits",
    "guards:crossed_book",
    "data:synthetic",
]


def test_first_party_plugins_pass_the_kit() -> None:
    args = [a for p in PLUGINS for a in ("--tradeloop-plugin", p)]
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--pyargs", "tradeloop_sdk.conformance.suite", *args],
        capture_output=True, text=True, timeout=900,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout
