"""The kill switch in the control block: set it, clear it, read it, trip it from a kernel.

``control[0]['kill']`` holds a :class:`Reason` (0 = armed, trading allowed). While it is
nonzero the fused loop lets no new intent leave (cancels still do). Whether open orders
are cancelled and positions flattened on a kill is policy stored next to it in
``cancel_on_kill`` / ``flatten_on_kill``; the engine acts on those.

The first reason wins: tripping an already-set switch keeps the original reason, so the
audit trail shows what stopped trading, not the last thing that noticed.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ._dtypes import CONTROL_DTYPE
from ._enums import Reason


def _check_control(control: np.ndarray) -> None:
    if not isinstance(control, np.ndarray) or control.dtype != CONTROL_DTYPE or control.shape[:1] != (1,):
        raise TypeError(
            f"control must be a one-element CONTROL_DTYPE array (ctx.control), got "
            f"{type(control).__name__} {getattr(control, 'dtype', None)!r}"
        )


def set_kill(
    control: np.ndarray,
    reason: Reason | int = Reason.KILL_SWITCH,
    *,
    cancel_orders: bool | None = None,
    flatten: bool | None = None,
) -> bool:
    """Set the kill switch with ``reason``; returns False if it was already set.

    ``cancel_orders`` / ``flatten`` update the kill policy when given (None leaves it).
    An already-set switch keeps its original reason.
    """
    _check_control(control)
    code = Reason(int(reason))
    if code == Reason.NONE:
        raise ValueError("set_kill needs a nonzero reason; use clear_kill to re-arm")
    if cancel_orders is not None:
        control[0]["cancel_on_kill"] = int(cancel_orders)
    if flatten is not None:
        control[0]["flatten_on_kill"] = int(flatten)
    if control[0]["kill"] != 0:
        return False
    control[0]["kill"] = int(code)
    return True


def clear_kill(control: np.ndarray) -> Reason | None:
    """Re-arm: clear the kill switch and any pending flatten request; returns the old reason."""
    _check_control(control)
    old = kill_reason(control)
    control[0]["kill"] = 0
    control[0]["flatten_request"] = 0
    return old


def kill_reason(control: np.ndarray) -> Reason | None:
    """The reason the switch is set for, or None while trading is allowed."""
    _check_control(control)
    k = int(control[0]["kill"])
    if k == 0:
        return None
    try:
        return Reason(k)
    except ValueError:
        return Reason.UNKNOWN


@numba.njit(cache=True)
def trip_kill(ctx: Any, reason: int) -> bool:
    """Kernel side: set the kill switch to ``reason`` if unset; True if this call tripped it.

    The fused loop notices the change, records the KILL event and applies the kill policy;
    the caller records what it measured with :func:`record_breach`.
    """
    if ctx.control[0]["kill"] != 0:
        return False
    ctx.control[0]["kill"] = reason
    return True
