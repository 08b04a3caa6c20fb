"""Event broadcast: pluggy events for every order update, fill, breach and kill, plus a
bounded in-memory history readable from the CLI and the operations server.

Hooks run on the engine's asyncio thread, from logs the loop hands back between compiled
calls (``FusedLoop.drain_*``), never from the loop thread. A failing observer plugin is
logged and skipped: observers cannot stop trading.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from tradeloop_sdk import (
    EventKind,
    Intent,
    OrderUpdate,
    Reason,
    Report,
    ReportKind,
    guard_breaches,
)

from ._journal import GUARD, Journal, record_data

_log = logging.getLogger("tradeloop.engine.events")


def _reason(code: int) -> Reason:
    try:
        return Reason(code)
    except ValueError:
        return Reason.UNKNOWN


class EventBroadcaster:
    """Turns loop logs and venue reports into hook calls, journal rows and history."""

    def __init__(self, engine: Any, hooks: Any, history: deque[dict[str, Any]]) -> None:
        self.engine = engine
        self.hooks = hooks
        self.history = history
        self._seen: dict[int, int] = {}  # client id -> transitions already broadcast
        self.counts: dict[str, int] = {}

    def _call(self, name: str, **kw: Any) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        if self.hooks is None:
            return
        try:
            getattr(self.hooks, name)(**kw)
        except Exception:
            _log.exception("observer hook %s failed", name)

    def record(self, kind: str, **data: Any) -> None:
        """Append an event to the history."""
        self.history.append({"ts": time.time_ns(), "kind": kind, **data})

    def recent(self, n: int) -> list[dict[str, Any]]:
        """The latest ``n`` events, oldest first."""
        items = list(self.history)
        return items[-n:] if n else []

    def start(self) -> None:
        """Broadcast ``tradeloop_start``."""
        self.record("start")
        self._call("tradeloop_start", engine=self.engine)

    def stop(self) -> None:
        """Broadcast ``tradeloop_stop``."""
        self.record("stop")
        self._call("tradeloop_stop", engine=self.engine)

    def kill(self, reason: str) -> None:
        """Broadcast ``tradeloop_kill``."""
        self.record("kill", reason=reason)
        self._call("tradeloop_kill", reason=reason)

    def feed_change(self, feed: str, healthy: bool, why: str) -> None:
        """A feed became healthy or unhealthy."""
        self.record("feed", feed=feed, healthy=healthy, why=why)

    def on_report(self, r: Report) -> None:
        """A venue report was journaled and pushed to the loop: fills are broadcast."""
        if r.kind in (ReportKind.PARTIAL, ReportKind.FILL):
            self.record("fill", client_id=r.client_id, venue=r.venue, symbol=r.symbol,
                        side=r.side.name, qty=str(r.fill_qty), price=str(r.fill_price))
            self._call("tradeloop_fill", fill=r)
        elif r.kind == ReportKind.REJECTED:
            self.record("reject", client_id=r.client_id, venue=r.venue, symbol=r.symbol,
                        reason=r.reason.name, message=r.message)

    def _breaches(self, events: list[Any], universe: Any, names: list[str]) -> None:
        """Broadcast the guard breaches of ``events`` (a detail event a guard recorded with
        ``record_breach`` is folded into its verdict: one breach, with what was measured)."""
        for b in guard_breaches(events, universe, names):
            self.record("guard_breach", guard=b.guard, action=b.action, reason=b.reason.name,
                        client_id=b.client_id)
            self._call("tradeloop_guard_breach", breach=b)
        events.clear()

    def pump(self, loop: Any, journal: Journal | None) -> None:
        """Drain the loop's logs: guard decisions, kills, order transitions."""
        u = loop.universe
        names = [c.name or f"component{i}" for i, c in enumerate(loop.components)]
        intents = loop.drain_intents()
        refused = intents[intents["reason"] != 0] if intents.shape[0] else intents
        if journal is not None and refused.shape[0]:
            rows = []
            for rec in refused:
                it = Intent.from_record(rec, u)
                g = int(rec["guard"])
                rows.append((GUARD, record_data(it) | {"guard": g, "verdict": "reject"},
                             it.client_id, it.venue, it.symbol))
            journal.append_many(rows)
        touched = {int(c) for c in intents["client_id"]} if intents.shape[0] else set()
        verdicts: list[Any] = []  # guard events, each detail before the verdict it explains
        for e in loop.drain_events():
            kind = int(e["kind"])
            if kind in (EventKind.GUARD_REJECT, EventKind.GUARD_RESIZE):
                verdicts.append(e)
                continue
            self._breaches(verdicts, u, names)
            if kind == EventKind.KILL:
                self.kill(_reason(int(e["code"])).name)
            elif kind == EventKind.STUCK_ORDER:
                self.record("stuck_order", client_id=int(e["client_id"]))
        self._breaches(verdicts, u, names)
        reps = loop.drain_reports()
        if reps.shape[0]:
            touched.update(int(c) for c in reps["client_id"])
        for cid in sorted(touched):
            done = self._seen.get(cid, 0)
            hist = loop.order_history(cid, done)
            for ts, frm, to in hist:
                slot = loop.ctx.orders[cid & (loop.ctx.orders.shape[0] - 1)]
                up = OrderUpdate(client_id=cid, venue=u.venues[int(slot["venue"])],
                                 symbol=u.symbols[int(slot["symbol"])], from_state=frm,
                                 to_state=to, ts=ts, reason=_reason(int(slot["reason"])))
                self.record("order_update", client_id=cid, from_state=frm.name, to_state=to.name)
                self._call("tradeloop_order_update", order=up)
            self._seen[cid] = done + len(hist)
        if len(self._seen) > 200_000:  # bound memory: forget the oldest ids
            for cid in sorted(self._seen)[:100_000]:
                del self._seen[cid]


__all__ = ["EventBroadcaster"]
