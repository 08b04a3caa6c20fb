"""Report fan-out shared by the in-process and remote sim brokers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tradeloop_sdk import Report


class ReportFanout:
    """Copies every published report to each open :meth:`stream`, until :meth:`end`."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[Report | None]] = []

    def publish(self, rep: Report) -> None:
        """Hand ``rep`` to every open stream."""
        for q in self._queues:
            q.put_nowait(rep)

    def end(self) -> None:
        """End every open stream (each ends after the reports queued before this)."""
        for q in self._queues:
            q.put_nowait(None)

    def stream(self) -> AsyncIterator[Report]:
        """Every report published from this call on, in order, until :meth:`end`."""
        q: asyncio.Queue[Report | None] = asyncio.Queue()
        self._queues.append(q)
        return self._drain(q)

    async def _drain(self, q: asyncio.Queue[Report | None]) -> AsyncIterator[Report]:
        try:
            while True:
                rep = await q.get()
                if rep is None:
                    return
                yield rep
        finally:
            if q in self._queues:
                self._queues.remove(q)
