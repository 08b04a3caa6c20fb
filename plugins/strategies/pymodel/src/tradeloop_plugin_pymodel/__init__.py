"""A Python-mode strategy for tradeloop that drives a model object (entry point ``py_model``)."""

from __future__ import annotations

from ._component import PyModel
from ._model import LinearModel

__all__ = ["LinearModel", "PyModel"]
