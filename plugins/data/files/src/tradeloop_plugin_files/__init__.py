"""tradeloop-plugin-files: CSV and Parquet market data and a local Parquet tick catalog.

Entry points (group ``tradeloop.data``): ``csv`` -> :class:`CsvData`, ``parquet`` ->
:class:`ParquetData`, ``catalog`` -> :class:`CatalogData`; (group ``tradeloop.plugins``)
``data-cli`` -> :class:`DataCommands`, the ``tradeloop data`` commands.
"""

from __future__ import annotations

from ._catalog import Catalog, CatalogWriter, Partition
from ._cli import DataCommands, data_group
from ._components import (
    CatalogData,
    CatalogParams,
    CatalogSource,
    CsvData,
    CsvParams,
    FileParams,
    ParquetData,
    parse_time,
)
from ._mapping import Mapping_ as ColumnMapping
from ._quality import QualityChecker
from ._source import FileSource
from ._stream import concat, merge_sorted, paced, rebatch

__all__ = [
    "Catalog",
    "CatalogData",
    "CatalogParams",
    "CatalogSource",
    "CatalogWriter",
    "ColumnMapping",
    "CsvData",
    "CsvParams",
    "DataCommands",
    "FileParams",
    "FileSource",
    "ParquetData",
    "Partition",
    "QualityChecker",
    "concat",
    "data_group",
    "merge_sorted",
    "paced",
    "parse_time",
    "rebatch",
]
