"""Strict mode: whether an error that touches orders, positions or routing stops the run.

Outside strict mode such an error is logged and the offending item skipped (useful while
backtesting a noisy data set). In strict mode (the default for live trading) it raises,
because skipping an order update or a position change silently makes the books lie.
Errors that touch nothing of the sort (a metrics exporter failing, say) are always logged
and skipped. A kill switch always raises.

Code that can fail calls :func:`handle_error` instead of choosing by itself::

    try:
        apply(report)
    except BrokerError as err:
        handle_error(err, affects_orders=True)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

import attrs

from ._errors import KillSwitchTriggered

__all__ = ["StrictPolicy", "current_policy", "handle_error", "strict"]

_log = logging.getLogger("tradeloop.errors")

#: Modes in which strict is on unless the config says otherwise.
_STRICT_BY_DEFAULT = frozenset({"live"})


@attrs.frozen
class StrictPolicy:
    """Whether errors affecting orders, positions or routing raise (``enabled``)."""

    enabled: bool = False

    @classmethod
    def for_mode(cls, mode: str, strict: bool | None = None) -> StrictPolicy:
        """The policy for an engine mode; ``strict`` (from ``[engine] strict``) overrides."""
        return cls(mode in _STRICT_BY_DEFAULT if strict is None else strict)


_LENIENT = StrictPolicy()
_policy: ContextVar[StrictPolicy | None] = ContextVar("tradeloop_strict", default=None)


def current_policy() -> StrictPolicy:
    """The policy in force in this thread / task."""
    return _policy.get() or _LENIENT


@contextlib.contextmanager
def strict(enabled: bool | StrictPolicy = True) -> Iterator[StrictPolicy]:
    """Run a block under a strict (or lenient) policy, restoring the previous one after."""
    policy = enabled if isinstance(enabled, StrictPolicy) else StrictPolicy(bool(enabled))
    token = _policy.set(policy)
    try:
        yield policy
    finally:
        _policy.reset(token)


def handle_error(
    err: BaseException,
    *,
    affects_orders: bool,
    logger: logging.Logger | None = None,
    context: str = "",
) -> None:
    """Raise ``err`` if policy says so, otherwise log it (one line, no traceback) and return.

    ``affects_orders`` is true when the failed step would change an order, a position or
    routing. Call this from inside the ``except`` block that caught ``err``.
    """
    if isinstance(err, KillSwitchTriggered) or (affects_orders and current_policy().enabled):
        raise err
    log = logger or _log
    what = f"{context}: " if context else ""
    log.warning("%s%s: %s (skipped; strict mode is off)", what, type(err).__name__, err)
