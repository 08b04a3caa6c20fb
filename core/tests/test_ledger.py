"""The in-loop ledger against an independent reference and against the exact ledger."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tradeloop._exact_ledger import ExactLedger, tolerance
from tradeloop._kstate import make_kstate
from tradeloop._ledger import apply_fill, sample_equity
from tradeloop_sdk import Universe, make_context

U = Universe(venues=("v",), symbols=("S",), currencies=("USD",))

fills = st.lists(
    st.tuples(
        st.sampled_from([1, 2]),  # side
        st.integers(1, 5000).map(lambda n: Decimal(n) / 1000),  # qty
        st.integers(5000, 15000).map(lambda n: Decimal(n) / 100),  # price
        st.integers(0, 300).map(lambda n: Decimal(n) / 1000),  # fee
    ),
    min_size=1,
    max_size=60,
)


def _run(seq, cash0: float = 1000.0):  # type: ignore[no-untyped-def]
    ctx = make_context(1, 1, n_currencies=1)
    ctx.cash[0, 0] = cash0
    for side, q, p, f in seq:
        apply_fill(ctx, 0, 0, side, float(q), float(p), float(f))
    return ctx


@settings(max_examples=300, deadline=None)
@given(seq=fills, mark=st.integers(5000, 15000).map(lambda n: Decimal(n) / 100))
def test_positions_and_pnl_match_an_independent_reference(seq, mark) -> None:
    ctx = _run(seq)
    pos = ctx.positions[0, 0]
    # reference, with no notion of average price: signed sums of the fills
    q_ref = sum((q if s == 1 else -q) for s, q, _, _ in seq)
    flow = sum((q if s == 1 else -q) * p for s, q, p, _ in seq)
    fees = sum(f for *_, f in seq)
    volume = sum(q * p for _, q, p, _ in seq)
    tol = tolerance(float(volume), 1000.0)
    assert abs(pos["qty"] - float(q_ref)) <= tol
    assert abs(pos["fees"] - float(fees)) <= tol
    assert abs(pos["volume"] - float(volume)) <= tol
    assert abs(ctx.cash[0, 0] - float(Decimal(1000) - flow - fees)) <= tol
    # whatever the cost method, realized + unrealized at a mark = q * mark - cash flow
    total = pos["realized"] + pos["qty"] * (float(mark) - pos["avg_price"])
    assert abs(total - float(q_ref * mark - flow)) <= tol * 10
    if q_ref == 0:
        assert pos["qty"] == 0.0 and pos["avg_price"] == 0.0
        assert abs(pos["realized"] - float(-flow)) <= tol


@settings(max_examples=200, deadline=None)
@given(seq=fills)
def test_float_and_exact_ledgers_agree_within_the_documented_tolerance(seq) -> None:
    ctx = _run(seq)
    ex = ExactLedger(U, {"USD": 1000})
    for side, q, p, f in seq:
        # the exact ledger sees what the loop saw: the floats, through their shortest repr
        ex.apply_fill(0, 0, side, Decimal(repr(float(q))), Decimal(repr(float(p))),
                      Decimal(repr(float(f))))
    e = ex.positions[(0, 0)]
    p = ctx.positions[0, 0]
    tol = tolerance(float(e.volume), 1000.0)
    for name in ("qty", "realized", "fees", "volume"):
        assert abs(p[name] - float(getattr(e, name))) <= tol, name
    if e.qty != 0:
        # avg price error scales with notional / |qty|
        assert abs(p["avg_price"] - float(e.avg_price)) <= tol * max(1.0, 1 / abs(float(e.qty)))
    assert abs(ctx.cash[0, 0] - float(ex.total_cash())) <= tol


def test_equity_sample_marks_to_mid_and_falls_back_to_last() -> None:
    ctx = _run([(1, Decimal(2), Decimal(100), Decimal("0.5"))])
    ks = make_kstate(log_capacity=64, equity_capacity=4, order_timeout_ns=1, equity_interval_ns=1)
    ctx.books[0, 0]["last"] = 104.0
    sample_equity(ctx, ks, 7)
    ctx.books[0, 0]["bid"], ctx.books[0, 0]["ask"] = 109.0, 111.0
    sample_equity(ctx, ks, 8)
    e = ks.equity_log[:2]
    assert e["ts"].tolist() == [7, 8]
    assert e["unrealized"].tolist() == [8.0, 20.0]
    assert e["equity"].tolist() == [1000 - 200.5 + 208.0, 1000 - 200.5 + 220.0]
    assert e["fees"].tolist() == [0.5, 0.5] and np.all(e["gross"] == e["net"])
