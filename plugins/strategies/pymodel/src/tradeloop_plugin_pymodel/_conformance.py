"""What the SDK conformance kit needs to exercise ``py_model``: a model.

The component cannot be built from defaults (it needs coefficients or a model object),
so the harness is a staticmethod giving the kit a small momentum model's coefficients;
the kit's default scenario (a trending random walk) then makes it trade.
"""

from __future__ import annotations

from typing import Any

from tradeloop_sdk import hookimpl


class Harness:
    """Params for a three-lag momentum model; universe and ticks are the kit's defaults."""

    params: dict[str, Any] = {"lags": 3, "coef": (0.5, 0.3, 0.2), "threshold_bps": 0.1}


@hookimpl
def harness(kind: str) -> Harness:
    """The kit's params for ``py_model``."""
    return Harness()
