"""Each data-quality gate at, just below and just above its bound, driven over make_context()."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest
import tradeloop_plugin_quality as q
import tradeloop_sdk as sdk
from tradeloop_sdk import TickFlag, TickKind, Universe

U = Universe(venues=("v0", "v1"), symbols=("AAA", "BBB"))
MS = 1_000_000
T0 = 1_700_000_000_000_000_000


@numba.njit(cache=True)
def _drive(fn, params, state, ctx, ticks, out):  # type: ignore[no-untyped-def]
    # what the fused loop does around a gate: clock, OR flags into tick and book
    for i in range(ticks.shape[0]):
        t = ticks[i : i + 1]
        ctx.control[0]["now_ns"] = t[0]["ts_recv"]
        f = fn(params, state, ctx, t[0])
        t[0]["flags"] |= f
        ctx.books[t[0]["venue"], t[0]["symbol"]]["flags"] = f
        out[i] = f


def ticks(rows: list[dict[str, Any]]) -> np.ndarray:
    arr = np.zeros(len(rows), sdk.TICK_DTYPE)
    for i, r in enumerate(rows):
        arr[i]["kind"] = TickKind.QUOTE
        arr[i]["ts_exch"] = arr[i]["ts_recv"] = T0 + i * MS
        for key, val in r.items():
            arr[i][key] = val
    return arr


def run(gate: Any, rows: list[dict[str, Any]], ctx: Any = None) -> tuple[list[int], Any]:
    hp = gate.tradeloop_hot_path(U)
    assert hp.kind == sdk.ComponentKind.GATE and hp.name
    ctx = ctx if ctx is not None else sdk.make_context(2, 2)
    t = ticks(rows)
    out = np.zeros(len(t), np.int64)
    _drive(hp.on_tick, hp.params, hp.state, ctx, t, out)
    assert (t["flags"] == out).all()
    return out.tolist(), ctx


def test_crossed_book_with_tolerance_and_locked() -> None:
    g = q.CrossedBook(q.CrossedBook.Params(tolerance_bps=1.0))  # 1 bp of mid 100 = 0.01
    rows = [
        {"bid": 100.0, "ask": 100.0},  # locked passes
        {"bid": 100.009, "ask": 99.999},  # crossed by 0.01 - 1e-3: inside tolerance
        {"bid": 100.02, "ask": 100.0},  # crossed by 0.02 > 0.01
        {"kind": TickKind.TRADE, "price": 100.0, "ask": 90.0},  # trades never crossed
    ]
    out, _ = run(g, rows)
    assert out == [0, 0, TickFlag.CROSSED, 0]
    assert g.flagged() == 1
    out, _ = run(q.CrossedBook(q.CrossedBook.Params(flag_locked=True)), rows[:1])
    assert out == [TickFlag.CROSSED]


def test_stale_quote_at_and_around_max_age() -> None:
    g = q.StaleQuote(q.StaleQuote.Params(max_age_ms=500.0))
    rows = [
        {"bid": 1.0, "ask": 1.1, "ts_exch": T0, "ts_recv": T0 + 500 * MS},  # at the bound
        {"bid": 1.0, "ask": 1.1, "ts_exch": T0, "ts_recv": T0 + 500 * MS - 1},
        {"bid": 1.0, "ask": 1.1, "ts_exch": T0, "ts_recv": T0 + 500 * MS + 1},
    ]
    out, _ = run(g, rows)
    assert out == [0, 0, TickFlag.STALE]


def test_time_skew_above_one_second() -> None:
    g = q.TimeSkew()  # default bound: 1 s, exchange clock ahead
    rows = [
        {"ts_exch": T0 + 1000 * MS, "ts_recv": T0},
        {"ts_exch": T0 + 1000 * MS + 1, "ts_recv": T0},
        {"ts_exch": T0 - 5000 * MS, "ts_recv": T0},  # lagging: stale_quote's business
    ]
    out, _ = run(g, rows)
    assert out == [0, TickFlag.SKEW, 0]
    out, _ = run(q.TimeSkew(q.TimeSkew.Params(two_sided=True)), rows)
    assert out == [0, TickFlag.SKEW, TickFlag.SKEW]


def test_wide_spread_bound() -> None:
    g = q.WideSpread(q.WideSpread.Params(max_spread_bps=20.0))
    rows = [
        {"bid": 99.9, "ask": 100.1},  # exactly 20 bps of mid 100
        {"bid": 99.9, "ask": 100.0999},
        {"bid": 99.9, "ask": 100.1001},
    ]
    out, _ = run(g, rows)
    assert out == [0, 0, TickFlag.WIDE]


def test_sequence_gap_flags_and_requests_snapshot() -> None:
    g = q.SequenceGap(q.SequenceGap.Params(max_reorder=10))
    seqs = [100, 101, 105, 104, 105, 106, 50]
    rows = [{"seq": s, "bid": 1.0, "ask": 1.1} for s in seqs]
    rows.append({"seq": 7, "venue": 1, "symbol": 1})  # another stream starts clean
    out, _ = run(g, rows)
    assert out == [0, 0, TickFlag.GAP, TickFlag.OUT_OF_ORDER, TickFlag.DUPLICATE, 0,
                   TickFlag.GAP, 0]
    st = g.state[0, 0]
    assert (st["gaps"], st["missing"], st["resets"], st["needs_snapshot"]) == (1, 3, 1, 1)
    assert st["snapshot_requests"] == 1  # one outstanding request, not two
    assert g.pending_snapshots() == [("v0", "AAA")]
    g.acknowledge_snapshot("v0", "AAA")
    assert g.pending_snapshots() == []
    with pytest.raises(KeyError, match="unknown venue"):
        g.acknowledge_snapshot("nope", "AAA")


def test_gap_taints_the_symbol_for_the_configured_window() -> None:
    g = q.SequenceGap(q.SequenceGap.Params(taint_ms=10.0))
    rows = [{"seq": 1}, {"seq": 3}, {"seq": 4}]
    out, ctx = run(g, rows)
    assert out == [0, TickFlag.GAP, 0]
    # the last tick is clean but the gap at T0+1ms taints until T0+11ms
    assert ctx.books[0, 0]["flags"] == 0
    assert ctx.books[0, 0]["tainted_until"] == T0 + 11 * MS
    assert sdk.is_tainted(ctx, 0, 0)
    ctx.control[0]["now_ns"] = T0 + 11 * MS
    assert not sdk.is_tainted(ctx, 0, 0)


def test_price_jump_after_warmup() -> None:
    g = q.PriceJump(q.PriceJump.Params(n_sigma=5.0, min_samples=10, halflife=50.0, min_move_bps=0.0))
    rng = np.random.default_rng(7)
    px = 100.0 * np.exp(np.cumsum(rng.normal(0, 1e-4, 60)))
    rows = [{"kind": TickKind.TRADE, "price": p} for p in px]
    rows.append({"kind": TickKind.TRADE, "price": px[-1] * 1.01})  # 100 bps vs ~1 bp sigma
    rows.append({"kind": TickKind.TRADE, "price": px[-1] * 1.01})  # new level holds: clean
    out, _ = run(g, rows)
    assert out[-2] == TickFlag.JUMP and out[-1] == 0
    assert sum(out[:-2]) == 0
    assert g.flagged() == 1 and g.state[0, 0]["last_sigmas"] > 5.0


def test_price_jump_threshold_is_n_sigma() -> None:
    # constant |return| r: sigma == r exactly, so a move of n_sigma * r is at the bound
    r = 1e-3
    base = [100.0 * np.exp(r * (i % 2)) for i in range(30)]
    last = base[-1]
    at = last * np.exp(-3.0 * r * (1 - 1e-9))
    above = last * np.exp(-3.0 * r * (1 + 1e-6))
    g = q.PriceJump(q.PriceJump.Params(n_sigma=3.0, min_samples=5, min_move_bps=0.0))
    out, _ = run(g, [{"kind": TickKind.TRADE, "price": p} for p in [*base, at]])
    assert out[-1] == 0
    g = q.PriceJump(q.PriceJump.Params(n_sigma=3.0, min_samples=5, min_move_bps=0.0))
    out, _ = run(g, [{"kind": TickKind.TRADE, "price": p} for p in [*base, above]])
    assert out[-1] == TickFlag.JUMP


def test_params_are_bounded() -> None:
    with pytest.raises(ValueError, match="max_age_ms"):
        q.StaleQuote.Params(max_age_ms=0.0)
    with pytest.raises(ValueError, match="n_sigma"):
        q.PriceJump.Params(n_sigma=-1.0)
