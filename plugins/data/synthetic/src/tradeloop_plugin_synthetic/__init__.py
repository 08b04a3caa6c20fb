"""tradeloop-plugin-synthetic: a seeded synthetic market generated in compiled code.

Entry point (group ``tradeloop.data``): ``synthetic`` -> :class:`SyntheticData`.
"""

from __future__ import annotations

from ._synthetic import SyntheticData, SyntheticParams, SyntheticSource

__all__ = ["SyntheticData", "SyntheticParams", "SyntheticSource"]
