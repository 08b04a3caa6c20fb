"""Order-flow guards: rate limit, concurrency, cooldown, blocklist, trading hours,
per-venue circuit breaker and the kill-switch tripwires."""

from __future__ import annotations

import re
from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import (
    BREAKER_SPEC_DTYPE,
    BREAKER_STATE_DTYPE,
    BreakerSpec,
    BreakerState,
    Reason,
    Universe,
    param,
)

from . import _flow as k
from . import _openbook as book
from ._base import Guard, S, ns, pairs

_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class RateLimit(Guard):
    """At most ``venue_max`` orders per venue and ``symbol_max`` per symbol in any sliding
    ``window_s`` (RATE_LIMIT). Every intent that passes it uses budget: run it last."""

    name = "rate_limit"
    _check = k.rate_limit_check

    @attrs.frozen
    class Params:
        """Rate-limit guard parameters (0: no cap)."""

        venue_max: int = param(0, ge=0, le=100_000, doc="orders per window per venue")
        symbol_max: int = param(0, ge=0, le=100_000, doc="orders per window per symbol")
        window_s: float = param(1.0, gt=0.0, doc="window length (s)")

    def _params(self) -> dict[str, float | int]:
        p = self.params
        return {"venue_max": p.venue_max, "symbol_max": p.symbol_max, "window_ns": ns(p.window_s)}

    def _state(self, universe: Universe) -> Any:
        nv, nsym = len(universe.venues), len(universe.symbols)
        p = self.params
        return (
            np.zeros((nv, max(1, p.venue_max)), np.int64),
            np.zeros(nv, np.int64),
            np.zeros((nv, nsym, max(1, p.symbol_max)), np.int64),
            np.zeros((nv, nsym), np.int64),
        )


class Concurrency(Guard):
    """At most ``venue_max`` live orders per venue and ``symbol_max`` per symbol
    (CONCURRENCY); only NEW orders are checked (a replace adds no order). Counts come
    from an incremental index of live orders, O(1) per order (see ``_openbook``)."""

    name = "concurrency"
    _check = k.concurrency_check
    _on_report = k.concurrency_report
    _fields = ("venue_max", "symbol_max")

    @attrs.frozen
    class Params:
        """Concurrency guard parameters (0: no cap)."""

        venue_max: int = param(0, ge=0, doc="live orders per venue")
        symbol_max: int = param(0, ge=0, doc="live orders per symbol")

    def _state(self, universe: Universe) -> Any:
        return book.make(len(universe.venues), len(universe.symbols))


class Cooldown(Guard):
    """Refuse a NEW order on a symbol within ``cooldown_s`` of its last fill (COOLDOWN);
    with ``on_order`` an order that passes this guard starts the cooldown too."""

    name = "cooldown"
    _check = k.cooldown_check
    _on_report = k.cooldown_report

    @attrs.frozen
    class Params:
        """Cooldown guard parameters."""

        cooldown_s: float = param(1.0, ge=0.0, doc="quiet time after a trade (s)")
        on_order: bool = param(False, doc="also start the cooldown when an order passes")

    def _params(self) -> dict[str, float | int]:
        return {"cooldown_ns": ns(self.params.cooldown_s), "on_order": int(self.params.on_order)}


class Blocklist(Guard):
    """Refuse orders on blocklisted symbols or venues (BLOCKLIST), and on symbols the venue
    marks inactive. Symbols are ``SYM``, ``venue:SYM`` or ``venue:*``; names not in the
    universe are ignored with a warning."""

    name = "blocklist"
    _check = k.blocklist_check
    _fields = ("refuse_inactive",)

    @attrs.frozen
    class Params:
        """Blocklist guard parameters."""

        symbols: tuple[str, ...] = param((), doc="blocked SYM / venue:SYM / venue:*")
        venues: tuple[str, ...] = param((), doc="blocked venues")
        refuse_inactive: bool = param(True, doc="refuse symbols whose spec is inactive")

    def _state(self, universe: Universe) -> Any:
        mask = np.zeros((len(universe.venues), len(universe.symbols)), np.int64)
        for key in self.params.symbols:
            for v, s in pairs(universe, key, strict=False):
                mask[v, s] = 1
        for venue in self.params.venues:
            for v, s in pairs(universe, f"{venue}:*", strict=False):
                mask[v, s] = 1
        return mask


def _parse_hours(text: str) -> tuple[int, int]:
    m = _HOURS.match(text.strip())
    if not m:
        raise ValueError(f"trading_hours: {text!r} is not 'HH:MM-HH:MM' (UTC)")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"trading_hours: {text!r} is not a valid time range")
    return (h1 * 60 + m1) * 60 * S, (h2 * 60 + m2) * 60 * S


class TradingHours(Guard):
    """Refuse orders outside trading hours (MARKET_CLOSED): the SymbolSpec's open_ns /
    close_ns (ns since UTC midnight; equal means around the clock; open after close wraps
    midnight), or ``hours`` overrides ``{"SYM" | "venue:SYM" | "venue:*": "HH:MM-HH:MM"}``.
    ``weekdays_only`` also refuses Saturdays and Sundays (UTC)."""

    name = "trading_hours"
    _check = k.trading_hours_check
    _fields = ("weekdays_only",)

    @attrs.frozen
    class Params:
        """Trading-hours guard parameters."""

        hours: dict[str, str] = param(factory=dict, doc="UTC hours by SYM / venue:SYM / venue:*")
        weekdays_only: bool = param(False, doc="closed on Saturday and Sunday (UTC)")

    def _state(self, universe: Universe) -> Any:
        hours = np.full((len(universe.venues), len(universe.symbols), 2), -1, np.int64)
        for key, text in self.params.hours.items():
            op, cl = _parse_hours(text)
            for v, s in pairs(universe, key):
                hours[v, s] = (op, cl)
        return hours


