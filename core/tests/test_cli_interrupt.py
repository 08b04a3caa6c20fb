"""ctrl_c_once: the first SIGINT interrupts, its copy a moment later does not, a later one
does; the previous handler comes back; an ignored SIGINT stays ignored."""

from __future__ import annotations

import os
import signal
import time

import pytest
from tradeloop._interrupts import note_interrupt
from tradeloop.cli._interrupt import ctrl_c_once


def _sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.01)  # the handler runs in this (main) thread at the next bytecode


def test_a_repeat_within_the_window_is_the_same_ctrl_c_and_a_later_one_interrupts() -> None:
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_once(repeat_s=0.3):
        with pytest.raises(KeyboardInterrupt):
            _sigint()
        _sigint()  # uv's forwarded copy: ignored
        time.sleep(0.35)
        with pytest.raises(KeyboardInterrupt):
            _sigint()
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_sigint_stays_ignored() -> None:
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ctrl_c_once():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            _sigint()  # nothing happens
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_copy_of_a_ctrl_c_an_engine_took_is_ignored_too() -> None:
    # a replay's engine takes the first SIGINT with its own handler (a graceful stop) and
    # notes it; uv's copy then reaches the CLI's handler
    with ctrl_c_once(repeat_s=0.3):
        note_interrupt()
        _sigint()
        time.sleep(0.35)
        with pytest.raises(KeyboardInterrupt):
            _sigint()
