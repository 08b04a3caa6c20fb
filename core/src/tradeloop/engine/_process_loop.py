"""Process mode, engine side: the loop's arrays moved into shared memory, and the loop view.

:func:`share_loop` lays out everything the compiled loop reads or writes (context, kernel
state, each component's params and state, the quote/order/report rings, five log rings and
the control words) in one shared block, copies the built loop's values in, and returns a
:class:`ProcessLoop` over those views plus the picklable :class:`ChildSpec` the loop process
rebuilds the same loop from. Kernels travel by ``module:qualname`` and are imported again
in the loop process, so the fused module and numba's on-disk cache are the same ones.

The loop process collects its logs (applied reports, intents after guards, events, order
transitions, equity samples) between compiled calls, as in thread mode, and forwards them
over the log rings; :class:`ProcessLoop` pops them for ``drain_*``. It pushes transitions
first and reports last and the engine pops in the reverse order, so a drained report or
intent always finds its order transitions already drained.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import EVENT_DTYPE, INTENT_DTYPE, REPORT_DTYPE, TICK_DTYPE, HotPath, Universe

from .._fusion import ROLES
from .._kstate import EQUITY_DTYPE, TRANSITION_DTYPE
from .._rings import BLOCK, DROP_OLDEST, HEADER_WORDS, POLICY, SpscRing, init_header
from ..loop import FusedLoop
from ._process_shm import (
    Block,
    Layout,
    build_tree,
    check_same,
    copy_tree,
    create_block,
    plan_tree,
    views_of,
)

#: Control words (int64, in the block). The stop word is the one ``run_rings`` polls.
W_STOP = 0
W_PARK_REQ = 8  # engine: bumped once per park request
W_PARK_ACK = 9  # loop process: the last request it is parked for
W_SHUTDOWN = 10  # engine: leave for good
W_STATE = 11  # loop process: STARTING / RUNNING / EXITED / FAILED
W_PID = 12
N_WORDS = 16
STARTING, RUNNING, EXITED, FAILED = 0, 1, 2, 3
ERROR_BYTES = 2048

#: Log kinds in the order the loop process pushes them (the engine pops in reverse).
LOG_KINDS = (("_trans", TRANSITION_DTYPE), ("_equity", EQUITY_DTYPE), ("_events", EVENT_DTYPE),
             ("_intents", INTENT_DTYPE), ("_reports", REPORT_DTYPE))


class ProcessModeError(ValueError):
    """The loop cannot run in its own process (the message says which component and why)."""


@attrs.frozen
class CompSpec:
    """One component for the loop process: kernels by reference, params and state by slot."""

    kind: int
    kernels: dict[str, str]
    name: str
    params: Any
    state: Any


@attrs.frozen
class ChildSpec:
    """Everything the loop process needs to rebuild the loop over the shared block."""

    block: str
    layout: Layout
    universe: Universe
    mode: str
    ctx: Any
    ks: Any
    comps: tuple[CompSpec, ...]
    rings: tuple[tuple[np.dtype[Any], int, int], ...]  # tick, intent, report: dtype, ctrl, buf
    logs: tuple[tuple[str, np.dtype[Any], int, int], ...]
    words: int
    error: int
    parent_pid: int
    poll_batch: int = 200_000


def kernel_ref(fn: Any, what: str) -> str:
    """``module:qualname`` of a module-level kernel; ProcessModeError if not importable."""
    py = getattr(fn, "py_func", fn)
    ref = f"{py.__module__}:{py.__qualname__}"
    try:
        found = resolve(ref)
    except (ImportError, AttributeError):
        found = None
    if found is not fn:
        raise ProcessModeError(f"{what}: kernel {ref} cannot be imported by name in the loop "
                               "process (define it at module level of an importable module)")
    return ref


def resolve(ref: str) -> Any:
    """Import ``module:qualname``."""
    mod, _, qual = ref.partition(":")
    obj: Any = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def make_ring(views: list[np.ndarray], ctrl: int, buf: int, dtype: Any) -> SpscRing:
    """An SpscRing over two slots of the block (header already written)."""
    v = views[buf]
    return SpscRing(dtype, int(v.shape[0]), int(views[ctrl][POLICY]), ctrl=views[ctrl], buf=v)


def _pow2(n: int) -> int:
    return 1 << max(1, int(n) - 1).bit_length()


class ProcessLoop(FusedLoop):
    """The engine process's view of a fused loop that runs in the loop process.

    Same arrays (shared memory), same read API: ``ctx``, ``snapshot``, ``drain_*`` and
    ``order_history`` behave as in thread mode. It never runs compiled code itself:
    ``run``/``run_rings``/``housekeep`` belong to the loop process. ``set_params`` writes
    the new values into the shared arrays in place (call it with the loop parked).
    """

    def __init__(self, src: FusedLoop, components: list[HotPath], ctx: Any, ks: Any,
                 logs: list[tuple[str, SpscRing]], block: Block) -> None:
        super().__init__(src.universe, components, ctx, ks, None, src.mode)
        self.history_limit = src.history_limit
        self._logs = logs
        #: the shared block (its name is ``block.name``)
        self.block = block

    def run(self, ticks: np.ndarray) -> None:
        """Refused: the loop runs in its own process."""
        raise RuntimeError("engine.process = true: the fused loop runs in the loop process")

    def run_rings(self, *args: Any, **kwargs: Any) -> int:
        """Refused: the loop runs in its own process."""
        raise RuntimeError("engine.process = true: the fused loop runs in the loop process")

    def housekeep(self, now_ns: int) -> None:
        """Refused: housekeeping runs inside the loop process's compiled loop."""
        raise RuntimeError("engine.process = true: housekeeping runs in the loop process")

    def _collect(self) -> None:
        with self._lock:
            for attr, ring in reversed(self._logs):
                n = len(ring)
                if not n:
                    continue
                rows = ring.pop_many(n)
                getattr(self, attr).append(rows)
                if attr == "_trans":
                    self._keep_history(rows)

    def _take(self, attr: str, dtype: np.dtype[Any]) -> np.ndarray:
        self._collect()
        return super()._take(attr, dtype)

    def order_history(self, client_id: int, start: int = 0) -> list[Any]:
        """As :meth:`FusedLoop.order_history`, after taking what the loop process sent."""
        self._collect()
        return super().order_history(client_id, start)

    def check_params(self, index: int, params: Any) -> None:
        """TypeError unless ``params`` can be written over component ``index``'s in place."""
        check_same(params, self._params[index], f"component {index} ({self.components[index].name}) params")

    def set_params(self, index: int, params: Any) -> None:
        """Write component ``index``'s new params into the shared arrays (loop parked)."""
        copy_tree(params, self._params[index], f"component {index} ({self.components[index].name}) params")
        self.ctx.control[0]["generation"] += 1


