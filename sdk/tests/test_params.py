"""param() validates bounds and choices on init; describe_params reports them."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
import tradeloop_sdk as sdk
from hypothesis import given
from hypothesis import strategies as st


class Component:
    """A component with every kind of parameter."""

    @attrs.frozen
    class Params:
        fast: int = sdk.param(12, ge=1, doc="fast span")
        ratio: float = sdk.param(0.5, gt=0.0, lt=1.0)
        side: str = sdk.param("both", choices=("buy", "sell", "both"))
        cap: Decimal = sdk.param(Decimal("1000"), le=Decimal("1e6"))
        venue: str = sdk.param(doc="venue name")
        api_key: sdk.Secret | None = sdk.param(None, secret=True)
        legacy: int = attrs.field(default=3, metadata={"ge": 0, "doc": "plain attrs field"})


P = Component.Params


def test_bounds_and_choices_are_enforced() -> None:
    P(venue="sim")
    with pytest.raises(sdk.ParamValueError) as info:
        P(venue="sim", fast=0)
    assert (info.value.name, info.value.found, info.value.expected) == ("fast", "0", ">= 1")
    with pytest.raises(sdk.ParamValueError, match=r"expected > 0.0 and < 1.0"):
        P(venue="sim", ratio=1.0)
    with pytest.raises(
        sdk.ParamValueError, match=r"found 'long', expected one of 'buy', 'sell', 'both'"
    ):
        P(venue="sim", side="long")


def test_secret_params_refuse_inline_values_without_echoing_them() -> None:
    with pytest.raises(sdk.ParamValueError) as info:
        P(venue="sim", api_key="sk-live-abcdef")  # type: ignore[arg-type]
    assert "sk-live-abcdef" not in str(info.value)
    p = P(venue="sim", api_key=sdk.Secret("env:EXAMPLE_KEY"))
    assert "env:EXAMPLE_KEY" in repr(p)


@given(st.integers(min_value=-1000, max_value=1000))
def test_ge_bound_matches_comparison(n: int) -> None:
    if n >= 1:
        assert P(venue="x", fast=n).fast == n
    else:
        with pytest.raises(sdk.ParamValueError):
            P(venue="x", fast=n)


def test_describe_params() -> None:
    info = {p.name: p for p in sdk.describe_params(Component)}
    assert list(info) == ["fast", "ratio", "side", "cap", "venue", "api_key", "legacy"]
    assert (
        info["fast"].type == "int" and info["fast"].default == 12 and info["fast"].bounds == ">= 1"
    )
    assert info["fast"].doc == "fast span" and not info["fast"].required
    assert info["venue"].required and info["venue"].default is None
    assert info["api_key"].secret and info["api_key"].type == "Secret | None"
    assert info["cap"].type == "Decimal" and info["cap"].bounds == "<= 1E+6"
    assert info["side"].choices == ("buy", "sell", "both")
    assert info["legacy"].bounds == ">= 0" and info["legacy"].doc == "plain attrs field"
    assert sdk.describe_params(P) == sdk.describe_params(Component)
    assert sdk.describe_params(int) == []


def test_secret_resolves_from_env_only_at_use(monkeypatch: pytest.MonkeyPatch) -> None:
    s = sdk.Secret("env:TL_TEST_SECRET_X")
    with pytest.raises(LookupError, match="TL_TEST_SECRET_X is not set"):
        s.resolve()
    monkeypatch.setenv("TL_TEST_SECRET_X", "hunter2")
    assert s.resolve() == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)
    with pytest.raises(ValueError):
        sdk.Secret("hunter2")
