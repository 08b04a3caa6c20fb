"""Report taps: a broker's report stream opened before start-up reconciliation."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tradeloop_sdk import Broker, Report, ReportKind

from ._reconcile import fill_key


class ReportTap:
    """A broker's report stream, opened *before* start-up reconciliation.

    Reports that arrive while the engine reconciles (a fill of an adopted order, say) wait
    here instead of being lost between the venue snapshot and the executor's start. Fills
    that reconciliation already read from the venue (``skip``, by :func:`fill_key`) are not
    applied a second time.
    """

    def __init__(self, broker: Broker) -> None:
        self._queue: asyncio.Queue[Report | None] = asyncio.Queue()
        self.error: BaseException | None = None
        self.skip: set[tuple[int, str, str]] = set()
        self._task = asyncio.get_running_loop().create_task(self._pump(broker), name="report-tap")

    async def _pump(self, broker: Broker) -> None:
        try:
            async for rep in broker.reports():
                self._queue.put_nowait(rep)
        except Exception as exc:  # handed to the executor, which reconnects
            self.error = exc
        finally:
            self._queue.put_nowait(None)

    def known(self, rep: Report) -> bool:
        """A fill reconciliation has already applied."""
        return rep.kind in (ReportKind.FILL, ReportKind.PARTIAL) and (
            fill_key(rep.client_id, rep.ts, rep.fill_qty) in self.skip)

    async def reports(self) -> Any:
        """Buffered and then live reports, until the broker's stream ends or fails."""
        while True:
            rep = await self._queue.get()
            if rep is None:
                if self.error is not None:
                    raise self.error
                return
            yield rep

    async def close(self) -> None:
        """Stop listening (a tap that was never handed to an executor)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


__all__ = ["ReportTap"]
