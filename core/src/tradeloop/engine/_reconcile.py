"""Start-up reconciliation: replay the journal, compare with the venue, resolve by policy.

Policy (documented in docs/live.md, applied in this order):

1. An order open at the venue and known to the journal: **adopt venue state** (its filled
   quantity and state replace the journal's view).
2. An order open at the venue that the journal does not know (an *orphan*, e.g. placed by
   hand or by a process whose journal was lost): **cancel it** at the venue.
3. An order live in the journal but not open at the venue: it ended while we were away.
   Fills the venue reports for it and the journal lacks are journaled and applied; it is
   then FILLED if fully filled, else CANCELED (or FAILED if the venue never saw it).
4. Positions: **adopt the venue's** quantities; each difference from the journal's
   fill-derived position is reported.

Every difference becomes a journal ``reconcile`` entry and a :class:`Finding`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
from tradeloop_sdk import OrderState, OrderStatus, Position, Report, Side

from ._journal import INTENT, RECONCILE, REPORT, SUBMIT, SUBMIT_ERROR, Journal

_log = logging.getLogger("tradeloop.engine.reconcile")

_TERMINAL_KINDS = {"FILL", "CANCELED", "REJECTED", "EXPIRED"}
#: OrderState name recorded by reconciliation -> the terminal report kind it stands for
_RESOLVED_AS = {"FILLED": "FILL", "CANCELED": "CANCELED", "FAILED": "REJECTED"}


@attrs.define
class JournalOrder:
    """An order as the journal remembers it."""

    client_id: int
    venue: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal | None
    submitted: bool = False
    failed: bool = False
    filled: Decimal = Decimal(0)
    last_kind: str = ""
    fill_keys: set[tuple[int, str, str]] = attrs.field(factory=set)

    @property
    def terminal(self) -> bool:
        """True once a terminal report (or a failed submission) was journaled."""
        return self.last_kind in _TERMINAL_KINDS or (self.failed and not self.submitted)


@attrs.define
class JournalState:
    """What replaying the journal yields."""

    orders: dict[int, JournalOrder] = attrs.field(factory=dict)
    positions: dict[tuple[str, str], Decimal] = attrs.field(factory=dict)
    last_ts: int = 0

    def live_orders(self) -> list[JournalOrder]:
        """Orders with no terminal report yet."""
        return [o for o in self.orders.values() if not o.terminal]


def fill_key(client_id: int, ts: int, qty: Any) -> tuple[int, str, str]:
    """Identity of a fill for de-duplication: (client id, venue ts, quantity)."""
    return (int(client_id), str(int(ts)), str(Decimal(str(qty)).normalize()))


def replay(journal: Journal) -> JournalState:
    """Rebuild orders and fill-derived positions from the journal."""
    st = JournalState()
    for e in journal.entries([INTENT, SUBMIT, SUBMIT_ERROR, REPORT, RECONCILE]):
        st.last_ts = max(st.last_ts, e.ts_ns)
        cid = e.client_id
        if cid is None:
            continue
        d = e.data
        if e.kind == INTENT:
            if d.get("action") != "NEW":
                continue
            price = d.get("price")
            st.orders[cid] = JournalOrder(
                cid, e.venue or "", e.symbol or "", Side[d["side"]], Decimal(d["qty"]),
                None if price in (None, "NaN") else Decimal(price),
            )
            continue
        o = st.orders.get(cid)
        if e.kind == RECONCILE:
            # an earlier start resolved this order (it ended while the engine was away): the
            # resolution is as final as a venue report, so later starts do not redo it
            if o is not None and d.get("finding") == "closed_while_away" and not o.terminal:
                o.last_kind = _RESOLVED_AS.get(str(d.get("state")), "CANCELED")
            continue
        if e.kind == SUBMIT and o is not None and d.get("action", "NEW") == "NEW":
            o.submitted = True
        elif e.kind == SUBMIT_ERROR and o is not None and d.get("action", "NEW") == "NEW":
            o.failed = True
        elif e.kind == REPORT:
            kind = d["kind"]
            if kind in ("PARTIAL", "FILL"):
                q = Decimal(d["fill_qty"])
                key = fill_key(cid, d.get("ts", 0), q)
                sign = 1 if d["side"] == "BUY" else -1
                pk = (e.venue or "", e.symbol or "")
                if o is None or key not in o.fill_keys:
                    st.positions[pk] = st.positions.get(pk, Decimal(0)) + sign * q
                if o is not None:
                    o.fill_keys.add(key)
                    o.filled += q
            if o is not None and not o.terminal:
                if kind in ("ACK", "REPLACED"):
                    o.submitted = True
                    o.last_kind = o.last_kind or "ACK"
                elif kind == "REJECTED":
                    # before an ACK it refuses the order; after, only a cancel or replace
                    if o.last_kind == "":
                        o.last_kind = kind
                else:
                    o.last_kind = kind
    return st


@attrs.frozen
class Finding:
    """One difference between journal and venue, and what was done about it."""

    kind: str  # adopted_open, orphan_cancelled, closed_while_away, missing_fill, position_diff
    venue: str
    symbol: str
    client_id: int = 0
    detail: str = ""


@attrs.frozen
class ReconcileResult:
    """Outcome of reconciliation: the state to load into the loop and the findings."""

    open_orders: tuple[OrderStatus, ...]
    positions: tuple[Position, ...]
    closed: dict[int, OrderState]
    missing_fills: tuple[Report, ...]
    orphans: tuple[OrderStatus, ...]
    findings: tuple[Finding, ...]


def reconcile(
    state: JournalState,
    venue: str,
    open_orders: Sequence[OrderStatus],
    fills: Sequence[Report],
    positions: Sequence[Position],
) -> ReconcileResult:
    """Compare the journal's view of ``venue`` with the venue's and decide (no side effects)."""
    findings: list[Finding] = []
    known = {o.client_id: o for o in state.orders.values() if o.venue == venue}
    adopted: list[OrderStatus] = []
    orphans: list[OrderStatus] = []
    for oo in open_orders:
        jo = known.get(oo.client_id)
        if jo is None:
            orphans.append(oo)
            findings.append(Finding("orphan_cancelled", venue, oo.symbol, oo.client_id,
                                    f"venue order {oo.venue_order_id} unknown to the journal"))
            continue
        adopted.append(oo)
        if jo.filled != oo.filled or jo.terminal:
            findings.append(Finding("adopted_open", venue, oo.symbol, oo.client_id,
                                    f"journal filled {jo.filled} ({jo.last_kind or 'no report'}), "
                                    f"venue filled {oo.filled} ({oo.state.name})"))
    open_ids = {o.client_id for o in open_orders}
    missing: list[Report] = []
    fills_by_cid: dict[int, Decimal] = {}
    for f in fills:
        if f.client_id not in known:
            continue  # fills of orphans or other sessions are covered by the position diff
        jo = known[f.client_id]
        fills_by_cid[f.client_id] = fills_by_cid.get(f.client_id, Decimal(0)) + f.fill_qty
        if fill_key(f.client_id, f.ts, f.fill_qty) not in jo.fill_keys:
            missing.append(f)
            findings.append(Finding("missing_fill", venue, f.symbol, f.client_id,
                                    f"{f.fill_qty} @ {f.fill_price} not in the journal"))
    closed: dict[int, OrderState] = {}
    for jo in known.values():
        if jo.terminal or jo.client_id in open_ids:
            continue
        filled = max(jo.filled, fills_by_cid.get(jo.client_id, Decimal(0)))
        if filled >= jo.qty:
            closed[jo.client_id] = OrderState.FILLED
        elif not jo.submitted and filled == 0:
            closed[jo.client_id] = OrderState.FAILED
        else:
            closed[jo.client_id] = OrderState.CANCELED
        findings.append(Finding("closed_while_away", venue, jo.symbol, jo.client_id,
                                f"not open at the venue; now {closed[jo.client_id].name}"))
    journal_pos = {s: q for (v, s), q in state.positions.items() if v == venue}
    for mf in missing:
        sign = 1 if mf.side == Side.BUY else -1
        journal_pos[mf.symbol] = journal_pos.get(mf.symbol, Decimal(0)) + sign * mf.fill_qty
    venue_pos = {p.symbol: p.qty for p in positions}
    for sym in sorted(set(journal_pos) | set(venue_pos)):
        jq, vq = journal_pos.get(sym, Decimal(0)), venue_pos.get(sym, Decimal(0))
        if jq != vq:
            findings.append(Finding("position_diff", venue, sym, 0,
                                    f"journal {jq}, venue {vq}: adopting the venue's"))
    return ReconcileResult(tuple(adopted), tuple(positions), closed, tuple(missing),
                           tuple(orphans), tuple(findings))


__all__ = [
    "Finding",
    "JournalOrder",
    "JournalState",
    "ReconcileResult",
    "fill_key",
    "reconcile",
    "replay",
]
