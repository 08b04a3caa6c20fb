"""Kernels for ``bench_latency.py``: a probe strategy and the empty-ring echo reference.

The probe emits one LIMIT intent on every ``every``-th tick and writes the tick's ``seq``
into the intent's ``stop_price`` (exact in float64 below 2**53), so the benchmark can match
each intent to the push time of the tick that caused it.
"""

from __future__ import annotations

import numba
import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, OrderType, Side, TimeInForce, params_array, submit
from tradeloop_sdk._context import N_INTENTS

from tradeloop._atomics import load_acquire
from tradeloop._rings import ring_pop_batch, ring_push


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
