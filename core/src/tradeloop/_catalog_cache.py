"""An on-disk cache of the static plugin reads, so ``plugins list`` parses nothing twice.

Each entry point's :class:`StaticReport` is stored with the size and mtime of every source
file that was read for it (and of the SDK hookspec file) and the top-level modules those
files import. An entry is reused only if every file is unchanged and every import still
resolves; otherwise the source is read again. The cache lives in
``$TRADELOOP_CACHE_DIR`` or the user cache dir (``~/.cache/tradeloop``); a cache that
cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._catalog_static import (
    StaticReport,
    _top_level_exists,
    analyze,
    module_source,
    parsed_modules,
)

__all__ = ["StaticCache"]

_VERSION = 1


def _cache_dir() -> Path:
    env = os.environ.get("TRADELOOP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tradeloop"


def _stamp(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


class StaticCache:
    """Load once, look up and record reports, save once if anything changed."""

    def __init__(self) -> None:
        key = hashlib.sha1("\0".join([sys.executable, *sys.path]).encode()).hexdigest()[:16]
        self.path = _cache_dir() / f"catalog-{key}.json"
        self.entries: dict[str, Any] = {}
        self.dirty = False
        spec = module_source("tradeloop_sdk._hookspecs")
        self.specs_stamp = [str(spec), _stamp(str(spec))] if spec else None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == _VERSION and data.get("specs") == self.specs_stamp:
                self.entries = data.get("entries", {})
        except (OSError, ValueError):
            pass

    def analyze(self, value: str, kind: str, dist_version: str) -> StaticReport:
        """The static report of entry point ``value``, from cache when still valid."""
        key = f"{kind}|{value}|{dist_version}"
        hit = self.entries.get(key)
        if hit and self._valid(hit):
            return StaticReport(tuple(hit["hooks"]), hit["problem"], hit["analyzed"])
        before = {id(m) for m in parsed_modules()}
        report = analyze(value, kind)
        top = value.partition(":")[0].strip().split(".")[0]
        mods = [m for m in parsed_modules() if m.name.split(".")[0] == top or id(m) not in before]
        files = {str(m.path): _stamp(str(m.path)) for m in mods}
        imports = sorted({i for m in mods for i in m.imports})
        self.entries[key] = {
            "hooks": list(report.hooks),
            "problem": report.problem,
            "analyzed": report.analyzed,
            "files": files,
            "imports": imports,
        }
        self.dirty = True
        return report

    def _valid(self, hit: dict[str, Any]) -> bool:
        files = hit.get("files") or {}
        if not files or any(_stamp(p) != stamp for p, stamp in files.items()):
            return False
        missing = [i for i in hit.get("imports", ()) if not _top_level_exists(i)]
        # a report that named a missing import is valid only while it is still missing
        return not missing if not hit["problem"].startswith("imports ") else bool(missing)

    def save(self) -> None:
        """Write the cache atomically if it changed."""
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(
                    {"version": _VERSION, "specs": self.specs_stamp, "entries": self.entries}, f
                )
            os.replace(tmp, self.path)
        except OSError:
            pass
