"""tradeloop-plugin-quality: data-quality gates that flag ticks before strategies see them.

Each gate returns TickFlag bits; the fused loop ORs them into the tick and into
``ctx.books[v, s]['flags']``, so :func:`tradeloop_sdk.is_tainted` tells strategies to
stand aside. Entry points (group ``tradeloop.guards``): ``crossed_book``, ``stale_quote``,
``sequence_gap``, ``time_skew``, ``wide_spread``, ``price_jump``.
"""

from __future__ import annotations

from ._components import CrossedBook, PriceJump, SequenceGap, StaleQuote, TimeSkew, WideSpread
from ._kernels import JUMP_STATE_DTYPE, SEQ_STATE_DTYPE

__all__ = [
    "JUMP_STATE_DTYPE",
    "SEQ_STATE_DTYPE",
    "CrossedBook",
    "PriceJump",
    "SequenceGap",
    "StaleQuote",
    "TimeSkew",
    "WideSpread",
]
