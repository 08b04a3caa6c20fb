"""Layout of the matching kernel's params and state: plain arrays with named columns.

Plain 2-D float64/int64 arrays (not structured records) keep the compiled code simple and
fast: a live order is one row of ``of`` (floats) and one row of ``oi`` (ints); a pending
intent or report is one row of a ring. Column numbers are module constants, which numba
folds into the compiled code.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
from tradeloop_sdk import params_array

# --- live orders: float columns (state.of) ---
F_QTY = 0  # total order quantity (as amended)
F_LEAVES = 1  # quantity still open
F_FILLED = 2
F_PRICE = 3  # limit price (NaN: market)
F_STOP = 4  # stop trigger price (NaN: none)
F_AHEAD = 5  # displayed volume ahead in the queue at F_PRICE (inf: unknown)
F_NOTIONAL = 6  # sum fill_qty * fill_price, for the average fill price
F_HOLD_UNIT = 7  # cash (buy) held per unit of leaves; sells hold 1 unit of position
N_OF = 8

# --- live orders: int columns (state.oi) ---
I_CID = 0
I_VOI = 1  # venue order id
I_VENUE = 2
I_SYMBOL = 3
I_SIDE = 4
I_TYPE = 5
I_TIF = 6
I_PRIO = 7  # time priority: lower is earlier
I_TRIGGERED = 8  # stop orders: 1 once triggered (then they behave as market/limit)
I_TS = 9  # arrival time at the venue
I_QCUR = 10  # currency id the cash hold is in
I_RESTING = 11  # 1 once the order rests on the book (it is a maker from then on)
N_OI = 12

# --- own top-of-book per (venue, symbol): state.book[v, s, :] ---
B_BID = 0
B_ASK = 1
B_BID_SIZE = 2  # displayed size, less what trades and our fills have consumed since
B_ASK_SIZE = 3
B_LAST = 4
N_B = 5

# --- pending intents ring: state.pi (ints) and state.pf (floats) ---
PI_ARRIVAL = 0
PI_TS = 1
PI_CID = 2
PI_TARGET = 3
PI_VENUE = 4
PI_SYMBOL = 5
PI_SIDE = 6
PI_TYPE = 7
PI_TIF = 8
PI_ACTION = 9
N_PI = 10
PF_QTY = 0
PF_PRICE = 1
PF_STOP = 2
N_PF = 3

# --- pending reports ring: state.ri (ints) and state.rf (floats) ---
RI_RELEASE = 0
RI_TS = 1
RI_CID = 2
RI_VOI = 3
RI_VENUE = 4
RI_SYMBOL = 5
RI_KIND = 6
RI_SIDE = 7
RI_LIQ = 8
RI_REASON = 9
N_RI = 10
RF_QTY = 0
RF_PRICE = 1
RF_FEE = 2
RF_LEAVES = 3
N_RF = 4

# --- counters: state.ctr ---
C_NLIVE = 0  # live orders, rows 0..n-1 of of/oi
C_PI_HEAD = 1  # pending intents: next to process
C_PI_TAIL = 2  # pending intents: next free
C_RI_HEAD = 3
C_RI_TAIL = 4
C_NEXT_VOI = 5
C_NEXT_PRIO = 6
C_SEEN = 7  # client ids in the dedup set
C_SEEN_FLOOR = 8  # ids <= floor count as seen (set after the dedup set was recycled)
C_NOW = 9  # venue clock: time of the latest tick or arrival
C_MAX_CID = 10
C_FILLS = 11  # fills made so far
C_REJECTS = 12
C_QUEUE_FULL = 13  # intents refused because the pending ring was full
C_ORDERS_FULL = 14  # orders refused because the live table was full
C_SEEDED = 15  # 1 once the account was taken from ctx.cash/ctx.positions (seed_from_ctx)
C_DEAD = 16  # rows marked dead since the last compaction
N_CTR = 20

#: Marker of an empty slot of the dedup hash set (client ids are positive).
EMPTY = -1

SimState = namedtuple(
    "SimState",
    [
        "cash",  # f8[V, C] venue-side cash per currency
        "pos",  # f8[V, S] venue-side position (signed base quantity) per symbol
        "held_cash",  # f8[V, C] cash held by open buy orders
        "held_pos",  # f8[V, S] position held by open sell orders
        "book",  # f8[V, S, N_B] own top of book
        "of",  # f8[max_orders, N_OF]
        "oi",  # i8[max_orders, N_OI]
        "pi",  # i8[queue_capacity, N_PI]
        "pf",  # f8[queue_capacity, N_PF]
        "ri",  # i8[queue_capacity, N_RI]
        "rf",  # f8[queue_capacity, N_RF]
        "seen",  # i8[dedup_capacity] open-addressing set of client ids
        "handles",  # u1[V] 1 for venues this component simulates
        "ctr",  # i8[N_CTR]
    ],
)


def sim_params(
    *,
    latency_ns: int = 0,
    report_latency_ns: int = 0,
    allow_short: bool = False,
    check_balance: bool = True,
    seed_from_ctx: bool = False,
) -> np.ndarray:
    """The kernel's params array (one-element structured array)."""
    if latency_ns < 0 or report_latency_ns < 0:
        raise ValueError(
            f"latencies must be >= 0 ns, got latency_ns={latency_ns}, "
            f"report_latency_ns={report_latency_ns}"
        )
    return params_array(
        {
            "latency_ns": int(latency_ns),
            "report_latency_ns": int(report_latency_ns),
            "allow_short": int(bool(allow_short)),
            "check_balance": int(bool(check_balance)),
            "seed_from_ctx": int(bool(seed_from_ctx)),
        }
    )


def make_state(
    n_venues: int,
    n_symbols: int,
    n_currencies: int,
    *,
    handles: Any = None,
    max_orders: int = 1024,
    queue_capacity: int = 4096,
    dedup_capacity: int = 1 << 16,
) -> SimState:
    """Allocate a fresh kernel state; ``handles`` lists the venue ids simulated (default all)."""
    if dedup_capacity <= 0 or dedup_capacity & (dedup_capacity - 1):
        raise ValueError(f"dedup_capacity must be a power of two, got {dedup_capacity}")
    if max_orders <= 0 or queue_capacity <= 0:
        raise ValueError("max_orders and queue_capacity must be positive")
    book = np.zeros((n_venues, n_symbols, N_B))
    book[:, :, B_BID] = np.nan
    book[:, :, B_ASK] = np.nan
    book[:, :, B_LAST] = np.nan
    h = np.zeros(n_venues, np.uint8)
    if handles is None:
        h[:] = 1
    else:
        for v in handles:
            h[int(v)] = 1
    ctr = np.zeros(N_CTR, np.int64)
    ctr[C_NEXT_VOI] = 1
    return SimState(
        cash=np.zeros((n_venues, n_currencies)),
        pos=np.zeros((n_venues, n_symbols)),
        held_cash=np.zeros((n_venues, n_currencies)),
        held_pos=np.zeros((n_venues, n_symbols)),
        book=book,
        of=np.zeros((max_orders, N_OF)),
        oi=np.zeros((max_orders, N_OI), np.int64),
        pi=np.zeros((queue_capacity, N_PI), np.int64),
        pf=np.zeros((queue_capacity, N_PF)),
        ri=np.zeros((queue_capacity, N_RI), np.int64),
        rf=np.zeros((queue_capacity, N_RF)),
        seen=np.full(dedup_capacity, EMPTY, np.int64),
        handles=h,
        ctr=ctr,
    )
