"""The error hierarchy renders what users need, and strict mode decides raise vs skip."""

from __future__ import annotations

import logging

import pytest
import tradeloop_sdk as sdk


def test_every_error_is_a_tradeloop_error() -> None:
    for cls in (
        sdk.ConfigError,
        sdk.PluginError,
        sdk.DataError,
        sdk.BrokerError,
        sdk.OrderRejected,
        sdk.ConnectionLost,
        sdk.GuardError,
        sdk.KillSwitchTriggered,
    ):
        assert issubclass(cls, sdk.TradeloopError)
    assert issubclass(sdk.OrderRejected, sdk.BrokerError)
    assert issubclass(sdk.ConnectionLost, sdk.BrokerError)


def test_config_error_renders_file_key_found_expected_and_suggestion() -> None:
    err = sdk.ConfigError(
        file="run.toml", key="strategies[1].params.fast", found="-3", expected=">= 1"
    )
    assert str(err) == "run.toml: strategies[1].params.fast: found -3, expected >= 1"
    err = sdk.ConfigError(
        file="run.toml",
        line=7,
        key="strategies[0].params.fsat",
        found="unknown key 'fsat'",
        expected="one of fast, slow",
        suggestion="fast",
    )
    assert str(err) == (
        "run.toml:7: strategies[0].params.fsat: found unknown key 'fsat', "
        "expected one of fast, slow (did you mean 'fast'?)"
    )
    assert err.key == "strategies[0].params.fsat" and err.suggestion == "fast"


def test_config_errors_lists_each_on_its_own_line() -> None:
    a = sdk.ConfigError(file="f.toml", key="a", found="1", expected="str")
    b = sdk.ConfigError(file="f.toml", key="b", found="'x'", expected="int")
    with pytest.raises(sdk.ConfigErrors) as info:
        sdk.ConfigErrors.raise_if_any([a, b])
    assert str(info.value) == "f.toml: a: found 1, expected str\nf.toml: b: found 'x', expected int"
    with pytest.raises(sdk.ConfigError) as one:
        sdk.ConfigErrors.raise_if_any([a])
    assert one.value is a
    sdk.ConfigErrors.raise_if_any([])


def test_other_errors_carry_their_facts() -> None:
    p = sdk.PluginError("ema", "unknown hook", hook="tradeloop_hot_pth", fix="rename it")
    assert str(p) == "plugin 'ema', hook 'tradeloop_hot_pth': unknown hook; fix: rename it"
    d = sdk.DataError("price is not a number", file="ticks.csv", line=12, column="price")
    assert str(d) == "ticks.csv:12 (column price): price is not a number"
    r = sdk.OrderRejected(sdk.Reason.MIN_NOTIONAL, "5 < 10", venue="sim", client_id=9)
    assert r.reason is sdk.Reason.MIN_NOTIONAL
    assert str(r) == "sim: order rejected: MIN_NOTIONAL (client id 9): 5 < 10"
    g = sdk.GuardError("too big", guard="max_notional", reason=sdk.Reason.NOTIONAL_LIMIT)
    assert str(g) == "guard 'max_notional': too big" and g.reason == sdk.Reason.NOTIONAL_LIMIT


def test_handle_error_skips_when_lenient_and_raises_when_strict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    err = sdk.ConnectionLost("socket closed", venue="binance")
    with caplog.at_level(logging.WARNING, logger="tradeloop.errors"):
        assert not sdk.current_policy().enabled
        sdk.handle_error(err, affects_orders=True, context="order stream")
    assert "order stream: ConnectionLost: binance: socket closed" in caplog.text
    with sdk.strict(), pytest.raises(sdk.ConnectionLost):
        sdk.handle_error(err, affects_orders=True)
    # errors that touch no order are skipped even in strict mode
    with sdk.strict():
        sdk.handle_error(err, affects_orders=False)
    assert not sdk.current_policy().enabled  # restored
    with pytest.raises(sdk.KillSwitchTriggered):
        sdk.handle_error(sdk.KillSwitchTriggered("operator"), affects_orders=False)


def test_strict_policy_defaults_by_mode() -> None:
    assert sdk.StrictPolicy.for_mode("live").enabled
    assert not sdk.StrictPolicy.for_mode("backtest").enabled
    assert not sdk.StrictPolicy.for_mode("live", strict=False).enabled
    assert sdk.StrictPolicy.for_mode("paper", strict=True).enabled
