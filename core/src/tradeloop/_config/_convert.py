"""Strict cattrs structuring that turns every mistake into a ConfigError with a key path.

cattrs' own primitive hooks are lenient (``int("5")`` succeeds, ``int(5.7)`` truncates);
a config must say exactly what it means, so the primitives here accept only their own
TOML types (an int is also a valid float, and Decimal accepts ints, floats via their
decimal text, and strings).
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, override
from tradeloop_sdk import ConfigError, ParamValueError, Secret
from tradeloop_sdk._errors import show_value
from tradeloop_sdk._secret import is_secret_name, looks_like_reference

from .._secrets import HIDDEN, SECRET_EXPECTED
from ._model import BacktestConfig

_LITERAL: Any = typing.Literal

__all__ = ["Mismatch", "converter", "structure"]

#: TOML key names that differ from attribute names, per class.
RENAMES: dict[type, dict[str, str]] = {BacktestConfig: {"start": "from", "end": "to"}}


class Mismatch(TypeError):
    """A value of the wrong type or form; ``found`` is already rendered (and masked)."""

    def __init__(self, found: str, expected: str, options: tuple[str, ...] = ()) -> None:
        self.found = found
        self.expected = expected
        self.options = options
        super().__init__(f"found {found}, expected {expected}")


def _type_of(v: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        dict: "a table",
        list: "an array",
    }.get(type(v), type(v).__name__)


def _found(v: object) -> str:
    if isinstance(v, dict | list):
        return _type_of(v)
    return f"{show_value(v)} ({_type_of(v)})" if not isinstance(v, str) else show_value(v)


def _int(v: object, _t: object) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise Mismatch(_found(v), "an integer")


def _float(v: object, _t: object) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    raise Mismatch(_found(v), "a number")


def _bool(v: object, _t: object) -> bool:
    if isinstance(v, bool):
        return v
    raise Mismatch(_found(v), "true or false")


def _str(v: object, _t: object) -> str:
    if isinstance(v, str):
        return v
    raise Mismatch(_found(v), "a string")


def _decimal(v: object, _t: object) -> Decimal:
    if isinstance(v, int | float | str) and not isinstance(v, bool):
        try:
            d = Decimal(str(v).replace("_", ""))
        except InvalidOperation:
            raise Mismatch(_found(v), 'a decimal number (e.g. "0.01")') from None
        if d.is_finite():
            return d
    raise Mismatch(_found(v), 'a decimal number (e.g. "0.01")')


def _datetime(v: object, _t: object) -> datetime:
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, date):
        dt = datetime(v.year, v.month, v.day)
    elif isinstance(v, str):
        try:
            dt = datetime.fromisoformat(v)
        except ValueError:
            raise Mismatch(_found(v), "a date or datetime (e.g. 2024-01-31)") from None
    else:
        raise Mismatch(_found(v), "a date or datetime (e.g. 2024-01-31)")
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _secret(v: object, _t: object) -> Secret:
    if isinstance(v, Secret):
        return v
    if looks_like_reference(v):
        return Secret(str(v))
    raise Mismatch(HIDDEN if isinstance(v, str) else _found(v), SECRET_EXPECTED)


def _literal(v: object, t: Any) -> Any:
    choices = typing.get_args(t)
    if v in choices and type(v) in {type(c) for c in choices}:
        return v
    raise Mismatch(
        _found(v),
        "one of " + ", ".join(show_value(c) for c in choices),
        tuple(c for c in choices if isinstance(c, str)),
    )


def make_converter() -> cattrs.Converter:
    """A strict converter: forbid unknown keys, detailed validation, strict primitives."""
    c = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    c.register_structure_hook(int, _int)
    c.register_structure_hook(float, _float)
    c.register_structure_hook(bool, _bool)
    c.register_structure_hook(str, _str)
    c.register_structure_hook(Decimal, _decimal)
    c.register_structure_hook(datetime, _datetime)
    c.register_structure_hook(Secret, _secret)
    c.register_structure_hook_func(lambda t: typing.get_origin(t) is _LITERAL, _literal)
    for cls, renames in RENAMES.items():
        c.register_structure_hook(
            cls,
            make_dict_structure_fn(
                cls,
                c,
                **{a: override(rename=k) for a, k in renames.items()},  # type: ignore[arg-type]
            ),
        )
    return c


converter = make_converter()


def _suggest(word: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _keys_of(cl: type) -> list[str]:
    ren = RENAMES.get(cl, {})
    return [ren.get(f.name, f.name) for f in attrs.fields(cl) if f.init and f.name != "source"]


def _segment(path: str, note: object, cl: type | None) -> str:
    name = getattr(note, "name", None)
    if name is not None:
        name = RENAMES.get(cl, {}).get(name, name) if cl is not None else name
        return f"{path}.{name}" if path else str(name)
    index = getattr(note, "index", None)
    if index is not None:
        return f"{path}[{index}]"
    return path


def _walk(
    exc: BaseException, path: str, cl: type | None
) -> Iterator[tuple[str, BaseException, type | None]]:
    if isinstance(exc, ForbiddenExtraKeysError):
        yield path, exc, exc.cl
        return
    if isinstance(exc, ClassValidationError | IterableValidationError):
        inner_cl = exc.cl if isinstance(exc, ClassValidationError) else cl
        for sub in exc.exceptions:
            sub_path = path
            for note in getattr(sub, "__notes__", ()):
                sub_path = _segment(path, note, inner_cl)
            yield from _walk(sub, sub_path, inner_cl)
        return
    yield path, exc, cl


def _errors_for(path: str, exc: BaseException, raw_at: Any) -> Iterator[ConfigError]:
    if isinstance(exc, ForbiddenExtraKeysError):
        options = _keys_of(exc.cl)
        for extra in sorted(exc.extra_fields):
            yield ConfigError(
                key=f"{path}.{extra}" if path else extra,
                found=f"unknown key {extra!r}",
                expected="one of " + ", ".join(options) if options else "no keys",
                suggestion=_suggest(extra, options),
            )
        return
    if isinstance(exc, ParamValueError):
        key = (
            path
            if path.endswith(f".{exc.name}") or path == exc.name
            else (f"{path}.{exc.name}" if path else exc.name)
        )
        yield ConfigError(key=key, found=exc.found, expected=exc.expected)
        return
    if isinstance(exc, Mismatch):
        found = exc.found
        if is_secret_name(path.rsplit(".", 1)[-1]) and isinstance(raw_at(path), str):
            found = HIDDEN
        value = raw_at(path)
        close = (
            _suggest(value, list(exc.options)) if exc.options and isinstance(value, str) else None
        )
        yield ConfigError(key=path, found=found, expected=exc.expected, suggestion=close)
        return
    if isinstance(exc, KeyError):
        yield ConfigError(key=path, found="nothing", expected="a value (this key is required)")
        return
    yield ConfigError(key=path, found="an invalid value", expected=str(exc) or type(exc).__name__)


def _lookup(raw: Any, rel: str) -> Any:
    cur = raw
    for part in rel.replace("[", ".[").split("."):
        if not part:
            continue
        try:
            cur = cur[int(part[1:-1])] if part.startswith("[") else cur[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return cur


def structure(raw: Mapping[str, Any], cl: type, *, path: str = "") -> tuple[Any, list[ConfigError]]:
    """Structure ``raw`` into ``cl``; returns the object (or None) and every error found.

    ``path`` is the key path of ``raw`` in the file, prefixed to every error's key.
    """
    if not isinstance(raw, Mapping):
        return None, [ConfigError(key=path or "(top)", found=_found(raw), expected="a table")]

    def raw_at(full: str) -> Any:
        return _lookup(raw, full[len(path) :])

    try:
        return converter.structure(dict(raw), cl), []
    except (ClassValidationError, IterableValidationError) as exc:
        return None, [e for p, sub, _c in _walk(exc, path, cl) for e in _errors_for(p, sub, raw_at)]
    except (ParamValueError, Mismatch, ValueError, TypeError) as exc:
        return None, list(_errors_for(path, exc, raw_at))
