"""Layout of ``ctx.signals[symbol, slot]``, the pipeline stages' blackboard (16 slots).

Each row belongs to one symbol; the stages of one pipeline read and write the row of the
symbol they trade. Up to ``N_MODELS`` prediction models and ``N_HORIZONS`` horizons::

    slot  0..8   PRED + m * N_HORIZONS + h   model m's expected log return over horizon h
                                             (predict stage, or any component placed
                                             before blend that writes these slots)
    slot  9..11  BLEND + h                   blended, temperature-compressed expected
                                             log return over horizon h (blend stage)
    slot 12      SCORE                       chosen horizon's net score, signed by the
                                             direction of its forecast (arbitrate stage)
    slot 13      CHOSEN                      chosen horizon index, -1 when none pays
    slot 14      GATE                        1.0 open, 0.0 closed (gate stage)
    slot 15      TARGET                      target position, base units (size stage)

Unused slots (models or horizons not configured) stay 0.
"""

from __future__ import annotations

N_MODELS = 3
N_HORIZONS = 3
PRED = 0
BLEND = PRED + N_MODELS * N_HORIZONS
SCORE = BLEND + N_HORIZONS
CHOSEN = SCORE + 1
GATE = CHOSEN + 1
TARGET = GATE + 1
N_SLOTS = TARGET + 1

__all__ = ["BLEND", "CHOSEN", "GATE", "N_HORIZONS", "N_MODELS", "N_SLOTS", "PRED", "SCORE", "TARGET"]
