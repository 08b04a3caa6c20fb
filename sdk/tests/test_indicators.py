"""Streaming indicator kernels against TA-Lib, precomputed TA-Lib outputs and numpy references."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tradeloop_sdk import indicators as ind
from tradeloop_sdk.testing import require_shared_data

try:  # a test dependency of tradeloop-plugin-classic; without it only the live comparisons skip
    import talib
except ImportError:  # pragma: no cover
    talib = None  # type: ignore[assignment]

needs_talib = pytest.mark.skipif(talib is None, reason="ta-lib (PyPI) is not installed")

RTOL = 1e-9


# --- njit drivers: feed a series one value at a time, like the fused loop does -----


@numba.njit(cache=True)
def _drive1(kind: int, st: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.empty(x.size)
    for i in range(x.size):
        if kind == 0:
            out[i] = ind.sma_update(st, x[i])
        elif kind == 1:
            out[i] = ind.ema_update(st, x[i])
        else:
            out[i] = ind.rsi_update(st, x[i])
    return out


@numba.njit(cache=True)
def _drive_bb(st: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.empty((x.size, 3))
    for i in range(x.size):
        m, u, lo = ind.bbands_update(st, x[i])
        out[i, 0] = m
        out[i, 1] = u
        out[i, 2] = lo
    return out


@numba.njit(cache=True)
def _drive_atr(st: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> np.ndarray:
    out = np.empty(h.size)
    for i in range(h.size):
        out[i] = ind.atr_update(st, h[i], lo[i], c[i])
    return out


def s_sma(x: np.ndarray, n: int) -> np.ndarray:
    return _drive1(0, ind.sma_state(n), x)


def s_ema(x: np.ndarray, n: int) -> np.ndarray:
    return _drive1(1, ind.ema_state(n), x)


def s_rsi(x: np.ndarray, n: int) -> np.ndarray:
    return _drive1(2, ind.rsi_state(n), x)


def s_bb(x: np.ndarray, n: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = _drive_bb(ind.bbands_state(n, k), x)
    return out[:, 0], out[:, 1], out[:, 2]


def s_atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    return _drive_atr(ind.atr_state(n), h, lo, c)


def assert_same(got: np.ndarray, want: np.ndarray, what: str, rtol: float = RTOL) -> None:
    got = np.asarray(got, float)
    want = np.asarray(want, float)
    assert got.shape == want.shape, what
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    bad = np.flatnonzero(nan_g != nan_w)
    assert bad.size == 0, f"{what}: NaN pattern differs first at index {bad[:3]}"
    ok = ~nan_w
    assert ok.sum() > 0, f"{what}: no values to compare"
    np.testing.assert_allclose(got[ok], want[ok], rtol=rtol, atol=0, err_msg=what)


def synthetic(n: int = 3000, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    spread = np.abs(rng.normal(0, 0.005, n)) * close
    return close + spread, close - spread, close


# --- synthetic series: TA-Lib and numpy references ---------------------------------


@needs_talib
@pytest.mark.parametrize("n", [1, 2, 10, 30])
def test_sma_ema_synthetic(n: int) -> None:
    _, _, c = synthetic()
    assert_same(s_sma(c, n), talib.SMA(c, n), f"SMA({n}) vs TA-Lib")
    assert_same(s_sma(c, n), ind.sma(c, n), f"SMA({n}) vs numpy")
    if n >= 2:  # TA-Lib EMA needs period >= 2
        assert_same(s_ema(c, n), talib.EMA(c, n), f"EMA({n}) vs TA-Lib")
    assert_same(s_ema(c, n), ind.ema(c, n), f"EMA({n}) vs numpy")


@needs_talib
@pytest.mark.parametrize("n", [2, 14, 30])
def test_rsi_atr_synthetic(n: int) -> None:
    h, lo, c = synthetic()
    assert_same(s_rsi(c, n), talib.RSI(c, n), f"RSI({n}) vs TA-Lib")
    assert_same(s_rsi(c, n), ind.rsi(c, n), f"RSI({n}) vs numpy")
    assert_same(s_atr(h, lo, c, n), talib.ATR(h, lo, c, n), f"ATR({n}) vs TA-Lib")
    assert_same(s_atr(h, lo, c, n), ind.atr(h, lo, c, n), f"ATR({n}) vs numpy")


@needs_talib
@pytest.mark.parametrize(("n", "k"), [(20, 2.0), (5, 1.5)])
def test_bbands_synthetic(n: int, k: float) -> None:
    _, _, c = synthetic()
    got = s_bb(c, n, k)
    want = talib.BBANDS(c, n, k, k, 0)  # upper, middle, lower
    assert_same(got[0], want[1], "BB middle vs TA-Lib")
    assert_same(got[1], want[0], "BB upper vs TA-Lib")
    assert_same(got[2], want[2], "BB lower vs TA-Lib")
    ref = ind.bbands(c, n, k)
    for g, r, name in zip(got, ref, ("middle", "upper", "lower"), strict=True):
        assert_same(g, r, f"BB {name} vs numpy")


@needs_talib
def test_rsi_flat_series_is_zero_like_talib() -> None:
    x = np.full(40, 5.0)
    assert_same(s_rsi(x, 14), talib.RSI(x, 14), "RSI flat")
    assert s_rsi(x, 14)[-1] == 0.0


def test_sma_does_not_drift_over_long_series() -> None:
    # a level shift of 1e6 followed by small values would leave a naive running sum off
    x = np.concatenate([np.full(50, 1e9), np.random.default_rng(1).normal(1.0, 0.1, 200_000)])
    got = s_sma(x, 20)
    assert_same(got[-1000:], ind.sma(x, 20)[-1000:], "SMA after 200k updates", rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(1.0, 1e5, allow_nan=False), min_size=1, max_size=60),
    st.integers(1, 12),
)
def test_streaming_equals_reference_property(xs: list[float], n: int) -> None:
    x = np.array(xs)
    assert_same_or_empty(s_sma(x, n), ind.sma(x, n), 1e-9)
    assert_same_or_empty(s_ema(x, n), ind.ema(x, n), 1e-9)
    assert_same_or_empty(s_rsi(x, n), ind.rsi(x, n), 1e-9)


def assert_same_or_empty(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=rtol, atol=1e-9)


def test_bad_periods_are_named() -> None:
    with pytest.raises(ValueError, match="sma_state: period"):
        ind.sma_state(0)
    with pytest.raises(ValueError, match="bbands_state: k"):
        ind.bbands_state(20, 0.0)


# --- real series: precomputed TA-Lib outputs and live TA-Lib ------------------------


def _load_csv(path: object) -> dict[str, np.ndarray]:
    with open(path, newline="") as fh:  # type: ignore[call-overload]
        rows = list(csv.DictReader(fh))
    cols: dict[str, np.ndarray] = {}
    for key in rows[0]:
        if key == "date":
            continue
        cols[key] = np.array([float(r[key]) if r[key] != "" else np.nan for r in rows])
    return cols


def _load_parquet(path: object) -> dict[str, np.ndarray]:
    pq = pytest.importorskip("pyarrow.parquet")
    t = pq.read_table(path)
    return {n: t.column(n).to_numpy().astype(np.float64) for n in t.column_names if n != "timestamp"}


CHECKS: list[tuple[str, Callable[[dict[str, np.ndarray]], np.ndarray]]] = [
    ("SMA_30", lambda d: s_sma(d["close"], 30)),
    ("SMA_10", lambda d: s_sma(d["close"], 10)),
    ("EMA_30", lambda d: s_ema(d["close"], 30)),
    ("EMA_10", lambda d: s_ema(d["close"], 10)),
    ("EMA_20", lambda d: s_ema(d["close"], 20)),
    ("RSI_14", lambda d: s_rsi(d["close"], 14)),
    ("ATR_14", lambda d: s_atr(d["high"], d["low"], d["close"], 14)),
    ("BB_MIDDLE_20_2", lambda d: s_bb(d["close"], 20, 2.0)[0]),
    ("BB_UPPER_20_2", lambda d: s_bb(d["close"], 20, 2.0)[1]),
    ("BB_LOWER_20_2", lambda d: s_bb(d["close"], 20, 2.0)[2]),
]


@pytest.mark.parametrize(
    "fname", ["talib_backtrader-2006-day-001.csv", "talib_nautilus-btc-perp-1m-first10000.parquet"]
)
def test_real_series_against_precomputed_talib(fname: str) -> None:
    path = require_shared_data(f"indicator-reference/{fname}")
    data = _load_csv(path) if fname.endswith(".csv") else _load_parquet(path)
    for col, fn in CHECKS:
        got = fn(data)
        assert_same(got, data[col], f"{col} on {fname} vs precomputed TA-Lib")
        # and the installed TA-Lib agrees with the precomputed file
        if col == "RSI_14" and talib is not None:
            assert_same(talib.RSI(data["close"], 14), data[col], "installed TA-Lib RSI")


def test_fx_ema_pair_against_precomputed_talib() -> None:
    path = require_shared_data("indicator-reference/talib_fxcm-gbpusd-m1-bid-2012_ema10_ema20.parquet")
    d = _load_parquet(path)
    assert_same(s_ema(d["close"], 10), d["EMA_10"], "EMA_10 on GBPUSD")
    assert_same(s_ema(d["close"], 20), d["EMA_20"], "EMA_20 on GBPUSD")


def test_backtrader_check_values() -> None:
    """Values typed into backtrader's own tests, a second independent source."""
    path = require_shared_data("indicator-reference/talib_backtrader-2006-day-001.csv")
    d = _load_csv(path)
    c = d["close"]
    assert s_sma(c, 30)[29] == pytest.approx(3644.444667, abs=1e-6)
    assert s_sma(c, 30)[254] == pytest.approx(4063.463000, abs=1e-6)
    assert s_rsi(c, 14)[14] == pytest.approx(41.630968, abs=1e-6)
    assert s_rsi(c, 14)[254] == pytest.approx(57.644284, abs=1e-6)
    assert s_atr(d["high"], d["low"], c, 14)[134] == pytest.approx(54.329064, abs=1e-6)


@numba.njit  # not cached: numba's cache would keep an edited log_ratio's old code
def _log_ratio(px: float, last: float) -> float:
    return ind.log_ratio(px, last, 1.0 / last)


@settings(max_examples=400, deadline=None)
@given(last=st.floats(1e-4, 1e7), move=st.one_of(st.floats(-2e-3, 2e-3), st.floats(-0.05, 0.05)))
def test_log_ratio_is_within_a_few_ulp_of_the_log(last: float, move: float) -> None:
    px = last * (1.0 + move)
    # (px - last) is exact and log1p accurate. np.log(px / last) is not a reference: its
    # division rounds by up to an ulp of the ratio, ~2.2e-16 of an absolute error, which
    # on a tiny move is all of the result. Large moves take that log: allow its error.
    ref = math.log1p((px - last) / last)
    got = _log_ratio(px, last)
    small = abs(px - last) < 1e-3 * last
    assert abs(got - ref) <= 8 * 2.3e-16 * abs(ref) + (0.0 if small else 2.3e-16)
