"""Internal latency: a tick pushed into the quote ring to its intent popped from the order ring.

The engine thread (or process) busy-polls with the GIL released, running the fused loop
with a probe strategy that emits an intent on every Nth tick. The driver (compiled, GIL
released) pushes ticks and, on every Nth, spins on the intent ring until that tick's intent
appears; both timestamps come from ``clock_gettime`` inside the driver. Each intent is
answered with a REJECTED report so the loop's order table keeps room (that path runs too).

The engine pre-faults the loop's tables, logs and rings when it builds them
(``tradeloop._memory``); ``--no-prefault`` turns that off here, to show what it removes (on
the development VM: an in-process p99 of 20-28 us instead of 1-4 us).

Reference, measured in the same run: the same push/spin/pop through an *empty ring round
trip*, an echo kernel that only copies records from one ring to another, in the same
thread/process arrangement. Ratio = loop latency / echo latency.

    python3 -m uv run --all-packages python bench/bench_latency.py [--ticks 1000000] [--every 100]
        [--no-prefault] [--no-cross-process] [--no-pin]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import threading

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tradeloop._rings import BLOCK, DROP_OLDEST, SpscRing
from tradeloop._shm import ShmRing
from tradeloop.loop import build_loop
from tradeloop_sdk import INTENT_DTYPE, REPORT_DTYPE, TICK_DTYPE, ReportKind, Universe

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
    """Push all ticks; on every Nth wait for its intent (or echoed tick); return latencies (ns).

    The driver is compiled (``_latency_kernels.drive_*``, GIL released), so the interval
    between the two clock reads holds only ring traffic and the engine's work.
    """
    from _latency_kernels import drive_echo, drive_loop

    lat = np.zeros(len(ticks) // every + 1, np.int64)
    if echo_mode:
        k = drive_echo(ticks, every, tick_view, intent_view, np.zeros(1, TICK_DTYPE), lat)
    else:
        rep = np.zeros(1, REPORT_DTYPE)
        rep[0]["kind"] = int(ReportKind.REJECTED)
        k = drive_loop(ticks, every, tick_view, intent_view, np.zeros(1, INTENT_DTYPE),
                       report_view, rep, lat)
    return lat[:k]


_PIN = True
_PREFAULT = True


_CPUS = list(range(os.cpu_count() or 1))


def _pin(cpu: int) -> None:
    """Pin the calling thread to ``cpu`` (two busy pollers sharing a core measure the
    scheduler's time slice, not the engine); a no-op when disabled or unsupported."""
    if not _PIN or not hasattr(os, "sched_setaffinity"):
        return
    # all the machine's CPUs: a thread (or spawned process) inherits its creator's pinning,
    # so asking the caller's affinity would see only the one CPU its creator was pinned to
    allowed = _CPUS
    if len(allowed) >= 2:
        os.sched_setaffinity(0, {allowed[cpu % len(allowed)]})


def _no_prefault() -> None:
    """Replace the pre-faulting calls with no-ops in this process (``--no-prefault``)."""
    import tradeloop._rings
    import tradeloop._shm
    import tradeloop.loop

    def skip(*arrays: object) -> int:
        return 0

    tradeloop.loop.prefault = skip  # type: ignore[assignment]
    tradeloop._rings.prefault = skip  # type: ignore[assignment]
    tradeloop._shm.prefault = tradeloop._shm.prefault_read = skip  # type: ignore[assignment]


def _unpin() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))


#: involuntary context switches (preemptions) of the engine and the driver while measuring,
#: per arrangement: a preempted busy poller waits for the next scheduler tick (4 ms here),
#: so this is what tells a machine-made p99.9 from the loop's own
_SWITCHES: dict[str, int] = {}


def _nivcsw() -> int:
    """The calling thread's involuntary context switches so far (0 where unsupported)."""
    try:
        return int(resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw)  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return 0


