"""Streaming readers: CSV (pyarrow's incremental reader) and Parquet/Feather (batch iterators).

Each reader yields ``(batch, first_record)`` pairs, where ``first_record`` is the 0-based
index of the batch's first data record in the file. A conversion failure is located exactly
by re-reading the file with the csv module (only on that error path): the DataError names the
file, the physical line (quoted fields may span lines) and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import attrs
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from tradeloop_sdk import DataError

from ._mapping import Mapping_

Batch = tuple[pa.RecordBatch, int]


@attrs.frozen
class CsvLayout:
    """How a CSV file is laid out: delimiter, whether it has a header, column names."""

    delimiter: str = ","
    header: bool = True
    column_names: Sequence[str] = ()
    block_bytes: int = 4 << 20


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _checker(m: Mapping_, field: str):
    kind = m.arrow_type(field)
    if kind == pa.string():
        if field not in ("ts_exch", "ts_recv"):
            return None
        if m.ts_format:
            fmt = m.ts_format
            return lambda s: datetime.strptime(s, fmt)
        return lambda s: datetime.fromisoformat(s.strip())
    if kind == pa.int64():
        return int
    return float


def _column_names(path: Path, layout: CsvLayout) -> list[str]:
    if layout.column_names:
        return list(layout.column_names)
    with _open_text(path) as fh:
        first = next(csv.reader(fh, delimiter=layout.delimiter), [])
    if layout.header:
        return list(first)
    return [f"f{i}" for i in range(len(first))]


def locate_csv_error(path: Path, m: Mapping_, layout: CsvLayout, fallback: str) -> DataError:
    """Find the first cell of ``path`` that the mapping cannot convert; a DataError for it."""
    names = _column_names(path, layout)
    checks = []
    for field, col in m.columns.items():
        if col not in names:
            return DataError(f"no column {col!r} (known: {', '.join(names)})", file=str(path))
        check = _checker(m, field)
        checks.append((names.index(col), col, check, field))
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=layout.delimiter)
        if layout.header and not layout.column_names:
            next(reader, None)
        for row in reader:
            line = reader.line_num
            if len(row) != len(names):
                return DataError(
                    f"expected {len(names)} fields, found {len(row)}", file=str(path), line=line
                )
            for idx, col, check, field in checks:
                value = row[idx]
                if value.strip() == "":
                    return DataError(f"missing value for {field}", file=str(path), line=line, column=col)
                if check is None:
                    continue
                try:
                    check(value)
                except ValueError:
                    return DataError(
                        f"cannot read {value!r} as {field}", file=str(path), line=line, column=col
                    )
    return DataError(fallback, file=str(path))


def line_of_record(path: Path, layout: CsvLayout, record: int) -> int:
    """Physical line (1-based) on which data record ``record`` (0-based) starts."""
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=layout.delimiter)
        if layout.header and not layout.column_names:
            next(reader, None)
        line = reader.line_num
        for i, _ in enumerate(reader):
            if i == record:
                return line + 1
            line = reader.line_num
    return line + 1


def iter_csv(path: Path, m: Mapping_, layout: CsvLayout) -> Iterator[Batch]:
    """Stream ``path`` in blocks of about ``layout.block_bytes`` bytes."""
    names = _column_names(path, layout)
    missing = [c for c in m.source_columns() if c not in names]
    if missing:
        raise DataError(
            f"no column(s) {', '.join(map(repr, missing))} (known: {', '.join(names)})",
            file=str(path),
        )
    types = {}
    for field, col in m.columns.items():
        types.setdefault(col, m.arrow_type(field))
    read = pacsv.ReadOptions(
        block_size=layout.block_bytes,
        column_names=None if layout.header and not layout.column_names else names,
        skip_rows=1 if layout.header and layout.column_names else 0,
    )
    parse = pacsv.ParseOptions(delimiter=layout.delimiter)
    conv = pacsv.ConvertOptions(column_types=types, include_columns=m.source_columns())
    offset = 0
    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=conv)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            yield batch, offset
            offset += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise locate_csv_error(path, m, layout, str(exc)) from None


def iter_parquet(path: Path, m: Mapping_, batch_rows: int) -> Iterator[Batch]:
    """Stream a Parquet file (or an Arrow IPC/Feather file) in batches of ``batch_rows``."""
    cols = m.source_columns()
    if path.suffix in (".feather", ".arrow", ".ipc"):
        reader = ipc.open_file(path)
        schema_names = reader.schema.names
        _check_columns(path, cols, schema_names)
        offset = 0
        for i in range(reader.num_record_batches):
            whole = reader.get_batch(i).select(cols)
            for start in range(0, whole.num_rows, batch_rows):
                part = whole.slice(start, batch_rows)
                yield part, offset
                offset += part.num_rows
        return
    pf = pq.ParquetFile(path, pre_buffer=False)  # a pre-buffer cache grows with the file
    _check_columns(path, cols, pf.schema_arrow.names)
    offset = 0
    for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
        yield batch, offset
        offset += batch.num_rows


def _check_columns(path: Path, cols: list[str], names: list[str]) -> None:
    missing = [c for c in cols if c not in names]
    if missing:
        raise DataError(
            f"no column(s) {', '.join(map(repr, missing))} (known: {', '.join(names)})",
            file=str(path),
        )
