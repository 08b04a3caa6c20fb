"""The progress bar: its phases before the first tick, and a rate that excludes the compile."""

from __future__ import annotations

import io

from rich.console import Console
from tradeloop.backtest._progress import COMPILE_HINT_S, TickProgress, _PhaseColumn


def _label(bar: TickProgress) -> str:
    assert bar._progress is not None
    return _PhaseColumn().render(bar._progress.tasks[0]).plain


def test_phases_say_what_the_run_is_doing() -> None:
    bar = TickProgress(Console(file=io.StringIO(), force_terminal=True, width=200))
    bar.start(0, 10**12)
    # the runner loads the loop before it reads any data
    assert _label(bar) == "loading the fused loop"
    bar.phase("compile")
    assert _label(bar) == "loading the fused loop"
    # still waiting past the hint: a first run is compiling, and the bar says so
    assert bar._progress is not None
    bar._progress.update(bar._task, since=bar._progress.tasks[0].fields["since"] - COMPILE_HINT_S - 1)
    assert _label(bar).startswith("compiling the fused loop")
    bar.phase("run")
    assert _label(bar) == "backtest"
    bar.close()


def test_rate_counts_from_the_first_tick_not_from_the_compile() -> None:
    bar = TickProgress(Console(file=io.StringIO(), force_terminal=True, width=200))
    bar.start(0, 10**12)
    bar.phase("compile")
    bar._t0 -= 100.0  # a long compile before the first tick
    bar.phase("run")
    bar._t0 -= 1.0  # one second of running
    bar.advance(1_000_000, 10**9)
    assert bar._progress is not None
    rate = bar._progress.tasks[0].fields["rate"]
    assert 0.9e6 < rate <= 1e6
    bar.close()

