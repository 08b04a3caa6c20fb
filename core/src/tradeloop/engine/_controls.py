"""Operator controls of the live engine: pause, resume, kill, flatten, reload.

The same actions reach the engine from the CLI (``tradeloop ctl``), the operations server
(``/admin/<action>``) and the kill file. Each is journaled and broadcast as an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from tradeloop_sdk import Reason
from tradeloop_sdk._kill import clear_kill, set_kill

from ._events import EventBroadcaster
from ._executor import Executor
from ._journal import CONTROL, Journal
from ._metrics import EngineMetrics
from ._settings import EngineSettings
from ._state import flatten_intents


class OperatorControls:
    """The operator actions of :class:`tradeloop.engine.Engine` (a mixin: the engine owns
    the loop, journal, events, executor and settings these use)."""

    loop: Any
    journal: Journal | None
    events: EventBroadcaster
    executor: Executor | None
    settings: EngineSettings
    metrics: EngineMetrics
    reloader: Callable[[], Any] | None
    exclusive: Callable[..., Any]  # run a callable with the loop parked

    @property
    def control(self) -> np.ndarray:
        """The loop's control block."""
        return self.loop.ctx.control  # type: ignore[no-any-return]

    def _journal_control(self, action: str, **data: Any) -> None:
        if self.journal is not None:
            self.journal.append(CONTROL, {"action": action, **data})

    def pause(self) -> dict[str, Any]:
        """Stop new orders (cancels still flow)."""
        self.control[0]["pause"] = 1
        self._journal_control("pause")
        self.events.record("control", action="pause")
        return {"ok": True, "paused": True}

    def resume(self) -> dict[str, Any]:
        """Allow new orders again (does not clear a kill)."""
        self.control[0]["pause"] = 0
        self._journal_control("resume")
        self.events.record("control", action="resume")
        return {"ok": True, "paused": False}

    def kill(self, reason: str = "operator", *, cancel: bool | None = None) -> dict[str, Any]:
        """Set the kill switch; open orders are cancelled per ``cancel_on_kill``."""
        c = self.settings.cancel_on_kill if cancel is None else cancel
        fresh = set_kill(self.control, Reason.KILL_SWITCH, cancel_orders=c)
        self._journal_control("kill", reason=reason, fresh=fresh)
        if fresh:
            self.events.kill(reason)
        return {"ok": True, "killed": True, "reason": reason, "fresh": fresh}

    def clear_kill(self) -> dict[str, Any]:
        """Re-arm after a kill (operator action)."""
        old = clear_kill(self.control)
        self._journal_control("clear_kill", old=old.name if old else None)
        return {"ok": True, "cleared": old.name if old else None}

    def flatten(self) -> dict[str, Any]:
        """Kill (with cancels), then send market orders that close every position."""
        fresh = self.kill("flatten", cancel=True)["fresh"]
        if fresh and self.control[0]["flatten_on_kill"]:
            # the loop's kill policy sends the closing orders itself: ours would double them
            self._journal_control("flatten", orders=0, by="loop")
            return {"ok": True, "orders": 0, "by": "loop"}
        records = self.exclusive(lambda: flatten_intents(self.loop))
        if records.shape[0] and self.executor is not None:
            self.executor._take(records)
        self._journal_control("flatten", orders=int(records.shape[0]))
        return {"ok": True, "orders": int(records.shape[0])}

    def reload(self) -> dict[str, Any]:
        """Apply a changed config atomically, or refuse it with the reason."""
        if self.reloader is None:
            return {"ok": False, "reason": "this engine has no config to reload"}
        plan = self.reloader()
        if not plan.ok:
            self.metrics.reloads.inc(outcome="refused")
            self._journal_control("reload", ok=False, reason=plan.reason)
            self.events.record("reload", ok=False, reason=plan.reason)
            return {"ok": False, "reason": plan.reason}
        from ._reload import apply_plan

        self.exclusive(lambda: apply_plan(self.loop, plan))
        self.metrics.reloads.inc(outcome="applied")
        gen = int(self.control[0]["generation"])
        self._journal_control("reload", ok=True, changed=list(plan.changed), generation=gen)
        self.events.record("reload", ok=True, changed=list(plan.changed), generation=gen)
        return {"ok": True, "changed": list(plan.changed), "generation": gen}

    def admin(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """Operations-server entry point for ``/admin/<action>``."""
        if action == "kill":
            return self.kill(str(body.get("reason", "operator"))[:200])
        return {"pause": self.pause, "resume": self.resume, "flatten": self.flatten,
                "reload": self.reload}[action]()


__all__ = ["OperatorControls"]
