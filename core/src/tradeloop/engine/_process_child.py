"""Process mode, loop side: the entry point of the loop process (spawned by the engine).

It attaches to the shared block, rebuilds the components (kernels imported by name, params
and state as views of the block), fuses the same loop (numba's on-disk cache makes that a
load, not a compile, once any run compiled it) and then runs the same cycle as the loop
thread: ``run_rings`` in batches of polls, and between batches forward the logs to the
engine and check that the engine still exists. A park request (stop word set, request
counter bumped) is acknowledged only after the compiled call returned and its logs went
out, and the process stays parked, touching nothing, until the engine clears the stop word.

Signals: SIGINT (a terminal's Ctrl-C reaches the whole process group) and SIGHUP are
ignored; the engine decides when the loop stops. If the engine process disappears the loop
process exits by itself: no engine, no executor, nothing to trade for.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import traceback
from typing import Any

import numpy as np
from tradeloop_sdk import ComponentKind, HotPath

from .._fusion import fuse
from ..loop import FusedLoop
from ._process_loop import (
    EXITED,
    FAILED,
    RUNNING,
    W_PARK_ACK,
    W_PARK_REQ,
    W_PID,
    W_SHUTDOWN,
    W_STATE,
    W_STOP,
    ChildSpec,
    make_ring,
    resolve,
)
from ._process_shm import attach_block, build_tree, views_of

_log = logging.getLogger("tradeloop.engine.loop_process")
_PARK_SLEEP_S = 0.0002


class _Forwarder:
    """Moves the loop's collected logs into the log rings; what does not fit waits."""

    def __init__(self, loop: FusedLoop, rings: list[tuple[str, Any]]) -> None:
        self.loop = loop
        self.rings = rings
        self.pending: dict[str, list[np.ndarray]] = {attr: [] for attr, _r in rings}

    def forward(self) -> bool:
        """Push what fits, in order; True when nothing is left waiting."""
        blocked = False
        for attr, ring in self.rings:
            q = self.pending[attr]
            # the parts as collected (np.concatenate would drop a record's tail padding)
            with self.loop._lock:
                q.extend(getattr(self.loop, attr))
                setattr(self.loop, attr, [])
            # a later kind waits while an earlier one waits: the engine must never see a
            # report before the transitions it caused
            while q and not blocked:
                k = ring.push_many(q[0])
                if k < q[0].shape[0]:
                    q[0] = q[0][k:]
                    blocked = True
                else:
                    q.pop(0)
        return not blocked


def _build(spec: ChildSpec, views: list[np.ndarray]) -> FusedLoop:
    comps = []
    for c in spec.comps:
        fns = {role: resolve(ref) for role, ref in c.kernels.items()}
        comps.append(HotPath(kind=ComponentKind(c.kind), params=build_tree(c.params, views),
                             state=build_tree(c.state, views), name=c.name, **fns))
    ctx, ks = build_tree(spec.ctx, views), build_tree(spec.ks, views)
    loop = FusedLoop(spec.universe, comps, ctx, ks, fuse(comps), spec.mode)
    loop.history_limit = 0  # order_history is the engine's; keep no copy here
    return loop


def _orphaned(spec: ChildSpec) -> bool:
    return os.getppid() != spec.parent_pid


def child_main(spec: ChildSpec) -> None:
    """Run the fused loop over the shared block until the engine says stop (or is gone)."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    block = attach_block(spec.block)
    views = views_of(block, spec.layout)
    words, err = views[spec.words], views[spec.error]
    words[W_PID] = os.getpid()
    try:
        _serve(spec, views, words)
        words[W_STATE] = EXITED
    except BaseException as exc:
        text = f"{type(exc).__name__}: {exc}".encode()[: err.shape[0] - 1]
        err[: len(text)] = np.frombuffer(text, np.uint8)
        words[W_STATE] = FAILED
        _log.error("loop process failed:\n%s", traceback.format_exc())
        raise SystemExit(3) from None


def _serve(spec: ChildSpec, views: list[np.ndarray], words: np.ndarray) -> None:
    loop = _build(spec, views)
    tick, intent, report = (make_ring(views, ctrl, buf, dt) for dt, ctrl, buf in spec.rings)
    fwd = _Forwarder(loop, [(attr, make_ring(views, ctrl, buf, dt))
                            for attr, dt, ctrl, buf in spec.logs])
    stop = words[W_STOP:W_STOP + 1]
    # one poll loads (or compiles) the fused loop before the engine is told it runs
    loop.run_rings(tick, intent, report, stop=stop, max_polls=1)
    words[W_STATE] = RUNNING
    while not words[W_SHUTDOWN]:
        if stop[0] == 0:
            loop.run_rings(tick, intent, report, stop=stop, max_polls=spec.poll_batch)
            fwd.forward()
            if _orphaned(spec):
                _log.error("the engine process is gone; the loop process stops")
                return
            continue
        # parked: the compiled call returned and its logs are out; acknowledge the request
        fwd.forward()
        while stop[0] != 0 and not words[W_SHUTDOWN]:
            if words[W_PARK_ACK] != words[W_PARK_REQ]:
                words[W_PARK_ACK] = words[W_PARK_REQ]
            if _orphaned(spec):
                return
            time.sleep(_PARK_SLEEP_S)
    # leaving: the last logs must reach the engine (it drains them after join)
    deadline = time.monotonic() + 5.0
    while not fwd.forward() and time.monotonic() < deadline and not _orphaned(spec):
        time.sleep(0.001)


__all__ = ["child_main"]
