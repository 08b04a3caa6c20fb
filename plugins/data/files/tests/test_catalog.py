"""The catalog: import (writer and CLI), list, inspect, merged streaming, time ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tradeloop_plugin_files import Catalog, CatalogData, concat, data_group, merge_sorted, rebatch
from tradeloop_sdk import TICK_DTYPE, DataError, TickFlag, Universe

DAY = 86_400 * 10**9
T0 = 19_700 * DAY  # 2023-12-09


def _ticks(ts: list[int], venue: int = 0, symbol: int = 0, bid: float = 1.0) -> np.ndarray:
    t = np.zeros(len(ts), TICK_DTYPE)
    t["ts_recv"] = t["ts_exch"] = ts
    t["seq"] = np.arange(1, len(ts) + 1)
    t["bid"], t["ask"], t["kind"] = bid, bid + 1, 1
    t["venue"], t["symbol"] = venue, symbol
    return t


def test_merge_sorted_is_a_stable_kway_merge() -> None:
    rng = np.random.default_rng(1)
    streams = []
    for k in range(4):
        ts = np.sort(rng.integers(0, 1_000, 300))
        t = _ticks(list(ts), symbol=k)
        streams.append([t[i : i + 37] for i in range(0, 300, 37)])
    merged = concat(list(merge_sorted([iter(s) for s in streams])))
    assert merged.dtype == TICK_DTYPE and len(merged) == 1_200
    assert (np.diff(merged["ts_recv"]) >= 0).all()
    # ties keep stream order
    key = merged["ts_recv"].astype(np.int64) * 10 + merged["symbol"]
    assert (np.diff(key) >= 0).all()
    assert [len(c) for c in rebatch(iter([merged]), 500)] == [500, 500, 200]


def _fill(root: Path) -> Catalog:
    cat = Catalog(root)
    with cat.writer(row_group_rows=4) as w:
        # two days of BTC on two venues, one day of ETH, written in small, shuffled chunks
        btc_a = _ticks([T0 + i * DAY // 10 for i in range(20)], venue=0, symbol=0, bid=100.0)
        btc_b = _ticks([T0 + i * DAY // 10 + 5 for i in range(20)], venue=1, symbol=0, bid=101.0)
        eth = _ticks([T0 + i * DAY // 7 + 3 for i in range(7)], venue=0, symbol=1, bid=5.0)
        allt = concat([btc_a, btc_b, eth])
        allt = allt[np.argsort(allt["ts_recv"], kind="stable")]
        for i in range(0, len(allt), 6):
            w.write(allt[i : i + 6], ["bin", "krk"], ["BTC", "ETH"])
    return cat


def test_writer_partitions_by_venue_symbol_day(tmp_path: Path) -> None:
    cat = _fill(tmp_path)
    parts = cat.partitions()
    keys = [(p.venue, p.symbol, p.date) for p in parts]
    assert keys == [
        ("bin", "BTC", "2023-12-09"), ("bin", "BTC", "2023-12-10"), ("bin", "ETH", "2023-12-09"),
        ("krk", "BTC", "2023-12-09"), ("krk", "BTC", "2023-12-10"),
    ]
    assert sum(p.rows for p in parts) == 47
    assert (tmp_path / "venue=bin" / "symbol=BTC" / "date=2023-12-09" / "part-00000.parquet").is_file()
    assert parts[0].ts_min == T0 and parts[0].ts_max == T0 + 9 * DAY // 10


def test_catalog_provider_merges_across_symbols_and_venues(tmp_path: Path) -> None:
    _fill(tmp_path)
    u = Universe(venues=("krk", "bin"), symbols=("ETH", "BTC"))
    prov = CatalogData(CatalogData.Params(path=str(tmp_path), chunk_rows=8)).tradeloop_data_provider(u)
    chunks = list(prov.chunks())
    assert all(len(c) == 8 for c in chunks[:-1])
    t = concat(chunks)
    assert len(t) == 47 and (np.diff(t["ts_recv"]) >= 0).all()
    assert prov.stats().rows == 47
    # ids follow the run's universe, not the catalog
    btc_bin = t[(t["venue"] == 1) & (t["symbol"] == 1)]
    assert len(btc_bin) == 20 and set(btc_bin["bid"]) == {100.0}
    assert len(t[t["symbol"] == 0]) == 7
    only_eth = concat(list(prov.chunks(symbols=["ETH"])))
    assert set(only_eth["symbol"]) == {0} and len(only_eth) == 7


def test_time_range_filter(tmp_path: Path) -> None:
    _fill(tmp_path)
    u = Universe(venues=("bin",), symbols=("BTC",))
    start, end = T0 + 3 * DAY // 10, T0 + 12 * DAY // 10
    prov = CatalogData(CatalogData.Params(path=str(tmp_path), venues=("bin",))).tradeloop_data_provider(u)
    t = concat(list(prov.chunks(start_ns=start, end_ns=end)))
    assert t["ts_recv"].tolist() == [T0 + i * DAY // 10 for i in range(3, 12)]
    iso = CatalogData(CatalogData.Params(
        path=str(tmp_path), start="2023-12-10", end="2023-12-10T12:00:00")).tradeloop_data_provider(u)
    t = concat(list(iso.chunks()))
    assert t["ts_recv"].tolist() == [T0 + i * DAY // 10 for i in range(10, 15)]


def test_overlapping_imports_become_parts_and_merge(tmp_path: Path) -> None:
    cat = Catalog(tmp_path)
    for offset in (0, 1):
        with cat.writer() as w:
            w.write(_ticks([T0 + offset + 2 * i for i in range(50)]), ["v"], ["S"])
    (part,) = cat.partitions()
    assert len(part.files) == 2 and part.rows == 100
    t = concat(list(cat.read({"v": 0}, {"S": 0}, batch_rows=7)))
    assert t["ts_recv"].tolist() == [T0 + i for i in range(100)]


def test_bad_names_and_missing_catalog(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="may only contain"), Catalog(tmp_path).writer() as w:
        w.write(_ticks([T0]), ["../x"], ["S"])
    with pytest.raises(DataError, match="no catalog"):
        Catalog(tmp_path / "nope").partitions()


def test_cli_import_list_inspect(tmp_path: Path) -> None:
    src = tmp_path / "q.csv"
    src.write_text(
        "time,bid,ask,n\n"
        "2024-03-01T10:00:00,10.0,10.5,1\n2024-03-01T10:00:01,10.1,10.0,2\n"
        "2024-03-02T09:00:00,10.2,10.6,2\n"
    )
    cat = tmp_path / "cat"
    runner = CliRunner(env={"COLUMNS": "200"})
    args = ["import", str(src), "--venue", "demo", "--symbol", "XYZ", "--kind", "quote",
            "--map", "time=ts_exch", "--map", "bid=bid", "--map", "ask=ask", "--map", "n=seq",
            "--ts-unit", "iso", "--catalog", str(cat)]
    res = runner.invoke(data_group, args)
    assert res.exit_code == 0, res.output
    assert "imported 3 ticks" in res.output
    res = runner.invoke(data_group, ["list", "--catalog", str(cat)])
    assert res.exit_code == 0, res.output
    assert "demo" in res.output and "XYZ" in res.output and "2024-03-01 .. 2024-03-02" in res.output
    res = runner.invoke(data_group, ["inspect", "demo", "XYZ", "--day", "2024-03-01", "--catalog", str(cat)],
                        terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "2 rows" in res.output and "ts_recv" in res.output and "int64" in res.output
    flags = Catalog(cat).partitions()[0].files[0]
    import pyarrow.parquet as pq

    assert pq.read_table(flags)["flags"].to_pylist() == [0, int(TickFlag.CROSSED)]
    lines = {ln.split()[1]: ln.split()[-2] for ln in res.output.splitlines() if ln.strip().startswith("│ CROSSED")
             or ln.strip().startswith("│ DUPLICATE")}
    assert lines == {"CROSSED": "1", "DUPLICATE": "0"}
    # the duplicate seq (2, 2) straddles the day boundary: counted at import, reported
    res = runner.invoke(data_group, [*args, "--on-duplicate", "drop"])
    assert "rejected" in res.output


def test_cli_import_error_is_located(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("t,p\n1,2.0\n2,oops\n")
    res = CliRunner().invoke(data_group, ["import", str(src), "--venue", "v", "--symbol", "S",
                                          "--kind", "trade", "--map", "t=ts_exch", "--map", "p=price",
                                          "--catalog", str(tmp_path / "c")])
    assert res.exit_code == 1
    assert f"{src}:3 (column p): cannot read 'oops' as price" in res.output
    res = CliRunner().invoke(data_group, ["import", str(src), "--venue", "v", "--symbol", "S",
                                          "--map", "t=when", "--catalog", str(tmp_path / "c")])
    assert res.exit_code == 2 and "FIELD one of" in res.output


def test_arrow_memory_does_not_grow_with_the_partition(tmp_path: Path) -> None:
    import pyarrow as pa

    cat = Catalog(tmp_path)
    rng = np.random.default_rng(0)
    with cat.writer(row_group_rows=10_000) as w:
        for k in range(40):
            t = _ticks([T0 + k * 10_000 + i for i in range(10_000)])
            t["bid"] = rng.normal(100, 1, len(t))  # incompressible, like real prices
            w.write(t, ["v"], ["S"])
    used = []
    for chunk in cat.read({"v": 0}, {"S": 0}, batch_rows=10_000):
        assert len(chunk)
        used.append(pa.total_allocated_bytes())
    assert len(used) == 40
    on_disk = sum(f.stat().st_size for f in tmp_path.rglob("*.parquet"))
    assert on_disk > 2 << 20
    # a pre-buffering reader caches the file's column chunks until it closes
    assert max(used) < on_disk // 2, f"arrow holds {max(used)} bytes reading a {on_disk}-byte partition"
