"""tradeloop-plugin-sim: the simulated venue.

One matching kernel (market, limit and stop orders; GTC, IOC, FOK, post-only; queue
position; fees; latencies; SDK reject reasons) used three ways:

* compiled into the fused backtest loop: :class:`Sim` ``.tradeloop_hot_path``;
* in process for paper trading: :class:`SimBroker` over a :class:`SimVenue`;
* as its own process: :class:`SimVenueServer`, reached through :class:`RemoteSimBroker`
  (orders) and :class:`SimFeed` (its market data).
"""

from __future__ import annotations

from ._broker import SimBroker
from ._component import Sim, SimFeedComponent
from ._kernel import flush, on_intent, on_tick
from ._layout import SimState, make_state, sim_params
from ._remote import RemoteSimBroker, SimFeed
from ._server import PROTOCOL, SimVenueServer
from ._venue import SimVenue

__all__ = [
    "PROTOCOL",
    "RemoteSimBroker",
    "Sim",
    "SimBroker",
    "SimFeed",
    "SimFeedComponent",
    "SimState",
    "SimVenue",
    "SimVenueServer",
    "flush",
    "make_state",
    "on_intent",
    "on_tick",
    "sim_params",
]
