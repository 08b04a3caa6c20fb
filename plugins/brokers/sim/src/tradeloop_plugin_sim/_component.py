"""The ``sim`` broker component and the ``sim_feed`` data component (entry-point classes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, Universe, hookimpl, param

from . import _conformance
from ._broker import SimBroker
from ._kernel import on_intent, on_tick
from ._layout import make_state, sim_params
from ._remote import RemoteSimBroker, SimFeed
from ._server import SimVenueServer
from ._venue import SimVenue


def _decimals(table: dict[str, str], what: str) -> dict[str, Decimal]:
    out = {}
    for k, v in table.items():
        try:
            out[k] = Decimal(str(v))
        except InvalidOperation:
            raise ValueError(f"{what}.{k}: found {v!r}, expected a decimal amount") from None
    return out


class Sim:
    """The simulated venue: matching kernel for backtests, paper broker, or a remote venue.

    Backtests compile its kernel into the fused loop (``tradeloop_hot_path``). Paper trading
    gets a broker (``tradeloop_broker``): in process (``mode = "local"``), or a client of a
    ``tradeloop sim serve`` process (``mode = "remote"``). Market, limit and stop orders;
    GTC, IOC, FOK and post-only; queue position, fees, latencies and the SDK reject reasons.
    See docs/sim-venue.md for the matching model.
    """

    @attrs.frozen
    class Params:
        """Parameters of the simulated venue."""

        mode: str = param("local", choices=("local", "remote"),
                          doc="paper trading: in-process venue, or a sim venue server")
        host: str = param("127.0.0.1", doc="remote mode: sim venue server host")
        port: int = param(7777, ge=0, le=65535, doc="remote mode: sim venue server port")
        request_timeout_s: float = param(
            5.0, gt=0, doc="remote mode: a request unanswered this long drops the link")
        venues: tuple[str, ...] = param(
            (), doc="venues this component simulates (empty: every venue of the universe)")
        latency_ns: int = param(0, ge=0, doc="time from an intent to its arrival at the venue")
        report_latency_ns: int = param(0, ge=0,
                                       doc="time from a venue event to its report")
        starting_balances: dict[str, str] = param(
            factory=dict,
            doc="currency -> amount (decimal string); empty: take the backtest's cash")
        starting_positions: dict[str, str] = param(
            factory=dict, doc="symbol -> signed quantity held at the start")
        allow_short: bool = param(False, doc="sells may exceed the position (a margin account)")
        check_balance: bool = param(True, doc="refuse orders the account cannot pay for")
        max_orders: int = param(4096, ge=1, doc="capacity of the venue's live-order table")
        queue_capacity: int = param(4096, ge=1,
                                    doc="capacity of the pending intent and report queues")

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or Sim.Params()
        self.balances = _decimals(self.params.starting_balances, "starting_balances")
        self.positions = _decimals(self.params.starting_positions, "starting_positions")

    def _venue_ids(self, universe: Universe) -> list[int]:
        return [universe.venue_id(v) for v in (self.params.venues or universe.venues)]

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """The matching kernel for the fused loop."""
        p = self.params
        st = make_state(len(universe.venues), len(universe.symbols), len(universe.currencies),
                        handles=self._venue_ids(universe), max_orders=p.max_orders,
                        queue_capacity=p.queue_capacity)
        seed = not self.balances and not self.positions
        for v in self._venue_ids(universe):
            for cur, amount in self.balances.items():
                st.cash[v, universe.currency_id(cur)] = float(amount)
            for sym, qty in self.positions.items():
                st.pos[v, universe.symbol_id(sym)] = float(qty)
        params = sim_params(latency_ns=p.latency_ns, report_latency_ns=p.report_latency_ns,
                            allow_short=p.allow_short, check_balance=p.check_balance,
                            seed_from_ctx=seed)
        return HotPath(kind=ComponentKind.VENUE, params=params, state=st, on_tick=on_tick,
                       on_intent=on_intent, name="sim")

    @hookimpl
    def tradeloop_broker(self, universe: Universe) -> Any:
        """A paper broker: :class:`SimBroker` in process, or :class:`RemoteSimBroker`."""
        p = self.params
        if p.mode == "remote":
            return RemoteSimBroker(p.host, p.port, request_timeout_s=p.request_timeout_s)
        return SimBroker(self.venue(universe))

    @hookimpl
    def tradeloop_conformance_harness(self, kind: str) -> Any:
        """The conformance kit's harness for this mode (see _conformance.py)."""
        return _conformance.sim_harness(self, kind)

    def venue(self, universe: Universe, *,
              default_balances: Mapping[str, Decimal] | None = None) -> SimVenue:
        """A fresh :class:`SimVenue` with these params (``default_balances`` when none set)."""
        p = self.params
        return SimVenue(universe, venues=p.venues or None, latency_ns=p.latency_ns,
                        report_latency_ns=p.report_latency_ns,
                        starting_balances=self.balances or dict(default_balances or {}),
                        starting_positions=self.positions, allow_short=p.allow_short,
                        check_balance=p.check_balance, max_orders=p.max_orders,
                        queue_capacity=p.queue_capacity)

    def venue_server(self, universe: Universe, *, ticks: Iterable[np.ndarray] | None = None,
                     host: str = "127.0.0.1", port: int = 0, rate: float | None = None,
                     speed: float | None = None,
                     default_balances: Mapping[str, Decimal] | None = None) -> SimVenueServer:
        """A :class:`SimVenueServer` over a fresh venue, replaying ``ticks`` (not started)."""
        return SimVenueServer(self.venue(universe, default_balances=default_balances),
                              host=host, port=port, ticks=ticks, rate=rate, speed=speed)


class SimFeedComponent:
    """Market data from a ``tradeloop sim serve`` process: the ticks its venue trades on."""

    @attrs.frozen
    class Params:
        """Where the sim venue server listens."""

        host: str = param("127.0.0.1", doc="sim venue server host")
        port: int = param(7777, ge=0, le=65535, doc="sim venue server port")

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or SimFeedComponent.Params()

    @hookimpl
    def tradeloop_data_provider(self, universe: Universe) -> SimFeed:
        """A live DataProvider over the server's market-data stream."""
        return SimFeed(self.params.host, self.params.port, universe=universe)

    #: the conformance kit's harness: a served scenario for the live stream
    tradeloop_conformance_harness = staticmethod(_conformance.feed_harness)
