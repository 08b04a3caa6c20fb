"""The fused loop end to end: tick order, guards, kill/pause, order table, ledger, live rings.

One component configuration (gate, scripted strategy, three guards, touch venue) is used
throughout so that the loop compiles once per session (the cache dir is shared).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from tradeloop._fusion import _Gen
from tradeloop.loop import (
    ExactLedger,
    SpscRing,
    build_loop,
    make_stop,
    tolerance,
)
from tradeloop_sdk import (
    INTENT_DTYPE,
    REPORT_DTYPE,
    TICK_DTYPE,
    EventKind,
    OrderState,
    Reason,
    ReportKind,
    SymbolSpec,
    TickKind,
    Universe,
)

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import _bench_kernels as bk  # noqa: E402

pytestmark = pytest.mark.slow  # the first build compiles the fused loop (~20 s on CI)

BUY, SELL, MKT, LMT, GTC, IOC, NEW, CXL = 1, 2, 1, 2, 1, 2, 1, 2
UNIVERSE = Universe(
    venues=("sim",),
    symbols=("BTCUSD", "ETHUSD"),
    currencies=("USD", "BTC"),
    specs={
        ("sim", "BTCUSD"): SymbolSpec(symbol="BTCUSD", base="BTC", quote="USD",
                                      taker_fee=Decimal("0.001")),
    },
)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fused-cache")


def components(script, max_qty=5.0, limit=10.0, taint_ns=0):  # type: ignore[no-untyped-def]
    return [bk.crossed_gate_component(taint_ns), bk.script_component(script),
            *bk.guard_components(max_qty, limit), bk.venue_component()]


def make(cache_dir, script, **kw):  # type: ignore[no-untyped-def]
    comp_kw = {k: kw.pop(k) for k in ("max_qty", "limit", "taint_ns") if k in kw}
    return build_loop(UNIVERSE, components(script, **comp_kw), cache_dir=cache_dir,
                      initial_cash={"USD": 10_000}, equity_interval_ns=1_000_000_000, **kw)


def flat_ticks(n: int, bid: float = 100.0, ask: float = 100.5, symbol: int = 0) -> np.ndarray:
    t = np.zeros(n, TICK_DTYPE)
    t["ts_exch"] = 1_000_000_000 + np.arange(n) * 1_000_000
    t["ts_recv"] = t["ts_exch"] + 10
    t["seq"] = np.arange(n)
    t["bid"], t["ask"], t["bid_size"], t["ask_size"] = bid, ask, 1.0, 1.0
    t["kind"] = 1
    t["symbol"] = symbol
    return t


def test_market_order_round_trip(cache_dir: Path) -> None:
    loop = make(cache_dir, [(1, NEW, BUY, MKT, IOC, 2.0, np.nan)])
    loop.run(flat_ticks(5))
    reps = loop.drain_reports()
    assert [ReportKind(k) for k in reps["kind"]] == [ReportKind.ACK, ReportKind.FILL]
    cid = int(reps[0]["client_id"])
    pos = loop.ctx.positions[0, 0]
    assert pos["qty"] == 2.0 and pos["avg_price"] == 100.5
    assert loop.ctx.cash[0, 0] == pytest.approx(10_000 - 201.0 - 0.201)
    assert [(a, b) for _, a, b in loop.order_history(cid)] == [
        (OrderState.EMPTY, OrderState.CREATING),
        (OrderState.CREATING, OrderState.OPEN),
        (OrderState.OPEN, OrderState.FILLED),
    ]
    intents = loop.drain_intents()
    assert intents.shape[0] == 1 and intents[0]["reason"] == 0 and intents[0]["guard"] == 255
    eq = loop.drain_equity()
    assert eq.shape[0] >= 1 and eq[0]["ts"] == 1_000_000_010
    snap = loop.snapshot()
    assert snap["control"]["ticks_in"] == 5 and snap["control"]["intents_out"] == 1
    assert snap["positions"][("sim", "BTCUSD")]["qty"] == 2.0 and snap["open_orders"] == []


def test_order_history_from_a_start_and_within_its_limit(cache_dir: Path) -> None:
    loop = make(cache_dir, [(k, NEW, BUY, MKT, IOC, 0.1, np.nan) for k in (1, 2, 3, 4)])
    loop.run(flat_ticks(6))
    cids = [int(c) for c in loop.drain_intents()["client_id"]]
    assert len(cids) == 4
    full = loop.order_history(cids[0])
    assert [to for _, _, to in full] == [OrderState.CREATING, OrderState.OPEN, OrderState.FILLED]
    # a caller that has seen the first transition gets only the rest
    assert loop.order_history(cids[0], 1) == full[1:]
    assert loop.order_history(cids[0], 3) == []
    # past the limit the oldest orders are forgotten whole; the newest keep theirs
    loop.history_limit = 6
    assert loop.order_history(cids[0]) == [] and loop.order_history(cids[1]) == []
    assert [to for _, _, to in loop.order_history(cids[3])] == [
        OrderState.CREATING, OrderState.OPEN, OrderState.FILLED]
    loop.run(flat_ticks(8)[6:])  # later ticks, no order: nothing more is forgotten
    assert len(loop.order_history(cids[2])) == 3


def test_guards_resize_then_first_refusal_wins(cache_dir: Path) -> None:
    script = [(1, NEW, BUY, MKT, IOC, 8.0, np.nan), (2, NEW, BUY, MKT, IOC, 8.0, np.nan),
              (3, NEW, BUY, MKT, IOC, 1.0, np.nan)]
    loop = make(cache_dir, script)
    loop.run(flat_ticks(6))
    it = loop.drain_intents()
    assert it["qty"].tolist() == [5.0, 5.0, 1.0]
    assert it["reason"].tolist() == [0, 0, Reason.POSITION_LIMIT]
    assert it["guard"].tolist() == [255, 255, 1]  # the position guard (index 1) refused
    assert loop.ctx.positions[0, 0]["qty"] == 10.0
    # max_qty resized twice, passed once; position passed twice, refused once; the third
    # guard never saw the refused intent (first refusal wins)
    assert loop.ctx.guard_stats[:3].tolist() == [[1, 2, 0], [2, 0, 1], [2, 0, 0]]
    ev = loop.drain_events()
    kinds = ev["kind"].tolist()
    assert kinds.count(EventKind.GUARD_RESIZE) == 2 and kinds.count(EventKind.GUARD_REJECT) == 1
    resize = ev[ev["kind"] == EventKind.GUARD_RESIZE][0]
    assert resize["value"] == 5.0 and resize["limit"] == 8.0 and resize["component"] == 2
    c = loop.snapshot()["control"]
    assert c["guard_resizes"] == 2 and c["guard_rejects"] == 1


def test_kill_refuses_new_intents_but_cancels_pass(cache_dir: Path) -> None:
    script = [(1, NEW, BUY, LMT, GTC, 1.0, 90.0),  # rests (below the touch)
              (4, NEW, BUY, MKT, IOC, 1.0, np.nan),  # refused: kill
              (5, CXL, 0, 0, 0, 0.0, 1.0)]  # cancel of row 1 passes
    loop = make(cache_dir, script)
    ticks = flat_ticks(8)
    loop.run(ticks[:3])
    assert [o["state"] for o in loop.snapshot()["open_orders"]] == [OrderState.OPEN]
    loop.ctx.control[0]["kill"] = Reason.KILL_SWITCH
    loop.run(ticks[3:])
    it = loop.drain_intents()
    assert it["reason"].tolist() == [0, Reason.KILL_SWITCH, 0]
    assert loop.snapshot()["open_orders"] == []
    assert loop.drain_reports()["kind"].tolist()[-1] == ReportKind.CANCELED
    kills = [e for e in loop.drain_events() if e["kind"] == EventKind.KILL]
    assert len(kills) == 1


def test_pause_and_cancel_on_kill(cache_dir: Path) -> None:
    script = [(1, NEW, SELL, LMT, GTC, 1.0, 110.0), (3, NEW, BUY, MKT, IOC, 1.0, np.nan)]
    loop = make(cache_dir, script)
    ticks = flat_ticks(7)
    loop.run(ticks[:2])
    loop.ctx.control[0]["pause"] = 1
    loop.run(ticks[2:4])
    assert loop.drain_intents()["reason"].tolist() == [0, Reason.PAUSED]
    assert len(loop.snapshot()["open_orders"]) == 1
    loop.ctx.control[0]["pause"] = 0
    loop.ctx.control[0]["cancel_on_kill"] = 1
    loop.ctx.control[0]["kill"] = Reason.KILL_SWITCH
    loop.run(ticks[4:])
    cancels = loop.drain_intents()
    assert cancels["action"].tolist() == [CXL] and cancels["source"].tolist() == [0xFFFF]
    assert loop.snapshot()["open_orders"] == []
    assert loop.drain_reports()["kind"].tolist()[-1] == ReportKind.CANCELED


def test_slot_held_by_a_live_order_refuses_the_new_intent(cache_dir: Path) -> None:
    script = [(1, NEW, BUY, LMT, GTC, 1.0, 90.0)] + [
        (2 + k, NEW, BUY, MKT, IOC, 0.1, np.nan) for k in range(4)
    ]
    loop = make(cache_dir, script, order_capacity=4)
    loop.run(flat_ticks(8))
    it = loop.drain_intents()
    assert it["client_id"].tolist() == [1, 2, 3, 4, 5]
    assert it["reason"].tolist() == [0, 0, 0, 0, Reason.UNKNOWN]  # 5 & 3 == 1 is live
    assert loop.snapshot()["control"]["slot_refusals"] == 1


def test_gate_flags_taint_the_book_and_the_guard_refuses(cache_dir: Path) -> None:
    ticks = flat_ticks(8)
    ticks[3]["bid"] = 101.0  # crossed
    loop = make(cache_dir, [(3, NEW, BUY, MKT, IOC, 1.0, np.nan),
                            (5, NEW, BUY, MKT, IOC, 1.0, np.nan)], taint_ns=1_500_000)
    loop.run(ticks)
    assert ticks[3]["flags"] == 1 and loop.ctx.control[0]["tainted_ticks"] == 1
    assert loop.ctx.books[0, 0]["tainted_until"] == ticks[3]["ts_recv"] + 1_500_000
    it = loop.drain_intents()
    # tick 3 crossed; tick 4 is clean but inside taint_ns; tick 5 is after it
    assert it["reason"].tolist() == [Reason.TAINTED_DATA, 0]


def test_the_book_takes_quotes_trades_and_bars(cache_dir: Path) -> None:
    """A trade moves only ``last``; a bar is its close both ways, with its volume (as the
    simulated venue quotes it), so guards that need a quote work on bar-only data."""
    loop = make(cache_dir, [])
    ticks = flat_ticks(3)
    ticks[1]["kind"], ticks[1]["price"], ticks[1]["size"] = TickKind.TRADE, 100.25, 0.5
    loop.run(ticks[:2])
    b = loop.ctx.books[0, 0]
    assert (b["bid"], b["ask"], b["last"], b["last_size"]) == (100.0, 100.5, 100.25, 0.5)
    ticks[2]["kind"], ticks[2]["price"], ticks[2]["size"] = TickKind.BAR, 101.0, 7.0
    loop.run(ticks[2:])
    assert (b["bid"], b["ask"], b["bid_size"], b["ask_size"], b["last"]) == (
        101.0, 101.0, 7.0, 7.0, 101.0)


def test_float_ledger_agrees_with_the_exact_ledger(cache_dir: Path) -> None:
    rng = np.random.default_rng(3)
    script = []
    for k in range(40):
        side = int(rng.integers(1, 3))
        script.append((2 + 3 * k, NEW, side, MKT, IOC, float(rng.integers(1, 40)) / 10, np.nan))
    loop = make(cache_dir, script, max_qty=100.0, limit=1e9)
    ticks = bk.synthetic_ticks(200, n_symbols=1)
    loop.run(ticks)
    exact = ExactLedger(UNIVERSE, {"USD": 10_000})
    exact.replay(loop.drain_reports())
    p, e = loop.ctx.positions[0, 0], exact.positions[(0, 0)]
    tol = tolerance(float(e.volume), 10_000)
    assert p["n_fills"] == e.n_fills == 40
    for name in ("qty", "avg_price", "realized", "fees", "volume"):
        assert abs(p[name] - float(getattr(e, name))) <= tol, name
    assert abs(loop.ctx.cash[0, 0] - float(exact.cash[(0, 0)])) <= tol


def test_bad_tick_ids_raise_naming_the_tick(cache_dir: Path) -> None:
    loop = make(cache_dir, [])
    ticks = flat_ticks(4)
    ticks[2]["symbol"] = 9
    with pytest.raises(ValueError, match="tick 2"):
        loop.run(ticks)
    assert loop.ctx.control[0]["ticks_in"] == 2
    with pytest.raises(TypeError, match="TICK_DTYPE"):
        loop.run(np.zeros(3, REPORT_DTYPE))


def test_set_params_hot_reload(cache_dir: Path) -> None:
    loop = make(cache_dir, [(1, NEW, BUY, MKT, IOC, 3.0, np.nan), (4, NEW, BUY, MKT, IOC, 3.0, np.nan)])
    ticks = flat_ticks(6)
    loop.run(ticks[:3])
    new = loop.components[2].params.copy()
    new[0]["max_qty"] = 1.0
    loop.set_params(2, new)
    loop.run(ticks[3:])
    assert loop.drain_intents()["qty"].tolist() == [3.0, 1.0]
    assert loop.ctx.control[0]["generation"] == 1
    with pytest.raises(TypeError, match="new params"):
        loop.set_params(2, np.zeros(1))


def test_specialized_params_are_compiled_into_the_loop(cache_dir: Path) -> None:
    """Params compiled in hold the values of the build, whatever the array says later;
    other values key another loop; swapping them is refused."""
    script = [(1, NEW, BUY, MKT, IOC, 3.0, np.nan)]
    loop = make(cache_dir, script, max_qty=1.0, specialize=[2])
    assert loop.baked == {2}
    loop.components[2].params[0]["max_qty"] = 2.0  # too late: the loop holds the build's 1.0
    loop.run(flat_ticks(3))
    assert loop.drain_intents()["qty"].tolist() == [1.0]
    with pytest.raises(ValueError, match=r"component 2 .*compiled into this loop"):
        loop.set_params(2, loop.components[2].params.copy())
    keys = {_Gen(components(script, max_qty=q), baked=[2]).key() for q in (1.0, 2.0)}
    keys.add(_Gen(components(script, max_qty=1.0)).key())
    assert len(keys) == 3
    with pytest.raises(ValueError, match="specialize: no component 9"):
        make(cache_dir, script, specialize=[9])


def test_live_mode_over_rings(cache_dir: Path) -> None:
    loop = make(cache_dir, [(1, NEW, BUY, MKT, IOC, 1.5, np.nan)], mode="paper")
    tick_ring = SpscRing(TICK_DTYPE, 64)
    intent_ring = SpscRing(INTENT_DTYPE, 16)
    report_ring = SpscRing(REPORT_DTYPE, 16)
    stop = make_stop()
    th = threading.Thread(target=loop.run_rings, args=(tick_ring, intent_ring, report_ring),
                          kwargs={"stop": stop, "poll_batch": 2000})
    th.start()
    try:
        assert tick_ring.push_many(flat_ticks(3)) == 3
        # the thread's first call compiles run_rings (cold cache: tens of seconds on 2 busy cores)
        deadline = time.time() + 180
        while len(intent_ring) == 0 and time.time() < deadline:
            time.sleep(0.01)
        intent = intent_ring.pop()
        assert intent is not None and intent["qty"] == 1.5
        reps = np.zeros(2, REPORT_DTYPE)
        reps["client_id"] = intent["client_id"]
        reps["kind"] = [ReportKind.ACK, ReportKind.FILL]
        reps[1]["fill_qty"], reps[1]["fill_price"], reps[1]["side"] = 1.5, 100.5, 1
        assert report_ring.push_many(reps) == 2
        while loop.ctx.positions[0, 0]["qty"] == 0 and time.time() < deadline:
            time.sleep(0.01)
    finally:
        stop[0] = 1
        th.join(timeout=60)
    assert loop.ctx.positions[0, 0]["qty"] == 1.5
    assert loop.ctx.control[0]["ticks_in"] == 3 and loop.ctx.control[0]["heartbeat_ns"] > 0
    assert len(loop.drain_reports()) == 2
    with pytest.raises(ValueError, match="live mode takes no VENUE"):
        make(cache_dir, [], mode="live")


def _wait(cond, what: str, timeout_s: float = 180.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout_s
    while not cond():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def test_live_stepping_takes_only_allowed_ticks_and_holds_after_one_that_traded(
    cache_dir: Path,
) -> None:
    loop = make(cache_dir, [(3, NEW, BUY, MKT, IOC, 1.0, np.nan)], mode="paper")
    tick_ring = SpscRing(TICK_DTYPE, 64)
    intent_ring = SpscRing(INTENT_DTYPE, 16)
    report_ring = SpscRing(REPORT_DTYPE, 16)
    stop = make_stop()
    loop.stepping(True)
    th = threading.Thread(target=loop.run_rings, args=(tick_ring, intent_ring, report_ring),
                          kwargs={"stop": stop, "poll_batch": 2000})
    th.start()

    def polls_pass() -> None:  # the loop has polled since: it saw the ring and allowance
        hb = int(loop.ctx.control[0]["heartbeat_ns"])
        _wait(lambda: int(loop.ctx.control[0]["heartbeat_ns"]) > hb, "a poll")
        hb = int(loop.ctx.control[0]["heartbeat_ns"])
        _wait(lambda: int(loop.ctx.control[0]["heartbeat_ns"]) > hb, "a poll")

    try:
        assert tick_ring.push_many(flat_ticks(10)) == 10
        polls_pass()  # (compiles run_live on a cold cache)
        assert loop.ticks_taken() == 0 and len(tick_ring) == 10
        loop.allow_ticks(2)
        _wait(lambda: loop.ticks_taken() == 2, "two ticks")
        polls_pass()
        assert loop.ticks_taken() == 2 and loop.ticks_allowed() == 0
        assert int(loop.ctx.books["n_ticks"].sum()) == 2
        # allowed 6 more, the loop takes ticks 2 and 3, and holds after 3, which traded
        loop.allow_ticks(6)
        _wait(lambda: len(intent_ring) == 1, "the scripted intent")
        polls_pass()
        assert loop.ticks_taken() == 4 and loop.ticks_allowed() == 0 and len(tick_ring) == 6
        loop.allow_ticks(3)
        _wait(lambda: loop.ticks_taken() == 7, "three more ticks")
        # stepping off: the loop takes whatever is queued
        loop.stepping(False)
        _wait(lambda: int(loop.ctx.books["n_ticks"].sum()) == 10, "the rest")
        assert loop.ticks_taken() == 7
    finally:
        stop[0] = 1
        th.join(timeout=60)
    assert loop.ctx.control[0]["ticks_in"] == 10


def test_a_second_start_loads_the_loop_from_the_disk_cache(cache_dir: Path) -> None:
    make(cache_dir, []).run(flat_ticks(2))  # make sure this configuration is compiled
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(BENCH)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import numpy as np
        from test_fusion import make, flat_ticks
        loop = make({str(cache_dir)!r}, [])
        loop.run(flat_ticks(2))
        st = loop._mod.run_chunk.stats
        print(sum(st.cache_hits.values()), sum(st.cache_misses.values()))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    hits, misses = map(int, out.stdout.split()[-2:])
    assert hits == 1 and misses == 0


def test_an_edited_component_changes_the_cache_key(tmp_path: Path) -> None:
    mod = tmp_path / "edited_kernel.py"
    src = "import numba\n@numba.njit(cache=True)\ndef on_tick(p, s, ctx, t):\n    s[0] += 1\n"
    mod.write_text(src)
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        import edited_kernel  # type: ignore[import-not-found]
        from tradeloop_sdk import ComponentKind, HotPath

        def key() -> str:
            importlib.reload(edited_kernel)
            hp = HotPath(kind=ComponentKind.STRATEGY, params=np.zeros(1), state=np.zeros(1),
                         on_tick=edited_kernel.on_tick)
            return _Gen([hp]).key()

        k1 = key()
        assert key() == k1
        mod.write_text(src.replace("+= 1", "+= 2"))
        assert key() != k1
    finally:
        sys.path.remove(str(tmp_path))


def test_logs_are_drained_between_compiled_calls_when_they_fill(cache_dir: Path) -> None:
    script = [(1 + k, NEW, BUY if k % 2 else SELL, MKT, IOC, 1.0, np.nan) for k in range(40)]
    loop = make(cache_dir, script, intent_capacity=4, report_capacity=4, log_capacity=32,
                equity_capacity=4)
    loop.run(flat_ticks(60))
    reps, its = loop.drain_reports(), loop.drain_intents()
    assert reps.shape[0] == 80 and its.shape[0] == 40  # nothing lost in the 32-row logs
    assert its["client_id"].tolist() == list(range(1, 41))
    assert loop.snapshot()["control"]["reports_in"] == 80
    assert loop.drain_transitions().shape[0] == 120  # new, ack, fill per order


def test_a_component_edited_after_start_is_not_written_to_the_disk_cache(tmp_path: Path) -> None:
    # A file newer than the process may differ from the code the process imported: its
    # key would name other code than the loop holds, so the loop stays out of the cache.
    mod = tmp_path / "late_kernel.py"
    mod.write_text("import numba\n@numba.njit(cache=True)\ndef on_tick(p, s, ctx, t):\n    s[0] += 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import late_kernel  # type: ignore[import-not-found]
        from tradeloop._fusion import fuse
        from tradeloop_sdk import ComponentKind, HotPath

        hp = HotPath(kind=ComponentKind.STRATEGY, params=np.zeros(1), state=np.zeros(1),
                     on_tick=late_kernel.on_tick)
        cache = tmp_path / "cache"
        m = fuse([hp], cache_dir=cache)
        assert not list(cache.glob("fused_*.py"))
        assert [p.name for p in cache.glob("fresh_*.py")] == [Path(m.__file__).name]
        assert fuse([hp], cache_dir=cache) is m  # still built once per process
    finally:
        sys.path.remove(str(tmp_path))


def test_source_hashes_are_reused_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    from tradeloop import _fusion

    f = tmp_path / "kernel_src.py"
    f.write_text("x = 1\n")
    old = time.time_ns() - 10**9
    os.utime(f, ns=(old, old))
    first = _fusion._file_sha(str(f))
    assert first == hashlib.sha256(b"x = 1\n").hexdigest()
    # an old file whose size and mtime did not move is not read again (its bytes may differ
    # only by an edit that restored both, which this test makes on purpose)
    f.write_text("x = 9\n")
    os.utime(f, ns=(old, old))
    assert _fusion._file_sha(str(f)) == first
    f.write_text("x = 2\n")  # same size, new mtime
    assert _fusion._file_sha(str(f)) == hashlib.sha256(b"x = 2\n").hexdigest()
    # edited again within the timestamp granularity: same size and mtime, still re-read
    now = f.stat().st_mtime_ns
    f.write_text("x = 3\n")
    os.utime(f, ns=(now, now))
    assert _fusion._file_sha(str(f)) == hashlib.sha256(b"x = 3\n").hexdigest()
