"""Streaming technical indicators for compiled strategies, and whole-array references.

Every indicator keeps its state in one preallocated ``float64`` array made by its
``*_state`` function, and advances by exactly one observation per ``*_update`` call
(a ``numba.njit`` function usable inside the fused loop). Updates only ever see the past,
so there is no look-ahead by construction. A strategy holding several indicators may
concatenate their states into one array and pass slices (numba views, no copies).

Conventions follow TA-Lib so results can be checked against it:

* SMA(n): NaN until ``n`` values; the rolling sum is compensated (Neumaier) so it does
  not drift over millions of updates.
* EMA(n): ``alpha = 2 / (n + 1)``, seeded with the SMA of the first ``n`` values
  (first output on the ``n``-th value).
* RSI(n): Wilder smoothing seeded with simple averages of the first ``n`` changes; first
  output on value ``n + 1``; 0 when the price has not moved at all.
* ATR(n): true range from the second bar; first output on bar ``n + 1`` as the mean of
  the first ``n`` true ranges, then Wilder smoothing.
* Bollinger(n, k): middle = SMA(n), bands = middle +- k * population standard deviation.
  The deviation is computed two-pass over the window (exact), not as
  ``E[x^2] - E[x]^2`` (which loses digits on large prices).

The whole-array functions (:func:`sma`, :func:`ema`, ...) are plain numpy/Python
implementations written independently of the streaming kernels, for tests and research.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "atr",
    "atr_state",
    "atr_update",
    "bbands",
    "bbands_state",
    "bbands_update",
    "ema",
    "ema_state",
    "ema_update",
    "log_ratio",
    "rsi",
    "rsi_state",
    "rsi_update",
    "sma",
    "sma_state",
    "sma_stddev",
    "sma_update",
    "stddev",
]

FloatArray = NDArray[np.float64]

# TA-Lib treats |v| < 1e-14 as zero (TA_IS_ZERO); RSI matches that.
_ZERO = 1e-14

@numba.njit(cache=True, inline="always")
def log_ratio(px: float, last: float, inv_last: float) -> float:
    """``log(px / last)`` of two positive prices, given ``inv_last = 1 / last``: on a move
    under ~10 bps, with no ``log`` and no division.

    For kernels that take a log return on every tick (or every sample), where a libm
    ``log`` and a division were most of their cost. With ``x = (px - last) * inv_last``
    (``px - last`` is exact, Sterbenz), ``log(px / last) = log1p(x)``; for ``|x| < 1e-3``
    the series to ``x**5`` leaves a truncation error below ``x**5 / 6``, under an ulp of
    the result, so the result is within a few ulp of the exact log: closer than
    ``np.log(px / last)``, whose division rounds. Larger moves take ``log``. Pass
    ``inv_last`` computed when ``last`` was new (off the path that needs the ratio), or
    ``1.0 / last``.
    """
    x = (px - last) * inv_last
    x2 = x * x
    if x2 < 1e-6:
        return x - x2 * (0.5 - x * (1.0 / 3.0 - x * (0.25 - x * 0.2)))
    return float(np.log(px / last))


# --- SMA state: [n, count, pos, sum, comp, buf[0..n-1]] ------------------------------
_N, _COUNT, _POS, _SUM, _COMP, _BUF = 0, 1, 2, 3, 4, 5


def _check_period(n: int, what: str) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"{what}: period must be a positive integer, got {n!r}")
    return int(n)


def sma_state(n: int) -> FloatArray:
    """State array for a streaming SMA (also the window behind :func:`sma_stddev`)."""
    n = _check_period(n, "sma_state")
    st = np.zeros(_BUF + n, np.float64)
    st[_N] = n
    return st


@numba.njit(cache=True, inline="always")
def _nadd(st: FloatArray, x: float) -> None:
    # Neumaier compensated add into (sum, comp)
    s = st[_SUM]
    t = s + x
    if abs(s) >= abs(x):
        st[_COMP] += (s - t) + x
    else:
        st[_COMP] += (x - t) + s
    st[_SUM] = t


@numba.njit(cache=True)
def sma_update(st: FloatArray, x: float) -> float:
    """Push ``x``; return the SMA of the last ``n`` values (NaN while warming up)."""
    n = int(st[_N])
    pos = int(st[_POS])
    count = int(st[_COUNT])
    if count >= n:
        _nadd(st, -st[_BUF + pos])
    _nadd(st, x)
    st[_BUF + pos] = x
    pos += 1
    if pos == n:
        pos = 0
    st[_POS] = pos
    count += 1
    st[_COUNT] = count
    if count < n:
        return np.nan
    return float((st[_SUM] + st[_COMP]) / n)


@numba.njit(cache=True)
def sma_stddev(st: FloatArray, mean: float) -> float:
    """Population standard deviation of the window in an SMA state whose SMA is ``mean``.

    Call right after :func:`sma_update` on the same state; NaN while warming up.
    """
    n = int(st[_N])
    if st[_COUNT] < n or math.isnan(mean):
        return np.nan
    acc = 0.0
    for i in range(n):
        d = st[_BUF + i] - mean
        acc += d * d
    return math.sqrt(acc / n)


# --- EMA state: [n, count, alpha, seed_sum, value] ----------------------------------


def ema_state(n: int) -> FloatArray:
    """State array for a streaming EMA with ``alpha = 2 / (n + 1)``, SMA-seeded."""
    n = _check_period(n, "ema_state")
    return np.array([n, 0.0, 2.0 / (n + 1.0), 0.0, np.nan], np.float64)


@numba.njit(cache=True)
def ema_update(st: FloatArray, x: float) -> float:
    """Push ``x``; return the EMA (NaN for the first ``n - 1`` values)."""
    # The count stays a float: an int round trip put two conversions (~10 cycles) on a
    # dependency chain that runs from one tick to the next (exact below 2**53).
    n = st[0]
    count = st[1] + 1.0
    st[1] = count
    if count < n:
        st[3] += x
        return np.nan
    if count == n:
        st[4] = (st[3] + x) / n
    else:
        st[4] = (x - st[4]) * st[2] + st[4]
    return float(st[4])


# --- RSI state: [n, count, prev, avg_gain, avg_loss] --------------------------------


def rsi_state(n: int) -> FloatArray:
    """State array for a streaming Wilder RSI."""
    n = _check_period(n, "rsi_state")
    return np.array([n, 0.0, np.nan, 0.0, 0.0], np.float64)


@numba.njit(cache=True, inline="always")
def _rsi_value(gain: float, loss: float) -> float:
    tot = gain + loss
    if -_ZERO < tot < _ZERO:
        return 0.0
    return 100.0 * (gain / tot)


@numba.njit(cache=True)
def rsi_update(st: FloatArray, x: float) -> float:
    """Push ``x``; return RSI in [0, 100] (NaN for the first ``n`` values)."""
    n = int(st[0])
    count = int(st[1]) + 1
    st[1] = count
    prev = st[2]
    st[2] = x
    if count == 1:
        return np.nan
    d = x - prev
    if count <= n + 1:
        if d < 0:
            st[4] -= d
        else:
            st[3] += d
        if count < n + 1:
            return np.nan
        st[3] /= n
        st[4] /= n
        return _rsi_value(st[3], st[4])
    gain = st[3] * (n - 1)
    loss = st[4] * (n - 1)
    if d < 0:
        loss -= d
    else:
        gain += d
    st[3] = gain / n
    st[4] = loss / n
    return _rsi_value(st[3], st[4])


# --- ATR state: [n, count, prev_close, tr_sum, value] -------------------------------


def atr_state(n: int) -> FloatArray:
    """State array for a streaming Wilder ATR over (high, low, close) bars."""
    n = _check_period(n, "atr_state")
    return np.array([n, 0.0, np.nan, 0.0, np.nan], np.float64)


@numba.njit(cache=True)
def atr_update(st: FloatArray, high: float, low: float, close: float) -> float:
    """Push one bar; return the ATR (NaN for the first ``n`` bars)."""
    n = int(st[0])
    count = int(st[1]) + 1
    st[1] = count
    pc = st[2]
    st[2] = close
    if count == 1:
        return np.nan
    tr = high - low
    a = abs(high - pc)
    if a > tr:
        tr = a
    a = abs(low - pc)
    if a > tr:
        tr = a
    if count <= n + 1:
        st[3] += tr
        if count < n + 1:
            return np.nan
        st[4] = st[3] / n
        return float(st[4])
    st[4] = (st[4] * (n - 1) + tr) / n
    return float(st[4])


# --- Bollinger state: [k, sma_state...] ---------------------------------------------


def bbands_state(n: int, k: float = 2.0) -> FloatArray:
    """State array for streaming Bollinger bands: SMA(n) +- k population std-devs."""
    if not k > 0:
        raise ValueError(f"bbands_state: k must be > 0, got {k!r}")
    return np.concatenate((np.array([float(k)]), sma_state(n)))


@numba.njit(cache=True)
def bbands_update(st: FloatArray, x: float) -> tuple[float, float, float]:
    """Push ``x``; return ``(middle, upper, lower)`` (NaNs while warming up)."""
    inner = st[1:]
    m = sma_update(inner, x)
    sd = sma_stddev(inner, m)
    k = st[0]
    return m, m + k * sd, m - k * sd


# --- whole-array references ----------------------------------------------------------


def _as_f64(x: object, what: str) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D series, got shape {a.shape}")
    return a


def sma(x: object, n: int) -> FloatArray:
    """Simple moving average of a whole series (NaN for the first ``n - 1``)."""
    a = _as_f64(x, "sma")
    n = _check_period(n, "sma")
    out = np.full(a.shape, np.nan)
    if a.size >= n:
        out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(a, n).mean(axis=1)
    return out


def stddev(x: object, n: int) -> FloatArray:
    """Rolling population standard deviation of a whole series."""
    a = _as_f64(x, "stddev")
    n = _check_period(n, "stddev")
    out = np.full(a.shape, np.nan)
    if a.size >= n:
        out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(a, n).std(axis=1)
    return out


def bbands(x: object, n: int, k: float = 2.0) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands of a whole series: ``(middle, upper, lower)``."""
    m = sma(x, n)
    sd = stddev(x, n)
    return m, m + k * sd, m - k * sd


