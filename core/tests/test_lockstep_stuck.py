"""A replay whose engine stops answering fails, naming what it waited for, instead of
spinning forever."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest
from tradeloop.backtest import _lockstep
from tradeloop_sdk import CONTROL_DTYPE


class _Loop:
    """The two counters the feed reads from a stepping loop."""

    def __init__(self) -> None:
        self.taken = 0

    def ticks_taken(self) -> int:
        return self.taken

    def ticks_allowed(self) -> int:
        return 3


def _feed() -> _lockstep.LockstepFeed:
    feed = _lockstep.LockstepFeed(iter(()), speed=float("inf"), equity_interval_ns=10**9)
    control = np.zeros(1, CONTROL_DTYPE)
    control[0]["heartbeat_ns"] = 123
    feed.engine = SimpleNamespace(control=control, loop=_Loop(), executor=None)
    return feed


def test_a_loop_that_stops_polling_fails_the_replay_with_its_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_lockstep, "_STUCK_S", 0.05)
    with pytest.raises(RuntimeError, match=r"replay stuck: waited 0 s for the loop's next poll "
                                           r"\(loop heartbeat 123, ticks taken 0 of a batch of "
                                           r"0, allowed 3, venue fed 0\)"):
        asyncio.run(_feed()._next_poll())
    with pytest.raises(RuntimeError, match="for the executor to go idle"):
        asyncio.run(_feed()._settle())


def test_a_loop_that_answers_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_lockstep, "_STUCK_S", 5.0)
    feed = _feed()
    loop = feed.engine.loop

    async def take_later() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        loop.taken = 2  # the loop took the ticks...
        for _ in range(5):
            await asyncio.sleep(0)
        feed.engine.control[0]["heartbeat_ns"] = 124  # ...and began its next poll

    async def both() -> int:
        t = asyncio.ensure_future(take_later())
        done = await feed._advance(2)
        await t
        return done

    assert asyncio.run(both()) == 2
