"""Hook implementations are looked up once per class, yet every instance is called."""

from __future__ import annotations

from typing import Any

from tradeloop._registry import Registry
from tradeloop_sdk import hookimpl


class Listener:
    def __init__(self, seen: list[str], tag: str) -> None:
        self.seen, self.tag = seen, tag

    @hookimpl
    def tradeloop_start(self, engine: Any) -> None:
        self.seen.append(self.tag)


class Quiet:
    """No hook on the class; one instance gets one of its own."""


def test_every_instance_is_called_and_instance_hooks_are_seen() -> None:
    seen: list[str] = []
    for _ in range(2):  # the second registry reuses the lookups of the first
        reg = Registry()
        reg.pm.register(Listener(seen, "a"))
        reg.pm.register(Listener(seen, "b"))
        reg.pm.register(Quiet())
        loud = Quiet()
        loud.tradeloop_start = hookimpl(lambda engine: seen.append("own"))  # type: ignore[attr-defined]
        reg.pm.register(loud)
        reg.hook.tradeloop_start(engine=None)
    assert sorted(seen) == ["a", "a", "b", "b", "own", "own"]