@attrs.frozen
class Shared:
    """What :func:`share_loop` returns."""

    loop: ProcessLoop
    spec: ChildSpec
    rings: tuple[SpscRing, SpscRing, SpscRing]  # tick, intent, report
    words: np.ndarray
    error: np.ndarray


def share_loop(loop: FusedLoop, *, tick_capacity: int, intent_capacity: int,
               report_capacity: int) -> Shared:
    """Move ``loop``'s arrays into a new shared block; see the module docstring."""
    comps = loop.components
    refs: list[dict[str, str]] = []
    for i, c in enumerate(comps):
        what = f"component {i} ({c.name or 'unnamed'})"
        if c.python_mode:
            raise ProcessModeError(f"{what} runs in Python mode: its callables belong to the engine "
                                   "process; run it in-process (engine.process = false)")
        refs.append({r: kernel_ref(getattr(c, r), what) for r in ROLES if getattr(c, r) is not None})
    lay = Layout()
    ctx_spec = plan_tree(loop.ctx, lay, "ctx")
    ks_spec = plan_tree(loop._ks, lay, "kernel state")
    pspecs = [plan_tree(c.params, lay, f"component {i} params") for i, c in enumerate(comps)]
    sspecs = [plan_tree(c.state, lay, f"component {i} state") for i, c in enumerate(comps)]
    live = [(TICK_DTYPE, tick_capacity, DROP_OLDEST), (INTENT_DTYPE, intent_capacity, BLOCK),
            (REPORT_DTYPE, report_capacity, BLOCK)]
    log_caps = {"_trans": loop._ks.trans_log.shape[0], "_equity": loop._ks.equity_log.shape[0],
                "_events": loop.ctx.events.shape[0], "_intents": loop._ks.intent_log.shape[0],
                "_reports": loop._ks.report_log.shape[0]}
    ring_slots = [(dt, lay.add((HEADER_WORDS,), np.int64), lay.add((cap,), dt), cap, pol)
                  for dt, cap, pol in live]
    log_slots = [(attr, dt, lay.add((HEADER_WORDS,), np.int64), lay.add((_pow2(log_caps[attr]),), dt))
                 for attr, dt in LOG_KINDS]
    words_slot = lay.add((N_WORDS,), np.int64)
    error_slot = lay.add((ERROR_BYTES,), np.uint8)
    block = create_block(lay.size)
    try:
        views = views_of(block, lay)
        ctx, ks = build_tree(ctx_spec, views), build_tree(ks_spec, views)
        copy_tree(loop.ctx, ctx, "ctx")
        copy_tree(loop._ks, ks, "kernel state")
        shared_comps = []
        for i, c in enumerate(comps):
            p, s = build_tree(pspecs[i], views), build_tree(sspecs[i], views)
            copy_tree(loop._params[i], p, f"component {i} params")
            copy_tree(loop._states[i], s, f"component {i} state")
            shared_comps.append(attrs.evolve(c, params=p, state=s))
        for dt, ctrl, _buf, cap, pol in ring_slots:
            init_header(views[ctrl], cap, pol, np.dtype(dt).itemsize, 0)
        for _attr, dt, ctrl, buf in log_slots:
            init_header(views[ctrl], views[buf].shape[0], BLOCK, np.dtype(dt).itemsize, 0)
        rings = tuple(make_ring(views, ctrl, buf, dt) for dt, ctrl, buf, _c, _p in ring_slots)
        logs = [(attr, make_ring(views, ctrl, buf, dt)) for attr, dt, ctrl, buf in log_slots]
        plp = ProcessLoop(loop, shared_comps, ctx, ks, logs, block)
        spec = ChildSpec(
            block=block.name, layout=lay, universe=loop.universe, mode=loop.mode, ctx=ctx_spec,
            ks=ks_spec,
            comps=tuple(CompSpec(int(c.kind), refs[i], c.name, pspecs[i], sspecs[i])
                        for i, c in enumerate(comps)),
            rings=tuple((dt, ctrl, buf) for dt, ctrl, buf, _c, _p in ring_slots),
            logs=tuple(log_slots), words=words_slot, error=error_slot, parent_pid=os.getpid())
    except BaseException:
        block.unlink()
        raise
    return Shared(plp, spec, (rings[0], rings[1], rings[2]), views[words_slot], views[error_slot])


__all__ = ["ChildSpec", "CompSpec", "ProcessLoop", "ProcessModeError", "Shared", "share_loop"]
