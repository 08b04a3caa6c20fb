"""Kill-switch helpers on a control array, Python and kernel side."""

from __future__ import annotations

import numpy as np
import pytest
import tradeloop_sdk as sdk
from tradeloop_sdk._kill import clear_kill, kill_reason, set_kill, trip_kill


def test_set_and_clear_keep_the_first_reason_and_policy() -> None:
    ctx = sdk.make_context()
    assert kill_reason(ctx.control) is None
    assert set_kill(ctx.control, sdk.Reason.DRAWDOWN, cancel_orders=True, flatten=False)
    assert not set_kill(ctx.control, sdk.Reason.KILL_SWITCH)
    assert kill_reason(ctx.control) is sdk.Reason.DRAWDOWN
    assert ctx.control[0]["cancel_on_kill"] == 1 and ctx.control[0]["flatten_on_kill"] == 0
    assert clear_kill(ctx.control) is sdk.Reason.DRAWDOWN
    assert ctx.control[0]["kill"] == 0 and kill_reason(ctx.control) is None


def test_bad_input_is_named() -> None:
    ctx = sdk.make_context()
    with pytest.raises(ValueError, match="nonzero reason"):
        set_kill(ctx.control, sdk.Reason.NONE)
    with pytest.raises(TypeError, match="CONTROL_DTYPE"):
        set_kill(np.zeros(1), sdk.Reason.KILL_SWITCH)


def test_trip_kill_from_a_kernel_keeps_the_first_reason() -> None:
    ctx = sdk.make_context()
    assert trip_kill(ctx, int(sdk.Reason.DRAWDOWN))
    assert not trip_kill(ctx, int(sdk.Reason.VAR_LIMIT))
    assert kill_reason(ctx.control) is sdk.Reason.DRAWDOWN
