"""Internal latency: a tick pushed into the quote ring to its intent popped from the order ring.

The engine thread (or process) busy-polls with the GIL released, running the fused loop
with a probe strategy that emits an intent on every Nth tick. The driver pushes ticks and,
on every Nth, spins on the intent ring until that tick's intent appears; both timestamps
come from ``time.perf_counter_ns`` in the driver. Each intent is answered with a REJECTED
report so the loop's order table keeps room (that path runs too).

Reference, measured in the same run: the same push/spin/pop through an *empty ring round
trip*, an echo kernel that only copies records from one ring to another, in the same
thread/process arrangement. Ratio = loop latency / echo latency.

    python3 -m uv run --all-packages python bench/bench_latency.py [--ticks 1000000] [--every 100]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tradeloop_sdk import INTENT_DTYPE, REPORT_DTYPE, TICK_DTYPE, ReportKind, Universe  # noqa: E402

from tradeloop._rings import BLOCK, DROP_OLDEST, SpscRing, ring_pop_batch, ring_push  # noqa: E402
from tradeloop._shm import ShmRing  # noqa: E402
from tradeloop.loop import build_loop  # noqa: E402

CAP = 1 << 16


def make_ticks(n: int) -> np.ndarray:
    t = np.zeros(n, TICK_DTYPE)
    t["seq"] = np.arange(n)
    t["kind"] = 1
    mid = 100.0 + np.cumsum(np.random.default_rng(1).normal(0, 0.01, n))
    t["bid"], t["ask"] = mid - 0.01, mid + 0.01
    t["bid_size"] = t["ask_size"] = 1.0
    return t


def drive(ticks: np.ndarray, every: int, tick_view, intent_view, report_view, echo_mode: bool) -> np.ndarray:
    """Push all ticks; on every Nth wait for its intent (or echoed tick); return latencies (ns)."""
    out_dt = TICK_DTYPE if echo_mode else INTENT_DTYPE
    got = np.zeros(16, out_dt)
    rep = np.zeros(1, REPORT_DTYPE)
    rep[0]["kind"] = int(ReportKind.REJECTED)
    lat = np.zeros(len(ticks) // every + 1, np.int64)
    k = 0
    clock = time.perf_counter_ns
    for i in range(len(ticks)):
        want = i % every == 0
        if echo_mode and not want:
            continue  # the echo reference carries only the measured records
        t0 = clock()
        while not ring_push(tick_view, ticks, i):
            pass
        if not want:
            continue
        while ring_pop_batch(intent_view, got, 0, 1) == 0:
            pass
        t1 = clock()
        lat[k] = t1 - t0
        k += 1
        if not echo_mode:
            rep[0]["client_id"] = got[0]["client_id"]
            while not ring_push(report_view, rep, 0):
                pass
    return lat[:k]


def _pcts(lat: np.ndarray) -> tuple[float, float, float]:
    p = np.percentile(lat, [50, 99, 99.9]) / 1000.0
    return float(p[0]), float(p[1]), float(p[2])


def _loop(every: int):  # type: ignore[no-untyped-def]
    from _latency_kernels import probe_component

    u = Universe(venues=("v",), symbols=("s",))
    return build_loop(u, [probe_component(every)], mode="live", order_capacity=1 << 14)


def in_process(ticks: np.ndarray, every: int) -> tuple[np.ndarray, np.ndarray]:
    from _latency_kernels import echo

    loop = _loop(every)
    tr, ir, rr = (SpscRing(TICK_DTYPE, CAP, DROP_OLDEST), SpscRing(INTENT_DTYPE, CAP, BLOCK),
                  SpscRing(REPORT_DTYPE, CAP, BLOCK))
    stop = np.zeros(1, np.int64)
    th = threading.Thread(target=loop.run_rings, args=(tr, ir, rr), kwargs={"stop": stop})
    th.start()
    drive(ticks[:2000], every, tr.view, ir.view, rr.view, False)  # warm-up
    lat = drive(ticks, every, tr.view, ir.view, rr.view, False)
    stop[0] = 1
    th.join()
    a, b = SpscRing(TICK_DTYPE, CAP, BLOCK), SpscRing(TICK_DTYPE, CAP, BLOCK)
    stop2 = np.zeros(1, np.int64)
    th2 = threading.Thread(target=echo, args=(a.view, b.view, np.zeros(256, TICK_DTYPE), stop2))
    th2.start()
    drive(ticks[:2000], every, a.view, b.view, None, True)
    ref = drive(ticks, every, a.view, b.view, None, True)
    stop2[0] = 1
    th2.join()
    return lat, ref


def _child(names: list[str], every: int, echo_mode: bool) -> None:
    rings = [ShmRing.attach(n) for n in names[:-1]]
    stop_ring = ShmRing.attach(names[-1])  # a 2-record ring used only for its header words
    stop = stop_ring.view.ctrl[40:41]  # a spare header word as the shared stop flag
    if echo_mode:
        from _latency_kernels import echo

        echo(rings[0].view, rings[1].view, np.zeros(256, TICK_DTYPE), stop)
    else:
        _loop(every).run_rings(rings[0], rings[1], rings[2], stop=stop)
    for r in [*rings, stop_ring]:
        r.close_shm()


def cross_process(ticks: np.ndarray, every: int) -> tuple[np.ndarray, np.ndarray]:
    ctx = mp.get_context("spawn")
    results = []
    for echo_mode in (False, True):
        if echo_mode:
            rings = [ShmRing.create(TICK_DTYPE, CAP, BLOCK), ShmRing.create(TICK_DTYPE, CAP, BLOCK)]
        else:
            rings = [ShmRing.create(TICK_DTYPE, CAP, DROP_OLDEST), ShmRing.create(INTENT_DTYPE, CAP, BLOCK),
                     ShmRing.create(REPORT_DTYPE, CAP, BLOCK)]
        flag = ShmRing.create(TICK_DTYPE, 2, BLOCK)
        stop = flag.view.ctrl[40:41]
        p = ctx.Process(target=_child, args=([r.name for r in rings] + [flag.name], every, echo_mode))
        p.start()
        views = [r.view for r in rings]
        rv = None if echo_mode else views[2]
        drive(ticks[:2000], every, views[0], views[1], rv, echo_mode)  # warm-up (and compile wait)
        results.append(drive(ticks, every, views[0], views[1], rv, echo_mode))
        stop[0] = 1
        p.join(60)
        for r in [*rings, flag]:
            r.close_shm()
            r.unlink()
    return results[0], results[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=1_000_000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--no-cross-process", action="store_true")
    args = ap.parse_args()
    ticks = make_ticks(args.ticks)
    print(f"{args.ticks:,} ticks, an intent every {args.every} ticks; latencies in microseconds")
    print(f"{'arrangement':<26}{'p50':>9}{'p99':>9}{'p99.9':>9}   {'ref p50':>8}{'ref p99':>9}  ratio p50/p99")
    runs = [("in-process (thread)", in_process)]
    if not args.no_cross_process:
        runs.append(("cross-process (shm)", cross_process))
    for name, fn in runs:
        lat, ref = fn(ticks, args.every)
        a, b = _pcts(lat), _pcts(ref)
        print(f"{name:<26}{a[0]:9.2f}{a[1]:9.2f}{a[2]:9.2f}   {b[0]:8.2f}{b[1]:9.2f}  "
              f"{a[0] / b[0]:.2f}x / {a[1] / b[1]:.2f}x   (n={len(lat)})")
    print("target: in-process p99 < 20 us")


if __name__ == "__main__":
    main()
