"""The kernel's own state beside the SDK Context: logs drained by Python and counters.

Components never see this; it is what the fused loop needs to hand results back to Python
(every applied report, every intent after guards, order transitions, equity samples) and
to remember between chunks (next equity sample, earliest order deadline, last kill value).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
from tradeloop_sdk import INTENT_DTYPE, REPORT_DTYPE, TICK_DTYPE
from tradeloop_sdk._dtypes import _record

#: One order-state transition (valid or refused) in the transition log.
TRANSITION_DTYPE = _record(
    [
        ("ts", "i8", 0),
        ("client_id", "i8", 8),
        ("from_state", "u1", 16),
        ("to_state", "u1", 17),
        ("cause", "u1", 18),  # ReportKind, or CAUSE_* for kernel-made transitions
        ("valid", "u1", 19),
        ("_pad", "u4", 20),
    ],
    32,
)

#: One equity sample (quote-currency units; all quote currencies taken at par).
EQUITY_DTYPE = _record(
    [
        ("ts", "i8", 0),
        ("equity", "f8", 8),  # cash + sum(qty * mark)
        ("cash", "f8", 16),
        ("unrealized", "f8", 24),
        ("realized", "f8", 32),
        ("fees", "f8", 40),
        ("gross", "f8", 48),  # sum |qty * mark|
        ("net", "f8", 56),  # sum qty * mark
    ],
    64,
)

# Transition causes beyond ReportKind (1..7).
CAUSE_NEW = 100
CAUSE_CANCEL_REQUEST = 101
CAUSE_FAIL = 102

# Kernel counters (ks.kc).
KC_NREP = 0  # rows in report_log
KC_NINT = 1  # rows in intent_log
KC_NTRANS = 2  # rows in trans_log
KC_NEQ = 3  # rows in equity_log
KC_NEXT_EQ = 4  # ns of the next equity sample
KC_MIN_DEADLINE = 5  # earliest order deadline (may be stale-early, never late)
KC_LAST_KILL = 6  # kill value the loop last acted on
KC_SLOT_REFUSALS = 7  # NEW intents refused because their slot held a live order
KC_FULL_BACKOFFS = 8  # live: spins on a full intent ring
KC_LOST_REPORTS = 9  # live: reports that could not be taken (ctx.reports full)
KC_LOG_LOST = 10  # log rows lost (log full inside one chunk; see docs)
# Live stepping (replay): while KC_STEP is nonzero the loop takes at most one tick a poll,
# and only while KC_STEP_ALLOW > 0. A tick whose intents went out zeroes the allowance, so
# the loop holds after it until its feed allows more; and the loop's clock is the ticks'
# time, as in a backtest. Zero (the default, and what shared memory starts with) is the
# normal live loop.
KC_STEP = 11
KC_STEP_ALLOW = 12
KC_STEP_TAKEN = 13  # ticks taken while stepping (counted at the pop: bad ticks too)
N_KC = 16

# Kernel parameters (ks.kp).
KP_ORDER_TIMEOUT = 0
KP_EQUITY_INTERVAL = 1
N_KP = 8

#: Kernel-internal component index used in events the kernel itself records.
KERNEL_COMPONENT = 0xFFFF
NO_DEADLINE = np.iinfo(np.int64).max

KState = namedtuple(
    "KState",
    [
        "report_log",  # REPORT_DTYPE[log_capacity]
        "intent_log",  # INTENT_DTYPE[log_capacity]
        "trans_log",  # TRANSITION_DTYPE[log_capacity]
        "equity_log",  # EQUITY_DTYPE[equity_capacity]
        "kc",  # int64[N_KC]
        "kp",  # int64[N_KP]
        "tick_buf",  # TICK_DTYPE[batch]: live mode pops ticks here
    ],
)


def make_kstate(
    *,
    log_capacity: int,
    equity_capacity: int,
    order_timeout_ns: int,
    equity_interval_ns: int,
    tick_batch: int = 256,
) -> Any:
    """Allocate the kernel state."""
    kc = np.zeros(N_KC, np.int64)
    kc[KC_NEXT_EQ] = np.iinfo(np.int64).min  # first tick takes a sample
    kc[KC_MIN_DEADLINE] = NO_DEADLINE
    kp = np.zeros(N_KP, np.int64)
    kp[KP_ORDER_TIMEOUT] = order_timeout_ns
    kp[KP_EQUITY_INTERVAL] = equity_interval_ns
    return KState(
        report_log=np.zeros(log_capacity, REPORT_DTYPE),
        intent_log=np.zeros(log_capacity, INTENT_DTYPE),
        trans_log=np.zeros(log_capacity, TRANSITION_DTYPE),
        equity_log=np.zeros(equity_capacity, EQUITY_DTYPE),
        kc=kc,
        kp=kp,
        tick_buf=np.zeros(tick_batch, TICK_DTYPE),
    )
