"""The public kernel API: build a fused loop from hot-path components and run it.

>>> loop = build_loop(universe, [strategy, guard, venue])    # doctest: +SKIP
>>> loop.run(ticks)                                          # doctest: +SKIP
>>> fills = loop.drain_reports()                             # doctest: +SKIP

One compiled loop serves backtest and paper (``run`` over tick arrays, intents go to the
VENUE component) and live (``run_rings`` over SPSC rings, intents go to the intent ring).
See ``docs/kernel.md`` for the tick processing order and every policy.
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from tradeloop_sdk import (
    EVENT_DTYPE,
    INTENT_DTYPE,
    REPORT_DTYPE,
    TICK_DTYPE,
    ComponentKind,
    HotPath,
    OrderState,
    Universe,
    fill_specs,
    make_context,
)
from tradeloop_sdk._context import N_EVENTS

from ._distinct import arrays, hit, overlaps, ranges
from ._exact_ledger import ExactLedger, tolerance
from ._fusion import default_cache_dir, fuse, validate
from ._kernel import KC_LOG_LOST, housekeeping
from ._kstate import (
    EQUITY_DTYPE,
    KC_FULL_BACKOFFS,
    KC_NEQ,
    KC_NINT,
    KC_NREP,
    KC_NTRANS,
    KC_SLOT_REFUSALS,
    KC_STEP,
    KC_STEP_ALLOW,
    KC_STEP_TAKEN,
    TRANSITION_DTYPE,
    make_kstate,
)
from ._ledger import sample_equity
from ._memory import prefault
from ._precompile import precompile
from ._pymode import from_hook, python_strategy
from ._rings import BLOCK, DROP_OLDEST, Ring, SpscRing
from ._shm import ShmRing

log = logging.getLogger(__name__)

MODES = ("backtest", "paper", "live")
_CHUNK = 1 << 20  # ticks per compiled call in run(): bounds the latency of a hot reload


def _ring_view(r: Any, what: str) -> Ring:
    if isinstance(r, SpscRing):
        return r.view
    if isinstance(r, Ring):
        return r
    raise TypeError(f"{what} must be an SpscRing/ShmRing or a Ring view, got {type(r).__name__}")


class FusedLoop:
    """A compiled loop over one universe and one component list.

    Not thread-safe except as documented: ``run``/``run_rings`` run on one thread at a time;
    ``drain_*`` may be called from another thread while ``run_rings`` runs (the rows are
    moved under a lock between compiled calls).
    """

    def __init__(
        self,
        universe: Universe,
        components: Sequence[HotPath],
        ctx: Any,
        ks: Any,
        module: Any,
        mode: str,
    ) -> None:
        self.universe = universe
        self.components = list(components)
        #: the SDK Context every component sees (numpy arrays; read freely between runs)
        self.ctx = ctx
        self._ks = ks
        self._mod = module
        self.mode = mode
        self._params: list[Any] = [c.params for c in self.components]
        self._states: list[Any] = [c.state for c in self.components]
        self._lock = threading.Lock()
        self._reports: list[np.ndarray] = []
        self._intents: list[np.ndarray] = []
        self._events: list[np.ndarray] = []
        self._equity: list[np.ndarray] = []
        self._trans: list[np.ndarray] = []  # not yet drained by drain_transitions
        # order_history: transitions not yet indexed, and valid ones by client id (oldest
        # order first, each as flat (ts, from, to) int64 triples: 24 bytes a transition);
        # indexed on demand, so a backtest, which never asks, never pays
        self._hist: list[np.ndarray] = []
        self._by_order: dict[int, array[int]] = {}
        self._hist_rows = 0  # rows in both
        self.history_limit = 4_000_000  # transition rows kept for order_history
        self._guards = [i for i, c in enumerate(self.components) if c.kind == ComponentKind.GUARD]
        # what ticks and swapped params must not overlap (see tradeloop._distinct)
        self._spans = ranges(_written(ctx, ks, self.components))
        #: components whose params are compiled into the loop (see build_loop's specialize)
        self.baked: frozenset[int] = getattr(module, "__tradeloop_baked__", frozenset())

    # -- running -------------------------------------------------------------------------

    def _args(self) -> list[Any]:
        out: list[Any] = []
        for p, s in zip(self._params, self._states, strict=True):
            out += [p, s]
        return out

    def compile(self) -> None:
        """Compile the loop, or load it from the disk cache, and run no tick.

        ``run`` does this on its first call anyway; calling it first keeps that one-time
        cost out of whatever the caller times next (a backtest's ticks per second).
        """
        self._mod.run_chunk(self.ctx, self._ks, np.empty(0, TICK_DTYPE), 0, 0, *self._args())

    def run(self, ticks: np.ndarray) -> None:
        """Process a chunk of ticks (TICK_DTYPE, time-ordered) through the compiled loop.

        Gates may set ``flags`` on the passed array in place. Logs are moved to Python
        whenever they pass half full, so any chunk length is fine.
        """
        ticks = self._check_ticks(ticks)
        n = ticks.shape[0]
        pos = 0
        while pos < n:
            end = min(n, pos + _CHUNK)
            ret = int(self._mod.run_chunk(self.ctx, self._ks, ticks, pos, end, *self._args()))
            self._collect()
            if ret < 0:
                bad = -1 - ret
                nv, ns = self.ctx.books.shape
                raise ValueError(
                    f"tick {bad}: venue id {int(ticks[bad]['venue'])} / symbol id "
                    f"{int(ticks[bad]['symbol'])} out of range (universe has {nv} venues, "
                    f"{ns} symbols); ticks before it were processed"
                )
            pos = ret
        if n == 0:
            self._collect()

    def run_rings(
        self,
        tick_ring: Any,
        intent_ring: Any,
        report_ring: Any,
        *,
        stop: np.ndarray,
        max_polls: int | None = None,
        poll_batch: int = 200_000,
    ) -> int:
        """Live: busy-poll the rings with the GIL released until ``stop[0] != 0``.

        ``stop`` is an int64 array (set ``stop[0] = 1`` from any thread or, if it lives in
        shared memory, any process). Reports are popped from ``report_ring`` and applied;
        accepted intents are pushed to ``intent_ring`` (never dropped: the loop backs off
        while it is full). With ``max_polls`` the call returns after that many polls;
        otherwise only on stop. Returns the number of ticks processed.
        """
        if not (isinstance(stop, np.ndarray) and stop.dtype == np.int64 and stop.ndim == 1):
            raise TypeError("stop must be a 1-d int64 numpy array (stop[0] != 0 stops the loop)")
        views = (
            _ring_view(tick_ring, "tick_ring"),
            _ring_view(intent_ring, "intent_ring"),
            _ring_view(report_ring, "report_ring"),
        )
        for v, dt, what in zip(views, (TICK_DTYPE, INTENT_DTYPE, REPORT_DTYPE),
                               ("tick_ring", "intent_ring", "report_ring"), strict=True):
            if v.buf.dtype != dt:
                raise TypeError(f"{what} holds {v.buf.dtype}, expected {dt}")
        total = 0
        left = max_polls
        while stop[0] == 0 and (left is None or left > 0):
            batch = poll_batch if left is None else min(poll_batch, left)
            total += int(self._mod.run_live(self.ctx, self._ks, *views, stop, batch, *self._args()))
            if left is not None:
                left -= batch
            self._collect()
        self._collect()
        return total

    # -- results -------------------------------------------------------------------------

    def _collect(self) -> None:
        """Move the compiled loop's logs into Python-side lists (under the drain lock)."""
        ks, ctx = self._ks, self.ctx
        kc = ks.kc
        with self._lock:
            n = int(kc[KC_NREP])
            if n:
                self._reports.append(ks.report_log[:n].copy())
                kc[KC_NREP] = 0
            n = int(kc[KC_NINT])
            if n:
                self._intents.append(ks.intent_log[:n].copy())
                kc[KC_NINT] = 0
            n = int(ctx.counts[N_EVENTS])
            if n:
                self._events.append(ctx.events[:n].copy())
                ctx.counts[N_EVENTS] = 0
            n = int(kc[KC_NEQ])
            if n:
                self._equity.append(ks.equity_log[:n].copy())
                kc[KC_NEQ] = 0
            n = int(kc[KC_NTRANS])
            if n:
                rows = ks.trans_log[:n].copy()
                kc[KC_NTRANS] = 0
                self._trans.append(rows)
                self._keep_history(rows)
        if kc[KC_LOG_LOST]:
            log.warning("fused loop lost %d log rows (log capacity too small for one chunk)",
                        int(kc[KC_LOG_LOST]))
            kc[KC_LOG_LOST] = 0

    def _take(self, attr: str, dtype: np.dtype[Any]) -> np.ndarray:
        with self._lock:
            parts = getattr(self, attr)
            setattr(self, attr, [])
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    def drain_reports(self) -> np.ndarray:
        """Every report applied since the last drain (REPORT_DTYPE, in application order)."""
        return self._take("_reports", REPORT_DTYPE)

    def drain_intents(self) -> np.ndarray:
        """Every intent after guards since the last drain; refused ones carry reason/guard."""
        return self._take("_intents", INTENT_DTYPE)

    def drain_events(self) -> np.ndarray:
        """Events (EVENT_DTYPE): guard rejects/resizes, stuck orders, invalid transitions, kill."""
        return self._take("_events", EVENT_DTYPE)

    def drain_equity(self) -> np.ndarray:
        """Equity samples (EQUITY_DTYPE: ts, equity, cash, unrealized, realized, fees, gross, net)."""
        return self._take("_equity", EQUITY_DTYPE)

    def sample_equity(self) -> None:
        """Take an equity sample now (e.g. at the end of a backtest); drained with the rest."""
        sample_equity(self.ctx, self._ks, int(self.ctx.control[0]["now_ns"]))
        self._collect()

    def drain_transitions(self) -> np.ndarray:
        """Order-state transitions since the last drain (TRANSITION_DTYPE; ``valid == 0``
        marks a refused, invalid one)."""
        return self._take("_trans", TRANSITION_DTYPE)

    def _keep_history(self, rows: np.ndarray) -> None:
        """Queue transition rows for order_history (caller holds the lock)."""
        self._hist.append(rows)
        self._hist_rows += rows.shape[0]
        self._forget()

    def _forget(self) -> None:
        # past the limit: the oldest indexed orders go first, then the oldest queued rows
        while self._hist_rows > self.history_limit:
            if self._by_order:
                self._hist_rows -= len(self._by_order.pop(next(iter(self._by_order)))) // 3
            elif len(self._hist) > 1:
                self._hist_rows -= self._hist.pop(0).shape[0]
            else:
                break

    def order_history(self, client_id: int,
                      start: int = 0) -> list[tuple[int, OrderState, OrderState]]:
        """Valid transitions of ``client_id`` as (ts_ns, from_state, to_state), oldest first,
        from its ``start``-th on.

        Covers about the last ``history_limit`` transitions of the run: the oldest orders'
        are forgotten first. Each call indexes only the rows that arrived since the last,
        and ``start`` skips what a caller has seen (an order replaced all day has
        thousands), so asking after every report stays cheap however long the run.
        """
        with self._lock:
            index = self._by_order
            for h in self._hist:
                valid = h[h["valid"] != 0]
                self._hist_rows -= h.shape[0] - valid.shape[0]
                for cid, ts, f, t in zip(valid["client_id"].tolist(), valid["ts"].tolist(),
                                         valid["from_state"].tolist(),
                                         valid["to_state"].tolist(), strict=True):
                    rows = index.get(cid)
                    if rows is None:
                        rows = index[cid] = array("q")
                    rows.extend((ts, f, t))
            self._hist = []
            self._forget()
            seen = index.get(int(client_id))
            flat = seen[3 * max(0, int(start)):].tolist() if seen is not None else []
        return [(flat[i], OrderState(flat[i + 1]), OrderState(flat[i + 2]))
                for i in range(0, len(flat), 3)]

    def stepping(self, on: bool) -> None:
        """Live (replay): take ticks only as :meth:`allow_ticks` allows, one a poll, hold
        after any tick whose intents went out, and keep the ticks' time as the loop clock
        (as a backtest does). Off (the default): every tick queued, on the wall clock."""
        kc = self._ks.kc
        kc[KC_STEP_ALLOW] = 0
        kc[KC_STEP] = int(bool(on))

    def allow_ticks(self, n: int) -> None:
        """Stepping: let the loop take ``n`` more ticks (call only while it holds, at 0)."""
        self._ks.kc[KC_STEP_ALLOW] = int(n)

    def ticks_allowed(self) -> int:
        """Stepping: ticks the loop may still take (0 once it holds after an intent)."""
        return int(self._ks.kc[KC_STEP_ALLOW])

    def ticks_taken(self) -> int:
        """Stepping: a running count of the ticks taken from the ring while stepping (each
        is processed once the loop begins its next poll)."""
        return int(self._ks.kc[KC_STEP_TAKEN])

    def set_params(self, index: int, params: Any) -> None:
        """Swap component ``index``'s params between compiled calls (hot reload).

        ``params`` must have the same numba type (same dtype and shape) as the original,
        otherwise the loop would recompile; a mismatch is refused with TypeError. Params
        compiled into the loop (``build_loop(specialize=...)``) cannot be swapped: ValueError.
        """
        if index in self.baked:
            raise ValueError(
                f"component {index} ({self.components[index].name}): its params are compiled "
                "into this loop (build_loop(specialize=...)); build one without it to swap them"
            )
        old = self._params[index]
        if isinstance(old, np.ndarray):
            if not isinstance(params, np.ndarray) or params.dtype != old.dtype or params.shape != old.shape:
                raise TypeError(
                    f"component {index} ({self.components[index].name}): new params must be "
                    f"{old.dtype} with shape {old.shape}"
                )
        elif type(params) is not type(old):
            raise TypeError(f"component {index}: params must be {type(old).__name__}")
        for _, a in arrays("params", params):
            inside = hit(self._spans, a)
            if inside is not None:
                raise ValueError(
                    f"component {index} ({self.components[index].name}): new params share "
                    f"memory with the loop's {inside}; pass an array of their own"
                )
        self._params[index] = params
        self.ctx.control[0]["generation"] += 1

    def housekeep(self, now_ns: int) -> None:
        """Run housekeeping (equity sample, stuck scan, kill) at ``now_ns`` between runs."""
        self.ctx.control[0]["now_ns"] = now_ns
        housekeeping(self.ctx, self._ks, int(now_ns))
        self._collect()

    def snapshot(self) -> dict[str, Any]:
        """Plain-Python view: positions, cash, open orders, PnL and control counters."""
        u, ctx = self.universe, self.ctx
        positions = {}
        for v, vn in enumerate(u.venues):
            for s, sn in enumerate(u.symbols):
                p = ctx.positions[v, s]
                if p["n_fills"] or p["qty"]:
                    positions[(vn, sn)] = {
                        k: float(p[k]) for k in ("qty", "avg_price", "realized", "unrealized",
                                                 "fees", "volume")
                    } | {"n_fills": int(p["n_fills"])}
        cash = {
            (vn, cn): float(ctx.cash[v, c])
            for v, vn in enumerate(u.venues)
            for c, cn in enumerate(u.currencies)
        }
        live = ctx.orders[(ctx.orders["state"] >= 1) & (ctx.orders["state"] <= 4)]
        orders = [
            {
                "client_id": int(o["client_id"]),
                "venue": u.venues[int(o["venue"])],
                "symbol": u.symbols[int(o["symbol"])],
                "side": int(o["side"]),
                "qty": float(o["qty"]),
                "price": float(o["price"]),
                "filled": float(o["filled"]),
                "state": OrderState(int(o["state"])),
                "stuck": bool(o["stuck"]),
            }
            for o in live
        ]
        control = {name: int(ctx.control[0][name]) for name in ctx.control.dtype.names}
        control["slot_refusals"] = int(self._ks.kc[KC_SLOT_REFUSALS])
        control["intent_ring_backoffs"] = int(self._ks.kc[KC_FULL_BACKOFFS])
        return {
            "positions": positions,
            "cash": cash,
            "open_orders": orders,
            "realized": float(ctx.positions["realized"].sum()),
            "unrealized": float(ctx.positions["unrealized"].sum()),
            "fees": float(ctx.positions["fees"].sum()),
            "control": control,
            "guard_stats": {
                self.components[k].name or f"guard{g}": tuple(int(x) for x in ctx.guard_stats[g])
                for g, k in enumerate(self._guards)
            },
        }

    def _check_ticks(self, ticks: np.ndarray) -> np.ndarray:
        if not isinstance(ticks, np.ndarray) or ticks.dtype != TICK_DTYPE or ticks.ndim != 1:
            raise TypeError("ticks must be a 1-d numpy array of TICK_DTYPE")
        if not ticks.flags.c_contiguous:
            raise ValueError("ticks must be C-contiguous")
        inside = hit(self._spans, ticks)
        if inside is not None:
            raise ValueError(f"ticks share memory with the loop's {inside}: pass a copy")
        return ticks


def _initial_cash(ctx: Any, universe: Universe, cash: Mapping[Any, Any] | None) -> None:
    for key, amount in (cash or {}).items():
        if isinstance(key, tuple):
            venue, cur = key
            vids = [universe.venue_id(venue)]
        else:
            cur, vids = key, list(range(len(universe.venues)))
        c = universe.currency_id(cur)
        for v in vids:
            ctx.cash[v, c] = float(Decimal(str(amount)))


def _component_arrays(k: int, c: HotPath, what: str) -> list[tuple[str, np.ndarray]]:
    return arrays(f"component {k} ({c.name or c.kind.name.lower()}) {what}", getattr(c, what))


def _written(ctx: Any, ks: Any, components: Sequence[HotPath]) -> list[tuple[str, np.ndarray]]:
    """The loop's arrays that kernels may write: all but the params."""
    out = arrays("ctx", ctx) + arrays("kernel state", ks)
    for k, c in enumerate(components):
        out += _component_arrays(k, c, "state")
    return out


def _check_distinct(ctx: Any, ks: Any, components: Sequence[HotPath]) -> None:
    """Refuse components whose arrays overlap: the loop is compiled on the promise that
    they do not (see tradeloop._distinct)."""
    read = [x for k, c in enumerate(components) for x in _component_arrays(k, c, "params")]
    bad = overlaps(_written(ctx, ks, components), read)
    if bad:
        a, b = bad[0]
        raise ValueError(
            f"{a} and {b} share memory: every component needs state arrays of its own, "
            "apart from the context's and every other component's (params may be shared)"
        )


def build_loop(
    universe: Universe,
    components: Sequence[HotPath],
    *,
    mode: str = "backtest",
    cache_dir: Path | None = None,
    order_capacity: int = 4096,
    equity_interval_ns: int = 60_000_000_000,
    order_timeout_ns: int = 5_000_000_000,
    intent_capacity: int = 256,
    report_capacity: int = 1024,
    event_capacity: int = 4096,
    n_signal_slots: int = 16,
    log_capacity: int = 65536,
    equity_capacity: int = 4096,
    first_client_id: int = 1,
    initial_cash: Mapping[Any, Any] | None = None,
    venues: Mapping[str, Any] | None = None,
    specialize: Collection[int] = (),
) -> FusedLoop:
    """Fuse ``components`` (in order) into one compiled loop over ``universe``.

    ``mode`` is ``backtest``, ``paper`` or ``live`` (live takes no VENUE component).
    ``initial_cash`` maps ``(venue, currency)`` or ``currency`` (every venue) to an amount.
    ``venues`` (name -> VenueSpec) marks shadow-only venues in ``ctx.specs``.
    The generated loop is cached under ``cache_dir`` (default: see ``default_cache_dir``).
    ``specialize`` lists components whose params are compiled into the loop as constants
    (compiled kernels with a params array; others are ignored): a faster loop, but their
    params can no longer be swapped, and each new set of values compiles a new loop.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    components = list(components)
    validate(components, live=mode == "live")
    bad = [k for k in specialize if not 0 <= k < len(components)]
    if bad:
        raise ValueError(f"specialize: no component {bad[0]} (the loop has {len(components)})")
    n_guards = sum(1 for c in components if c.kind == ComponentKind.GUARD)
    if n_guards > 254:
        raise ValueError(f"at most 254 guards, got {n_guards}")
    if log_capacity < 4 * (intent_capacity + report_capacity):
        raise ValueError("log_capacity must be at least 4 * (intent_capacity + report_capacity)")
    ctx = make_context(
        len(universe.venues),
        len(universe.symbols),
        n_currencies=len(universe.currencies),
        order_capacity=order_capacity,
        intent_capacity=intent_capacity,
        report_capacity=report_capacity,
        event_capacity=event_capacity,
        n_signal_slots=n_signal_slots,
        n_guards=max(1, n_guards),
        first_client_id=first_client_id,
    )
    fill_specs(ctx.specs, universe, dict(venues) if venues else None)
    _initial_cash(ctx, universe, initial_cash)
    ks = make_kstate(
        log_capacity=log_capacity,
        equity_capacity=equity_capacity,
        order_timeout_ns=order_timeout_ns,
        equity_interval_ns=equity_interval_ns,
    )
    if mode != "backtest":
        # the live loop writes order slots, log rows and component state on fresh pages as
        # it goes; fault them in now rather than on the hot path (see tradeloop._memory)
        prefault(ctx, ks, [c.state for c in components])
    _check_distinct(ctx, ks, components)
    module = fuse(components, cache_dir, baked=specialize)
    precompile(components, ctx, ks, module)
    return FusedLoop(universe, components, ctx, ks, module, mode)


def make_stop() -> np.ndarray:
    """A fresh stop flag for :meth:`FusedLoop.run_rings` (set ``[0] = 1`` to stop)."""
    return np.zeros(1, np.int64)


__all__ = [
    "BLOCK",
    "DROP_OLDEST",
    "EQUITY_DTYPE",
    "MODES",
    "TRANSITION_DTYPE",
    "ExactLedger",
    "FusedLoop",
    "ShmRing",
    "SpscRing",
    "build_loop",
    "default_cache_dir",
    "from_hook",
    "make_stop",
    "python_strategy",
    "tolerance",
]
