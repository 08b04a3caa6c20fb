"""The SDK's data-provider conformance checks, over CSV, Parquet and catalog sources."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tradeloop_plugin_files import Catalog, CatalogData, CsvData, ParquetData
from tradeloop_plugin_files._conformance import COLUMNS, UNIVERSE, frame, write_csv
from tradeloop_sdk import Universe
from tradeloop_sdk.conformance import DataProviderConformance

# the data (two symbols' quotes, a sequence gap on request) is the conformance harness's


class _Files(DataProviderConformance):
    """The kit over the harness's universe."""

    @pytest.fixture
    def universe(self) -> Universe:
        return UNIVERSE


class TestCsvConformance(_Files):
    @pytest.fixture
    def provider(self, tmp_path: Path) -> object:
        p = write_csv(tmp_path / "q.csv")
        return CsvData(CsvData.Params(path=str(p), venue="v", columns=COLUMNS, ts_unit="ms",
                                      chunk_rows=1_000)).tradeloop_data_provider(UNIVERSE)

    @pytest.fixture
    def gappy_provider(self, tmp_path: Path) -> object:
        p = write_csv(tmp_path / "g.csv", gap=True)
        return CsvData(CsvData.Params(path=str(p), venue="v", columns=COLUMNS, ts_unit="ms",
                                      chunk_rows=1_000)).tradeloop_data_provider(UNIVERSE)


class TestParquetConformance(_Files):
    @pytest.fixture
    def provider(self, tmp_path: Path) -> object:
        p = tmp_path / "q.parquet"
        pq.write_table(pa.table(frame()), p, row_group_size=1_500)
        return ParquetData(ParquetData.Params(path=str(p), venue="v", columns=COLUMNS, ts_unit="ms",
                                              chunk_rows=1_000)).tradeloop_data_provider(UNIVERSE)


class TestCatalogConformance(_Files):
    @pytest.fixture
    def provider(self, tmp_path: Path) -> object:
        src = CsvData(CsvData.Params(path=str(write_csv(tmp_path / "q.csv")), venue="v", columns=COLUMNS,
                                     ts_unit="ms")).tradeloop_data_provider(UNIVERSE)
        with Catalog(tmp_path / "cat").writer(row_group_rows=1_000) as w:
            for chunk in src.chunks():
                w.write(chunk, UNIVERSE.venues, UNIVERSE.symbols)
        return CatalogData(CatalogData.Params(path=str(tmp_path / "cat"), chunk_rows=1_000)
                           ).tradeloop_data_provider(UNIVERSE)
