"""One Ctrl-C, one interrupt: a repeat of the same keypress must not abort the wrap-up.

A terminal sends SIGINT to its whole foreground process group. Under ``uv run`` (the
README's commands) that group holds uv and this process, and uv forwards the signal it got
to its child as well: one Ctrl-C arrives here twice, a few milliseconds apart. The first
stops a backtest or replay, which then writes its partial results; the copy used to land
in that writing and abort it (exit 1, nothing written). A second SIGINT within
``REPEAT_S`` of the first is taken for that copy, also when a running engine took the
first (``tradeloop._interrupts``); a later one still aborts.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from .._interrupts import note_interrupt, since_interrupt

#: seconds within which a second SIGINT is the first one's copy
REPEAT_S = 1.0


@contextmanager
def ctrl_c_once(repeat_s: float = REPEAT_S) -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt, except a repeat within ``repeat_s`` of the last one.

    Leaves SIGINT alone when it is ignored (a background job) or when not called from the
    main thread (only it can set signal handlers).
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
        yield
        return

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if since_interrupt() < repeat_s:
            return
        note_interrupt()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def await_copy(repeat_s: float = REPEAT_S) -> None:
    """After an interrupt, wait out the rest of its window inside :func:`ctrl_c_once`: uv's
    copy comes ~0.2 s after the first, and a command that has written its results by then
    would otherwise be killed by it on the way out."""
    time.sleep(max(0.0, repeat_s - since_interrupt()))
