"""Config loading: every mistake is one exact message naming file, line, key, found, expected."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tradeloop.config import Config, default_config, load_config, parse_config
from tradeloop_sdk import ConfigError, ConfigErrors, Secret

TOP_KEYS = "engine, universe, data, broker, strategies, stages, guards, rails, extensions, backtest, plugins"


def errors_of(text: str, *, check_plugins: bool = False) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(text), file="run.toml", check_plugins=check_plugins)
    err = info.value
    return [str(e) for e in (err.errors if isinstance(err, ConfigErrors) else (err,))]


def test_a_full_config_loads_into_typed_attrs(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        textwrap.dedent(
            """
            [engine]
            mode = "paper"
            strict = true
            [engine.ops]
            token = "env:TL_OPS_TOKEN"
            [universe]
            venues = ["sim", "binance"]
            symbols = ["BTC-USD"]
            currencies = ["USD", "BTC"]
            [[universe.specs]]
            venue = "sim"
            symbol = "BTC-USD"
            tick_size = "0.5"
            min_notional = 10
            [broker]
            use = "sim"
            [[strategies]]
            use = "ema_cross"
            params = { fast = 5 }
            [[strategies]]
            use = "ema_cross"
            name = "slow_one"
            [strategies.params]
            fast = 50
            [[guards]]
            use = "precision"
            [backtest]
            from = 2024-01-01
            to = "2024-02-01T12:00:00"
            seed = 3
            cash = { USD = "2500.50" }
            [plugins]
            disabled = ["ccxt"]
            """
        )
    )
    cfg = load_config(path, check_plugins=False)
    assert isinstance(cfg, Config) and cfg.source == str(path)
    assert cfg.engine.mode == "paper" and cfg.engine.strict is True
    assert cfg.engine.strict_policy().enabled
    assert (
        not parse_config('[engine]\nmode = "live"\nstrict = false\n').engine.strict_policy().enabled
    )
    assert parse_config('[engine]\nmode = "live"\n').engine.strict_policy().enabled
    assert cfg.engine.ops.token == Secret("env:TL_OPS_TOKEN")
    assert cfg.universe.specs[0].tick_size == Decimal("0.5")
    assert cfg.universe.specs[0].min_notional == Decimal(10)
    assert [s.label for s in cfg.strategies] == ["ema_cross", "slow_one"]
    assert cfg.strategies[1].params == {"fast": 50}
    assert cfg.backtest.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert cfg.backtest.end == datetime(2024, 2, 1, 12, tzinfo=UTC)
    assert cfg.backtest.cash == {"USD": Decimal("2500.50")}
    assert cfg.plugins.disabled == ("ccxt",)
    assert [k for _, k, _ in cfg.components()] == [
        "broker",
        "strategies[0]",
        "strategies[1]",
        "guards[0]",
    ]
    uni = cfg.universe.to_universe()
    assert uni.venue_id("binance") == 1 and uni.specs["sim", "BTC-USD"].tick_size == Decimal("0.5")


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    assert errors_of('[stratgies]\nuse = "x"\n') == [
        f"run.toml:1: stratgies: found unknown key 'stratgies', expected one of {TOP_KEYS} "
        "(did you mean 'strategies'?)"
    ]


def test_unknown_nested_key_and_wrong_types_are_all_reported_with_lines() -> None:
    errs = errors_of(
        """\
        [engine]
        mode = "livee"
        ring_capacity = "big"
        strickt = true
        [[strategies]]
        use = "a"
        [[strategies]]
        use = 3
        """
    )
    assert errs == [
        "run.toml:2: engine.mode: found 'livee', expected one of 'backtest', 'paper', 'live', 'replay' "
        "(did you mean 'live'?)",
        "run.toml:3: engine.ring_capacity: found 'big', expected an integer",
        "run.toml:4: engine.strickt: found unknown key 'strickt', expected one of mode, strict, journal, "
        "cache_dir, kill_file, ring_capacity, cancel_on_kill, flatten_on_kill, snapshot, cancel_on_stop, "
        "stale_after_s, submit_timeout_s, reconnect_feeds, process, journal_sync, ops (did you mean 'strict'?)",
        "run.toml:8: strategies[1].use: found 3 (an integer), expected a string",
    ]


def test_integers_are_not_silently_coerced() -> None:
    assert errors_of("[backtest]\nseed = 1.5\n") == [
        "run.toml:2: backtest.seed: found 1.5 (a float), expected an integer"
    ]
    assert errors_of("[backtest]\nseed = true\n") == [
        "run.toml:2: backtest.seed: found true (a boolean), expected an integer"
    ]
    assert errors_of('[backtest]\nfrom = "last tuesday"\n') == [
        "run.toml:2: backtest.from: found 'last tuesday', expected a date or datetime (e.g. 2024-01-31)"
    ]


def test_missing_required_key() -> None:
    assert errors_of("[[strategies]]\nparams = {}\n") == [
        "run.toml:1: strategies[0].use: found nothing, expected a value (this key is required)"
    ]


def test_inline_secrets_are_refused_without_echoing_them() -> None:
    errs = errors_of(
        """\
        [engine.ops]
        token = "tok-9f8e7d6c5b4a"
        [broker]
        use = "ccxt"
        params = { api_key = "AKIA1234567890SECRET", api_secret = "env:BINANCE_SECRET" }
        """
    )
    expected_tail = "found an inline value (hidden), expected a secret reference 'env:NAME' or 'keyring:service/user'"
    assert errs == [
        f"run.toml:2: engine.ops.token: {expected_tail}",
        f"run.toml:5: broker.params.api_key: {expected_tail}",
    ]
    assert not any("tok-9f8e7d6c5b4a" in e or "AKIA1234567890SECRET" in e for e in errs)


def test_toml_syntax_errors_and_missing_files(tmp_path: Path) -> None:
    errs = errors_of("[engine\nmode = 1\n")
    assert errs[0].startswith("run.toml: invalid TOML: ") and "line 1" in errs[0]
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert (
        str(info.value)
        == f"{tmp_path / 'nope.toml'}: found no such file, expected a TOML config file"
    )


def test_plugin_params_are_checked_against_the_plugin(fixture_strategy: Path) -> None:
    errs = errors_of(
        """\
        [[strategies]]
        use = "tl_fixture"
        params = { venue = "sim" }

        [[strategies]]
        use = "tl_fixture"
        [strategies.params]
        venue = "sim"
        fast = 0
        fsat = 3
        slow = "26"
        api_key = "env:FIXTURE_KEY"
        """,
        check_plugins=True,
    )
    # type and key errors come first; bounds are checked once the values have the right types
    assert errs == [
        "run.toml:11: strategies[1].params.slow: found '26', expected an integer",
        "run.toml:10: strategies[1].params.fsat: found unknown key 'fsat', expected one of fast, slow, "
        "venue, api_key (did you mean 'fast'?)",
    ]
    assert errors_of(
        """\
        [[strategies]]
        use = "tl_fixture"
        [strategies.params]
        fast = 0
        """,
        check_plugins=True,
    ) == [
        "run.toml:3: strategies[0].params.venue: found nothing, expected a value (this key is required)",
    ]
    assert errors_of(
        """\
        [[strategies]]
        use = "tl_fixture"
        [strategies.params]
        venue = "sim"
        fast = 0
        """,
        check_plugins=True,
    ) == ["run.toml:5: strategies[0].params.fast: found 0, expected >= 1"]


def test_plugin_names_are_checked_without_importing_others(fixture_strategy: Path) -> None:
    assert errors_of('[[strategies]]\nuse = "tl_fixtur"\n', check_plugins=True) == [
        "run.toml:2: strategies[0].use: found 'tl_fixtur', expected an installed strategies plugin "
        "(tradeloop.strategies); no strategies plugin named 'tl_fixtur' is installed "
        f"(installed: {_installed_strategies()}) (did you mean 'tl_fixture'?)"
    ]
    assert errors_of(
        '[plugins]\ndisabled = ["tl_fixture"]\n[[strategies]]\nuse = "tl_fixture"\n',
        check_plugins=True,
    ) == [
        "run.toml:4: strategies[0].use: found 'tl_fixture', which [plugins] disabled turns off, "
        "expected an enabled plugin"
    ]


def _installed_strategies() -> str:
    import importlib.metadata as md

    return ", ".join(sorted({ep.name for ep in md.entry_points(group="tradeloop.strategies")}))


def test_secret_params_are_structured_to_references(fixture_strategy: Path) -> None:
    from tradeloop._registry import Registry

    cfg = parse_config(
        '[[strategies]]\nuse = "tl_fixture"\nparams = { venue = "sim", api_key = "env:FIXTURE_KEY" }\n',
        file="run.toml",
    )
    reg = Registry()
    parts = reg.build(cfg)
    strat = parts.strategies[0]
    assert strat.params.api_key == Secret("env:FIXTURE_KEY") and strat.params.fast == 12
    assert reg.call(strat, "tradeloop_python_strategy", universe=None) == ("python", 12)
    reg.hook.tradeloop_start(engine="E")
    assert strat.events == ["start E"]


def test_the_embedded_default_is_structurally_valid() -> None:
    cfg = default_config(check_plugins=False)
    assert cfg.source == "<default>"
    assert [c.use for c in cfg.strategies] and cfg.data is not None and cfg.broker is not None
