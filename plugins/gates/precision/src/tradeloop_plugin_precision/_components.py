"""Precision and slippage guard components: Params, and the HotPath each hands the loop."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import ComponentKind, HotPath, Universe, hookimpl, param, params_array

from . import _kernels as k

_ROUNDING = {"passive": k.ROUND_PASSIVE, "nearest": k.ROUND_NEAREST, "reject": k.ROUND_REJECT}


def _number(value: float | int | bool) -> float | int:
    return int(value) if isinstance(value, bool) else value


class _Guard:
    """Shared plumbing: hold params; state counts adjustments per (venue, symbol)."""

    Params: Any
    name = ""
    _kernel: Any = None
    _fields: tuple[str, ...] = ()  # Params the kernel reads as they are (bools as 0/1)

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()
        self.state: Any = None

    def _params(self) -> dict[str, float | int]:
        """The kernel's params record: ``_fields`` by default; override to convert units."""
        return {f: _number(getattr(self.params, f)) for f in self._fields}

    @hookimpl
    def tradeloop_hot_path(self, universe: Universe) -> HotPath:
        """The guard kernel with its params and freshly allocated state."""
        self.state = np.zeros((len(universe.venues), len(universe.symbols)), np.int64)
        return HotPath(
            kind=ComponentKind.GUARD,
            params=params_array(self._params()),
            state=self.state,
            check=type(self)._kernel,
            name=self.name,
        )


class Precision(_Guard):
    """Fit an order to the venue's rules in ``ctx.specs``: tick, lot step, min/max size,
    min notional.

    Prices: ``passive`` (default) rounds a buy down and a sell up to the tick, so rounding
    never makes an order more aggressive than the strategy asked; ``nearest`` rounds to the
    closest tick; ``reject`` refuses an off-tick price (PRICE_PRECISION). Sizes are always
    floored to the lot step (a resize, reason SIZE_PRECISION). Then: below ``min_qty`` is
    MIN_SIZE, above ``max_qty`` MAX_SIZE, below ``min_notional`` (at the limit price, or
    the touch for market orders) MIN_NOTIONAL. Run it after every guard that resizes, or
    an off-lot quantity can leave the process.
    """

    name = "precision"
    _kernel = k.precision_check

    @attrs.frozen
    class Params:
        """Precision guard parameters."""

        rounding: str = param("passive", choices=tuple(_ROUNDING), doc="price rounding to the tick")

    def _params(self) -> dict[str, float | int]:
        return {"rounding": _ROUNDING[self.params.rounding]}


class PriceBand(_Guard):
    """Refuse limit prices further than a band from mid (PRICE_BAND).

    The band is ``band_bps`` when set, else the symbol spec's ``band_bps``; no band, no check.
    """

    name = "price_band"
    _kernel = k.price_band_check
    _fields = ("band_bps", "require_mid")

    @attrs.frozen
    class Params:
        """Price-band guard parameters."""

        band_bps: float = param(0.0, ge=0.0, doc="band around mid in bps (0: use the symbol spec)")
        require_mid: bool = param(True, doc="refuse when there is no mid to check against")


class StaleReference(_Guard):
    """Refuse orders whose reference quote is older than ``max_age_ms`` at the loop clock
    (STALE_QUOTE), or, with ``refuse_tainted``, flagged by a data-quality gate
    (TAINTED_DATA)."""

    name = "stale_reference"
    _kernel = k.stale_reference_check

    @attrs.frozen
    class Params:
        """Stale-reference guard parameters."""

        max_age_ms: float = param(5000.0, gt=0.0, doc="oldest usable quote (ms)")
        refuse_tainted: bool = param(True, doc="also refuse while the symbol is tainted")

    def _params(self) -> dict[str, float | int]:
        return {"max_age_ns": round(self.params.max_age_ms * 1_000_000),
                "refuse_tainted": int(self.params.refuse_tainted)}


class Slippage(_Guard):
    """Cap slippage in bps: how far a limit reaches past the touch, and for market orders
    the touch's distance from mid and the size against the size shown (SLIPPAGE).

    With ``clamp`` an over-reaching limit is pulled back to ``max_bps`` past the touch
    instead of refused (counted in ``state``); put ``precision`` after it to re-round.
    """

    name = "slippage"
    _kernel = k.slippage_check
    _fields = ("max_bps", "clamp", "max_touch_multiple")

    @attrs.frozen
    class Params:
        """Slippage guard parameters."""

        max_bps: float = param(50.0, ge=0.0, doc="largest reach past the touch (bps)")
        clamp: bool = param(False, doc="pull an over-reaching limit back instead of refusing")
        max_touch_multiple: float = param(0.0, ge=0.0, doc="market size cap as a multiple of touch size (0: off)")
