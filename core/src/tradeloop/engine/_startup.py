"""Start-up reconciliation against live brokers: read each venue, decide, record, apply.

The decisions are ``_reconcile.reconcile`` (pure); this module does the I/O around them:
a consistent read of the venue, journal entries for every finding, cancels of orphans, and
loading the result into the loop (before the loop thread starts).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tradeloop_sdk import Broker

from ._journal import RECONCILE
from ._reconcile import Finding, fill_key, reconcile, replay
from ._state import apply_reconcile
from ._tap import ReportTap

_log = logging.getLogger("tradeloop.engine.reconcile")


async def venue_snapshot(venue: str, broker: Broker) -> tuple[Any, Any, Any]:
    """Fills, open orders and positions read as one consistent picture.

    The venue keeps trading while we read: positions are read before and after the other
    two, and the read is repeated when they moved, so the adopted positions hold exactly
    the fills that reconciliation (and the report tap's skip list) knows.
    """
    for _ in range(10):
        before = await broker.positions()
        fills = await broker.fills(0)
        open_orders = await broker.open_orders()
        positions = await broker.positions()
        if {(p.symbol, p.qty) for p in before} == {(p.symbol, p.qty) for p in positions}:
            break
        _log.info("positions at %s moved while reconciling; reading again", venue)
    return fills, open_orders, positions


async def reconcile_venues(engine: Any, taps: Mapping[str, ReportTap]) -> list[Finding]:
    """Reconcile the journal with every broker of ``engine``; returns the findings."""
    journal = engine.journal
    assert journal is not None
    state = replay(journal)
    found: list[Finding] = []
    for venue, broker in engine.brokers.items():
        fills, open_orders, positions = await venue_snapshot(venue, broker)
        taps[venue].skip = {fill_key(f.client_id, f.ts, f.fill_qty) for f in fills}
        res = reconcile(state, venue, open_orders, fills, positions)
        for f in res.findings:
            _log.warning("reconcile %s: %s %s/%s cid=%d %s", venue, f.kind, f.venue, f.symbol,
                         f.client_id, f.detail)
            data = {"finding": f.kind, "detail": f.detail}
            if f.client_id in res.closed:
                data["state"] = res.closed[f.client_id].name  # replay treats it as final
            journal.append(RECONCILE, data, client_id=f.client_id or None, venue=f.venue,
                           symbol=f.symbol)
        for o in res.orphans:
            try:
                await broker.cancel(o.client_id)
            except Exception as exc:
                _log.warning("cancel of orphan %d at %s failed: %s", o.client_id, venue, exc)
        apply_reconcile(engine.loop, venue, res, journal)
        found.extend(res.findings)
    return found


__all__ = ["reconcile_venues", "venue_snapshot"]
