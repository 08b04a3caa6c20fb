"""The SDK's data-provider conformance checks, over CSV, Parquet and catalog sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tradeloop_plugin_files import Catalog, CatalogData, CsvData, ParquetData
from tradeloop_sdk import Universe
from tradeloop_sdk.conformance import DataProviderConformance

U = Universe(venues=("v",), symbols=("A", "B"))
T0 = 1_700_000_000_000  # ms
N = 6_000


def _frame(gap: bool = False) -> dict[str, np.ndarray]:
    # one sequence per symbol (rows alternate A, B), so only the injected jump is a gap
    seq = np.arange(N) // 2 + 1
    if gap:
        seq[N // 2 :] += 5
    mid = 100 + np.cumsum(np.random.default_rng(0).normal(0, 0.01, N))
    return {"t": T0 + np.arange(N) * 10, "sym": np.where(np.arange(N) % 2, "A", "B"),
            "bid": np.round(mid - 0.01, 2), "ask": np.round(mid + 0.01, 2), "n": seq}


COLS = {"ts_exch": "t", "symbol": "sym", "bid": "bid", "ask": "ask", "seq": "n"}


def _csv(path: Path, gap: bool = False) -> Path:
    f = _frame(gap)
    lines = ["t,sym,bid,ask,n"] + [
        f"{t},{s},{b},{a},{n}" for t, s, b, a, n in zip(f["t"], f["sym"], f["bid"], f["ask"], f["n"], strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


class TestCsvConformance(DataProviderConformance):
    @pytest.fixture
    def universe(self) -> Universe:
        return U

    @pytest.fixture
    def provider(self, tmp_path: Path) -> object:
        p = _csv(tmp_path / "q.csv")
        return CsvData(CsvData.Params(path=str(p), venue="v", columns=COLS, ts_unit="ms",
                                      chunk_rows=1_000)).tradeloop_data_provider(U)

    @pytest.fixture
    def gappy_provider(self, tmp_path: Path) -> object:
        p = _csv(tmp_path / "g.csv", gap=True)
        return CsvData(CsvData.Params(path=str(p), venue="v", columns=COLS, ts_unit="ms",
                                      chunk_rows=1_000)).tradeloop_data_provider(U)


class TestParquetConformance(DataProviderConformance):
    @pytest.fixture
    def universe(self) -> Universe:
        return U

    @pytest.fixture
    def provider(self, tmp_path: Path) -> object:
        p = tmp_path / "q.parquet"
        pq.write_table(pa.table(_frame()), p, row_group_size=1_500)
        return ParquetData(ParquetData.Params(path=str(p), venue="v", columns=COLS, ts_unit="ms",
                                              chunk_rows=1_000)).tradeloop_data_provider(U)


class TestCatalogConformance(DataProviderConformance):
    @pytest.fixture
    def universe(self) -> Universe:
        return U

    @pytest.fixture
    def provider(self, tmp_path: Path) -> object:
        src = CsvData(CsvData.Params(path=str(_csv(tmp_path / "q.csv")), venue="v", columns=COLS,
                                     ts_unit="ms")).tradeloop_data_provider(U)
        with Catalog(tmp_path / "cat").writer(row_group_rows=1_000) as w:
            for chunk in src.chunks():
                w.write(chunk, U.venues, U.symbols)
        return CatalogData(CatalogData.Params(path=str(tmp_path / "cat"), chunk_rows=1_000)
                           ).tradeloop_data_provider(U)
