"""A guard whose author misspelt the hot-path hook (fixture)."""

from typing import Any

from tradeloop_sdk import hookimpl


class Misspelt:
    """A guard that will never run: ``tradeloop_hot_pth`` is not a hook."""

    @hookimpl
    def tradeloop_hot_pth(self, universe: Any) -> Any:
        return None