def ema(x: object, n: int) -> FloatArray:
    """SMA-seeded exponential moving average of a whole series."""
    a = _as_f64(x, "ema")
    n = _check_period(n, "ema")
    out = np.full(a.shape, np.nan)
    if a.size < n:
        return out
    alpha = 2.0 / (n + 1.0)
    v = float(np.mean(a[:n]))
    out[n - 1] = v
    for i in range(n, a.size):
        v = v + alpha * (float(a[i]) - v)
        out[i] = v
    return out


def rsi(x: object, n: int = 14) -> FloatArray:
    """Wilder RSI of a whole series (first value at index ``n``)."""
    a = _as_f64(x, "rsi")
    n = _check_period(n, "rsi")
    out = np.full(a.shape, np.nan)
    if a.size <= n:
        return out
    d = np.diff(a)
    gains = np.where(d > 0, d, 0.0)
    losses = np.where(d < 0, -d, 0.0)
    g = float(gains[:n].mean())
    lo = float(losses[:n].mean())

    def val(g: float, lo: float) -> float:
        return 0.0 if abs(g + lo) < _ZERO else 100.0 * g / (g + lo)

    out[n] = val(g, lo)
    for i in range(n, d.size):
        g = (g * (n - 1) + gains[i]) / n
        lo = (lo * (n - 1) + losses[i]) / n
        out[i + 1] = val(g, lo)
    return out


def atr(high: object, low: object, close: object, n: int = 14) -> FloatArray:
    """Wilder average true range of whole (high, low, close) series."""
    h, lo, c = _as_f64(high, "atr high"), _as_f64(low, "atr low"), _as_f64(close, "atr close")
    if not h.shape == lo.shape == c.shape:
        raise ValueError("atr: high, low and close must have the same length")
    n = _check_period(n, "atr")
    out = np.full(h.shape, np.nan)
    if h.size <= n:
        return out
    tr = np.maximum.reduce([h[1:] - lo[1:], np.abs(h[1:] - c[:-1]), np.abs(lo[1:] - c[:-1])])
    v = float(tr[:n].mean())
    out[n] = v
    for i in range(n, tr.size):
        v = (v * (n - 1) + tr[i]) / n
        out[i + 1] = v
    return out
