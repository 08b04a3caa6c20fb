"""A local tick catalog: Parquet partitioned by venue, symbol and UTC day.

Layout: ``<root>/venue=<V>/symbol=<S>/date=<YYYY-MM-DD>/part-<n>.parquet``; each part file
holds the TICK fields as columns, sorted by ``ts_recv``. Reads merge all selected partitions
in ``ts_recv`` order with one buffered row group per open stream, so memory is bounded by the
number of streams, not by the amount of data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tradeloop_sdk import TICK_DTYPE, DataError, copy_ticks

from ._stream import concat, merge_sorted

DAY_NS = 86_400 * 1_000_000_000
COLUMNS = (
    ("ts_exch", pa.int64()),
    ("ts_recv", pa.int64()),
    ("seq", pa.int64()),
    ("bid", pa.float64()),
    ("ask", pa.float64()),
    ("bid_size", pa.float64()),
    ("ask_size", pa.float64()),
    ("kind", pa.uint8()),
    ("flags", pa.uint8()),
    ("side", pa.uint8()),
)
SCHEMA = pa.schema([pa.field(n, t, nullable=False) for n, t in COLUMNS])
_PART = re.compile(r"part-(\d+)\.parquet$")
_NAME_OK = re.compile(r"^[A-Za-z0-9._\-]+$")


@attrs.frozen
class Partition:
    """One day of one venue/symbol, with its part files and summary."""

    venue: str
    symbol: str
    date: str
    files: tuple[Path, ...]
    rows: int
    ts_min: int
    ts_max: int


def ticks_to_table(ticks: np.ndarray) -> pa.Table:
    """The catalog columns of a TICK array."""
    return pa.Table.from_arrays(
        [pa.array(np.ascontiguousarray(ticks[n])) for n, _ in COLUMNS], schema=SCHEMA
    )


def table_to_ticks(batch: pa.RecordBatch | pa.Table, venue: int, symbol: int) -> np.ndarray:
    """A TICK array from catalog columns, with the given venue and symbol ids."""
    out = np.zeros(batch.num_rows, TICK_DTYPE)
    for name, _ in COLUMNS:
        out[name] = batch.column(name).to_numpy()
    out["venue"] = venue
    out["symbol"] = symbol
    return out


def day_of(ts_ns: int) -> str:
    """UTC date (YYYY-MM-DD) of a ns timestamp."""
    return dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, dt.UTC).strftime("%Y-%m-%d")


def day_start(date: str) -> int:
    """ns timestamp of UTC midnight at the start of ``date``."""
    d = dt.datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    return int(d.timestamp()) * 1_000_000_000


def check_name(what: str, name: str) -> str:
    """Venue and symbol names become directory names: refuse anything path-like."""
    if not _NAME_OK.match(name):
        raise DataError(f"{what} name {name!r} may only contain letters, digits, '.', '_' and '-'")
    return name


class _PartWriter:
    def __init__(self, directory: Path, row_group_rows: int, compression: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        taken = [int(m.group(1)) for p in directory.iterdir() if (m := _PART.search(p.name))]
        self.path = directory / f"part-{max(taken, default=-1) + 1:05d}.parquet"
        # dictionaries only where values repeat; delta encoding for the monotonic integers
        self.writer = pq.ParquetWriter(
            self.path,
            SCHEMA,
            compression=compression,
            use_dictionary=["kind", "flags", "side"],
            column_encoding=dict.fromkeys(("ts_exch", "ts_recv", "seq"), "DELTA_BINARY_PACKED"),
        )
        self.rows = row_group_rows
        self.pending: list[np.ndarray] = []
        self.have = 0
        self.last_ts = np.iinfo(np.int64).min

    def add(self, ticks: np.ndarray) -> None:
        self.pending.append(ticks)
        self.have += len(ticks)
        self.last_ts = int(ticks["ts_recv"][-1])
        if self.have >= self.rows:
            self.flush()

    def flush(self) -> None:
        if self.have:
            self.writer.write_table(ticks_to_table(concat(self.pending)))
            self.pending, self.have = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


class CatalogWriter:
    """Appends ticks to a catalog; use as a context manager (``Catalog.writer()``).

    Each chunk is split by venue, symbol and day and sorted by ``ts_recv`` (stable). A part
    file is always sorted: a chunk that starts before what its partition's open part ended
    with goes to a new part file, and reads merge parts. At most ``max_open`` part files
    are open at once (least recently used are closed), which bounds memory.
    """

    def __init__(
        self,
        root: Path,
        *,
        row_group_rows: int = 131_072,
        compression: str = "zstd",
        max_open: int = 32,
    ) -> None:
        self.root = root
        self.row_group_rows = row_group_rows
        self.compression = compression
        self.max_open = max_open
        self._open: OrderedDict[tuple[str, str, str], _PartWriter] = OrderedDict()
        self.rows = 0

    def __enter__(self) -> CatalogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, ticks: np.ndarray, venues: Sequence[str], symbols: Sequence[str]) -> None:
        """Add ``ticks``; ``venues``/``symbols`` name the ids used in the array."""
        if len(ticks) == 0:
            return
        day = ticks["ts_recv"] // DAY_NS
        key = (ticks["venue"].astype(np.int64) << 40) | (ticks["symbol"].astype(np.int64) << 24) | (
            day - day.min()
        )
        order = np.argsort(key, kind="stable")
        ticks, key = copy_ticks(ticks, order), key[order]
        bounds = np.flatnonzero(np.diff(key)) + 1
        for part in np.split(ticks, bounds):
            ts = part["ts_recv"]
            if len(ts) > 1 and (ts[1:] < ts[:-1]).any():
                part = copy_ticks(part, np.argsort(ts, kind="stable"))
            venue = check_name("venue", venues[int(part["venue"][0])])
            symbol = check_name("symbol", symbols[int(part["symbol"][0])])
            self._writer_for(venue, symbol, day_of(int(part["ts_recv"][0])), part).add(part)
        self.rows += len(ticks)

    def _writer_for(self, venue: str, symbol: str, date: str, part: np.ndarray) -> _PartWriter:
        k = (venue, symbol, date)
        w = self._open.get(k)
        if w is not None and int(part["ts_recv"][0]) < w.last_ts:
            w.close()
            del self._open[k]
            w = None
        if w is None:
            while len(self._open) >= self.max_open:
                _, old = self._open.popitem(last=False)
                old.close()
            w = _PartWriter(
                self.root / f"venue={venue}" / f"symbol={symbol}" / f"date={date}",
                self.row_group_rows,
                self.compression,
            )
            self._open[k] = w
        self._open.move_to_end(k)
        return w

    def close(self) -> None:
        """Flush and close every open part file."""
        while self._open:
            _, w = self._open.popitem()
            w.close()


def _value(d: Path, prefix: str) -> str | None:
    return d.name[len(prefix) :] if d.is_dir() and d.name.startswith(prefix) else None


class Catalog:
    """A catalog directory: list, inspect, write and read partitions."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def writer(self, **kwargs: object) -> CatalogWriter:
        """A writer appending to this catalog."""
        return CatalogWriter(self.root, **kwargs)  # type: ignore[arg-type]

    def partitions(
        self,
        venues: Iterable[str] | None = None,
        symbols: Iterable[str] | None = None,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> list[Partition]:
        """Partitions matching the filters, sorted by venue, symbol and date."""
        if not self.root.is_dir():
            raise DataError(f"no catalog at {str(self.root)!r}")
        vs = set(venues) if venues else None
        ss = set(symbols) if symbols else None
        out = []
        for vdir in sorted(self.root.iterdir()):
            venue = _value(vdir, "venue=")
            if venue is None or (vs is not None and venue not in vs):
                continue
            for sdir in sorted(vdir.iterdir()):
                symbol = _value(sdir, "symbol=")
                if symbol is None or (ss is not None and symbol not in ss):
                    continue
                for ddir in sorted(sdir.iterdir()):
                    date = _value(ddir, "date=")
                    if date is None:
                        continue
                    d0 = day_start(date)
                    if (end_ns is not None and d0 >= end_ns) or (
                        start_ns is not None and d0 + DAY_NS <= start_ns
                    ):
                        continue
                    part = self._summary(venue, symbol, date, ddir)
                    if part.rows:
                        out.append(part)
        return out

    def _summary(self, venue: str, symbol: str, date: str, ddir: Path) -> Partition:
        files = tuple(sorted(p for p in ddir.iterdir() if _PART.search(p.name)))
        rows, lo, hi = 0, np.iinfo(np.int64).max, np.iinfo(np.int64).min
        idx = SCHEMA.get_field_index("ts_recv")
        for f in files:
            md = pq.ParquetFile(f).metadata
            rows += md.num_rows
            for g in range(md.num_row_groups):
                st = md.row_group(g).column(idx).statistics
                if st is not None and st.has_min_max:
                    lo, hi = min(lo, st.min), max(hi, st.max)
        return Partition(venue, symbol, date, files, rows, int(lo), int(hi))

    def read(
        self,
        venue_ids: Mapping[str, int],
        symbol_ids: Mapping[str, int],
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        batch_rows: int = 65_536,
    ) -> Iterator[np.ndarray]:
        """Ticks of the named venues and symbols in ``ts_recv`` order (merged across streams).

        Only venue/symbol pairs named in the id tables are read; ``[start_ns, end_ns)``
        limits the time range, skipping whole days and row groups outside it.
        """
        parts = self.partitions(venue_ids, symbol_ids, start_ns=start_ns, end_ns=end_ns)
        by_stream: dict[tuple[str, str], list[Partition]] = {}
        for p in parts:
            by_stream.setdefault((p.venue, p.symbol), []).append(p)
        streams = [
            self._stream(days, venue_ids[v], symbol_ids[s], start_ns, end_ns, batch_rows)
            for (v, s), days in by_stream.items()
        ]
        return merge_sorted(streams)

    def _stream(
        self,
        days: list[Partition],
        venue: int,
        symbol: int,
        start_ns: int | None,
        end_ns: int | None,
        batch_rows: int,
    ) -> Iterator[np.ndarray]:
        for day in days:
            files = [
                _read_part(f, venue, symbol, start_ns, end_ns, batch_rows) for f in day.files
            ]
            yield from files[0] if len(files) == 1 else merge_sorted(files)


def _read_part(
    path: Path, venue: int, symbol: int, start_ns: int | None, end_ns: int | None, batch_rows: int
) -> Iterator[np.ndarray]:
    # pre_buffer would keep every byte read in a cache until the file closes: memory would
    # grow with the size of the partition
    pf = pq.ParquetFile(path, pre_buffer=False)
    md = pf.metadata
    idx = SCHEMA.get_field_index("ts_recv")
    groups = []
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(idx).statistics
        known = st is not None and st.has_min_max
        if known and (
            (start_ns is not None and st.max < start_ns) or (end_ns is not None and st.min >= end_ns)
        ):
            continue
        groups.append(g)
    if not groups:
        return
    for batch in pf.iter_batches(batch_size=batch_rows, row_groups=groups):
        ticks = table_to_ticks(batch, venue, symbol)
        if start_ns is not None or end_ns is not None:
            ts = ticks["ts_recv"]
            lo = 0 if start_ns is None else int(np.searchsorted(ts, start_ns, side="left"))
            hi = len(ts) if end_ns is None else int(np.searchsorted(ts, end_ns, side="left"))
            ticks = ticks[lo:hi]
        if len(ticks):
            yield ticks
