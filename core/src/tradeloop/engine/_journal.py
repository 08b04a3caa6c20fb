"""The journal: an append-only SQLite database of everything that touches an order.

Rows are never updated or deleted. ``entries`` holds intents, submissions, submission
errors, venue reports, guard decisions, reconciliation findings and operator actions;
``watermarks`` holds the client-order-id high-water marks.

Durability: WAL mode with ``synchronous=FULL`` by default. In WAL mode ``NORMAL`` survives
a process crash (kill -9) but may lose the last commits on power loss or an OS crash. The
journal's two promises are "an intent is on disk before its order leaves the process" and
"a client id is never reused"; a lost watermark row after power loss would hand out ids
that are already at the venue. FULL fsyncs the WAL at every commit, and the executor
commits once per *batch* of intents (group commit), so the cost is one fsync per batch,
not per order. ``synchronous="normal"`` is accepted for throughput-bound paper runs.

Client ids: :meth:`Journal.ensure_reserved` persists a watermark above an id before that
id may be used; ids are handed out in blocks so most batches need no extra write. On open,
the next id is the highest watermark ever persisted, so a restart skips whatever was left
of the last block and can never reuse an id, whatever happened to the previous process.
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

_log = logging.getLogger("tradeloop.engine.journal")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    client_id INTEGER,
    venue TEXT,
    symbol TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_cid ON entries(client_id);
CREATE TABLE IF NOT EXISTS watermarks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns INTEGER NOT NULL,
    next_client_id INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_append_only_u BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_append_only_d BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
"""

#: Entry kinds.
INTENT = "intent"  # an intent the loop emitted (after guards), before it leaves
SUBMIT = "submit"  # the broker accepted the call
SUBMIT_ERROR = "submit_error"  # the call failed (timeout, rejection, disconnect)
REPORT = "report"  # a venue report (ack, fill, cancel, reject...)
GUARD = "guard"  # a guard refused or resized an intent
RECONCILE = "reconcile"  # a difference found at start and how it was resolved
CONTROL = "control"  # pause, resume, kill, flatten, reload, start, stop


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def record_data(record: Any) -> dict[str, Any]:
    """An attrs record (Intent, Report, GuardBreach...) as JSON-ready data (Decimals as text)."""
    if attrs.has(type(record)):
        return _jsonable(attrs.asdict(record, recurse=False))  # type: ignore[no-any-return]
    return _jsonable(dict(record))  # type: ignore[no-any-return]


@attrs.frozen
class Entry:
    """One journal row."""

    seq: int
    ts_ns: int
    kind: str
    client_id: int | None
    venue: str | None
    symbol: str | None
    data: dict[str, Any]


class Journal:
    """Append-only journal and client-id watermark, one SQLite file in WAL mode."""

    def __init__(self, path: str | Path, *, synchronous: str = "full", id_block: int = 1024) -> None:
        if synchronous not in ("full", "normal"):
            raise ValueError(f"journal synchronous must be 'full' or 'normal', got {synchronous!r}")
        if id_block < 1:
            raise ValueError(f"journal id_block must be >= 1, got {id_block}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        # one connection shared by the executor (event loop) and operator actions that may
        # run on other threads (Engine.reload from a worker): transactions must not interleave
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.executescript(_SCHEMA)
        self.id_block = id_block
        row = self._db.execute("SELECT MAX(next_client_id) FROM watermarks").fetchone()
        hwm = int(row[0]) if row[0] is not None else 1
        # belt and braces: an id seen in the journal is never handed out again either
        row = self._db.execute("SELECT MAX(client_id) FROM entries").fetchone()
        if row[0] is not None:
            hwm = max(hwm, int(row[0]) + 1)
        #: the first id this process may use: nothing at or above it was ever used
        self.first_client_id = hwm
        self._reserved = hwm  # ids below this are covered by a persisted watermark
        self.ensure_reserved(hwm)

    @property
    def reserved_through(self) -> int:
        """Ids strictly below this are covered by a persisted watermark."""
        return self._reserved

    def ensure_reserved(self, client_id: int) -> bool:
        """Persist a watermark above ``client_id`` unless one exists; True if it wrote one."""
        with self._lock:
            if client_id < self._reserved:
                return False
            new = client_id + self.id_block
            self._db.execute(
                "INSERT INTO watermarks(ts_ns, next_client_id) VALUES (?, ?)", (time.time_ns(), new)
            )
            self._reserved = new
            return True

    def append(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        client_id: int | None = None,
        venue: str | None = None,
        symbol: str | None = None,
        ts_ns: int | None = None,
    ) -> None:
        """Append one entry (its own transaction)."""
        self.append_many([(kind, data, client_id, venue, symbol)], ts_ns=ts_ns)

    def append_many(
        self,
        rows: Iterable[tuple[str, dict[str, Any], int | None, str | None, str | None]],
        *,
        ts_ns: int | None = None,
        reserve_through: int | None = None,
    ) -> int:
        """Append rows ``(kind, data, client_id, venue, symbol)`` in one transaction.

        ``reserve_through`` also persists a watermark above that id in the same commit, so
        an intent and the watermark covering its id reach the disk together.
        """
        ts = time.time_ns() if ts_ns is None else ts_ns
        batch = [(ts, k, cid, v, s, json.dumps(_jsonable(d))) for k, d, cid, v, s in rows]
        if not batch and reserve_through is None:
            return 0
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                if reserve_through is not None and reserve_through >= self._reserved:
                    new = reserve_through + self.id_block
                    cur.execute("INSERT INTO watermarks(ts_ns, next_client_id) VALUES (?, ?)", (ts, new))
                else:
                    new = self._reserved
                cur.executemany(
                    "INSERT INTO entries(ts_ns, kind, client_id, venue, symbol, data) VALUES (?,?,?,?,?,?)",
                    batch,
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            self._reserved = new
            return len(batch)

    def entries(
        self, kinds: Sequence[str] | None = None, *, client_id: int | None = None, since_seq: int = 0
    ) -> Iterator[Entry]:
        """Entries in append order, optionally filtered by kind and client id."""
        sql = "SELECT seq, ts_ns, kind, client_id, venue, symbol, data FROM entries WHERE seq > ?"
        args: list[Any] = [since_seq]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        if client_id is not None:
            sql += " AND client_id = ?"
            args.append(client_id)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        for row in rows:
            yield Entry(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]))

    def count(self, kind: str | None = None) -> int:
        """Number of entries (of ``kind``)."""
        with self._lock:
            if kind is None:
                return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM entries WHERE kind=?",
                                        (kind,)).fetchone()[0])

    def flush(self) -> None:
        """Checkpoint the WAL into the main database file."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Checkpoint and close."""
        try:
            self.flush()
        finally:
            self._db.close()


__all__ = [
    "CONTROL",
    "GUARD",
    "INTENT",
    "RECONCILE",
    "REPORT",
    "SUBMIT",
    "SUBMIT_ERROR",
    "Entry",
    "Journal",
    "record_data",
]
