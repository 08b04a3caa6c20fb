"""JSON-lines encoding of the venue protocol: SDK records to plain JSON and back.

Decimals travel as strings (exact), enums by name, floats by their shortest repr (exact for
float64), NaN as ``null`` for tick prices. One message per line, UTF-8.
"""

from __future__ import annotations

import enum
import json
import math
import typing
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import numpy as np
from tradeloop_sdk import (
    TICK_DTYPE,
    Balance,
    Intent,
    OrderStatus,
    Position,
    Report,
    SymbolSpec,
    Universe,
    VenueSpec,
)

T = TypeVar("T")

_TICK_FIELDS = ("ts_exch", "ts_recv", "seq", "bid", "ask", "bid_size", "ask_size",
                "venue", "symbol", "kind", "flags", "side")
_FLOAT_FIELDS = frozenset({"bid", "ask", "bid_size", "ask_size"})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if attrs.has(type(value)):
        return encode(value)
    return value


def encode(obj: Any) -> dict[str, Any]:
    """A JSON-ready dict of an attrs record (Decimals as strings, enums by name)."""
    return {f.name: _plain(getattr(obj, f.name)) for f in attrs.fields(type(obj))}


def _build(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and args:
        return _build(args[0], value)
    if origin is frozenset:
        return frozenset(_build(args[0], v) for v in value)
    if origin is tuple:
        return tuple(_build(args[0], v) for v in value)
    if tp is Decimal:
        return Decimal(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp[value]
    if isinstance(tp, type) and attrs.has(tp):
        return decode(tp, value)
    return value


def decode(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild an attrs record from :func:`encode` output; unknown keys are an error."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in attrs.fields(cls)}  # type: ignore[arg-type]
    extra = set(data) - names
    if extra:
        raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(sorted(extra))}")
    return cls(**{k: _build(hints[k], v) for k, v in data.items()})


def encode_ticks(ticks: np.ndarray, universe: Universe) -> list[dict[str, Any]]:
    """Ticks as JSON objects with venue and symbol names (trade price/size under bid/bid_size)."""
    out = []
    for r in ticks:
        d: dict[str, Any] = {}
        for f in _TICK_FIELDS:
            x = r[f].item()
            if f in _FLOAT_FIELDS:
                d[f] = None if math.isnan(x) else x
            else:
                d[f] = x
        d["venue"] = universe.venues[d["venue"]]
        d["symbol"] = universe.symbols[d["symbol"]]
        out.append(d)
    return out


def decode_ticks(rows: list[dict[str, Any]], universe: Universe) -> np.ndarray:
    """TICK_DTYPE array from :func:`encode_ticks` output, ids taken from ``universe``."""
    out = np.zeros(len(rows), TICK_DTYPE)
    for i, d in enumerate(rows):
        r = out[i]
        for f in _TICK_FIELDS:
            if f == "venue":
                r[f] = universe.venue_id(d[f])
            elif f == "symbol":
                r[f] = universe.symbol_id(d[f])
            elif f in _FLOAT_FIELDS:
                r[f] = np.nan if d[f] is None else d[f]
            else:
                r[f] = d[f]
    return out


def encode_universe(u: Universe) -> dict[str, Any]:
    """Universe as JSON: names plus the symbol specs per venue."""
    return {
        "venues": list(u.venues),
        "symbols": list(u.symbols),
        "currencies": list(u.currencies),
        "specs": [[v, s, encode(spec)] for (v, s), spec in u.specs.items()],
    }


def decode_universe(d: dict[str, Any]) -> Universe:
    """Inverse of :func:`encode_universe`."""
    specs = {(v, s): decode(SymbolSpec, spec) for v, s, spec in d.get("specs", [])}
    return Universe(tuple(d["venues"]), tuple(d["symbols"]), tuple(d["currencies"]), specs)


def dumps(msg: dict[str, Any]) -> bytes:
    """One protocol line."""
    return json.dumps(msg, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def loads(line: bytes) -> dict[str, Any]:
    """Parse one protocol line; a non-object is an error."""
    msg = json.loads(line)
    if not isinstance(msg, dict):
        raise ValueError("protocol message must be a JSON object")
    return msg


RECORDS: dict[str, type] = {
    "Intent": Intent,
    "Report": Report,
    "OrderStatus": OrderStatus,
    "Position": Position,
    "Balance": Balance,
    "VenueSpec": VenueSpec,
}
