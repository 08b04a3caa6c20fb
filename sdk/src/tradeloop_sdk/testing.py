"""Helpers for plugin tests: locating the optional shared reference data."""

from __future__ import annotations

import os
from pathlib import Path


def shared_data(subpath: str = "", start: Path | None = None) -> Path | None:
    """Path of ``shared/data/<subpath>`` beside a checkout, or None when it is absent.

    ``TRADELOOP_SHARED_DATA`` overrides the search; otherwise each parent of ``start``
    (default: the working directory) is tried for a ``shared/data`` folder.
    """
    env = os.environ.get("TRADELOOP_SHARED_DATA")
    roots = [Path(env)] if env else [
        p / "shared" / "data" for p in (start or Path.cwd()).resolve().parents
    ]
    for root in roots:
        candidate = root / subpath if subpath else root
        if root.is_dir() and candidate.exists():
            return candidate
    return None


def require_shared_data(subpath: str = "") -> Path:
    """Like :func:`shared_data` but skips the calling pytest test when the data is absent."""
    import pytest

    found = shared_data(subpath, Path(__file__)) or shared_data(subpath)
    if found is None:
        pytest.skip(f"shared reference data shared/data/{subpath} is absent (not in this checkout)")
    return found
