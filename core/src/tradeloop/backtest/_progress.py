"""Progress of a run: a rich bar with ticks per second and ETA on a terminal, silence elsewhere.

Progress is measured in data time: the run knows its period, and each chunk's last
timestamp says how far through it the run is, so the ETA needs no tick count up front.

Before the first tick the fused loop is loaded from numba's cache, or compiled when this
set of components has never run on the machine (minutes, once). The bar says which, so a
first run does not look hung, and its rate counts from the first tick, not from the compile.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["NullProgress", "RunProgress", "TickProgress", "make_progress"]


#: seconds of loading after which the bar says the loop is being compiled
COMPILE_HINT_S = 3.0


class RunProgress(Protocol):
    """What the runner reports progress to.

    It also calls ``phase(name)``, when the object has one: ``"compile"`` while the fused
    loop is compiled or loaded (before any data is read), ``"run"`` from then on.
    """

    def start(self, start_ns: int | None, end_ns: int | None) -> None:
        """The run covers ``[start_ns, end_ns]`` (either may be unknown)."""

    def advance(self, n_ticks: int, last_ts_ns: int) -> None:
        """``n_ticks`` more ticks were processed, the latest at ``last_ts_ns``."""

    def close(self) -> None:
        """The run ended."""


class NullProgress:
    """Reports nothing (not a terminal, or asked to be quiet)."""

    def start(self, start_ns: int | None, end_ns: int | None) -> None:
        """Ignore."""

    def phase(self, name: str) -> None:
        """Ignore."""

    def advance(self, n_ticks: int, last_ts_ns: int) -> None:
        """Ignore."""

    def close(self) -> None:
        """Ignore."""


class _PhaseColumn(ProgressColumn):
    """What the run is doing: loading or compiling the loop, or running."""

    def render(self, task: Task) -> Text:
        if task.fields.get("phase", "run") == "run":
            return Text("backtest", style="bold")
        if time.perf_counter() - task.fields.get("since", 0.0) < COMPILE_HINT_S:
            return Text("loading the fused loop", style="bold")
        return Text("compiling the fused loop (first run of this setup)", style="bold yellow")


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = task.fields.get("rate", 0.0)
        ticks = task.fields.get("ticks", 0)
        return Text(f"{ticks:,} ticks · {rate / 1e6:,.2f} M ticks/s", style="cyan")


class TickProgress:
    """A rich progress bar over the run's period."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: Any = None
        self._origin = 0
        self._ticks = 0
        self._t0 = 0.0

    def start(self, start_ns: int | None, end_ns: int | None) -> None:
        """Show the bar."""
        known = start_ns is not None and end_ns is not None and end_ns > start_ns
        self._origin = start_ns or 0
        self._progress = Progress(
            _PhaseColumn(),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self._console,
            transient=False,
        )
        total = float(end_ns - start_ns) if known else None  # type: ignore[operator]
        self._t0 = time.perf_counter()
        self._task = self._progress.add_task(
            "run", total=total, ticks=0, rate=0.0, phase="compile", since=self._t0)
        self._progress.start()

    def phase(self, name: str) -> None:
        """Show the run's phase; from ``"run"`` on, the rate counts ticks from now."""
        if self._progress is None:
            return
        now = time.perf_counter()
        if name == "run":
            self._t0 = now
            self._ticks = 0
        self._progress.update(self._task, phase=name, since=now)

    def advance(self, n_ticks: int, last_ts_ns: int) -> None:
        """Move the bar to ``last_ts_ns``."""
        if self._progress is None:
            return
        self._ticks += n_ticks
        if self._origin == 0:
            self._origin = last_ts_ns
        dt = time.perf_counter() - self._t0
        self._progress.update(
            self._task,
            completed=float(max(last_ts_ns - self._origin, 0)),
            ticks=self._ticks,
            rate=self._ticks / dt if dt > 0 else 0.0,
        )

    def close(self) -> None:
        """Stop drawing (the bar stays on screen)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def make_progress(enabled: bool | None = None, console: Console | None = None) -> RunProgress:
    """A bar when ``enabled`` (default: when stderr is a terminal), else silence."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return TickProgress(console) if enabled else NullProgress()
