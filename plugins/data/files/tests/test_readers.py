"""CSV and Parquet readers: mapping, units, chunking, malformed rows, quality policies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tradeloop_plugin_files import CsvData, ParquetData, concat
from tradeloop_sdk import TICK_DTYPE, DataError, Side, TickFlag, TickKind, Universe

U = Universe(venues=("binance", "kraken"), symbols=("BTCUSDT", "ETHUSDT"))
QUOTE_COLS = {"ts_exch": "t", "bid": "b", "ask": "a", "bid_size": "bs", "ask_size": "as"}


def _csv(tmp_path: Path, text: str, name: str = "q.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _quotes(path: Path, **kw: object) -> object:
    args = dict(path=str(path), venue="kraken", symbol="ETHUSDT", columns=QUOTE_COLS, ts_unit="ms")
    args.update(kw)
    return CsvData(CsvData.Params(**args)).tradeloop_data_provider(U)


def _all(provider: object, **kw: object) -> np.ndarray:
    chunks = list(provider.chunks(**kw))  # type: ignore[attr-defined]
    assert all(c.dtype == TICK_DTYPE for c in chunks)
    return concat(chunks) if chunks else np.zeros(0, TICK_DTYPE)


def test_csv_quotes_mapping_and_units(tmp_path: Path) -> None:
    p = _csv(tmp_path, "t,b,a,bs,as\n1000,10.5,10.6,1,2\n2000,10.4,10.7,3,4\n")
    ticks = _all(_quotes(p))
    assert ticks["ts_exch"].tolist() == [1_000_000_000, 2_000_000_000]
    assert ticks["ts_recv"].tolist() == ticks["ts_exch"].tolist()
    assert ticks["bid"].tolist() == [10.5, 10.4] and ticks["ask"].tolist() == [10.6, 10.7]
    assert ticks["ask_size"].tolist() == [2.0, 4.0]
    assert set(ticks["venue"]) == {1} and set(ticks["symbol"]) == {1}
    assert set(ticks["kind"]) == {TickKind.QUOTE} and not ticks["flags"].any()


@pytest.mark.parametrize(
    ("unit", "values", "expected"),
    [
        ("ns", ["5", "6"], [5, 6]),
        ("us", ["5", "6"], [5_000, 6_000]),
        ("s", ["1.5", "2.25"], [1_500_000_000, 2_250_000_000]),
        ("iso", ["2024-01-01T00:00:00.5", "2024-01-01 00:00:01"], [1704067200_500_000_000, 1704067201_000_000_000]),
        ("iso", ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00"], [1704067200_000_000_000] * 2),
    ],
)
def test_timestamp_units(tmp_path: Path, unit: str, values: list[str], expected: list[int]) -> None:
    p = _csv(tmp_path, "t,b,a,bs,as\n" + "".join(f"{v},1,2,1,1\n" for v in values))
    assert _all(_quotes(p, ts_unit=unit))["ts_recv"].tolist() == expected


def test_strptime_format_and_trades_with_sides(tmp_path: Path) -> None:
    p = _csv(tmp_path, "when,px,qty,side,id\n02/03/2010 16:53:50,5.5,2,buy,7\n02/03/2010 16:53:51,5.6,1,SELL,8\n")
    prov = CsvData(CsvData.Params(
        path=str(p), venue="binance", symbol="BTCUSDT", kind="trade", ts_format="%m/%d/%Y %H:%M:%S",
        columns={"ts_exch": "when", "price": "px", "size": "qty", "side": "side", "seq": "id"},
    )).tradeloop_data_provider(U)
    t = _all(prov)
    assert t["ts_exch"][0] == 1265216030_000_000_000
    assert t["price"].tolist() == [5.5, 5.6] and t["size"].tolist() == [2.0, 1.0]
    assert t["side"].tolist() == [Side.BUY, Side.SELL] and t["seq"].tolist() == [7, 8]
    assert set(t["kind"]) == {TickKind.TRADE} and np.isnan(t["ask"]).all()


def test_symbol_column_and_symbol_filter(tmp_path: Path) -> None:
    p = _csv(tmp_path, "t,s,b,a,bs,as\n1,BTCUSDT,1,2,1,1\n2,ETHUSDT,3,4,1,1\n3,DOGE,5,6,1,1\n4,BTCUSDT,7,8,1,1\n")
    prov = _quotes(p, symbol="", columns={**QUOTE_COLS, "symbol": "s"})
    t = _all(prov)
    assert t["symbol"].tolist() == [0, 1, 0]  # DOGE is not in the universe
    assert _all(prov, symbols=["ETHUSDT"])["bid"].tolist() == [3.0]
    assert _all(prov, start_ns=2_000_000, end_ns=4_000_000)["bid"].tolist() == [3.0]


@pytest.mark.parametrize("chunk_rows", [1, 3, 7, 1000])
def test_chunking_across_block_and_file_boundaries(tmp_path: Path, chunk_rows: int) -> None:
    for k in range(3):
        rows = "".join(f"{k * 100 + i},{i}.5,{i + 1}.5,1,1\n" for i in range(40))
        _csv(tmp_path, "t,b,a,bs,as\n" + rows, f"part{k}.csv")
    prov = _quotes(tmp_path / "part*.csv", chunk_rows=chunk_rows)
    chunks = list(prov.chunks())
    assert all(len(c) == chunk_rows for c in chunks[:-1]) and 0 < len(chunks[-1]) <= chunk_rows
    t = concat(chunks)
    assert len(t) == 120 and (np.diff(t["ts_recv"]) > 0).all()
    assert prov.stats().rows == 120 and prov.stats().out_of_order == 0


def test_small_csv_blocks_keep_rows_exact(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i}.25,{i}.75,1,1\n" for i in range(5000))
    p = _csv(tmp_path, "t,b,a,bs,as\n" + rows)
    prov = _quotes(p)
    prov.layout = type(prov.layout)(block_bytes=4096)
    t = _all(prov)
    assert len(t) == 5000 and t["bid"][4321] == 4321.25


@pytest.mark.parametrize(
    ("body", "line", "column", "what"),
    [
        ("1,1,2,1,1\n2,1,x2,1,1\n", 3, "a", "cannot read 'x2' as ask"),
        ("1,1,2,1,1\n2,1,2,1,1\n3,,2,1,1\n", 4, "b", "missing value for bid"),
        ("1,1,2,1,1\nnope,1,2,1,1\n", 3, "t", "cannot read 'nope' as ts_exch"),
        ("1,1,2,1,1\n2,1,2,1\n", 3, None, "expected 5 fields, found 4"),
    ],
)
def test_malformed_rows_name_file_line_column(
    tmp_path: Path, body: str, line: int, column: str | None, what: str
) -> None:
    p = _csv(tmp_path, "t,b,a,bs,as\n" + body)
    with pytest.raises(DataError) as err:
        _all(_quotes(p))
    e = err.value
    assert (e.file, e.line, e.column) == (str(p), line, column)
    assert what in str(e) and f"{p}:{line}" in str(e)


def test_malformed_row_after_quoted_newline_counts_physical_lines(tmp_path: Path) -> None:
    p = _csv(tmp_path, 't,note,b,a,bs,as\n1,"two\nlines",1,2,1,1\n2,ok,1,bad,1,1\n')
    with pytest.raises(DataError) as err:
        _all(_quotes(p))
    assert (err.value.line, err.value.column) == (4, "a")


def test_missing_column_is_named(tmp_path: Path) -> None:
    p = _csv(tmp_path, "t,b,ask\n1,1,2\n")
    with pytest.raises(DataError, match=r"no column\(s\) 'a'"):
        _all(_quotes(p, columns={"ts_exch": "t", "bid": "b", "ask": "a"}))


BAD = "t,b,a,bs,as,n\n1,1,2,1,1,1\n3,1,2,1,1,2\n2,1,2,1,1,3\n4,3,2,1,1,3\n5,1,2,1,1,5\n"


def test_policies_flag(tmp_path: Path) -> None:
    p = _csv(tmp_path, BAD)
    prov = _quotes(p, columns={**QUOTE_COLS, "seq": "n"})
    t = _all(prov)
    assert len(t) == 5
    assert t["flags"].tolist() == [0, 0, TickFlag.OUT_OF_ORDER, TickFlag.CROSSED | TickFlag.DUPLICATE, 0]
    s = prov.stats()
    assert (s.rows, s.out_of_order, s.crossed, s.duplicates, s.rejected) == (5, 1, 1, 1, 0)
    assert s.gaps == 1  # 3 -> 5


def test_policies_drop(tmp_path: Path) -> None:
    p = _csv(tmp_path, BAD)
    prov = _quotes(p, columns={**QUOTE_COLS, "seq": "n"}, on_out_of_order="drop",
                   on_crossed="drop", on_duplicate="drop")
    t = _all(prov)
    assert t["seq"].tolist() == [1, 2, 5] and not t["flags"].any()
    s = prov.stats()
    assert (s.out_of_order, s.crossed, s.duplicates, s.rejected) == (1, 1, 1, 2)


@pytest.mark.parametrize(
    ("policy", "line", "what"),
    [("on_out_of_order", 4, "out of order"), ("on_crossed", 5, "crossed"), ("on_duplicate", 5, "duplicate")],
)
def test_policies_error_name_the_line(tmp_path: Path, policy: str, line: int, what: str) -> None:
    p = _csv(tmp_path, BAD)
    prov = _quotes(p, columns={**QUOTE_COLS, "seq": "n"}, **{policy: "error"})
    with pytest.raises(DataError, match=what) as err:
        _all(prov)
    assert (err.value.file, err.value.line) == (str(p), line)


def test_out_of_order_across_chunk_boundary_is_counted(tmp_path: Path) -> None:
    p = _csv(tmp_path, "t,b,a,bs,as\n1,1,2,1,1\n5,1,2,1,1\n3,1,2,1,1\n6,1,2,1,1\n")
    for rows in (1, 2, 4):
        prov = _quotes(p, chunk_rows=rows)
        prov.layout = type(prov.layout)(block_bytes=16)
        t = _all(prov)
        assert t["flags"].tolist() == [0, 0, TickFlag.OUT_OF_ORDER, 0]


def test_parquet_quotes_with_timestamp_type_and_buyer_maker(tmp_path: Path) -> None:
    ts = pa.array([1_000, 2_000, 3_000], pa.timestamp("ms", "UTC"))
    table = pa.table({"timestamp": ts, "price": [1.0, 2.0, 3.0], "quantity": [0.1, 0.2, 0.3],
                      "buyer_maker": ["True", "False", "True"]})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=2)
    prov = ParquetData(ParquetData.Params(
        path=str(path), venue="binance", symbol="BTCUSDT", kind="trade", chunk_rows=2,
        columns={"ts_exch": "timestamp", "price": "price", "size": "quantity", "buyer_maker": "buyer_maker"},
    )).tradeloop_data_provider(U)
    chunks = list(prov.chunks())
    assert [len(c) for c in chunks] == [2, 1]
    t = concat(chunks)
    assert t["ts_recv"].tolist() == [1_000_000_000, 2_000_000_000, 3_000_000_000]
    assert t["side"].tolist() == [Side.SELL, Side.BUY, Side.SELL]


def test_parquet_null_names_file_row_and_column(tmp_path: Path) -> None:
    table = pa.table({"t": [1, 2, 3], "p": [1.0, None, 3.0]})
    path = tmp_path / "bars.parquet"
    pq.write_table(table, path)
    prov = ParquetData(ParquetData.Params(
        path=str(path), venue="binance", symbol="BTCUSDT", kind="bar", ts_unit="s",
        columns={"ts_exch": "t", "price": "p"},
    )).tradeloop_data_provider(U)
    with pytest.raises(DataError, match=r"bars.parquet \(column p\): row 2: missing number"):
        _all(prov)


def test_bad_mapping_is_a_clear_error(tmp_path: Path) -> None:
    p = _csv(tmp_path, "t,b\n1,2\n")
    with pytest.raises(DataError, match="a quote needs ask"):
        _quotes(p, columns={"ts_exch": "t", "bid": "b"})
    with pytest.raises(DataError, match="unknown tick field"):
        _quotes(p, columns={"ts_exch": "t", "bid": "b", "ask": "b", "mid": "b"})
    with pytest.raises(DataError, match="no file matches"):
        _quotes(tmp_path / "nothing*.csv")


async def _drain(prov: object) -> list[np.ndarray]:
    return [b async for b in prov.stream()]  # type: ignore[attr-defined]


def test_stream_replays_all_ticks(tmp_path: Path) -> None:
    import asyncio

    p = _csv(tmp_path, "t,b,a,bs,as\n" + "".join(f"{i},1,2,1,1\n" for i in range(3000)))
    batches = asyncio.run(_drain(_quotes(p)))
    assert sum(len(b) for b in batches) == 3000 and len(batches) > 1
