"""``tradeloop data``: import files into the catalog, list it, inspect a partition."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click
import numpy as np
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table
from tradeloop_sdk import DataError, TickFlag, TickKind, hookimpl

from ._catalog import Catalog, Partition
from ._mapping import FIELDS, KINDS, TS_CHOICES, Mapping_
from ._quality import POLICIES
from ._readers import CsvLayout
from ._source import AutoIds, FileSource, expand

ENV_CATALOG = "TRADELOOP_CATALOG"


def _catalog_option(f):
    return click.option(
        "--catalog",
        "catalog_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get(ENV_CATALOG, "catalog"),
        show_default=f"${ENV_CATALOG} or ./catalog",
        help="catalog root directory",
    )(f)


def _iso(ts: int) -> str:
    d = dt.datetime.fromtimestamp(ts // 1_000_000_000, dt.UTC)
    return d.strftime("%Y-%m-%d %H:%M:%S") + f".{ts % 1_000_000_000:09d}"


def _parse_map(items: tuple[str, ...]) -> dict[str, str]:
    columns: dict[str, str] = {}
    for item in items:
        col, sep, field = item.rpartition("=")
        if not sep or not col or field not in FIELDS:
            raise click.BadParameter(
                f"{item!r}: expected COLUMN=FIELD with FIELD one of {', '.join(FIELDS)}",
                param_hint="--map",
            )
        columns[field] = col
    return columns


@click.group("data")
def data_group() -> None:
    """Market data: import CSV/Parquet files into the local catalog, list and inspect it."""


@data_group.command("import")
@click.argument("src")
@click.option("--venue", required=True, help="venue the ticks belong to")
@click.option("--symbol", default="", help="symbol of every row (or map a column to 'symbol')")
@click.option("--kind", type=click.Choice(list(KINDS)), default="quote", show_default=True)
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD", help="source column -> tick field")
@click.option("--ts-unit", type=click.Choice(TS_CHOICES), default="ns", show_default=True)
@click.option("--ts-format", default="", help="strptime format of text timestamps")
@click.option("--delimiter", default=",", show_default=True)
@click.option("--no-header", is_flag=True, help="the CSV has no header line")
@click.option("--column-names", default="", help="comma-separated names for header-less CSV")
@click.option("--on-out-of-order", type=click.Choice(POLICIES), default="flag", show_default=True)
@click.option("--on-crossed", type=click.Choice(POLICIES), default="flag", show_default=True)
@click.option("--on-duplicate", type=click.Choice(POLICIES), default="flag", show_default=True)
@click.option("--chunk-rows", type=click.IntRange(min=1), default=262_144, show_default=True)
@_catalog_option
def import_cmd(
    src: str,
    venue: str,
    symbol: str,
    kind: str,
    maps: tuple[str, ...],
    ts_unit: str,
    ts_format: str,
    delimiter: str,
    no_header: bool,
    column_names: str,
    on_out_of_order: str,
    on_crossed: str,
    on_duplicate: str,
    chunk_rows: int,
    catalog_dir: Path,
) -> None:
    """Import SRC (a CSV/Parquet file or a glob) into the catalog."""
    console = Console()
    try:
        mapping = Mapping_(
            kind=KINDS[kind],
            venue=venue,
            symbol=symbol or None,
            columns=_parse_map(maps),
            ts_unit=ts_unit,
            ts_format=ts_format or None,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    symbols = AutoIds()
    if symbol:
        symbols.get(symbol)
    layout = CsvLayout(
        delimiter=delimiter,
        header=not no_header,
        column_names=tuple(c for c in column_names.split(",") if c),
    )
    try:
        source = FileSource(
            "import",
            expand(src),
            mapping,
            venue_id=0,
            symbol_ids=symbols,
            chunk_rows=chunk_rows,
            layout=layout,
            policies={
                "on_out_of_order": on_out_of_order,
                "on_crossed": on_crossed,
                "on_duplicate": on_duplicate,
            },
        )
        with Catalog(catalog_dir).writer() as writer:
            for chunk in source.chunks():
                names = sorted(symbols, key=symbols.__getitem__)
                writer.write(chunk, [venue], names)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    stats = source.stats()
    console.print(
        f"imported [bold]{writer.rows:,}[/] ticks of {', '.join(sorted(symbols))} @ {venue} "
        f"into {catalog_dir}"
    )
    table = Table("read", "out of order", "crossed", "duplicates", "seq gaps", "rejected")
    table.add_row(*(f"{v:,}" for v in (stats.rows, stats.out_of_order, stats.crossed,
                                         stats.duplicates, stats.gaps, stats.rejected)))
    console.print(table)


@data_group.command("list")
@_catalog_option
def list_cmd(catalog_dir: Path) -> None:
    """Venues, symbols, days, rows and time range in the catalog."""
    try:
        parts = Catalog(catalog_dir).partitions()
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    streams: dict[tuple[str, str], list[Partition]] = {}
    for p in parts:
        streams.setdefault((p.venue, p.symbol), []).append(p)
    table = Table("venue", "symbol", "days", "rows", "first (UTC)", "last (UTC)", title=str(catalog_dir))
    for (venue, symbol), days in streams.items():
        first = days[0].date if len(days) == 1 else f"{days[0].date} .. {days[-1].date}"
        table.add_row(
            venue,
            symbol,
            f"{len(days)} ({first})",
            f"{sum(d.rows for d in days):,}",
            _iso(min(d.ts_min for d in days)),
            _iso(max(d.ts_max for d in days)),
        )
    Console().print(table)


def _flag_counts(files: list[Path]) -> dict[str, int]:
    counts = dict.fromkeys((f.name for f in TickFlag if f.value), 0)
    for path in files:
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(columns=["flags"], batch_size=1 << 20):
            flags = batch.column(0).to_numpy()
            for f in TickFlag:
                if f.value:
                    counts[str(f.name)] += int(np.count_nonzero(flags & np.uint8(f.value)))
    return counts


def _rows_table(title: str, table_rows: list[dict]) -> Table:
    t = Table("ts_recv (UTC)", "ts_exch", "seq", "kind", "bid/price", "ask", "bid/size",
              "ask_size", "side", "flags", title=title)
    for r in table_rows:
        t.add_row(_iso(r["ts_recv"]), str(r["ts_exch"]), str(r["seq"]), TickKind(r["kind"]).name,
                  repr(r["bid"]), repr(r["ask"]), repr(r["bid_size"]), repr(r["ask_size"]),
                  str(r["side"]), str(r["flags"]))
    return t


@data_group.command("inspect")
@click.argument("venue")
@click.argument("symbol")
@click.option("--day", default=None, help="one UTC day, YYYY-MM-DD (default: all days)")
@click.option("--rows", "n", type=click.IntRange(min=1), default=5, show_default=True)
@_catalog_option
def inspect_cmd(venue: str, symbol: str, day: str | None, n: int, catalog_dir: Path) -> None:
    """Schema, row count, first and last rows and flag counts of VENUE SYMBOL."""
    try:
        parts = Catalog(catalog_dir).partitions([venue], [symbol])
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    if day:
        parts = [p for p in parts if p.date == day]
    if not parts:
        raise click.ClickException(f"no data for {venue} {symbol}" + (f" on {day}" if day else ""))
    console = Console()
    files = [f for p in parts for f in p.files]
    console.print(f"[bold]{venue} {symbol}[/]: {sum(p.rows for p in parts):,} rows in "
                  f"{len(parts)} day(s), {len(files)} file(s)")
    schema = pq.ParquetFile(files[0]).schema_arrow
    st = Table("column", "type", title="schema")
    for field in schema:
        st.add_row(field.name, str(field.type))
    console.print(st)
    first = pq.ParquetFile(files[0]).read_row_group(0).slice(0, n).to_pylist()
    last_pf = pq.ParquetFile(files[-1])
    tail = last_pf.read_row_group(last_pf.num_row_groups - 1)
    last = tail.slice(max(0, tail.num_rows - n)).to_pylist()
    console.print(_rows_table("first rows", first))
    console.print(_rows_table("last rows", last))
    ft = Table("flag", "ticks", title="flags")
    for name, count in _flag_counts(files).items():
        ft.add_row(name, f"{count:,}")
    console.print(ft)


class DataCommands:
    """Contributes the ``tradeloop data`` command group to the host CLI."""

    @staticmethod
    @hookimpl
    def tradeloop_cli_commands() -> list[click.Command]:
        """The ``data`` group."""
        return [data_group]


__all__ = ["DataCommands", "data_group"]
