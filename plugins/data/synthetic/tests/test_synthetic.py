"""The synthetic market: determinism, plausible statistics, regimes, jumps, streaming."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from tradeloop_plugin_synthetic import SyntheticData, SyntheticSource
from tradeloop_sdk import TICK_DTYPE, DataProvider, TickKind, Universe

U = Universe(venues=("sim", "alt"), symbols=("BTC-USD", "ETH-USD"))
DAY = 86_400 * 10**9


def _cat(chunks: list[np.ndarray]) -> np.ndarray:
    """Join chunks keeping TICK_DTYPE (np.concatenate would drop its field aliases)."""
    out = np.empty(sum(len(c) for c in chunks), TICK_DTYPE)
    i = 0
    for c in chunks:
        assert c.dtype == TICK_DTYPE
        out[i : i + len(c)] = c
        i += len(c)
    return out


def _source(**kw: object) -> SyntheticSource:
    return SyntheticData(SyntheticData.Params(**kw)).tradeloop_data_provider(U)


def test_is_a_data_provider() -> None:
    assert isinstance(_source(), DataProvider)


@pytest.mark.parametrize("chunk_rows", [16, 1000, 65_536])
def test_same_seed_same_bytes_whatever_the_chunk_size(chunk_rows: int) -> None:
    ref = _cat(list(_source(n_ticks=20_000, chunk_rows=50_000).chunks()))
    got = list(_source(n_ticks=20_000, chunk_rows=chunk_rows).chunks())
    assert all(len(c) <= chunk_rows for c in got)
    assert len(ref) == 20_000
    assert _cat(got).tobytes() == ref.tobytes()
    other = _cat(list(_source(n_ticks=20_000, seed=43).chunks()))
    assert other.tobytes() != ref.tobytes()


def test_defaults_make_a_sensible_market() -> None:
    src = _source(n_ticks=50_000)
    t = _cat(list(src.chunks()))
    assert t.dtype == TICK_DTYPE
    assert (np.diff(t["ts_recv"]) >= 0).all()
    q = t[t["kind"] == TickKind.QUOTE]
    spread = q["ask"] - q["bid"]
    assert (spread >= 0.01 - 1e-9).all() and np.median(spread) < 0.1
    assert np.allclose(np.round(q["bid"] * 100), q["bid"] * 100, rtol=0, atol=1e-6)
    mid = 0.5 * (q["bid"] + q["ask"])
    assert mid.min() > 25_000 and mid.max() < 35_000
    assert (q["bid_size"] > 0).all() and (q["ask_size"] > 0).all()
    trades = t[t["kind"] == TickKind.TRADE]
    assert 0.15 < len(trades) / len(q) < 0.35
    assert set(np.unique(trades["side"])) == {1, 2}
    assert set(np.unique(t["venue"])) == {0, 1} and set(np.unique(t["symbol"])) == {0, 1}
    # per venue, sequence numbers count up by one
    for v in (0, 1):
        assert (np.diff(t["seq"][t["venue"] == v]) == 1).all()


def test_cross_venue_copies_stay_close_but_differ() -> None:
    t = _cat(list(_source(n_ticks=40_000, trade_prob=0.0, symbols=("BTC-USD",)).chunks()))
    a, b = t[t["venue"] == 0], t[t["venue"] == 1]
    n = min(len(a), len(b))
    ma = 0.5 * (a["bid"][:n] + a["ask"][:n])
    mb = 0.5 * (b["bid"][:n] + b["ask"][:n])
    rel = np.abs(ma - mb) / ma
    assert rel.max() < 0.005 and (ma != mb).mean() > 0.5


def test_jumps_occur_at_the_configured_rate() -> None:
    src = _source(jumps_per_day=1_000.0, interval_ms=500.0, end="2024-01-02T00:00:00")
    for _ in src.chunks():
        pass
    expected = 1_000.0 * 2  # per symbol per day, two symbols
    assert abs(src.jumps - expected) < 5 * np.sqrt(expected)
    none = _source(jumps_per_day=0.0, n_ticks=10_000)
    for _ in none.chunks():
        pass
    assert none.jumps == 0


def test_regimes_switch_and_change_volatility() -> None:
    src = _source(regime_durations_s=(1_800.0, 1_800.0), interval_ms=500.0, end="2024-01-02T00:00:00")
    for _ in src.chunks():
        pass
    expected = 2 * 86_400 / 1_800.0  # two symbols
    assert abs(src.regime_switches - expected) < 5 * np.sqrt(expected)

    def realised_vol(vols: tuple[float, ...]) -> float:
        t = _cat(list(_source(
            regime_vols=vols, regime_drifts=(0.0,), regime_durations_s=(1e9,), jumps_per_day=0.0,
            venue_noise_bps=0.0, symbols=("BTC-USD",), venues=("sim",), trade_prob=0.0,
            interval_ms=1_000.0, end="2024-01-02T00:00:00",
        ).chunks()))
        mid = 0.5 * (t["bid"] + t["ask"])
        return float(np.std(np.diff(np.log(mid[::60]))))

    assert realised_vol((2.0,)) > 3 * realised_vol((0.5,))


def test_window_and_symbol_filter() -> None:
    src = _source()
    t = _cat(list(src.chunks(start_ns=DAY * 19_000, end_ns=DAY * 19_000 + 60 * 10**9,
                                       symbols=["ETH-USD"])))
    assert t["ts_recv"].min() >= DAY * 19_000 and t["ts_recv"].max() < DAY * 19_000 + 60 * 10**9 + 2
    assert set(np.unique(t["symbol"])) == {1}


def test_stream_is_paced_and_wall_clocked() -> None:
    src = _source(n_ticks=2_000, rate=20_000.0)

    async def drain() -> list[np.ndarray]:
        return [b async for b in src.stream()]

    t0 = time.monotonic()
    now = time.time_ns()
    batches = asyncio.run(drain())
    took = time.monotonic() - t0
    assert sum(len(b) for b in batches) == 2_000 and len(batches) > 5
    assert 0.05 < took < 5.0
    assert abs(int(batches[0]["ts_recv"][0]) - now) < 5 * 10**9
