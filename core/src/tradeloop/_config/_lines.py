"""Best-effort line numbers for key paths (tomllib does not report them).

A cheap scan tracks table headers (``[a.b]``, ``[[a]]`` with its running index) and
``key =`` lines, mapping full key paths such as ``strategies[1].params.fast`` to the
line that defines them. Inline tables map to the line of their key.
"""

from __future__ import annotations

import re

__all__ = ["key_lines", "line_of"]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+?)\s*=""")


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in dotted.split(".")]


def key_lines(text: str) -> dict[str, int]:
    """Map each key path defined in ``text`` to its (1-based) line number."""
    counts: dict[str, int] = {}
    current = ""
    out: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            is_array = m.group(1) == "[["
            resolved = ""
            parts = _parts(m.group(2))
            for i, part in enumerate(parts):
                resolved = f"{resolved}.{part}" if resolved else part
                last = i == len(parts) - 1
                if last and is_array:
                    counts[resolved] = counts.get(resolved, -1) + 1
                    resolved = f"{resolved}[{counts[resolved]}]"
                elif resolved in counts:
                    resolved = f"{resolved}[{counts[resolved]}]"
            current = resolved
            out.setdefault(current, lineno)
            continue
        k = _KEY.match(line)
        if k:
            key = ".".join(_parts(k.group(1)))
            out.setdefault(f"{current}.{key}" if current else key, lineno)
    return out


def line_of(lines: dict[str, int], path: str) -> int | None:
    """Line of ``path`` or of its nearest defined ancestor."""
    cur = path
    while cur:
        if cur in lines:
            return lines[cur]
        cut = max(cur.rfind("."), cur.rfind("["))
        cur = cur[:cut] if cut > 0 else ""
    return None
