"""Declaring a component's parameters: ``param()`` fields on a frozen attrs ``Params`` class.

::

    @attrs.frozen
    class Params:
        fast: int = param(12, ge=1, doc="fast EMA span, in ticks")
        venue: str = param("sim", doc="venue to trade on")
        api_key: Secret | None = param(None, secret=True, doc="exchange API key")

The metadata keys (``ge``, ``le``, ``gt``, ``lt``, ``choices``, ``doc``, ``secret``) are
plain attrs field metadata, so a field declared with ``attrs.field(metadata=...)`` using
the same keys is described the same way.
"""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ._secret import Secret

__all__ = ["ParamInfo", "ParamValueError", "describe_params", "param", "params_class"]

_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))


class ParamValueError(ValueError):
    """A parameter value is outside its bounds or choices; the config layer adds where."""

    def __init__(self, name: str, found: str, expected: str) -> None:
        self.name = name
        self.found = found
        self.expected = expected
        super().__init__(f"{name}: found {found}, expected {expected}")


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def expectation(meta: typing.Mapping[str, Any]) -> str:
    """Human text of a field's bounds and choices, e.g. ``>= 1 and < 100``."""
    parts = [f"{sym} {meta[key]}" for key, sym in _BOUNDS if meta.get(key) is not None]
    if meta.get("choices") is not None:
        parts.append("one of " + ", ".join(_show(c) for c in meta["choices"]))
    return " and ".join(parts)


def _validate(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    meta = attribute.metadata
    if value is None:
        return
    if meta.get("secret"):
        if not isinstance(value, Secret):
            raise ParamValueError(
                attribute.name,
                "an inline value (hidden)",
                "a secret reference 'env:NAME' or 'keyring:service/user'",
            )
        return
    ok = True
    if meta.get("choices") is not None and value not in meta["choices"]:
        ok = False
    for key, sym in _BOUNDS:
        bound = meta.get(key)
        if bound is None:
            continue
        try:
            if (
                (sym == ">=" and not value >= bound)
                or (sym == ">" and not value > bound)
                or (sym == "<=" and not value <= bound)
                or (sym == "<" and not value < bound)
            ):
                ok = False
        except TypeError:
            ok = False
    if not ok:
        raise ParamValueError(attribute.name, _show(value), expectation(meta))


def param(
    default: Any = attrs.NOTHING,
    *,
    ge: Any = None,
    le: Any = None,
    gt: Any = None,
    lt: Any = None,
    choices: Iterable[Any] | None = None,
    doc: str = "",
    secret: bool = False,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """An attrs field carrying bounds, choices, a doc string and a secret flag, validated on init.

    Omit ``default`` (and ``factory``) for a required parameter. ``secret=True`` means the
    value must be a :class:`Secret` reference; config refuses inline values for it.
    Fields are keyword-only, so required and optional parameters may come in any order.
    """
    meta = {
        "ge": ge,
        "le": le,
        "gt": gt,
        "lt": lt,
        "choices": tuple(choices) if choices is not None else None,
        "doc": doc,
        "secret": secret,
    }
    if factory is not None:
        return attrs.field(factory=factory, validator=_validate, metadata=meta, kw_only=True)
    return attrs.field(default=default, validator=_validate, metadata=meta, kw_only=True)


@attrs.frozen
class ParamInfo:
    """One parameter of a component, as shown by ``plugins show`` and used by config checks."""

    name: str
    type: str
    default: Any
    required: bool
    ge: Any = None
    le: Any = None
    gt: Any = None
    lt: Any = None
    choices: tuple[Any, ...] | None = None
    doc: str = ""
    secret: bool = False

    @property
    def bounds(self) -> str:
        """Bounds and choices as text (empty when unconstrained)."""
        return expectation(
            {"ge": self.ge, "le": self.le, "gt": self.gt, "lt": self.lt, "choices": self.choices}
        )


def type_name(tp: Any) -> str:
    """A short readable name for a type annotation (``int``, ``tuple[str, ...]``, ``Secret | None``)."""
    if tp is None or tp is type(None):
        return "None"
    if isinstance(tp, str):
        return tp
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(_show(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return getattr(tp, "__name__", str(tp))


def params_class(component: Any) -> type | None:
    """The ``Params`` attrs class of a component class (or instance), or None if it has none."""
    cls = getattr(component, "Params", None)
    return cls if isinstance(cls, type) and attrs.has(cls) else None


def describe_params(cls: type) -> list[ParamInfo]:
    """Describe the fields of an attrs ``Params`` class (or of a component's ``Params``)."""
    pcls = cls if attrs.has(cls) else params_class(cls)
    if pcls is None:
        return []
    # Unresolvable annotations are shown as written.
    with contextlib.suppress(Exception):
        attrs.resolve_types(pcls)
    out = []
    for f in attrs.fields(pcls):
        meta = f.metadata
        if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            default: Any = f.default.factory() if not f.default.takes_self else None
        else:
            default = None if f.default is attrs.NOTHING else f.default
        out.append(
            ParamInfo(
                name=f.name,
                type=type_name(f.type),
                default=default,
                required=f.default is attrs.NOTHING,
                ge=meta.get("ge"),
                le=meta.get("le"),
                gt=meta.get("gt"),
                lt=meta.get("lt"),
                choices=tuple(meta["choices"]) if meta.get("choices") is not None else None,
                doc=meta.get("doc", ""),
                secret=bool(meta.get("secret", False)),
            )
        )
    return out
