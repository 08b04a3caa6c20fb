"""Kernels for ``bench_latency.py``: a probe strategy and the empty-ring echo reference.

The probe emits one LIMIT intent on every ``every``-th tick and writes the tick's ``seq``
into the intent's ``stop_price`` (exact in float64 below 2**53), so the benchmark can match
each intent to the push time of the tick that caused it.
"""

from __future__ import annotations

import numba
import numpy as np
from tradeloop._atomics import load_acquire, wall_clock_ns
from tradeloop._rings import ring_pop_batch, ring_push
from tradeloop_sdk import ComponentKind, HotPath, OrderType, Side, TimeInForce, params_array, submit
from tradeloop_sdk._context import N_INTENTS


@numba.njit(cache=True)
def probe_on_tick(params, state, ctx, tick):  # type: ignore[no-untyped-def]
    seq = tick["seq"]
    if seq % params[0]["every"] != 0:
        return
    submit(ctx, 0, tick["venue"], tick["symbol"], Side.BUY, OrderType.LIMIT, TimeInForce.GTC,
           1.0, tick["bid"])
    n = ctx.counts[N_INTENTS]
    if n > 0:
        ctx.intents[n - 1]["stop_price"] = float(seq)


def probe_component(every: int) -> HotPath:
    """The probe strategy as a HotPath."""
    return HotPath(ComponentKind.STRATEGY, params_array({"every": int(every)}),
                   np.zeros(1, np.int64), on_tick=probe_on_tick, name="probe")


@numba.njit(cache=True, nogil=True)
def echo(ring_in, ring_out, buf, stop):  # type: ignore[no-untyped-def]
    """Reference: busy-poll ``ring_in`` and copy every record to ``ring_out`` until stop."""
    while load_acquire(stop, 0) == 0:
        n = ring_pop_batch(ring_in, buf, 0, buf.shape[0])
        for i in range(n):
            while not ring_push(ring_out, buf, i):
                pass


@numba.njit(cache=True, nogil=True)
def drive_loop(ticks, every, tick_ring, intent_ring, got, report_ring, rep, lat):  # type: ignore[no-untyped-def]
    """Push every tick; on every ``every``-th, spin until its intent is in the order ring.

    Stamps come from ``clock_gettime`` inside compiled code, so no Python (and no GIL) sits
    between the two stamps. Each intent is answered with a REJECTED report so the loop's
    order table keeps room. Returns the number of latencies written to ``lat`` (ns).
    """
    k = 0
    for i in range(ticks.shape[0]):
        want = i % every == 0
        t0 = wall_clock_ns()
        while not ring_push(tick_ring, ticks, i):
            pass
        if not want:
            continue
        while ring_pop_batch(intent_ring, got, 0, 1) == 0:
            pass
        lat[k] = wall_clock_ns() - t0
        k += 1
        rep[0]["client_id"] = got[0]["client_id"]
        while not ring_push(report_ring, rep, 0):
            pass
    return k


@numba.njit(cache=True, nogil=True)
def drive_echo(ticks, every, ring_in, ring_out, got, lat):  # type: ignore[no-untyped-def]
    """The reference: the same push / spin / pop through the echo kernel, measured ticks only."""
    k = 0
    for i in range(0, ticks.shape[0], every):
        t0 = wall_clock_ns()
        while not ring_push(ring_in, ticks, i):
            pass
        while ring_pop_batch(ring_out, got, 0, 1) == 0:
            pass
        lat[k] = wall_clock_ns() - t0
        k += 1
    return k
