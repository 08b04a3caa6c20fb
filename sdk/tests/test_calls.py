"""Compiled kernels are specialised per argument type, not per constant they are called with."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba.core import types
from tradeloop_sdk import _calls


@pytest.fixture
def ours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat this test module's functions as tradeloop kernels."""
    monkeypatch.setattr(_calls, "PREFIXES", (*_calls.PREFIXES, __name__))


def test_a_kernel_is_compiled_once_for_many_constants(ours: None) -> None:
    @numba.njit
    def scale(x: float, k: int) -> float:
        return x * k

    @numba.njit
    def caller(x: float) -> float:
        return scale(x, 1) + scale(x, 2) + scale(x, 3)

    assert caller(1.5) == 9.0
    assert list(scale.overloads) == [(types.float64, types.int64)]


def test_a_kernel_that_needs_its_constant_still_gets_it(ours: None) -> None:
    @numba.njit
    def field(a: np.ndarray, name: str) -> float:
        return a[0][name]  # a record field needs the name as a constant

    @numba.njit
    def caller(a: np.ndarray) -> float:
        return field(a, "x") + field(a, "y")

    a = np.array([(1.0, 2.5)], dtype=[("x", "f8"), ("y", "f8")])
    assert caller(a) == 3.5


def test_other_numba_code_keeps_numba_typing() -> None:
    @numba.njit
    def pick(t: tuple[int, float], i: int) -> float:
        return t[numba.literally(i)]

    @numba.njit
    def caller() -> float:
        return pick((1, 2.5), 1) + pick((1, 2.5), 0)

    assert caller() == 3.5


def test_a_callee_without_a_module_compiles() -> None:
    """Functions made by exec() may have no __module__; calls to them type as numba's do."""
    ns: dict[str, object] = {}
    exec("def double(x):\n    return 2 * x\n", ns)  # no __name__ in ns: __module__ is None
    assert ns["double"].__module__ is None  # type: ignore[attr-defined]
    double = numba.njit(ns["double"])

    @numba.njit
    def caller(x: int) -> int:
        return double(x) + 1

    assert caller(4) == 9
