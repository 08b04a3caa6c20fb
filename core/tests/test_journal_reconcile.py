"""Replay of the journal and the reconciliation policy."""

from __future__ import annotations

from decimal import Decimal

from tradeloop.engine._journal import INTENT, REPORT, SUBMIT, Journal, record_data
from tradeloop.engine._reconcile import reconcile, replay
from tradeloop_sdk import (
    Intent,
    OrderState,
    OrderStatus,
    OrderType,
    Position,
    Report,
    ReportKind,
    Side,
    TimeInForce,
)

D = Decimal


def _new(j: Journal, cid: int, side: Side = Side.BUY, qty: str = "1", submitted: bool = True) -> None:
    it = Intent(client_id=cid, venue="sim", symbol="X", side=side, type=OrderType.LIMIT,
                qty=D(qty), price=D("10"))
    j.append(INTENT, record_data(it), client_id=cid, venue="sim", symbol="X")
    if submitted:
        j.append(SUBMIT, {"action": "NEW"}, client_id=cid, venue="sim", symbol="X")


def _rep(j: Journal, cid: int, kind: ReportKind, qty: str = "0", side: Side = Side.BUY, ts: int = 1) -> Report:
    r = Report(client_id=cid, venue="sim", symbol="X", kind=kind, side=side, fill_qty=D(qty),
               fill_price=D("10"), ts=ts)
    j.append(REPORT, record_data(r), client_id=cid, venue="sim", symbol="X")
    return r


def _status(cid: int, filled: str = "0") -> OrderStatus:
    return OrderStatus(client_id=cid, venue="sim", symbol="X", side=Side.BUY, type=OrderType.LIMIT,
                       tif=TimeInForce.GTC, qty=D("1"), price=D("10"), filled=D(filled),
                       avg_fill_price=D("10"), state=OrderState.OPEN)


def test_replay_tracks_states_and_positions(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    _new(j, 1)
    _rep(j, 1, ReportKind.ACK)
    _rep(j, 1, ReportKind.FILL, "1", ts=5)
    _rep(j, 1, ReportKind.FILL, "1", ts=5)  # duplicate delivery is not double counted
    _new(j, 2, Side.SELL)
    _rep(j, 2, ReportKind.ACK)
    _rep(j, 2, ReportKind.REJECTED)  # a refused cancel after the ACK: still live
    _new(j, 3, submitted=False)
    _rep(j, 3, ReportKind.REJECTED)
    st = replay(j)
    assert st.positions[("sim", "X")] == D("1")
    assert st.orders[1].terminal and st.orders[3].terminal
    assert [o.client_id for o in st.live_orders()] == [2]


def test_reconcile_policy(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    _new(j, 1)
    _rep(j, 1, ReportKind.ACK)  # open at venue: adopted, with a fill the journal missed
    _new(j, 2)  # submitted, gone from the venue, venue filled it fully while we were away
    _new(j, 3, submitted=False)  # never reached the venue: FAILED
    _new(j, 4)  # submitted, gone, no fills: CANCELED
    st = replay(j)
    fills = [Report(client_id=2, venue="sim", symbol="X", kind=ReportKind.FILL, side=Side.BUY,
                    fill_qty=D("1"), fill_price=D("10"), ts=9)]
    res = reconcile(st, "sim", [_status(1, "0.5"), _status(99)], fills,
                    [Position("sim", "X", D("1.5"))])
    assert [o.client_id for o in res.open_orders] == [1]
    assert [o.client_id for o in res.orphans] == [99]
    assert res.closed == {2: OrderState.FILLED, 3: OrderState.FAILED, 4: OrderState.CANCELED}
    assert [f.client_id for f in res.missing_fills] == [2]
    kinds = sorted(f.kind for f in res.findings)
    assert kinds.count("orphan_cancelled") == 1 and "position_diff" in kinds
    assert kinds.count("closed_while_away") == 3 and "adopted_open" in kinds


def test_reconcile_clean_has_no_findings(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    _new(j, 1)
    _rep(j, 1, ReportKind.ACK)
    _rep(j, 1, ReportKind.PARTIAL, "0.5", ts=3)
    st = replay(j)
    fills = [Report(client_id=1, venue="sim", symbol="X", kind=ReportKind.PARTIAL, side=Side.BUY,
                    fill_qty=D("0.5"), fill_price=D("10"), ts=3)]
    res = reconcile(st, "sim", [_status(1, "0.5")], fills, [Position("sim", "X", D("0.5"))])
    assert res.findings == () and res.closed == {} and res.missing_fills == ()
