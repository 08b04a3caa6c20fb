"""Moving state between the loop's arrays and Python: snapshots, reconciliation, flatten.

These write the loop's context directly, so they run only before the loop starts or inside
``Engine.exclusive`` (loop parked).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from tradeloop_sdk import (
    INTENT_DTYPE,
    NO_GUARD,
    IntentAction,
    OrderState,
    OrderType,
    Side,
    TimeInForce,
)

from .._orders import open_order
from ._journal import REPORT, Journal, record_data
from ._reconcile import ReconcileResult

_KERNEL_SOURCE = 0xFFFF


def _f(x: Any) -> Any:
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def engine_state(engine: Any) -> dict[str, Any]:
    """JSON-ready engine state: the loop snapshot plus engine health, breakers, feeds."""
    snap = engine.loop.snapshot()
    out: dict[str, Any] = {
        "positions": {f"{v}/{s}": {k: _f(x) if isinstance(x, float) else x for k, x in p.items()}
                      for (v, s), p in snap["positions"].items()},
        "cash": {f"{v}/{c}": _f(x) for (v, c), x in snap["cash"].items()},
        "open_orders": [dict(o, state=o["state"].name, price=_f(o["price"])) for o in snap["open_orders"]],
        "realized": _f(snap["realized"]),
        "unrealized": _f(snap["unrealized"]),
        "fees": _f(snap["fees"]),
        "control": snap["control"],
        "guard_stats": {k: list(v) for k, v in snap["guard_stats"].items()},
        "ready": engine.ready,
        "kill": engine.kill_reason(),
        "paused": bool(engine.control[0]["pause"]),
        "generation": int(engine.control[0]["generation"]),
        "breakers": {v: {"state": b.state.name, **b.stats} for v, b in engine.breakers.items()},
        "feeds": {f.name: {"healthy": f.healthy, "ended": f.ended, "ticks": f.ticks,
                           "reconnects": f.reconnects, "stale": f.stale_events}
                  for f in engine.feed_runners},
        "executor": ({"intents": engine.executor.intents_seen, "submitted": engine.executor.submitted}
                     if engine.executor is not None else {}),
        "ts": time.time_ns(),
    }
    return out


def restore_snapshot(loop: Any, snap: dict[str, Any]) -> None:
    """Carry PnL, cash and the kill/pause state of a saved snapshot into a fresh loop."""
    u, ctx = loop.universe, loop.ctx
    for key, p in (snap.get("positions") or {}).items():
        venue, _, symbol = key.partition("/")
        if venue not in u.venues or symbol not in u.symbols:
            continue
        row = ctx.positions[u.venue_id(venue), u.symbol_id(symbol)]
        for name in ("qty", "avg_price", "realized", "fees", "volume"):
            if p.get(name) is not None:
                row[name] = float(p[name])
        row["n_fills"] = int(p.get("n_fills", 0) or 0)
    for key, amount in (snap.get("cash") or {}).items():
        venue, _, cur = key.partition("/")
        if venue in u.venues and cur in u.currencies and amount is not None:
            ctx.cash[u.venue_id(venue), u.currency_id(cur)] = float(amount)
    control = snap.get("control") or {}
    if control.get("kill"):
        ctx.control[0]["kill"] = int(control["kill"])
    if control.get("pause"):
        ctx.control[0]["pause"] = int(control["pause"])
    if control.get("next_client_id"):
        ctx.control[0]["next_client_id"] = max(int(ctx.control[0]["next_client_id"]),
                                               int(control["next_client_id"]))


def apply_reconcile(loop: Any, venue: str, res: ReconcileResult, journal: Journal) -> None:
    """Load the reconciled venue state into the loop (adopt venue positions and open orders)."""
    u, ctx = loop.universe, loop.ctx
    v = u.venue_id(venue)
    venue_syms = {p.symbol for p in res.positions}
    for s, sym in enumerate(u.symbols):
        if sym not in venue_syms:
            ctx.positions[v, s]["qty"] = 0.0
    for p in res.positions:
        if p.symbol not in u.symbols:
            continue
        row = ctx.positions[v, u.symbol_id(p.symbol)]
        row["qty"] = float(p.qty)
        if p.avg_price:
            row["avg_price"] = float(p.avg_price)
    mask = ctx.orders.shape[0] - 1
    now = time.time_ns()
    for o in res.open_orders:
        if o.symbol not in u.symbols:
            continue
        slot = ctx.orders[o.client_id & mask: (o.client_id & mask) + 1]
        slot[0]["client_id"] = o.client_id
        slot[0]["venue_order_id"] = o.venue_order_id
        slot[0]["ts_created"] = o.ts or now
        slot[0]["ts_updated"] = now
        slot[0]["qty"] = float(o.qty)
        slot[0]["price"] = float(o.price) if o.price is not None else np.nan
        slot[0]["filled"] = float(o.filled)
        slot[0]["avg_fill_price"] = float(o.avg_fill_price) if o.filled else np.nan
        slot[0]["venue"] = v
        slot[0]["symbol"] = u.symbol_id(o.symbol)
        slot[0]["side"] = int(o.side)
        slot[0]["type"] = int(o.type)
        slot[0]["tif"] = int(o.tif)
        slot[0]["state"] = int(OrderState.PARTIALLY_FILLED if o.filled else OrderState.OPEN)
        slot[0]["source"] = _KERNEL_SOURCE
        slot[0]["deadline"] = 0
    # fills the journal missed are recorded (positions already adopted from the venue)
    if res.missing_fills:
        journal.append_many([(REPORT, record_data(f) | {"reconciled": True}, f.client_id, f.venue,
                              f.symbol) for f in res.missing_fills])


def flatten_intents(loop: Any) -> np.ndarray:
    """Market IOC intents closing every position, entered in the order table (loop parked)."""
    ctx = loop.ctx
    out = []
    pos = ctx.positions
    for v in range(pos.shape[0]):
        for s in range(pos.shape[1]):
            q = float(pos[v, s]["qty"])
            if abs(q) < 1e-12:
                continue
            cid = int(ctx.control[0]["next_client_id"])
            ctx.control[0]["next_client_id"] = cid + 1
            rec = np.zeros(1, INTENT_DTYPE)
            r = rec[0]
            r["ts"], r["client_id"], r["qty"] = time.time_ns(), cid, abs(q)
            r["price"], r["stop_price"] = np.nan, np.nan
            r["venue"], r["symbol"] = v, s
            r["side"] = int(Side.SELL if q > 0 else Side.BUY)
            r["type"], r["tif"] = int(OrderType.MARKET), int(TimeInForce.IOC)
            r["action"], r["source"], r["guard"] = int(IntentAction.NEW), _KERNEL_SOURCE, NO_GUARD
            saved = ctx.intents[0].copy()
            ctx.intents[0] = rec[0]
            open_order(ctx, loop._ks, 0)
            ctx.intents[0] = saved
            out.append(rec)
    return np.concatenate(out) if out else np.zeros(0, INTENT_DTYPE)


__all__ = ["apply_reconcile", "engine_state", "flatten_intents", "restore_snapshot"]
