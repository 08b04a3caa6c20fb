"""When SIGINT last arrived, whichever handler took it (the CLI's or a running engine's).

A terminal's Ctrl-C reaches a command under ``uv run`` twice: the terminal signals the
whole process group, and uv forwards its own copy (~0.2 s later here). The CLI takes a
second SIGINT soon after the first for that copy (see ``cli/_interrupt.py``), so it must
know of a first one an engine's asyncio handler took.
"""

from __future__ import annotations

import time

_last = [float("-inf")]


def note_interrupt() -> None:
    """Record that SIGINT arrived now."""
    _last[0] = time.monotonic()


def since_interrupt() -> float:
    """Seconds since SIGINT last arrived (inf if never)."""
    return time.monotonic() - _last[0]
