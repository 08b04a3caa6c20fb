"""A market read again in a row is served from memory: same bytes, fresh copies, no
memory for runs read only once, stopped early or too large."""

from __future__ import annotations

from typing import Any

import pytest
import tradeloop_plugin_synthetic._synthetic as syn
from tradeloop_plugin_synthetic import SyntheticData
from tradeloop_sdk import Universe

U = Universe(venues=("sim",), symbols=("BTC-USD",))


def _source(**kw: Any) -> Any:
    return SyntheticData(SyntheticData.Params(n_ticks=5_000, chunk_rows=1_000, **kw)).tradeloop_data_provider(U)


def _read(**kw: Any) -> tuple[bytes, Any]:
    src = _source(**kw)
    return b"".join(c.tobytes() for c in src.chunks()), src


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of the compiled generator (one per generated chunk)."""
    monkeypatch.setattr(syn, "_LAST", {})
    calls: list[int] = []
    real = syn.K.generate

    def counting(*a: Any) -> int:
        calls.append(1)
        return int(real(*a))

    monkeypatch.setattr(syn.K, "generate", counting)
    return calls


def test_third_read_is_served_from_memory_byte_for_byte(generated: list[int]) -> None:
    first, s1 = _read(seed=3)
    n = len(generated)
    second, _ = _read(seed=3)  # the same market again: generated once more, and kept
    assert len(generated) == 2 * n and second == first
    third, s3 = _read(seed=3)
    assert len(generated) == 2 * n and third == first  # no generation at all
    assert s3.stats() == s1.stats() and s3.jumps == s1.jumps and s3.steps == s1.steps
    other, _ = _read(seed=4)  # another market is generated
    assert len(generated) > 2 * n and other != first


def test_served_chunks_are_copies(generated: list[int]) -> None:
    ref, _ = _read(seed=5)
    _read(seed=5)
    src = _source(seed=5)
    for c in src.chunks():
        c["flags"] |= 1  # what the fused loop does to a tainted tick
    assert _read(seed=5)[0] == ref


def test_runs_stopped_early_or_too_large_are_not_kept(generated: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    _read(seed=6)
    src = _source(seed=6)
    it = src.chunks()
    next(it)
    it.close()  # stopped after one chunk: nothing is remembered from it
    assert all(v is None for v in syn._LAST.values())
    monkeypatch.setattr(syn, "CACHE_MAX_TICKS", 2_000)
    _read(seed=6)
    _read(seed=6)
    assert all(v is None for v in syn._LAST.values())  # over the bound: generated each time
    n = len(generated)
    _read(seed=6)
    assert len(generated) > n

