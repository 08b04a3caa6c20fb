"""The live engine: feeds, fused loop thread, executor, journal, reconciliation, operations.

>>> engine = build_engine(load_config("paper.toml"))      # doctest: +SKIP
>>> asyncio.run(engine.run())                               # doctest: +SKIP
"""

from ._build import build_engine
from ._engine import Engine
from ._journal import Journal
from ._reconcile import reconcile, replay
from ._reload import ReloadPlan, plan_reload
from ._settings import EngineSettings
from ._venues import VenueView, split_venues

__all__ = [
    "Engine",
    "EngineSettings",
    "Journal",
    "ReloadPlan",
    "VenueView",
    "build_engine",
    "plan_reload",
    "reconcile",
    "replay",
    "split_venues",
]
