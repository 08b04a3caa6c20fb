"""Process mode, engine side: start, park, watch and stop the loop process.

Parking (``Engine.exclusive``) goes through the shared control words instead of thread
events: the engine bumps the request counter and sets the stop word; the loop process
returns from its compiled call, forwards its logs and writes the request number back; the
engine then has the arrays to itself until it clears the stop word. A request counter, not
a flag, so an acknowledgement of an earlier park can never be mistaken for this one.

Death: :meth:`LoopProcess.died` is polled by the engine's housekeeping; a wait for a park
gives up with :class:`LoopProcessGone` as soon as the process is gone. Shared memory is
unlinked by :meth:`LoopProcess.release` after the process exited, and by a finaliser if
the engine never got that far; if the engine itself is killed, multiprocessing's resource
tracker unlinks it once the loop process (which exits when it sees the engine gone) is gone.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import signal
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ._process_child import child_main
from ._process_loop import (
    FAILED,
    RUNNING,
    W_PARK_ACK,
    W_PARK_REQ,
    W_SHUTDOWN,
    W_STATE,
    W_STOP,
    Shared,
)
from ._process_shm import unlink_block

_log = logging.getLogger("tradeloop.engine.process")


class LoopProcessGone(RuntimeError):
    """The loop process exited while the engine needed it (the message says how)."""


def _cleanup(holder: list[Any], block: Any) -> None:
    proc = holder[0]
    if proc is not None and proc.exitcode is None:
        proc.kill()
        proc.join(5)
    unlink_block(block)


class LoopProcess:
    """The loop process over a :class:`Shared` block (see the module docstring)."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.words: np.ndarray = shared.words
        self._proc: Any = None
        self._holder: list[Any] = [None]
        self._stopping = False
        self.released = False
        self._finalizer = weakref.finalize(self, _cleanup, self._holder, shared.loop.block)

    @property
    def pid(self) -> int | None:
        """The loop process's pid (None before start)."""
        return None if self._proc is None else int(self._proc.pid)

    def start(self) -> None:
        """Spawn the loop process (a fresh interpreter: nothing of this one is inherited)."""
        ctx = mp.get_context("spawn")
        self._proc = ctx.Process(target=child_main, args=(self.shared.spec,), name="tradeloop-loop",
                                 daemon=True)
        self._proc.start()
        self._holder[0] = self._proc
        _log.info("loop process %d started over shared memory %s", self._proc.pid,
                  self.shared.loop.block.name)

    async def wait_running(self, timeout_s: float) -> None:
        """Until the loop process runs its loop; LoopProcessGone / TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while int(self.words[W_STATE]) != RUNNING:
            if self.died():
                raise LoopProcessGone(f"the loop process did not start: {self.describe_exit()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the loop process did not start within {timeout_s:.0f}s "
                                   "(engine.process_start_timeout_s)")
            await asyncio.sleep(0.01)

    def alive(self) -> bool:
        """True while the loop process runs."""
        return self._proc is not None and self._proc.exitcode is None

    def died(self) -> bool:
        """True if the loop process exited without being asked to."""
        return self._proc is not None and not self._stopping and self._proc.exitcode is not None

    def describe_exit(self) -> str:
        """How the loop process ended, for logs and the journal."""
        code = None if self._proc is None else self._proc.exitcode
        if code is None:
            return "running"
        if code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit code {code}"
        err = bytes(self.shared.error).rstrip(b"\0").decode(errors="replace")
        if int(self.words[W_STATE]) == FAILED and err:
            how += f": {err}"
        return f"loop process {self._proc.pid} {how}"

    def exclusive(self, fn: Callable[[], Any], timeout_s: float) -> Any:
        """Run ``fn`` with the loop process parked between compiled calls."""
        if self._proc is None or (self._stopping and not self.alive()):
            return fn()  # no loop running: the arrays are ours
        if not self.alive():
            raise LoopProcessGone(f"cannot park the loop: {self.describe_exit()}")
        w = self.words
        req = int(w[W_PARK_REQ]) + 1
        w[W_PARK_REQ] = req
        w[W_STOP] = 1
        deadline = time.monotonic() + timeout_s
        try:
            while int(w[W_PARK_ACK]) != req:
                if not self.alive():
                    raise LoopProcessGone(f"the loop died while parking: {self.describe_exit()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the loop process did not park within {timeout_s:.1f}s")
                time.sleep(0.0002)
            return fn()
        finally:
            w[W_STOP] = 0

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the loop process to leave, take its last logs, and reap it (killed if stuck)."""
        self._stopping = True
        p = self._proc
        if p is None:
            return
        self.words[W_SHUTDOWN] = 1
        self.words[W_STOP] = 1
        deadline = time.monotonic() + timeout_s
        while p.exitcode is None and time.monotonic() < deadline:
            self.shared.loop._collect()  # the log rings must not stall its last forward
            await asyncio.sleep(0.01)
        if p.exitcode is None:
            _log.error("loop process %d did not stop in %.0fs; killing it", p.pid, timeout_s)
            p.kill()
            await asyncio.to_thread(p.join, 5.0)
        else:
            p.join(1.0)
        self.shared.loop._collect()

    def release(self) -> None:
        """Unlink the shared block (after the loop process exited); idempotent."""
        if self.released:
            return
        if self.alive():
            self._proc.kill()
            self._proc.join(5)
        self.released = True
        unlink_block(self.shared.loop.block)
        self._finalizer.detach()


__all__ = ["LoopProcess", "LoopProcessGone"]
