"""Engine snapshots: a consistent picture of state, saved atomically for a restart.

A snapshot is plain JSON (Decimals as text). :func:`save_atomic` writes a temporary file in
the same directory, fsyncs it, renames it over the old one and fsyncs the directory, so a
crash at any moment leaves either the old or the new snapshot, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def save_atomic(path: str | Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp + fsync + rename + dir fsync)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, sort_keys=True, separators=(",", ":"), default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dfd = os.open(str(path.parent), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def load(path: str | Path) -> dict[str, Any] | None:
    """The saved snapshot, or None if there is none; a corrupt file is a clear error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"snapshot {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"snapshot {path}: expected a JSON object")
    return data


__all__ = ["load", "save_atomic"]
