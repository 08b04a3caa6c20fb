"""The compiled generator: one market step at a time into a preallocated TICK array.

All randomness comes from an explicit xoshiro256** state (no global RNG), and the state
carries over between calls, so the concatenated output does not depend on how it is cut
into chunks. Prices are float64 in log space here (kernel side); they are rounded to whole
ticks before they are written.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# Layout of the int64 state vector.
T_NS = 0  # clock of the latest step
STEPS = 1
JUMPS = 2
SWITCHES = 3
EMITTED = 4
N_ISTATE = 5

_MASK = (1 << 64) - 1


def seed_state(seed: int) -> np.ndarray:
    """xoshiro256** state from ``seed`` (splitmix64, as the xoshiro authors recommend)."""
    out = np.zeros(4, np.uint64)
    x = seed & _MASK
    for i in range(4):
        x = (x + 0x9E3779B97F4A7C15) & _MASK
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        out[i] = z ^ (z >> 31)
    return out


@numba.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True)
def next_u64(s: np.ndarray) -> np.uint64:
    """Next 64 random bits (xoshiro256**)."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@numba.njit(cache=True)
def uniform(s: np.ndarray) -> float:
    """Uniform on [0, 1)."""
    return float(next_u64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def normal(s: np.ndarray) -> float:
    """Standard normal (Box-Muller; one draw per pair, which keeps the state simple)."""
    u1 = 1.0 - uniform(s)
    u2 = uniform(s)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@numba.njit(cache=True)
def exponential(s: np.ndarray) -> float:
    """Exponential with mean 1."""
    return -math.log(1.0 - uniform(s))


# nogil: a backtest reads the next chunk on a thread while the loop runs this one
@numba.njit(cache=True, nogil=True)
def generate(
    out: np.ndarray,
    rng: np.ndarray,
    ist: np.ndarray,
    logmid: np.ndarray,
    regime: np.ndarray,
    last_t: np.ndarray,
    basis: np.ndarray,
    seq: np.ndarray,
    venue_ids: np.ndarray,
    symbol_ids: np.ndarray,
    vol: np.ndarray,
    drift: np.ndarray,
    switch_rate: np.ndarray,
    fp: np.ndarray,
    end_ns: int,
    max_ticks: int,
) -> int:
    """Fill ``out`` with whole market steps; returns how many ticks were written.

    ``fp`` holds the float params: interval_ns, jump_rate (1/s), jump_mean (log), tick,
    inv_tick, spread_ticks, spread_extra, size_mu, size_sigma, lot, inv_lot, trade_prob,
    basis_sd (log), basis_tau (s). Stops before a step that would not fit, at ``end_ns``
    or after ``max_ticks`` ticks in total (``max_ticks`` < 0: no limit).
    """
    interval_ns, jump_rate, jump_mean = fp[0], fp[1], fp[2]
    inv_tick, spread_ticks, spread_extra = fp[4], fp[5], fp[6]
    size_mu, size_sigma, inv_lot, trade_prob = fp[7], fp[8], fp[10], fp[11]
    basis_sd, basis_tau = fp[12], fp[13]
    nv = venue_ids.shape[0]
    ns = symbol_ids.shape[0]
    nk = vol.shape[0]
    n = 0
    cap = out.shape[0]
    while n + 2 * nv <= cap:
        if max_ticks >= 0 and ist[EMITTED] + n >= max_ticks:
            break
        step = max(nv + 1, int(exponential(rng) * interval_ns))
        t = ist[T_NS] + step
        if t >= end_ns:
            break
        ist[T_NS] = t
        ist[STEPS] += 1
        s = int(uniform(rng) * ns)
        if s >= ns:
            s = ns - 1
        dt = (t - last_t[s]) * 1e-9
        last_t[s] = t
        k = regime[s]
        if nk > 1 and uniform(rng) < 1.0 - math.exp(-switch_rate[k] * dt):
            nxt = int(uniform(rng) * (nk - 1))
            regime[s] = nxt if nxt < k else nxt + 1
            ist[SWITCHES] += 1
            k = regime[s]
        sig = vol[k]
        logmid[s] += (drift[k] - 0.5 * sig * sig) * dt + sig * math.sqrt(dt) * normal(rng)
        if jump_rate > 0.0 and uniform(rng) < 1.0 - math.exp(-jump_rate * dt):
            size = jump_mean * exponential(rng)
            logmid[s] += size if uniform(rng) < 0.5 else -size
            ist[JUMPS] += 1
        decay = math.exp(-dt / basis_tau) if basis_tau > 0.0 else 0.0
        for v in range(nv):
            if basis_sd > 0.0:
                basis[v, s] = basis[v, s] * decay + basis_sd * math.sqrt(
                    max(0.0, 1.0 - decay * decay)
                ) * normal(rng)
            mid_ticks = math.exp(logmid[s] + basis[v, s]) * inv_tick
            spread = spread_ticks
            if spread_extra > 0.0:
                spread += math.floor(spread_extra * exponential(rng))
            bid_t = math.floor(mid_ticks - 0.5 * spread)
            r = out[n]
            r.ts_exch = t
            r.ts_recv = t + v
            seq[v] += 1
            r.seq = seq[v]
            r.bid = bid_t / inv_tick
            r.ask = (bid_t + spread) / inv_tick
            r.bid_size = max(1.0, round(math.exp(size_mu + size_sigma * normal(rng)) * inv_lot)) / inv_lot
            r.ask_size = max(1.0, round(math.exp(size_mu + size_sigma * normal(rng)) * inv_lot)) / inv_lot
            r.venue = venue_ids[v]
            r.symbol = symbol_ids[s]
            r.kind = 1
            r.flags = 0
            r.side = 0
            n += 1
            if trade_prob > 0.0 and uniform(rng) < trade_prob:
                buy = uniform(rng) < 0.5
                q = out[n]
                q.ts_exch = t
                q.ts_recv = t + v
                seq[v] += 1
                q.seq = seq[v]
                q.price = r.ask if buy else r.bid
                q.ask = np.nan
                q.size = max(1.0, round(math.exp(size_mu + size_sigma * normal(rng)) * inv_lot)) / inv_lot
                q.ask_size = 0.0
                q.venue = venue_ids[v]
                q.symbol = symbol_ids[s]
                q.kind = 2
                q.flags = 0
                q.side = 1 if buy else 2
                n += 1
    ist[EMITTED] += n
    return n
