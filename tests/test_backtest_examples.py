"""Every example config passes `tradeloop check` and runs a short backtest that trades."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("ema_cross", "market_making", "arbitrage", "pipeline")
EXAMPLES = [ROOT / "examples" / f"{n}.toml" for n in NAMES]


def test_the_four_examples_are_there() -> None:
    assert all(p.is_file() for p in EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_checks_and_backtests(path: Path, tmp_path: Path) -> None:
    from tradeloop.cli import cli

    runner = CliRunner()
    checked = runner.invoke(cli, ["check", str(path)])
    assert checked.exit_code == 0, checked.output
    out = tmp_path / path.stem
    ran = runner.invoke(cli, ["backtest", str(path), "--from", "2024-01-01",
                              "--to", "2024-01-01T02:00", "--out", str(out), "--no-report"])
    assert ran.exit_code == 0, (ran.output, ran.exception)
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["ticks"] > 10_000
    assert summary["n_orders"] > 0, f"{path.stem} sent no order in two hours"
    assert (out / "fills.parquet").is_file() and (out / "equity.parquet").is_file()
