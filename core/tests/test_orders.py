"""The in-loop order state machine: only valid transitions, terminal stays terminal, stuck."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tradeloop._kstate import make_kstate
from tradeloop._orders import (
    VALID_PAIRS,
    fail_order,
    open_order,
    order_report,
    request_cancel,
    scan_stuck,
)
from tradeloop_sdk import EventKind, OrderState, ReportKind, make_context

S = OrderState
LIVE = {S.CREATING, S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL}
TERMINAL = {S.CANCELED, S.FILLED, S.REJECTED, S.EXPIRED, S.FAILED}

# The allowed pairs, written out from docs/kernel.md independently of the kernel's table.
ALLOWED = (
    {(s, S.CREATING) for s in TERMINAL | {S.EMPTY}}
    | {(s, S.PENDING_CANCEL) for s in (S.CREATING, S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL)}
    | {(S.CREATING, S.OPEN), (S.CREATING, S.REJECTED)}
    | {(s, S.PARTIALLY_FILLED) for s in (S.CREATING, S.OPEN, S.PARTIALLY_FILLED)}
    | {(s, t) for s in LIVE for t in (S.FILLED, S.CANCELED, S.EXPIRED, S.FAILED)}
    | {(S.PENDING_CANCEL, S.OPEN), (S.PENDING_CANCEL, S.PARTIALLY_FILLED)}  # cancel rejected
    | {(S.OPEN, S.OPEN)}  # replace rejected / replaced
)

def _ctx(cap: int = 8):  # type: ignore[no-untyped-def]
    ctx = make_context(1, 1, order_capacity=cap)
    ks = make_kstate(log_capacity=4096, equity_capacity=8, order_timeout_ns=1000,
                     equity_interval_ns=0)
    return ctx, ks


def _new(ctx, ks, cid: int) -> bool:  # type: ignore[no-untyped-def]
    it = ctx.intents[0:1]
    it[0]["client_id"], it[0]["qty"], it[0]["price"], it[0]["side"], it[0]["action"] = cid, 2.0, 10.0, 1, 1
    return bool(open_order(ctx, ks, 0))


def _report(ctx, ks, cid: int, kind: int, qty: float = 0.0) -> int:  # type: ignore[no-untyped-def]
    r = ctx.reports[0:1]
    r[0]["client_id"], r[0]["kind"], r[0]["fill_qty"], r[0]["fill_price"] = cid, kind, qty, 10.0
    r[0]["leaves_qty"] = 1.0
    return int(order_report(ctx, ks, 0))


op = st.one_of(
    st.tuples(st.just("new"), st.just(0), st.just(0)),
    st.tuples(st.just("report"), st.integers(0, 9), st.integers(1, 7)),
    st.tuples(st.just("cancel"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("fail"), st.integers(0, 9), st.just(0)),
)


def test_the_kernel_table_matches_the_documented_pairs() -> None:
    assert {(S(a), S(b)) for a, b in VALID_PAIRS} == ALLOWED


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(op, max_size=40))
def test_only_valid_transitions_and_terminal_states_stay_terminal(ops) -> None:
    ctx, ks = _ctx()
    cids: list[int] = []
    refused_new = 0
    for name, target, kind in ops:
        if name == "new":
            cid = len(cids) + 1
            slot_state = ctx.orders[cid & 7]["state"]
            ok = _new(ctx, ks, cid)
            assert ok == (S(slot_state) not in LIVE)
            if ok:
                cids.append(cid)
            else:
                refused_new += 1
            continue
        cid = cids[target % len(cids)] if cids else 99
        if name == "report":
            _report(ctx, ks, cid, kind, 0.5 if kind in (ReportKind.PARTIAL, ReportKind.FILL) else 0.0)
        elif name == "cancel":
            request_cancel(ctx, ks, cid)
        else:
            fail_order(ctx, ks, cid, 27)
    log = ks.trans_log[: ks.kc[2]]
    valid = log[log["valid"] == 1]
    for row in valid:
        assert (S(row["from_state"]), S(row["to_state"])) in ALLOWED
    # a client id never leaves a terminal state
    for cid in cids:
        states = [S(r["to_state"]) for r in valid if r["client_id"] == cid]
        first_terminal = next((k for k, s in enumerate(states) if s in TERMINAL), None)
        if first_terminal is not None:
            assert first_terminal == len(states) - 1, states
        slot = ctx.orders[cid & 7]
        if slot["client_id"] == cid and states:
            assert S(slot["state"]) == states[-1]
    n_invalid = int((log["valid"] == 0).sum())
    assert ctx.control[0]["invalid_transitions"] == n_invalid
    events = ctx.events[: ctx.counts[2]]
    assert int((events["kind"] == EventKind.INVALID_TRANSITION).sum()) == n_invalid


def test_fill_quantities_accumulate_and_a_cancel_reject_reverts() -> None:
    ctx, ks = _ctx()
    assert _new(ctx, ks, 1)
    _report(ctx, ks, 1, ReportKind.ACK)
    _report(ctx, ks, 1, ReportKind.PARTIAL, 0.5)
    assert request_cancel(ctx, ks, 1)
    _report(ctx, ks, 1, ReportKind.REJECTED)  # the cancel was refused
    o = ctx.orders[1]
    assert S(o["state"]) == S.PARTIALLY_FILLED and o["filled"] == 0.5
    _report(ctx, ks, 1, ReportKind.FILL, 1.5)
    assert S(ctx.orders[1]["state"]) == S.FILLED and ctx.orders[1]["filled"] == 2.0
    # a late fill for a filled order is an invalid transition (the ledger still books it)
    _report(ctx, ks, 1, ReportKind.FILL, 1.0)
    assert ctx.control[0]["invalid_transitions"] == 1
    assert _report(ctx, ks, 77, ReportKind.ACK) == -1  # unknown client id
    assert ctx.control[0]["invalid_transitions"] == 2


def test_stuck_orders_are_flagged_once_and_cleared_by_a_later_report() -> None:
    ctx, ks = _ctx()
    ctx.control[0]["now_ns"] = 100
    assert _new(ctx, ks, 1) and _new(ctx, ks, 2)
    _report(ctx, ks, 2, ReportKind.ACK)
    # the scan is due at the earliest deadline, rounded up to 1/16 of the timeout (batching)
    assert 1100 <= ks.kc[5] < 1100 + 1000 // 16
    scan_stuck(ctx, ks, 1099)
    assert ctx.control[0]["stuck_orders"] == 0
    scan_stuck(ctx, ks, 1100)
    scan_stuck(ctx, ks, 5000)
    assert ctx.control[0]["stuck_orders"] == 1 and ctx.orders[1]["stuck"] == 1
    ev = ctx.events[: ctx.counts[2]]
    stuck = ev[ev["kind"] == EventKind.STUCK_ORDER]
    assert stuck.shape[0] == 1 and stuck[0]["client_id"] == 1 and stuck[0]["code"] == S.CREATING
    # a cancel that is never confirmed is stuck too
    ctx.control[0]["now_ns"] = 6000
    assert request_cancel(ctx, ks, 2)
    scan_stuck(ctx, ks, 7001)
    assert ctx.control[0]["stuck_orders"] == 2 and ctx.orders[2]["stuck"] == 1
    _report(ctx, ks, 2, ReportKind.CANCELED)
    assert ctx.orders[2]["stuck"] == 0
    assert np.isin(ks.kc[5], [np.iinfo(np.int64).max])
