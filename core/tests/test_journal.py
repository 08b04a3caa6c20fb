"""Journal: append-only rows, WAL mode, watermark never reused across restarts."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest
from tradeloop.engine._journal import INTENT, REPORT, SUBMIT, Journal, record_data
from tradeloop_sdk import Intent, OrderType, Report, ReportKind, Side


def _intent(cid: int) -> Intent:
    return Intent(client_id=cid, venue="sim", symbol="BTC-USD", side=Side.BUY,
                  type=OrderType.LIMIT, qty=Decimal("0.5"), price=Decimal("100.25"))


def test_wal_mode_and_append_only(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.append(INTENT, record_data(_intent(5)), client_id=5, venue="sim", symbol="BTC-USD")
    mode = j._db.execute("PRAGMA journal_mode").fetchone()[0]
    sync = j._db.execute("PRAGMA synchronous").fetchone()[0]
    assert mode == "wal" and sync == 2  # FULL
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        j._db.execute("UPDATE entries SET kind='x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        j._db.execute("DELETE FROM entries")
    (e,) = list(j.entries())
    assert e.kind == INTENT and e.client_id == 5
    assert e.data["qty"] == "0.5" and e.data["price"] == "100.25" and e.data["side"] == "BUY"
    j.close()


def test_watermark_blocks_and_restart_skips(tmp_path):
    p = tmp_path / "j.sqlite"
    j = Journal(p, id_block=10)
    assert j.first_client_id == 1 and j.reserved_through == 11
    # using ids 1..25 needs watermarks above each before use
    rows = [(INTENT, record_data(_intent(c)), c, "sim", "BTC-USD") for c in range(1, 26)]
    j.append_many(rows, reserve_through=25)
    assert j.reserved_through == 35
    j._db.close()  # no checkpoint: as after kill -9
    j2 = Journal(p, id_block=10)
    assert j2.first_client_id == 35  # never below anything reserved, let alone used
    j2.close()


def test_watermark_covers_ids_reserved_but_not_journaled(tmp_path):
    p = tmp_path / "j.sqlite"
    j = Journal(p, id_block=100)
    assert not j.ensure_reserved(50)
    assert j.ensure_reserved(101)
    j._db.close()
    assert Journal(p).first_client_id == 201


def test_entry_ids_above_watermark_still_respected(tmp_path):
    p = tmp_path / "j.sqlite"
    j = Journal(p, id_block=4)
    j.append(SUBMIT, {"action": "NEW"}, client_id=1000)  # e.g. an adopted venue id
    j._db.close()
    assert Journal(p).first_client_id >= 1001


def test_report_roundtrip_and_filters(tmp_path):
    j = Journal(tmp_path / "j.sqlite", synchronous="normal")
    r = Report(client_id=7, venue="sim", symbol="BTC-USD", kind=ReportKind.FILL, side=Side.SELL,
               fill_qty=Decimal("0.1"), fill_price=Decimal("101"), ts=123)
    j.append_many([(REPORT, record_data(r), 7, "sim", "BTC-USD"),
                   (INTENT, record_data(_intent(8)), 8, "sim", "BTC-USD")])
    assert j.count() == 2 and j.count(REPORT) == 1
    (e,) = list(j.entries([REPORT]))
    assert e.data["kind"] == "FILL" and e.data["fill_qty"] == "0.1"
    assert [x.client_id for x in j.entries(client_id=8)] == [8]
    with pytest.raises(ValueError, match="synchronous"):
        Journal(tmp_path / "k.sqlite", synchronous="off")
