"""Column mapping: turn Arrow record batches of a source's columns into TICK arrays.

A mapping names, for each tick field, the source column that holds it. Conversion is
vectorised with pyarrow.compute and numpy; no Python code runs per row. A value that
cannot be converted raises :class:`BadValue` with the column and the row within the batch,
which the readers turn into a DataError naming the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tradeloop_sdk import TICK_DTYPE, Side, TickKind

KINDS = {"quote": TickKind.QUOTE, "trade": TickKind.TRADE, "bar": TickKind.BAR}
TS_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
TS_CHOICES = (*TS_UNITS, "iso")
PRICE_FIELDS = ("bid", "ask", "bid_size", "ask_size", "price", "size")
FIELDS = ("ts_exch", "ts_recv", "seq", *PRICE_FIELDS, "side", "buyer_maker", "symbol")
#: Fields a tick of each kind cannot do without (besides a timestamp).
REQUIRED = {
    TickKind.QUOTE: ("bid", "ask"),
    TickKind.TRADE: ("price",),
    TickKind.BAR: ("price",),
}
_BUY = ["buy", "b", "bid", "1"]
_SELL = ["sell", "s", "ask", "a", "2"]
_TRUE = ["true", "t", "1", "yes", "y"]


class BadValue(Exception):
    """A value in ``column`` at ``row`` (index within the batch) could not be converted."""

    def __init__(self, column: str, row: int | None, message: str) -> None:
        self.column = column
        self.row = row
        self.message = message
        super().__init__(f"column {column!r} row {row}: {message}")


@attrs.frozen
class Mapping_:
    """How the columns of a source become tick fields.

    ``columns`` maps a tick field (``ts_exch``, ``ts_recv``, ``seq``, ``bid``, ``ask``,
    ``bid_size``, ``ask_size``, ``price``, ``size``, ``side``, ``buyer_maker``, ``symbol``)
    to a source column name. ``ts_recv`` defaults to ``ts_exch`` and the other way round.
    """

    kind: TickKind
    venue: str
    symbol: str | None
    columns: Mapping[str, str]
    ts_unit: str = "ns"
    ts_format: str | None = None

    def __attrs_post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(FIELDS))
        if unknown:
            raise ValueError(
                f"columns: unknown tick field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}"
            )
        if "ts_exch" not in self.columns and "ts_recv" not in self.columns:
            raise ValueError("columns: map at least one of ts_exch or ts_recv to a column")
        missing = [f for f in REQUIRED[self.kind] if f not in self.columns]
        # bars and trades may name their price column as bid (the storage alias)
        if self.kind != TickKind.QUOTE and "bid" in self.columns:
            missing = []
        if missing:
            raise ValueError(
                f"columns: a {self.kind.name.lower()} needs {', '.join(missing)} mapped to a column"
            )
        if self.symbol is None and "symbol" not in self.columns:
            raise ValueError("give a symbol, or map the symbol field to a column")
        if self.ts_unit not in TS_CHOICES:
            raise ValueError(f"ts_unit: found {self.ts_unit!r}, expected one of {', '.join(TS_CHOICES)}")

    def source_columns(self) -> list[str]:
        """The distinct source columns this mapping reads."""
        return list(dict.fromkeys(self.columns.values()))

    def arrow_type(self, field: str) -> pa.DataType:
        """The Arrow type a CSV reader should give the column of ``field``."""
        if field in ("ts_exch", "ts_recv"):
            if self.ts_format or self.ts_unit == "iso":
                return pa.string()
            return pa.float64() if self.ts_unit == "s" else pa.int64()
        if field == "seq":
            return pa.int64()
        if field in PRICE_FIELDS:
            return pa.float64()
        return pa.string()


def _first_null(arr: pa.Array) -> int | None:
    if arr.null_count == 0:
        return None
    return int(np.argmax(np.asarray(arr.is_null())))


def _timestamps(arr: pa.Array, m: Mapping_, column: str) -> np.ndarray:
    row = _first_null(arr)
    if row is not None:
        raise BadValue(column, row, "missing timestamp")
    t = arr.type
    if pa.types.is_timestamp(t):
        return np.asarray(arr.cast(pa.timestamp("ns", t.tz)).cast(pa.int64()))
    if pa.types.is_date(t):
        return np.asarray(arr.cast(pa.timestamp("ns")).cast(pa.int64()))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if m.ts_format:
            parsed = pc.strptime(arr, format=m.ts_format, unit="ns", error_is_null=True)
            row = _first_null(parsed)
            if row is not None:
                raise BadValue(column, row, f"timestamp does not match format {m.ts_format!r}")
            return np.asarray(parsed.cast(pa.int64()))
        for target in (pa.timestamp("ns"), pa.timestamp("ns", "UTC")):
            try:
                return np.asarray(arr.cast(target).cast(pa.int64()))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        raise BadValue(column, None, "not an ISO 8601 timestamp")
    factor = TS_UNITS["ns" if m.ts_unit == "iso" else m.ts_unit]
    if pa.types.is_floating(t):
        return np.round(np.asarray(arr, dtype=np.float64) * factor).astype(np.int64)
    if pa.types.is_integer(t):
        return np.asarray(arr, dtype=np.int64) * factor
    raise BadValue(column, None, f"cannot read a timestamp from type {t}")


def _floats(arr: pa.Array, column: str) -> np.ndarray:
    row = _first_null(arr)
    if row is not None:
        raise BadValue(column, row, "missing number")
    try:
        return np.asarray(arr.cast(pa.float64()), dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise BadValue(column, None, f"not a number ({exc})") from None


def _lower(arr: pa.Array) -> pa.Array:
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    return pc.utf8_lower(pc.utf8_trim_whitespace(arr))


def _sides(arr: pa.Array, buyer_maker: bool) -> np.ndarray:
    low = _lower(arr)
    out = np.zeros(len(arr), np.uint8)
    if buyer_maker:
        # the buyer resting means the seller took liquidity
        maker = np.asarray(pc.fill_null(pc.is_in(low, pa.array(_TRUE)), False))
        out[maker] = Side.SELL
        out[~maker] = Side.BUY
        return out
    out[np.asarray(pc.fill_null(pc.is_in(low, pa.array(_BUY)), False))] = Side.BUY
    out[np.asarray(pc.fill_null(pc.is_in(low, pa.array(_SELL)), False))] = Side.SELL
    return out


def to_ticks(
    batch: pa.RecordBatch | pa.Table,
    m: Mapping_,
    venue_id: int,
    symbol_ids: Mapping[str, int],
) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert ``batch`` to a TICK array.

    Returns ``(ticks, names)`` where ``names`` is the per-row symbol name array when the
    symbol comes from a column (rows whose symbol is not in ``symbol_ids`` get id 0xFFFF so
    the caller can filter them), else None.
    """
    n = batch.num_rows
    out = np.zeros(n, TICK_DTYPE)
    col = {f: batch.column(c) for f, c in m.columns.items()}
    if isinstance(batch, pa.Table):
        col = {f: a.combine_chunks() for f, a in col.items()}
    ts_e = _timestamps(col["ts_exch"], m, m.columns["ts_exch"]) if "ts_exch" in col else None
    ts_r = _timestamps(col["ts_recv"], m, m.columns["ts_recv"]) if "ts_recv" in col else None
    out["ts_exch"] = ts_e if ts_e is not None else ts_r
    out["ts_recv"] = ts_r if ts_r is not None else ts_e
    if "seq" in col:
        seq = col["seq"]
        row = _first_null(seq)
        if row is not None:
            raise BadValue(m.columns["seq"], row, "missing sequence number")
        try:
            out["seq"] = np.asarray(seq.cast(pa.int64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise BadValue(m.columns["seq"], None, "not an integer") from None
    out["kind"] = m.kind
    out["venue"] = venue_id
    if m.kind == TickKind.QUOTE:
        for f in ("bid", "ask"):
            out[f] = _floats(col[f], m.columns[f])
        for f in ("bid_size", "ask_size"):
            if f in col:
                out[f] = _floats(col[f], m.columns[f])
    else:
        price = "price" if "price" in col else "bid"
        out["price"] = _floats(col[price], m.columns[price])
        size = "size" if "size" in col else ("bid_size" if "bid_size" in col else None)
        if size:
            out["size"] = _floats(col[size], m.columns[size])
        out["ask"] = np.nan
    if "side" in col:
        out["side"] = _sides(col["side"], False)
    elif "buyer_maker" in col:
        out["side"] = _sides(col["buyer_maker"], True)
    names = None
    if "symbol" in col:
        arr = col["symbol"]
        names = np.asarray(arr.cast(pa.string()).fill_null(""), dtype=object)
        uniq, inv = np.unique(names, return_inverse=True)
        ids = np.array([symbol_ids.get(str(u), 0xFFFF) for u in uniq], dtype=np.uint16)
        out["symbol"] = ids[inv]
    else:
        out["symbol"] = symbol_ids.get(str(m.symbol), 0xFFFF)
    return out, names