def _proc_nivcsw(pid: int) -> int:
    """Involuntary context switches of process ``pid``'s main thread (0 where unsupported)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("nonvoluntary_ctxt_switches:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _count(key: str, n: int) -> None:
    _SWITCHES[key] = _SWITCHES.get(key, 0) + n


def _pinned(cpu: int, tag: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    def run() -> None:
        _pin(cpu)
        c0 = _nivcsw()
        fn(*args, **kwargs)
        _count(tag, _nivcsw() - c0)
    return run


def _pcts(lat: np.ndarray) -> tuple[float, float, float]:
    p = np.percentile(lat, [50, 99, 99.9]) / 1000.0
    return float(p[0]), float(p[1]), float(p[2])


def _loop(every: int):  # type: ignore[no-untyped-def]
    from _latency_kernels import probe_component

    u = Universe(venues=("v",), symbols=("s",))
    return build_loop(u, [probe_component(every)], mode="live", order_capacity=1 << 14)


def in_process(ticks: np.ndarray, every: int, rounds: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Loop and echo reference in alternating rounds, so both see the same machine load."""
    from _latency_kernels import echo

    loop = _loop(every)
    lats, refs = [], []
    size = -(-len(ticks) // rounds)
    for r in range(rounds):
        part = ticks[r * size:(r + 1) * size]
        tr, ir, rr = (SpscRing(TICK_DTYPE, CAP, DROP_OLDEST), SpscRing(INTENT_DTYPE, CAP, BLOCK),
                      SpscRing(REPORT_DTYPE, CAP, BLOCK))
        stop = np.zeros(1, np.int64)
        th = threading.Thread(target=_pinned(1, "in engine", loop.run_rings, tr, ir, rr, stop=stop))
        th.start()
        _pin(0)
        drive(ticks[:2000], every, tr.view, ir.view, rr.view, False)  # warm-up
        c0 = _nivcsw()
        lats.append(drive(part, every, tr.view, ir.view, rr.view, False))
        _count("in driver", _nivcsw() - c0)
        stop[0] = 1
        th.join()
        a, b = SpscRing(TICK_DTYPE, CAP, BLOCK), SpscRing(TICK_DTYPE, CAP, BLOCK)
        stop2 = np.zeros(1, np.int64)
        th2 = threading.Thread(target=_pinned(1, "in echo", echo, a.view, b.view, np.zeros(256, TICK_DTYPE), stop2))
        th2.start()
        drive(ticks[:2000], every, a.view, b.view, None, True)
        refs.append(drive(part, every, a.view, b.view, None, True))
        stop2[0] = 1
        th2.join()
    _unpin()
    return np.concatenate(lats), np.concatenate(refs)


def _child(names: list[str], every: int, echo_mode: bool, pin: bool, prefault: bool) -> None:
    global _PIN
    _PIN = pin
    if not prefault:
        _no_prefault()
    _pin(1)
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
        p = ctx.Process(target=_child, args=([r.name for r in rings] + [flag.name], every, echo_mode, _PIN,
                                                    _PREFAULT))
        p.start()
        _pin(0)
        views = [r.view for r in rings]
        rv = None if echo_mode else views[2]
        drive(ticks[:2000], every, views[0], views[1], rv, echo_mode)  # warm-up (and compile wait)
        c0, p0 = _nivcsw(), _proc_nivcsw(p.pid or 0)
        results.append(drive(ticks, every, views[0], views[1], rv, echo_mode))
        tag = "echo" if echo_mode else "engine"
        _count(f"cross {tag}", _proc_nivcsw(p.pid or 0) - p0)
        _count(f"cross driver {tag}", _nivcsw() - c0)
        stop[0] = 1
        p.join(60)
        for r in [*rings, flag]:
            r.close_shm()
            r.unlink()
    _unpin()
    return results[0], results[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=1_000_000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--no-cross-process", action="store_true")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin the engine and the driver to two different CPUs")
    ap.add_argument("--no-prefault", action="store_true",
                    help="do not pre-fault the loop's arrays and rings (shows the page-fault tail)")
    args = ap.parse_args()
    global _PIN, _PREFAULT
    _PIN = not args.no_pin
    _PREFAULT = not args.no_prefault
    if not _PREFAULT:
        _no_prefault()
    load = os.getloadavg()[0]  # before the bench's own two busy pollers raise it
    ticks = make_ticks(args.ticks)
    print(f"{args.ticks:,} ticks, an intent every {args.every} ticks; latencies in microseconds")
    print(f"{'arrangement':<22}{'p50':>8}{'p99':>9}{'p99.9':>9}  |{'ref p50':>8}{'ref p99':>9}"
          f"{'ref p99.9':>10}  | ratio p50 / p99")
    runs = [("in-process (thread)", in_process)]
    if not args.no_cross_process:
        runs.append(("cross-process (shm)", cross_process))
    in_p99 = None
    for name, fn in runs:
        lat, ref = fn(ticks, args.every)
        a, b = _pcts(lat), _pcts(ref)
        in_p99 = a[1] if in_p99 is None else in_p99
        print(f"{name:<22}{a[0]:8.2f}{a[1]:9.2f}{a[2]:9.2f}  |{b[0]:8.2f}{b[1]:9.2f}{b[2]:10.2f}  | "
              f"{a[0] / b[0]:.2f}x / {a[1] / b[1]:.2f}x   (n={len(lat)})")
    sw = _SWITCHES
    print(f"preemptions while measuring: in-process engine {sw.get('in engine', 0)}, driver "
          f"{sw.get('in driver', 0)}, echo {sw.get('in echo', 0)}; cross-process engine "
          f"{sw.get('cross engine', 0)}, driver {sw.get('cross driver engine', 0)}, echo "
          f"{sw.get('cross echo', 0)}, driver {sw.get('cross driver echo', 0)}")
    verdict = "met" if in_p99 is not None and in_p99 < 20.0 else "NOT met"
    print(f"target in-process p99 < 20 us: {verdict}  (pinned: {_PIN}, pre-faulted: {_PREFAULT}, "
          f"cpus: {os.cpu_count()}, load average at start: {load:.2f})")


if __name__ == "__main__":
    main()
