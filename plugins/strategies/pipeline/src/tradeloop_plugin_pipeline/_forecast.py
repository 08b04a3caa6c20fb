"""Compiled kernels of the first two stages: prediction and blending.

predict: for each horizon H (in ticks) three built-in models write an expected log return
over H ticks into ``PRED + m * N_HORIZONS + h`` (see :mod:`.slots`):

* momentum  (EMA(H) - EMA(4H)) / price
* reversion -(price - SMA(H)) / price
* drift     EMA(H) of one-tick log returns * H

A model switched off in ``models`` leaves its slots alone, so another component placed
before the blend stage can supply that model's forecasts instead.

blend: each model is treated as an asset whose one-tick return is its previous forecast
times the realised return. With EWMA estimates of their mean ``mu`` and covariance
``Sigma``, the weights are ``w = (Sigma + lambda I)^-1 mu`` (``lambda = ridge * tr(Sigma) /
M``, so the ridge is scale-free), normalised to ``sum |w| = 1``. The blend
``b = sum w_m pred_m`` is compressed with a temperature that is lower (harder) for shorter
horizons: ``out = T s tanh(b / (T s))``, ``T = temperature * sqrt(H / H_max)``, ``s`` the
EWMA root-mean-square of ``b``.
"""

from __future__ import annotations

import math
from typing import Any

import numba
from tradeloop_sdk import indicators as ind

from ._common import ewma, log_return, own_price, solve_ridge
from .slots import BLEND, N_HORIZONS, PRED

# predict: offsets[h] = (ema H, ema 4H, sma H, ema of returns, end of sma, H)
O_EF, O_ES, O_SMA, O_ER, O_SMA_END, O_H = range(6)


@numba.njit(cache=True)
def predict_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Update the per-horizon features and write each enabled model's forecast."""
    p = params[0][0]
    offs = params[1]
    x = own_price(p, ctx, tick)
    if not x > 0.0:
        return
    r = log_return(state, 0, x)
    row = ctx.signals[p["symbol"]]
    mask = p["models"]
    for h in range(offs.shape[0]):
        o = offs[h]
        ef = ind.ema_update(state[o[O_EF] : o[O_EF] + 5], x)
        es = ind.ema_update(state[o[O_ES] : o[O_ES] + 5], x)
        sm = ind.sma_update(state[o[O_SMA] : o[O_SMA_END]], x)
        er_st = state[o[O_ER] : o[O_ER] + 5]
        er = ind.ema_update(er_st, r) if not math.isnan(r) else er_st[4]
        if mask & 1:
            row[PRED + 0 * N_HORIZONS + h] = (ef - es) / x if not math.isnan(es) else 0.0
        if mask & 2:
            row[PRED + 1 * N_HORIZONS + h] = -(x - sm) / x if not math.isnan(sm) else 0.0
        if mask & 4:
            row[PRED + 2 * N_HORIZONS + h] = er * o[O_H] if not math.isnan(er) else 0.0


# blend: vec = [last price, count, per horizon: prev[M], mu[M], cov[M*M], var_blend]
B_LAST, B_COUNT, B_HEAD = 0, 1, 2


def blend_block(n_models: int) -> int:
    """Floats per horizon in the blend state vector."""
    return 2 * n_models + n_models * n_models + 1


@numba.njit(cache=True)
def blend_on_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    """Score the models on the realised return, re-weight them, write compressed blends."""
    p = params[0][0]
    horizons = params[1]
    vec, amat, bvec, w = state
    x = own_price(p, ctx, tick)
    if not x > 0.0:
        return
    r = log_return(vec, B_LAST, x)
    vec[B_COUNT] += 1
    M = p["n_models"]
    a = p["alpha"]
    blk = 2 * M + M * M + 1
    hmax = horizons[horizons.shape[0] - 1]
    row = ctx.signals[p["symbol"]]
    for h in range(horizons.shape[0]):
        base = B_HEAD + h * blk
        prev = vec[base : base + M]
        mu = vec[base + M : base + 2 * M]
        cov = vec[base + 2 * M : base + 2 * M + M * M]
        if not math.isnan(r):
            for m in range(M):
                mu[m] = (1.0 - a) * mu[m] + a * prev[m] * r
            for m in range(M):
                dm = prev[m] * r - mu[m]
                for n in range(M):
                    dn = prev[n] * r - mu[n]
                    cov[m * M + n] = (1.0 - a) * cov[m * M + n] + a * dm * dn
        ok = False
        if vec[B_COUNT] > p["warmup"]:
            tr = 0.0
            for m in range(M):
                tr += cov[m * M + m]
            lam = p["ridge"] * tr / M
            for m in range(M):
                for n in range(M):
                    amat[m, n] = cov[m * M + n] + (lam if m == n else 0.0)
                bvec[m] = mu[m]
            ok = tr > 0.0 and solve_ridge(amat, bvec, M, w)
        tot = 0.0
        if ok:
            for m in range(M):
                tot += abs(w[m])
        if not ok or not tot > 0.0:
            for m in range(M):
                w[m] = 1.0
            tot = float(M)
        b = 0.0
        for m in range(M):
            pm = row[PRED + m * N_HORIZONS + h]
            b += (w[m] / tot) * pm
            prev[m] = pm
        vb = ewma(vec[base + blk - 1], b * b, a) if vec[B_COUNT] > 1 else b * b
        vec[base + blk - 1] = vb
        s = p["temperature"] * math.sqrt(horizons[h] / hmax) * math.sqrt(vb)
        row[BLEND + h] = s * math.tanh(b / s) if s > 0.0 else b
