"""The live-order index of position_limit and concurrency equals a scan of the order table.

Random order lives (new, refused, ack, partial and full fills, cancel requests, cancels,
rejects, replaces, slot reuse in a small table) are driven through the kernel's own
admit/accept/apply_report and the guards' check/on_report; after every step the O(1)
figures must equal the O(capacity) scan they replace, and so must the verdicts.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import tradeloop_plugin_risk as risk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tradeloop._kernel import accept, admit, apply_report
from tradeloop.loop import build_loop
from tradeloop_plugin_risk import _openbook as book
from tradeloop_sdk import (
    HotPath,
    OrderType,
    Reason,
    ReportKind,
    TimeInForce,
    Universe,
    cancel,
    report,
    submit,
)

U = Universe(venues=("a", "b"), symbols=("X", "Y", "Z"))
CAP = 64  # a small table, so slots are reused
T0 = 1_700_000_000_000_000_000

_op = st.one_of(
    st.tuples(st.just("new"), st.integers(0, 1), st.integers(0, 2), st.sampled_from([1, 2]),
              st.floats(0.5, 5.0), st.booleans()),
    st.tuples(st.sampled_from(["ack", "fill", "cancel_req", "canceled", "reject", "expire"]),
              st.integers(0, 10_000)),
    st.tuples(st.just("partial"), st.integers(0, 10_000), st.floats(0.05, 0.95)),
    st.tuples(st.just("replace"), st.integers(0, 10_000), st.floats(0.5, 5.0)),
)


def _with_small_index(hp: HotPath, state: Any) -> HotPath:
    return HotPath(kind=hp.kind, params=hp.params, state=state, check=hp.check,
                   on_report=hp.on_report, name=hp.name)


def _rig() -> tuple[Any, HotPath, HotPath]:
    pl = risk.PositionLimit(risk.PositionLimit.Params(max_qty=8.0)).tradeloop_hot_path(U)
    pl = _with_small_index(pl, (pl.state[0], book.make(2, 3, CAP)))
    cc = risk.Concurrency(risk.Concurrency.Params(venue_max=6, symbol_max=3)).tradeloop_hot_path(U)
    cc = _with_small_index(cc, book.make(2, 3, CAP))
    loop = build_loop(U, [pl, cc], mode="backtest", order_capacity=CAP)
    loop.ctx.control[0]["now_ns"] = T0
    return loop, pl, cc


def _assert_index_equals_scan(ctx: Any, pl: HotPath, cc: HotPath) -> None:
    for v in range(2):
        for s in range(3):
            assert book.live_counts(cc.state, ctx, v, s) == book.live_counts_scan(ctx, v, s)
            for side in (1, 2):
                got = book.open_qty(pl.state[1], ctx, v, s, side)
                assert math.isclose(got, book.open_qty_scan(ctx, v, s, side), abs_tol=1e-9), (v, s, side)


def _expected_concurrency(ctx: Any, v: int, s: int) -> int:
    n_v, n_s = book.live_counts_scan(ctx, v, s)
    return Reason.CONCURRENCY if n_v >= 6 or n_s >= 3 else 0


def _expected_position(ctx: Any, v: int, s: int, side: int, q: float) -> int:
    sgn = 1.0 if side == 1 else -1.0
    projected = sgn * ctx.positions[v, s]["qty"] + book.open_qty_scan(ctx, v, s, side) + q
    return Reason.POSITION_LIMIT if projected > 8.0 * (1 + 1e-9) else 0


def _live(ctx: Any) -> list[int]:
    o = ctx.orders
    return [int(c) for c in o["client_id"][(o["state"] >= 1) & (o["state"] <= 4)]]


def _report(ctx: Any, ks: Any, pl: HotPath, cc: HotPath, kind: int, cid: int, fill: float = 0.0,
            leaves: float = 0.0) -> None:
    o = ctx.orders[cid & (CAP - 1)]
    ctx.counts[1] = 0
    j = report(ctx, kind, cid, int(o["venue"]), int(o["symbol"]), int(o["side"]), fill, 100.0, 0.0,
               leaves, 0, Reason.VENUE_POLICY if kind == ReportKind.REJECTED else 0, 0, T0)
    apply_report(ctx, ks, j)
    for g in (pl, cc):
        g.on_report(g.params, g.state, ctx, j)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, min_size=1, max_size=80))
def test_index_matches_the_scan_through_every_order_event(ops: list[tuple[Any, ...]]) -> None:
    loop, pl, cc = _rig()
    ctx, ks = loop.ctx, loop._ks
    for op in ops:
        kind = op[0]
        if kind == "new":
            _, v, s, side, q, later_guard_refuses = op
            ctx.counts[0] = 0
            submit(ctx, 0, v, s, side, int(OrderType.LIMIT), int(TimeInForce.GTC), q, 100.0)
            r = admit(ctx, ks, 0)
            if r == 0:
                want_pl = _expected_position(ctx, v, s, side, q)
                want_cc = _expected_concurrency(ctx, v, s)
                assert pl.check(pl.params, pl.state, ctx, 0) == want_pl
                assert cc.check(cc.params, cc.state, ctx, 0) == want_cc
                r = want_pl or want_cc or (int(Reason.RATE_LIMIT) if later_guard_refuses else 0)
            if r == 0:
                r = accept(ctx, ks, 0)
            ctx.intents[0]["reason"] = r  # as the loop's refuse() does
            ctx.counts[0] = 0
        else:
            live = _live(ctx)
            if not live:
                continue
            cid = live[op[1] % len(live)]
            o = ctx.orders[cid & (CAP - 1)]
            left = float(o["qty"] - o["filled"])
            if kind == "ack":
                _report(ctx, ks, pl, cc, ReportKind.ACK, cid, leaves=left)
            elif kind == "partial":
                _report(ctx, ks, pl, cc, ReportKind.PARTIAL, cid, fill=left * op[2], leaves=left * (1 - op[2]))
            elif kind == "fill":
                _report(ctx, ks, pl, cc, ReportKind.FILL, cid, fill=left)
            elif kind == "canceled":
                _report(ctx, ks, pl, cc, ReportKind.CANCELED, cid)
            elif kind == "reject":
                _report(ctx, ks, pl, cc, ReportKind.REJECTED, cid)
            elif kind == "expire":
                _report(ctx, ks, pl, cc, ReportKind.EXPIRED, cid)
            elif kind == "replace":
                _report(ctx, ks, pl, cc, ReportKind.REPLACED, cid, leaves=op[2])
            elif kind == "cancel_req":
                ctx.counts[0] = 0
                cancel(ctx, 0, cid)
                if admit(ctx, ks, 0) == 0:
                    accept(ctx, ks, 0)
                ctx.counts[0] = 0
        _assert_index_equals_scan(ctx, pl, cc)
    _assert_index_equals_scan(ctx, pl, cc)
    # the index was exercised, not bypassed: it is sized for this table and initialised
    assert pl.state[1][0][0] == 1 and cc.state[0][0] == 1


def test_an_order_table_of_another_size_falls_back_to_the_scan() -> None:
    loop = build_loop(U, [], mode="backtest", order_capacity=CAP)
    ctx = loop.ctx
    idx = book.make(2, 3)  # sized for 4096 slots
    o = ctx.orders[5]
    o["client_id"], o["venue"], o["symbol"], o["side"], o["qty"], o["state"] = 5, 1, 2, 2, 3.0, 2
    assert book.open_qty(idx, ctx, 1, 2, 2) == 3.0 and book.live_counts(idx, ctx, 1, 2) == (1, 1)
    assert idx[0][0] == 0  # never initialised: every figure came from the scan
    assert np.all(idx[5] == 0.0)
