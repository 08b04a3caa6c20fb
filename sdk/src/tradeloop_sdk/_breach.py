"""Guard breaches: what a guard measured, and the readable record the Python side emits.

The fused loop records a GUARD_REJECT / GUARD_RESIZE event for every verdict that blocks
or resizes an intent (``component`` = the guard's index in the loop). That event knows the
quantity but not what the guard measured. A guard kernel calls :func:`record_breach` just
before returning its verdict to record a *detail* event (``component`` =
:data:`GUARD_DETAIL`) carrying the measured value and the limit; :func:`guard_breaches`
folds each detail into the loop's event that follows it, so a breach reads
"position_limit rejected: 12.0 > 10.0".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numba
import numpy as np

from ._context import EventKind, record_event
from ._enums import Reason
from ._hotpath import Universe
from ._records import GuardBreach

#: ``component`` of detail events recorded by guard kernels themselves.
GUARD_DETAIL = 0xFFFE
#: ``component`` the kernel uses for its own refusals (kill switch, pause, order table).
KERNEL = 0xFFFF

_REJECT = EventKind.GUARD_REJECT
_RESIZE = EventKind.GUARD_RESIZE


@numba.njit(cache=True)
def record_breach(ctx: Any, i: int, reason: int, value: float, limit: float, resized: bool) -> None:
    """Record what a guard measured for intent ``i``: ``value`` against ``limit``.

    Call it right before returning ``reason`` (a refusal), or with ``resized=True`` right
    before returning 0 after lowering the quantity (``reason`` then says why).
    """
    it = ctx.intents[i]
    kind = _RESIZE if resized else _REJECT
    record_event(ctx, kind, reason, GUARD_DETAIL, it["client_id"], it["venue"], it["symbol"],
                 value, limit)


def _name(names: Mapping[int, str] | Sequence[str], comp: int) -> str:
    if comp == KERNEL:
        return "kernel"
    try:
        return names[comp]
    except (IndexError, KeyError):
        return f"component[{comp}]"


def _label(seq: Sequence[str], idx: int) -> str:
    return seq[idx] if 0 <= idx < len(seq) else f"#{idx}"


def _reason(code: int) -> Reason:
    try:
        return Reason(code)
    except ValueError:
        return Reason.UNKNOWN


def guard_breaches(
    events: np.ndarray | Iterable[Any],
    universe: Universe,
    names: Mapping[int, str] | Sequence[str],
) -> list[GuardBreach]:
    """Readable :class:`GuardBreach` records from drained EVENT records (other kinds skipped).

    ``names`` maps the loop's component index to the guard's name (a list in loop order
    works). A detail event from :func:`record_breach` supplies the measured value and
    limit (and, for resizes, the reason) of the loop event that follows it; without one,
    value and limit are what the loop recorded (the quantity, and for resizes the quantity
    before).
    """
    out: list[GuardBreach] = []
    detail: dict[tuple[int, int], Any] = {}
    for e in events:
        kind = int(e["kind"])
        if kind not in (_REJECT, _RESIZE):
            continue
        cid = int(e["client_id"])
        comp = int(e["component"])
        if comp == GUARD_DETAIL:
            detail[(cid, kind)] = e
            continue
        d = detail.pop((cid, kind), None)
        code = int(e["code"])
        value, limit = float(e["value"]), float(e["limit"])
        if d is not None and (kind == _RESIZE or int(d["code"]) == code):
            value, limit = float(d["value"]), float(d["limit"])
            if kind == _RESIZE:
                code = int(d["code"])
        out.append(
            GuardBreach(
                guard=_name(names, comp),
                action="reject" if kind == _REJECT else "resize",
                reason=_reason(code),
                client_id=cid,
                venue=_label(universe.venues, int(e["venue"])),
                symbol=_label(universe.symbols, int(e["symbol"])),
                ts=int(e["ts"]),
                value=value,
                limit=limit,
            )
        )
    return out
