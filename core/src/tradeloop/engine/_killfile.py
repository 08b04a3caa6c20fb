"""The kill file: when the configured path appears, the kill switch is set.

An operator (or a watchdog) can stop trading with ``touch`` alone, with no network
access to the engine. The file's first line, if any, becomes the recorded reason text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

_log = logging.getLogger("tradeloop.engine.killfile")


class KillFileWatcher:
    """Polls ``path`` every ``interval_s``; calls ``on_kill(text)`` once when it appears."""

    def __init__(self, path: str | Path, on_kill: Callable[[str], None], interval_s: float = 0.2) -> None:
        if interval_s <= 0:
            raise ValueError(f"kill file poll interval must be > 0, got {interval_s}")
        self.path = Path(path)
        self.on_kill = on_kill
        self.interval_s = interval_s
        self.fired = False

    def check(self) -> bool:
        """Look once; True (and ``on_kill`` called) the first time the file is seen."""
        if self.fired or not self.path.exists():
            return False
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            text = []
        reason = f"kill file {self.path.name}" + (f": {text[0][:200]}" if text else "")
        self.fired = True
        _log.warning("kill file appeared: %s", reason)
        self.on_kill(reason)
        return True

    def rearm(self) -> None:
        """Allow the watcher to fire again (after the operator cleared the kill)."""
        self.fired = False

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            self.check()
            await asyncio.sleep(self.interval_s)


__all__ = ["KillFileWatcher"]
