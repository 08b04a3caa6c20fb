"""The cross-venue arbitrage component: parameters and HotPath."""

from __future__ import annotations

import attrs
import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, Universe, hookimpl, param, params_array

from . import _conformance
from . import _kernel as k


def _venues_ok(inst: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
    if len(value) < 2 or len(set(value)) != len(value):
        raise ValueError(f"{attribute.name}: need two or more distinct venues, got {list(value)}")


class CrossVenueArb:
    """Cross-venue arbitrage: buy where it is cheap, sell where it is dear, when the cross
    beats taker fees plus a threshold; legs sized to the smaller book; unequal fills hedged.
    """

    @attrs.frozen
    class Params:
        """Parameters of :class:`CrossVenueArb`."""

        venues: tuple[str, ...] = attrs.field(
            converter=tuple,
            validator=_venues_ok,
            metadata={"doc": "two or more venues quoting the same symbol"},
        )
        symbol: str = param(doc="symbol watched on every venue")
        threshold_bps: float = param(2.0, ge=0, doc="required net edge after fees, bps of mid")
        extra_cost_bps: float = param(0.0, ge=0, doc="other costs per round trip (transfer, slippage), bps")
        max_qty: float = param(1.0, gt=0, doc="largest leg, base units")
        min_qty: float = param(0.0, ge=0, doc="skip crosses whose legs would be smaller")
        max_position: float = param(5.0, gt=0, doc="absolute position limit per venue")
        hedge: bool = param(True, doc="hedge a leg that fails to fill with a market order")
        max_hedges: int = param(3, ge=1, doc="hedge attempts before leaving a residual to the guards")
        leg_timeout_ms: float = param(
            1000.0, gt=0, doc="treat a leg never admitted by the kernel as failed after this"
        )

    name = "cross_venue_arb"
    #: the conformance kit's scenario (a staticmethod: one venue cannot build this component)
    tradeloop_conformance_harness = staticmethod(_conformance.harness)

    def __init__(self, params: Params) -> None:
        self.params = params

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """The compiled arbitrage kernel; params are ``(record, venue_ids)``."""
        p = self.params
        vids = np.array([universe.venue_id(v) for v in p.venues], np.int64)
        rec = params_array(
            {
                "symbol": universe.symbol_id(p.symbol),
                "threshold_bps": float(p.threshold_bps),
                "extra_cost_bps": float(p.extra_cost_bps),
                "max_qty": float(p.max_qty),
                "min_qty": float(p.min_qty),
                "max_position": float(p.max_position),
                "hedge": int(p.hedge),
                "max_hedges": int(p.max_hedges),
                "leg_timeout_ns": int(p.leg_timeout_ms * 1e6),
                "source": 0,  # index in the fused loop; the loop may overwrite it
            }
        )
        return HotPath(
            kind=ComponentKind.STRATEGY,
            params=(rec, vids),
            state=np.zeros(k.STATE_SIZE, np.float64),
            on_tick=k.arb_on_tick,
            on_report=k.arb_on_report,
            name=self.name,
        )
