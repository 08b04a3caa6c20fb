"""Guard-breach events become readable GuardBreach records with value and limit."""

from __future__ import annotations

import math

import numba
import numpy as np
import tradeloop_sdk as sdk
from tradeloop_sdk._breach import KERNEL, guard_breaches, record_breach
from tradeloop_sdk._context import N_EVENTS, record_event

U = sdk.Universe(venues=("sim",), symbols=("BTC", "ETH"))
REJ, RES = sdk.EventKind.GUARD_REJECT, sdk.EventKind.GUARD_RESIZE


@numba.njit(cache=True)
def _guard_then_loop(ctx):  # type: ignore[no-untyped-def]
    # guard 2 refuses intent 0 having measured 12 against 10, then the loop books it
    record_breach(ctx, 0, 17, 12.0, 10.0, False)
    record_event(ctx, 1, 17, 2, ctx.intents[0]["client_id"], 0, 1, 3.0, np.nan)
    # guard 1 resizes intent 1 (no detail): the loop records new and old quantity
    record_event(ctx, 2, 0, 1, ctx.intents[1]["client_id"], 0, 0, 1.5, 2.0)
    # guard 0 resizes intent 2 with a detail naming why
    record_breach(ctx, 2, 18, 5000.0, 4000.0, True)
    record_event(ctx, 2, 0, 0, ctx.intents[2]["client_id"], 0, 0, 0.8, 1.0)
    record_event(ctx, 6, 24, 0xFFFF, 0, 0, 0, 24.0, np.nan)  # KILL: not a breach
    record_event(ctx, 1, 24, 0xFFFF, ctx.intents[3]["client_id"], 0, 0, 1.0, np.nan)


def test_details_fold_into_the_loop_events() -> None:
    ctx = sdk.make_context(1, 2)
    for sym in (1, 0, 0, 0):
        sdk.submit(ctx, 0, 0, sym, sdk.Side.BUY, sdk.OrderType.LIMIT, sdk.TimeInForce.GTC, 3.0, 1.0)
    ctx.control[0]["now_ns"] = 123
    _guard_then_loop(ctx)
    events = ctx.events[: ctx.counts[N_EVENTS]]
    out = guard_breaches(events, U, ["precision", "order_limits", "position_limit"])
    assert [(b.guard, b.action, b.reason) for b in out] == [
        ("position_limit", "reject", sdk.Reason.POSITION_LIMIT),
        ("order_limits", "resize", sdk.Reason.NONE),
        ("precision", "resize", sdk.Reason.NOTIONAL_LIMIT),
        ("kernel", "reject", sdk.Reason.KILL_SWITCH),
    ]
    first = out[0]
    assert (first.value, first.limit, first.symbol, first.venue, first.ts) == (12.0, 10.0, "ETH", "sim", 123)
    assert (out[1].value, out[1].limit) == (1.5, 2.0)
    assert (out[2].value, out[2].limit) == (5000.0, 4000.0)
    assert math.isnan(out[3].limit) and out[3].client_id == ctx.intents[3]["client_id"]
    assert KERNEL == 0xFFFF


def test_unknown_component_and_ids_are_labelled_not_fatal() -> None:
    ev = np.zeros(1, sdk.EVENT_DTYPE)
    ev[0]["kind"], ev[0]["code"], ev[0]["component"], ev[0]["venue"] = REJ, 99, 7, 5
    (b,) = guard_breaches(ev, U, {})
    assert (b.guard, b.reason, b.venue) == ("component[7]", sdk.Reason.UNKNOWN, "#5")
