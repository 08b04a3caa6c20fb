"""A tick source over a set of CSV or Parquet files: read, convert, check, filter, rebatch."""

from __future__ import annotations

import glob
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
from tradeloop_sdk import DataError, DataStats, copy_ticks

from ._mapping import BadValue, Mapping_, to_ticks
from ._quality import QualityChecker
from ._readers import (
    Batch,
    CsvLayout,
    iter_csv,
    iter_parquet,
    line_of_record,
    locate_csv_error,
)
from ._stream import paced, rebatch

log = logging.getLogger(__name__)

PARQUET_SUFFIXES = (".parquet", ".pq", ".feather", ".arrow", ".ipc")


def expand(path: str) -> list[Path]:
    """Files named by ``path``: one file, or a glob pattern (sorted by name)."""
    if any(ch in path for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(path, recursive=True))
        if not files:
            raise DataError(f"no file matches {path!r}")
        return files
    p = Path(path)
    if not p.is_file():
        raise DataError("no such file", file=path)
    return [p]


class AutoIds(dict[str, int]):
    """A name -> id table that gives each new name the next id (for catalog imports)."""

    def get(self, key: str, default: int | None = None) -> int:  # type: ignore[override]
        """The id of ``key``, assigning one when it is new."""
        return self.setdefault(key, len(self))


class FileSource:
    """Ticks from files in name order; implements the DataProvider protocol.

    Quality checks run over the whole stream (across chunk and file boundaries) before the
    time and symbol filters, so counts do not depend on the window asked for.
    """

    def __init__(
        self,
        name: str,
        files: Sequence[Path],
        mapping: Mapping_,
        *,
        venue_id: int,
        symbol_ids: Mapping[str, int],
        chunk_rows: int = 262_144,
        layout: CsvLayout | None = None,
        policies: Mapping[str, str] | None = None,
        replay_speed: float = 0.0,
    ) -> None:
        self.name = name
        self.files = list(files)
        self.mapping = mapping
        self.venue_id = venue_id
        self.symbol_ids = symbol_ids
        self.chunk_rows = chunk_rows
        self.layout = layout or CsvLayout()
        self.policies = dict(policies or {})
        self.replay_speed = replay_speed
        self._checker = self._new_checker()

    def _new_checker(self) -> QualityChecker:
        return QualityChecker(
            on_out_of_order=self.policies.get("on_out_of_order", "flag"),
            on_crossed=self.policies.get("on_crossed", "flag"),
            on_duplicate=self.policies.get("on_duplicate", "flag"),
            check_seq="seq" in self.mapping.columns,
        )

    def _is_csv(self, path: Path) -> bool:
        return not any(str(path).endswith(s) for s in PARQUET_SUFFIXES)

    def _batches(self, path: Path) -> Iterator[Batch]:
        if self._is_csv(path):
            return iter_csv(path, self.mapping, self.layout)
        return iter_parquet(path, self.mapping, self.chunk_rows)

    def _locator(self, path: Path, records: np.ndarray) -> Callable[[int], tuple[str, int | None]]:
        def locate(row: int) -> tuple[str, int | None]:
            record = int(records[row])
            if self._is_csv(path):
                return str(path), line_of_record(path, self.layout, record)
            return f"{path} row {record + 1}", None

        return locate

    def _bad_value(self, path: Path, exc: BadValue, offset: int) -> DataError:
        if self._is_csv(path):
            return locate_csv_error(path, self.mapping, self.layout, exc.message)
        where = f"row {offset + exc.row + 1}: " if exc.row is not None else ""
        return DataError(where + exc.message, file=str(path), column=exc.column)

    def _checked(self) -> Iterator[np.ndarray]:
        for path in self.files:
            for batch, offset in self._batches(path):
                try:
                    ticks, _ = to_ticks(batch, self.mapping, self.venue_id, self.symbol_ids)
                except BadValue as exc:
                    raise self._bad_value(path, exc, offset) from None
                records = offset + np.arange(len(ticks))
                known = ticks["symbol"] != 0xFFFF
                if not known.all():
                    ticks, records = copy_ticks(ticks, known), records[known]
                yield self._checker.apply(ticks, self._locator(path, records))

    def chunks(
        self,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        symbols: Sequence[str] | None = None,
    ) -> Iterator[np.ndarray]:
        """Ticks in chunks of ``chunk_rows``, optionally limited to a window and symbols."""
        self._checker = self._new_checker()
        wanted = None
        if symbols is not None:
            wanted = np.array([self.symbol_ids[s] for s in symbols if s in self.symbol_ids])

        def filtered() -> Iterator[np.ndarray]:
            for ticks in self._checked():
                keep = np.ones(len(ticks), bool)
                if start_ns is not None:
                    keep &= ticks["ts_recv"] >= start_ns
                if end_ns is not None:
                    keep &= ticks["ts_recv"] < end_ns
                if wanted is not None:
                    keep &= np.isin(ticks["symbol"], wanted)
                yield ticks if keep.all() else copy_ticks(ticks, keep)

        return rebatch(filtered(), self.chunk_rows)

    def stream(self) -> AsyncIterator[np.ndarray]:
        """Replay the files at ``replay_speed`` x recorded time (0: as fast as possible)."""
        return paced(self.chunks(), speed=self.replay_speed)

    def stats(self) -> DataStats:
        """Counts of the current (or last) pass."""
        return self._checker.stats()
