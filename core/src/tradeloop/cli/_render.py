"""Rendering for the CLI (rich), and the mapping of errors to exit codes."""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

from rich.console import Console

__all__ = ["render_error", "stderr", "stdout"]


@functools.cache
def stdout() -> Console:
    """The console for results."""
    return Console(highlight=False, soft_wrap=True)


@functools.cache
def stderr() -> Console:
    """The console for errors and logs."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def render_error(exc: BaseException) -> int:
    """Print ``exc`` for a human and return the exit code: 2 for config errors, else 1."""
    sdk: Any = sys.modules.get("tradeloop_sdk")
    con = stderr()
    if sdk is not None and isinstance(exc, sdk.ConfigError):
        errors = getattr(exc, "errors", None) or (exc,)
        con.print(f"[bold red]config error{'s' if len(errors) > 1 else ''}:[/]")
        for e in errors:
            con.print(f"  {e}", markup=False)
        return 2
    if sdk is not None and isinstance(exc, sdk.TradeloopError):
        con.print("[bold red]error:[/] ", end="")
        con.print(str(exc), markup=False)
        return 1
    con.print("[bold red]error:[/] ", end="")
    con.print(f"{type(exc).__name__}: {exc}", markup=False)
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        con.print_exception()
    return 1
