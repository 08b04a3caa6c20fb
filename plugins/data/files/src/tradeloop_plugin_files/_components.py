"""The data-provider components the ``tradeloop.data`` entry points name."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import attrs
import numpy as np
from tradeloop_sdk import DataError, DataStats, Universe, hookimpl, param

from . import _conformance
from ._catalog import Catalog
from ._mapping import KINDS, TS_CHOICES, Mapping_
from ._quality import POLICIES
from ._readers import CsvLayout
from ._source import FileSource, expand
from ._stream import paced, rebatch

log = logging.getLogger(__name__)

#: rows read per catalog stream at a time
READ_ROWS = 16_384


def parse_time(text: str | int | None) -> int | None:
    """ns since epoch from an int, a digit string (ns) or an ISO 8601 date/time (UTC if naive)."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return text
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        d = dt.datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"cannot read time {text!r}: expected ISO 8601 or ns since epoch") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    delta = d - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _policy(doc: str) -> Any:
    return param("flag", choices=POLICIES, doc=doc)


@attrs.frozen
class FileParams:
    """Parameters shared by the CSV and Parquet providers."""

    path: str = param(doc="a file, or a glob pattern (files are read in name order)")
    venue: str = param(doc="venue the ticks belong to")
    kind: str = param("quote", choices=tuple(KINDS), doc="what each row is: quote, trade or bar")
    symbol: str = param("", doc="symbol of every row; empty: map the symbol field to a column")
    columns: dict[str, str] = param(
        factory=dict,
        doc="tick field -> source column, e.g. {ts_exch = 'timestamp', bid = 'bid'}",
    )
    ts_unit: str = param("ns", choices=TS_CHOICES, doc="epoch unit of numeric timestamps, or iso")
    ts_format: str = param("", doc="strptime format of text timestamps (overrides ts_unit)")
    chunk_rows: int = param(262_144, ge=1, doc="ticks per chunk handed to the loop")
    on_out_of_order: str = _policy("ts_recv earlier than a previous tick: flag, drop or error")
    on_crossed: str = _policy("quote with bid > ask: flag, drop or error")
    on_duplicate: str = _policy("sequence number not above the previous one: flag, drop or error")
    replay_speed: float = param(0.0, ge=0.0, doc="stream(): x recorded time; 0 = as fast as possible")


class _FileComponent:
    Params = FileParams
    _layout: CsvLayout | None = None

    def __init__(self, params: FileParams) -> None:
        self.params = params

    def mapping(self) -> Mapping_:
        """The column mapping these params describe."""
        p = self.params
        try:
            return Mapping_(
                kind=KINDS[p.kind],
                venue=p.venue,
                symbol=p.symbol or None,
                columns=dict(p.columns),
                ts_unit=p.ts_unit,
                ts_format=p.ts_format or None,
            )
        except ValueError as exc:
            raise DataError(str(exc), file=p.path) from None

    def source(self, universe: Universe) -> FileSource:
        """The provider over these files for ``universe``."""
        p = self.params
        return FileSource(
            f"{type(self).__name__}:{p.path}",
            expand(p.path),
            self.mapping(),
            venue_id=universe.venue_id(p.venue),
            symbol_ids={s: i for i, s in enumerate(universe.symbols)},
            chunk_rows=p.chunk_rows,
            layout=self._layout,
            policies={
                "on_out_of_order": p.on_out_of_order,
                "on_crossed": p.on_crossed,
                "on_duplicate": p.on_duplicate,
            },
            replay_speed=p.replay_speed,
        )

    @hookimpl
    def tradeloop_data_provider(self, universe: Universe) -> FileSource:
        """A DataProvider over the configured files."""
        return self.source(universe)


@attrs.frozen
class CsvParams(FileParams):
    """CSV provider parameters: the shared ones plus the file layout."""

    delimiter: str = param(",", doc="field delimiter")
    header: bool = param(True, doc="the first line names the columns")
    column_names: tuple[str, ...] = param((), doc="column names for files without a header")


class CsvData(_FileComponent):
    """Quotes, trades or bars from CSV files, streamed in chunks with a column mapping.

    A value that cannot be read raises DataError naming the file, line and column.
    """

    Params = CsvParams  # type: ignore[assignment]
    #: the conformance kit's harness (a staticmethod: a provider needs a path to exist)
    tradeloop_conformance_harness = staticmethod(_conformance.csv_harness)

    def __init__(self, params: CsvParams) -> None:
        super().__init__(params)
        self._layout = CsvLayout(
            delimiter=params.delimiter, header=params.header, column_names=params.column_names
        )