class CircuitBreakerGuard(Guard):
    """Per-venue circuit breaker in the loop (CIRCUIT_OPEN while open).

    Counts venue rejects and timeouts from reports as failures and acks, fills and cancels
    as successes, and runs the SDK's :class:`tradeloop_sdk.CircuitBreaker` state machine
    (the same transition functions, compiled). ``venues`` overrides the spec per venue.
    Read the states with :meth:`states`.
    """

    name = "circuit_breaker"
    _check = k.breaker_check
    _on_report = k.breaker_report

    @attrs.frozen
    class Params:
        """Circuit-breaker guard parameters (the fields of BreakerSpec, per venue overridable)."""

        max_consecutive: int = param(5, ge=0, doc="open after this many failures in a row (0: off)")
        max_failures: int = param(0, ge=0, doc="open after this many failures within window_s (0: off)")
        window_s: float = param(60.0, gt=0.0, doc="failure-rate window (s)")
        open_timeout_s: float = param(30.0, ge=0.0, doc="time OPEN before trial orders (s)")
        half_open_max_calls: int = param(1, ge=1, doc="trial orders while HALF_OPEN")
        venues: dict[str, dict[str, Any]] = param(factory=dict, doc="per-venue overrides of the fields above")
        ignore_reason: str = param("", doc="a Reason name whose rejects do not count (e.g. INSUFFICIENT_BALANCE)")

        def spec(self, **over: Any) -> BreakerSpec:
            """The BreakerSpec of these params with ``over`` applied."""
            base = {f: getattr(self, f) for f in ("max_consecutive", "max_failures", "window_s",
                                                  "open_timeout_s", "half_open_max_calls")}
            unknown = set(over) - set(base)
            if unknown:
                raise ValueError(f"circuit_breaker.venues: unknown keys {sorted(unknown)}")
            return BreakerSpec(**{**base, **over})

    def _params(self) -> dict[str, float | int]:
        name = self.params.ignore_reason
        if name and name not in Reason.__members__:
            raise ValueError(f"circuit_breaker.ignore_reason: {name!r} is not a Reason")
        return {"ignore_reason": int(Reason[name]) if name else 0}

    def _state(self, universe: Universe) -> Any:
        for venue in self.params.venues:
            universe.venue_id(venue)  # names the known venues on a typo
        specs = [self.params.spec(**self.params.venues.get(v, {})) for v in universe.venues]
        nv = len(universe.venues)
        spec_arr = np.zeros(nv, BREAKER_SPEC_DTYPE)
        for v, sp in enumerate(specs):
            spec_arr[v] = sp.to_record()[0]
        ring = np.zeros((nv, max(sp.ring_size for sp in specs)), np.int64)
        return (np.zeros(nv, BREAKER_STATE_DTYPE), spec_arr, ring)

    def states(self) -> dict[str, BreakerState]:
        """Each venue's breaker state as stored (an elapsed timeout shows on the next order)."""
        if self.state is None or self.universe is None:
            return {}
        st = self.state[0]
        return {v: BreakerState(int(st[i]["state"])) for i, v in enumerate(self.universe.venues)}


class KillSwitch(Guard):
    """Trip the kill switch on configured conditions, and refuse (KILL_SWITCH) once set.

    Tripwires (0: off): loss beyond ``max_loss`` (kill reason DRAWDOWN); ``max_rejects``
    venue rejects within ``window_s`` (a reject storm; KILL_SWITCH); ``max_guard_rejects``
    guard refusals within a ``window_s`` window (KILL_SWITCH); ``max_stuck`` stuck orders
    (TIMEOUT). Checked on every intent and report. The loop refuses every new intent
    while ``control.kill`` is set; what happens to open orders and positions is the
    control block's ``cancel_on_kill`` / ``flatten_on_kill`` policy.
    """

    name = "kill_switch"
    _check = k.kill_switch_check
    _on_report = k.kill_switch_report

    @attrs.frozen
    class Params:
        """Kill-switch tripwire parameters (0: off)."""

        max_loss: float = param(0.0, ge=0.0, doc="loss (realized - fees + unrealized) that kills, quote units")
        max_rejects: int = param(0, ge=0, le=100_000, doc="venue rejects within window_s that kill")
        max_guard_rejects: int = param(0, ge=0, doc="guard refusals within window_s that kill")
        max_stuck: int = param(0, ge=0, doc="stuck orders that kill")
        window_s: float = param(60.0, gt=0.0, doc="window of the storm tripwires (s)")

    def _params(self) -> dict[str, float | int]:
        p = self.params
        return {"max_loss": p.max_loss, "max_rejects": p.max_rejects,
                "max_guard_rejects": p.max_guard_rejects, "max_stuck": p.max_stuck,
                "window_ns": ns(p.window_s)}

    def _state(self, universe: Universe) -> Any:
        return (np.zeros(1, k.KILL_STATE_DTYPE), np.zeros(max(1, self.params.max_rejects), np.int64))
