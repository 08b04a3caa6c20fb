"""The six-stage decision pipeline for tradeloop (entry points in ``tradeloop.stages``).

``predict`` -> ``blend`` -> ``arbitrate`` -> ``gate`` -> ``size`` -> ``risk``, talking
through ``ctx.signals[symbol, slot]`` (layout: :mod:`tradeloop_plugin_pipeline.slots`).
"""

from __future__ import annotations

from . import slots
from ._components import Arbitrate, Blend, Gate, Predict, Risk, Size

__all__ = ["Arbitrate", "Blend", "Gate", "Predict", "Risk", "Size", "slots"]
