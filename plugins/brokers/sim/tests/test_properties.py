"""Invariants of the matching kernel under random order flow (hypothesis)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tradeloop_plugin_sim.testing import KernelHarness, quote, ticks, trade
from tradeloop_sdk import ReportKind

TERMINAL = {ReportKind.FILL, ReportKind.CANCELED, ReportKind.EXPIRED}

price = st.integers(9_900, 10_100).map(lambda x: x / 100)
size = st.integers(0, 40).map(lambda x: x / 10)
market_event = st.one_of(
    st.tuples(st.just("quote"), price, st.integers(1, 30), size, size),
    st.tuples(st.just("trade"), price, size, st.sampled_from([0, 1, 2])),
)
order_event = st.one_of(
    st.tuples(st.just("new"), st.sampled_from([1, 2]), st.sampled_from([1, 2, 3]),
              st.sampled_from([1, 2, 3, 4]), st.integers(1, 30).map(lambda x: x / 10), price),
    st.tuples(st.just("cancel"), st.integers(1, 40)),
    st.tuples(st.just("replace"), st.integers(1, 40), st.integers(1, 30).map(lambda x: x / 10),
              price),
)


@settings(max_examples=60, deadline=None)
@given(events=st.lists(st.one_of(market_event, order_event), min_size=1, max_size=60),
       allow_short=st.booleans(), latency=st.sampled_from([0, 3]))
def test_no_overfill_conservation_and_one_terminal_report(events, allow_short, latency) -> None:  # type: ignore[no-untyped-def]
    h = KernelHarness(allow_short=allow_short, latency_ns=latency, report_latency_ns=latency)
    sp = h.ctx.specs[0, 0]
    sp["tick_size"], sp["lot_step"], sp["taker_fee"], sp["maker_fee"] = 0.01, 0.1, 0.001, -0.0002
    h.state.cash[0, 0] = 5_000.0
    h.state.pos[0, 0] = 10.0
    reps = []
    t = 0
    cid = 0
    qty_max: dict[int, float] = {}
    for ev in events:
        t += 2
        if ev[0] == "quote":
            _, mid, spread, bs, asz = ev
            reps.append(h.feed(ticks([quote(t, mid - spread / 200, mid + spread / 200, bs, asz)])))
        elif ev[0] == "trade":
            reps.append(h.feed(ticks([trade(t, ev[1], ev[2], side=ev[3])])))
        elif ev[0] == "new":
            _, side, otype, tif, q, p = ev
            cid += 1
            qty_max[cid] = q
            kw = dict(price=p) if otype == 2 else dict(stop_price=p) if otype == 3 else {}
            reps.append(h.intent(client_id=cid, side=side, otype=otype, tif=tif, qty=q, **kw))
        elif ev[0] == "cancel":
            reps.append(h.intent(action=2, client_id=ev[1], target_id=ev[1]))
        else:
            _, target, q, p = ev
            qty_max[target] = max(qty_max.get(target, 0.0), q)
            reps.append(h.intent(action=3, client_id=target, target_id=target, qty=q, price=p))
    reps.append(h.flush(t + 100))
    allr = np.concatenate(reps)

    filled: dict[int, float] = defaultdict(float)
    terminal: dict[int, int] = defaultdict(int)
    cash, pos = 5_000.0, 10.0
    for r in allr:
        kind, c = ReportKind(int(r["kind"])), int(r["client_id"])
        if kind in (ReportKind.PARTIAL, ReportKind.FILL):
            assert terminal[c] == 0, "fill after a terminal report"
            assert r["fill_qty"] > 0 and r["leaves_qty"] >= 0
            filled[c] += r["fill_qty"]
            notional = r["fill_qty"] * r["fill_price"]
            if r["side"] == 1:
                cash -= notional + r["fee"]
                pos += r["fill_qty"]
            else:
                cash += notional - r["fee"]
                pos -= r["fill_qty"]
        if kind in TERMINAL:
            terminal[c] += 1
        if kind == ReportKind.REJECTED and r["leaves_qty"] == 0 and r["reason"] not in (10, 28):
            terminal[c] += 1  # a refused NEW order
    for c, f in filled.items():
        assert f <= qty_max[c] + 1e-9, f"order {c} overfilled"
    assert all(n <= 1 for n in terminal.values()), "more than one terminal report"
    s = h.state
    assert abs(s.cash[0, 0] - cash) < 1e-6 and abs(s.pos[0, 0] - pos) < 1e-9
    assert s.held_cash[0, 0] >= 0 and s.held_pos[0, 0] >= 0
    if not allow_short:
        assert s.pos[0, 0] >= -1e-9
    if s.ctr[0] == 0:  # nothing live: nothing held
        assert s.held_cash[0, 0] < 1e-6 and s.held_pos[0, 0] < 1e-9
