"""What the SDK conformance kit needs to exercise the file providers: files to read.

The providers cannot be built without a path, so each hook is a staticmethod: the kit
asks the class for a harness, which writes a quote file (or a catalog) under the kit's
temporary directory and returns the parameters that point the provider at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tradeloop_sdk import Universe, hookimpl

UNIVERSE = Universe(venues=("v",), symbols=("A", "B"))
T0_MS = 1_700_000_000_000
ROWS = 6_000
CHUNK_ROWS = 1_000
COLUMNS = {"ts_exch": "t", "symbol": "sym", "bid": "bid", "ask": "ask", "seq": "n"}


def frame(gap: bool = False) -> dict[str, np.ndarray]:
    """Two symbols' quotes, 10 ms apart, each with its own sequence; a gap half-way when ``gap``."""
    seq = np.arange(ROWS) // 2 + 1
    if gap:
        seq[ROWS // 2 :] += 5
    mid = 100 + np.cumsum(np.random.default_rng(0).normal(0, 0.01, ROWS))
    return {"t": T0_MS + np.arange(ROWS) * 10, "sym": np.where(np.arange(ROWS) % 2, "A", "B"),
            "bid": np.round(mid - 0.01, 2), "ask": np.round(mid + 0.01, 2), "n": seq}


def write_csv(path: Path, gap: bool = False) -> Path:
    """:func:`frame` as a CSV file."""
    f = frame(gap)
    rows = zip(f["t"], f["sym"], f["bid"], f["ask"], f["n"], strict=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["t,sym,bid,ask,n", *(f"{t},{s},{b},{a},{n}" for t, s, b, a, n in rows)]) + "\n")
    return path


def _file_params(path: Path) -> dict[str, Any]:
    return {"path": str(path), "venue": "v", "columns": COLUMNS, "ts_unit": "ms", "chunk_rows": CHUNK_ROWS}


class _Harness:
    universe = UNIVERSE

    def provider_params(self, workdir: Path, gap: bool = False) -> dict[str, Any] | None:
        raise NotImplementedError


class CsvHarness(_Harness):
    """A CSV file of quotes."""

    def provider_params(self, workdir: Path, gap: bool = False) -> dict[str, Any] | None:
        return _file_params(write_csv(workdir / "quotes.csv", gap))


class ParquetHarness(_Harness):
    """A Parquet file of quotes, in row groups smaller than a chunk."""

    def provider_params(self, workdir: Path, gap: bool = False) -> dict[str, Any] | None:
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / "quotes.parquet"
        pq.write_table(pa.table(frame(gap)), path, row_group_size=1_500)
        return _file_params(path)


class CatalogHarness(_Harness):
    """A catalog imported from the CSV file (quality flags are set on import)."""

    def provider_params(self, workdir: Path, gap: bool = False) -> dict[str, Any] | None:
        if gap:
            # gaps are counted when data is imported (``tradeloop data import`` reports
            # them), not flagged on the ticks: reading a catalog detects none
            return None
        from ._catalog import Catalog
        from ._components import CsvData

        csv = CsvData(CsvData.Params(**{**_file_params(write_csv(workdir / "quotes.csv", gap)),
                                        "chunk_rows": 65_536}))
        with Catalog(workdir / "catalog").writer(row_group_rows=CHUNK_ROWS) as w:
            for chunk in csv.tradeloop_data_provider(UNIVERSE).chunks():
                w.write(chunk, UNIVERSE.venues, UNIVERSE.symbols)
        return {"path": str(workdir / "catalog"), "chunk_rows": CHUNK_ROWS}


@hookimpl
def csv_harness(kind: str) -> CsvHarness:
    """Harness of the ``csv`` provider."""
    return CsvHarness()


@hookimpl
def parquet_harness(kind: str) -> ParquetHarness:
    """Harness of the ``parquet`` provider."""
    return ParquetHarness()


@hookimpl
def catalog_harness(kind: str) -> CatalogHarness:
    """Harness of the ``catalog`` provider."""
    return CatalogHarness()