class ParquetData(_FileComponent):
    """Quotes, trades or bars from Parquet (or Arrow/Feather) files, read batch by batch."""

    #: the conformance kit's harness (a staticmethod: a provider needs a path to exist)
    tradeloop_conformance_harness = staticmethod(_conformance.parquet_harness)


@attrs.frozen
class CatalogParams:
    """Catalog provider parameters."""

    path: str = param(doc="catalog root directory")
    venues: tuple[str, ...] = param((), doc="venues to read; empty: those of the run's universe")
    symbols: tuple[str, ...] = param((), doc="symbols to read; empty: those of the run's universe")
    start: str = param("", doc="first ts_recv to read (ISO 8601 UTC or ns); empty: from the start")
    end: str = param("", doc="end of the range, exclusive (ISO 8601 UTC or ns); empty: to the end")
    chunk_rows: int = param(262_144, ge=1, doc="ticks per chunk handed to the loop")
    replay_speed: float = param(0.0, ge=0.0, doc="stream(): x recorded time; 0 = as fast as possible")


class CatalogSource:
    """Ticks of a venue/symbol set from a catalog, merged in ``ts_recv`` order."""

    def __init__(
        self,
        catalog: Catalog,
        universe: Universe,
        *,
        venues: Sequence[str] = (),
        symbols: Sequence[str] = (),
        start_ns: int | None = None,
        end_ns: int | None = None,
        chunk_rows: int = 262_144,
        replay_speed: float = 0.0,
    ) -> None:
        self.name = f"catalog:{catalog.root.name}"
        self.catalog = catalog
        self.venue_ids = {v: universe.venue_id(v) for v in (venues or universe.venues)}
        self.symbol_ids = {s: universe.symbol_id(s) for s in (symbols or universe.symbols)}
        self.start_ns, self.end_ns = start_ns, end_ns
        self.chunk_rows = chunk_rows
        self.replay_speed = replay_speed
        self._rows = 0

    def chunks(
        self,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        symbols: Sequence[str] | None = None,
    ) -> Iterator[np.ndarray]:
        """Merged ticks in chunks of ``chunk_rows``, within both configured and asked ranges."""
        lo = max((t for t in (self.start_ns, start_ns) if t is not None), default=None)
        hi = min((t for t in (self.end_ns, end_ns) if t is not None), default=None)
        sym = self.symbol_ids
        if symbols is not None:
            sym = {s: i for s, i in sym.items() if s in set(symbols)}
        self._rows = 0
        # small reads per stream keep the merge's buffers and copies small; the loop still
        # gets chunks of chunk_rows
        merged = self.catalog.read(
            self.venue_ids, sym, start_ns=lo, end_ns=hi, batch_rows=min(self.chunk_rows, READ_ROWS)
        )
        for chunk in rebatch(merged, self.chunk_rows):
            self._rows += len(chunk)
            yield chunk

    def stream(self) -> AsyncIterator[np.ndarray]:
        """Replay at ``replay_speed`` x recorded time (0: as fast as possible)."""
        return paced(self.chunks(), speed=self.replay_speed)

    def stats(self) -> DataStats:
        """Rows read; quality was counted (and flagged) when the data was imported."""
        return DataStats(rows=self._rows)


class CatalogData:
    """Ticks from a local Parquet catalog (venue/symbol/day partitions), merged in time order."""

    Params = CatalogParams
    #: the conformance kit's harness (a staticmethod: a provider needs a path to exist)
    tradeloop_conformance_harness = staticmethod(_conformance.catalog_harness)

    def __init__(self, params: CatalogParams) -> None:
        self.params = params

    @hookimpl
    def tradeloop_data_provider(self, universe: Universe) -> CatalogSource:
        """A DataProvider over the catalog."""
        p = self.params
        return CatalogSource(
            Catalog(p.path),
            universe,
            venues=p.venues,
            symbols=p.symbols,
            start_ns=parse_time(p.start),
            end_ns=parse_time(p.end),
            chunk_rows=p.chunk_rows,
            replay_speed=p.replay_speed,
        )
