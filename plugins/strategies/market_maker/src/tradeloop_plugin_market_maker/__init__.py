"""Avellaneda-Stoikov market maker for tradeloop (entry point ``avellaneda_stoikov``)."""

from __future__ import annotations

from ._component import AvellanedaStoikov

__all__ = ["AvellanedaStoikov"]
