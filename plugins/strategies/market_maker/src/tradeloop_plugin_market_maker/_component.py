"""The Avellaneda-Stoikov market-maker component: parameters and HotPath."""

from __future__ import annotations

import attrs
import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, Universe, hookimpl, param, params_array

from . import _kernel as k


class AvellanedaStoikov:
    """Avellaneda-Stoikov market maker: inventory-skewed reservation price, spread from
    volatility and risk aversion, several quote levels, threshold requoting, inventory limits.
    """

    @attrs.frozen
    class Params:
        """Parameters of :class:`AvellanedaStoikov`."""

        venue: str = param(doc="venue to quote on (name from the run's universe)")
        symbol: str = param(doc="symbol to quote")
        qty: float = param(1.0, gt=0, doc="size of each quote, base units (one inventory lot)")
        levels: int = param(1, ge=1, le=16, doc="quote levels per side")
        spacing_bps: float = param(5.0, ge=0, doc="distance between levels, bps of mid")
        gamma: float = param(0.1, gt=0, doc="risk aversion: inventory skew and spread")
        kappa: float = param(2000.0, gt=0, doc="order-arrival decay per unit relative price")
        horizon_s: float = param(60.0, gt=0, doc="inventory horizon tau, seconds")
        sigma0: float = param(
            1e-4, ge=0, doc="initial volatility of log mid returns per sqrt(second)"
        )
        vol_alpha: float = param(0.05, gt=0, le=1, doc="EWMA weight of each new squared return")
        min_spread_bps: float = param(2.0, ge=0, doc="floor of the quoted spread, bps")
        max_spread_bps: float = param(500.0, gt=0, doc="cap of the quoted spread, bps")
        requote_bps: float = param(1.0, ge=0, doc="move a resting quote only beyond this, bps")
        max_inventory: float = param(10.0, gt=0, doc="absolute inventory limit, base units")
        cancel_on_taint: bool = param(True, doc="pull all quotes while the data is tainted")

        def __attrs_post_init__(self) -> None:
            if self.min_spread_bps > self.max_spread_bps:
                raise ValueError(
                    f"min_spread_bps ({self.min_spread_bps}) exceeds max_spread_bps "
                    f"({self.max_spread_bps})"
                )
            if self.qty > self.max_inventory:
                raise ValueError(f"qty ({self.qty}) exceeds max_inventory ({self.max_inventory})")

    name = "avellaneda_stoikov"

    def __init__(self, params: Params) -> None:
        self.params = params

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """The compiled quoting kernel with its params and fresh state for ``universe``."""
        p = self.params
        fields = {
            "venue": universe.venue_id(p.venue),
            "symbol": universe.symbol_id(p.symbol),
            "qty": float(p.qty),
            "levels": int(p.levels),
            "spacing_bps": float(p.spacing_bps),
            "gamma": float(p.gamma),
            "kappa": float(p.kappa),
            "horizon_s": float(p.horizon_s),
            "vol_alpha": float(p.vol_alpha),
            "min_spread_bps": float(p.min_spread_bps),
            "max_spread_bps": float(p.max_spread_bps),
            "requote_bps": float(p.requote_bps),
            "max_inventory": float(p.max_inventory),
            "cancel_on_taint": int(p.cancel_on_taint),
            "source": 0,  # index in the fused loop; the loop may overwrite it
        }
        state = np.zeros(k.state_size(p.levels), np.float64)
        state[k.S_SIGMA2] = float(p.sigma0) ** 2
        state[k.S_MID] = np.nan
        return HotPath(
            kind=ComponentKind.STRATEGY,
            params=params_array(fields),
            state=state,
            on_tick=k.as_on_tick,
            name=self.name,
        )
