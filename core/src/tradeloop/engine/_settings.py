"""Engine settings: what the live engine needs beyond the components, with safe defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
from tradeloop_sdk import Secret
from tradeloop_sdk._breaker import BreakerSpec


@attrs.frozen
class EngineSettings:
    """Paths, ring sizes, timeouts and policies of one engine run."""

    journal: str = ".tradeloop/journal.sqlite"
    #: snapshot file; empty: next to the journal (``<journal>.snapshot.json``)
    snapshot: str = ""
    kill_file: str = ".tradeloop/KILL"
    ops_enabled: bool = False
    ops_host: str = "127.0.0.1"
    ops_port: int = 8765
    ops_token: Secret | None = None
    tick_ring_capacity: int = 1 << 16
    intent_ring_capacity: int = 4096
    report_ring_capacity: int = 4096
    #: on SIGINT/SIGTERM: cancel open orders before exiting
    cancel_on_stop: bool = True
    #: the kill switch also cancels open orders
    cancel_on_kill: bool = True
    #: the kill switch also closes every position (market IOC from the loop)
    flatten_on_kill: bool = False
    #: a feed silent this long is stale: its venues stop trading until it recovers
    stale_after_s: float = 5.0
    #: reopen a feed whose stream ended (live sources); off for finite test sources
    reconnect_feeds: bool = False
    submit_timeout_s: float = 5.0
    breaker: BreakerSpec = attrs.field(factory=lambda: BreakerSpec(max_consecutive=5, open_timeout_s=5.0))
    journal_sync: str = "full"
    id_block: int = 1024
    snapshot_interval_s: float = 1.0
    #: overwrite ``ts_recv`` with the wall clock when a tick enters the quote ring
    stamp_recv: bool = True
    #: stop the engine when every feed has ended (tests, replays)
    stop_when_feeds_end: bool = False
    event_history: int = 1000
    #: run the loop in its own process over shared memory (see docs/live.md, "Process mode")
    process: bool = False
    #: process mode: how long the loop process may take to start (a cold numba compile)
    process_start_timeout_s: float = 300.0

    @property
    def snapshot_path(self) -> Path:
        """Where the snapshot is saved."""
        return Path(self.snapshot) if self.snapshot else Path(self.journal + ".snapshot.json")

    @classmethod
    def from_config(cls, cfg: Any, **overrides: Any) -> EngineSettings:
        """Settings from a :class:`tradeloop.config.Config` (``[engine]``), then ``overrides``."""
        e = cfg.engine
        ops = e.ops
        kw: dict[str, Any] = dict(
            journal=e.journal, kill_file=e.kill_file, tick_ring_capacity=e.ring_capacity,
            ops_enabled=ops.enabled, ops_host=ops.host, ops_port=ops.port, ops_token=ops.token,
        )
        # fields the config model may grow; taken when present
        for name in ("snapshot", "cancel_on_stop", "cancel_on_kill", "flatten_on_kill", "stale_after_s",
                     "submit_timeout_s", "journal_sync", "process", "reconnect_feeds"):
            if hasattr(e, name):
                kw[name] = getattr(e, name)
        kw.update(overrides)
        return cls(**kw)


__all__ = ["EngineSettings"]
