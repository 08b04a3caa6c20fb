"""Static read of a plugin's source: its hooks and obvious breakage, without importing it.

``tradeloop plugins list`` must stay cheap and must never run plugin code, so it finds the
entry point's module on ``sys.path`` (``PathFinder``, which does not execute packages),
parses it with ``ast`` and follows re-exports (``from ._x import Cls``) to the class. From
the class body it reads the ``@hookimpl`` methods and their argument names and compares
them with the hook specs (themselves read statically from ``tradeloop_sdk/_hookspecs.py``).
It also checks that the modules the plugin imports at top level exist. What this cannot
see (an exception raised while importing, say) is found by ``plugins list --check`` and
``plugins show``, which do import.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import sys
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "StaticReport",
    "analyze",
    "hook_specs",
    "module_source",
    "parsed_modules",
    "required_hooks",
    "reset",
    "suggest",
]

#: Hooks of which a component of each kind must implement at least one.
REQUIRED: dict[str, frozenset[str]] = {
    "brokers": frozenset({"tradeloop_broker", "tradeloop_hot_path"}),
    "data": frozenset({"tradeloop_data_provider"}),
    "strategies": frozenset({"tradeloop_hot_path", "tradeloop_python_strategy"}),
    "stages": frozenset({"tradeloop_hot_path"}),
    "guards": frozenset({"tradeloop_hot_path"}),
    "rails": frozenset({"tradeloop_funding_rail"}),
    "plugins": frozenset(),
}


def required_hooks(kind: str) -> frozenset[str]:
    """Hooks of which a ``kind`` component must implement at least one."""
    return REQUIRED.get(kind, frozenset())


class StaticReport(NamedTuple):
    """What the source says: hooks implemented, and the first problem found (or "")."""

    hooks: tuple[str, ...] = ()
    problem: str = ""
    analyzed: bool = True


def suggest(word: str, options: list[str] | set[str] | frozenset[str]) -> str | None:
    """The closest option to ``word``, if any is close."""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return close[0] if close else None


@functools.cache
def _find_spec(modname: str) -> ModuleSpec | None:
    parts = modname.split(".")
    spec = PathFinder.find_spec(parts[0], sys.path)
    for i in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            return None
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), list(spec.submodule_search_locations))
    return spec


def module_source(modname: str) -> Path | None:
    """The ``.py`` file of ``modname`` found on ``sys.path`` without importing anything."""
    spec = _find_spec(modname)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


@functools.cache
def _top_level_exists(name: str) -> bool:
    if name in sys.builtin_module_names or name in sys.stdlib_module_names or name in sys.modules:
        return True
    return PathFinder.find_spec(name, sys.path) is not None


@functools.cache
def hook_specs() -> dict[str, tuple[str, ...]]:
    """Hook names -> argument names, read from the SDK's hookspec module source."""
    path = module_source("tradeloop_sdk._hookspecs")
    if path is None:  # pragma: no cover - the SDK is a dependency of core
        return {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name.startswith("tradeloop_"):
                    out[fn.name] = tuple(a.arg for a in fn.args.args[1:])
    return out


def _resolve_relative(modname: str, is_pkg: bool, level: int, target: str | None) -> str:
    base = modname.split(".")
    if not is_pkg:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _is_hookimpl(dec: ast.expr) -> bool:
    node = dec.func if isinstance(dec, ast.Call) else dec
    return (isinstance(node, ast.Name) and node.id == "hookimpl") or (
        isinstance(node, ast.Attribute) and node.attr == "hookimpl"
    )


def _guarded(node: ast.stmt) -> bool:
    """Imports inside try/except or ``if TYPE_CHECKING`` are optional by intent."""
    return isinstance(node, ast.Try | ast.If)


class _Module:
    def __init__(self, modname: str, path: Path) -> None:
        self.name = modname
        self.path = path
        self.is_pkg = path.name == "__init__.py"
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self._missing: str | None = None
        #: top-level names this module imports unconditionally (re-checked on cache reuse)
        self.imports: set[str] = set()

    def missing_import(self) -> str:
        if self._missing is None:
            self._missing = self._scan_imports()
        return self._missing

    def _scan_imports(self) -> str:
        for node in self.tree.body:
            if _guarded(node):
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    self.imports.add(top)
                    if not _top_level_exists(top):
                        return f"imports {alias.name!r}, which is not installed"
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    target = _resolve_relative(self.name, self.is_pkg, node.level, node.module)
                    if _find_spec(target) is None:
                        return f"imports {target!r}, which does not exist"
                elif node.module:
                    self.imports.add(node.module.split(".")[0])
                    if not _top_level_exists(node.module.split(".")[0]):
                        return f"imports {node.module!r}, which is not installed"
        return ""

    def find(self, attr: str) -> tuple[_Module, ast.AST] | str:
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == attr:
                return self, node
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == attr for t in node.targets
            ):
                return self, node
        star: list[str] = []
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                return ""  # a lazy module: only importing it can tell
            if isinstance(node, ast.ImportFrom):
                src = (
                    _resolve_relative(self.name, self.is_pkg, node.level, node.module)
                    if node.level
                    else str(node.module)
                )
                for alias in node.names:
                    if alias.name == "*":
                        star.append(src)
                    if (alias.asname or alias.name) == attr:
                        return _load(src, alias.name)
        for src in star:
            found = _load(src, attr)
            if isinstance(found, tuple):
                return found
        return f"module {self.name!r} has no attribute {attr!r}"


_parsed: dict[str, _Module | None] = {}


def _module(modname: str) -> _Module | None:
    """Parse (once per process) the source of ``modname``; None if not found."""
    if modname not in _parsed:
        path = module_source(modname)
        _parsed[modname] = _Module(modname, path) if path is not None else None
    return _parsed[modname]


def _load(modname: str, attr: str) -> tuple[_Module, ast.AST] | str:
    mod = _module(modname)
    if mod is None:
        return ""
    problem = mod.missing_import()
    if problem:
        return problem
    return mod.find(attr)


def _class_hooks(mod: _Module, cls: ast.ClassDef, seen: int = 0) -> dict[str, list[str]]:
    hooks: dict[str, list[str]] = {}
    # bases defined in the same module contribute their hooks
    for base in cls.bases:
        if isinstance(base, ast.Name) and seen < 5:
            found = mod.find(base.id)
            if isinstance(found, tuple) and isinstance(found[1], ast.ClassDef):
                hooks.update(_class_hooks(found[0], found[1], seen + 1))
    for fn in cls.body:
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            _is_hookimpl(d) for d in fn.decorator_list
        ):
            args = [a.arg for a in fn.args.args]
            if args and args[0] in ("self", "cls"):
                args = args[1:]
            hooks[fn.name] = args
    return hooks


def check_hooks(hooks: dict[str, list[str]], kind: str) -> str:
    """The first mismatch between implemented hooks and the specs, as text with the fix."""
    specs = hook_specs()
    if not specs:
        return ""
    for name, args in hooks.items():
        if name not in specs:
            close = suggest(name, set(specs))
            hint = f" (did you mean {close!r}?)" if close else ""
            return f"hook {name!r} is not a tradeloop hook{hint}"
        for arg in args:
            if arg not in specs[name]:
                close = suggest(arg, set(specs[name]))
                hint = f" (did you mean {close!r}?)" if close else ""
                return (
                    f"hook {name!r} takes argument {arg!r}, which the spec does not provide{hint}; "
                    f"the spec's arguments are: {', '.join(specs[name]) or 'none'}"
                )
    need = required_hooks(kind)
    if need and not need & set(hooks):
        return f"implements none of the {kind} hooks ({', '.join(sorted(need))})"
    return ""


def analyze(value: str, kind: str) -> StaticReport:
    """Read the entry point ``module:attr`` statically."""
    modname, _, attr = value.partition(":")
    modname = modname.strip()
    attr = attr.split("[")[0].strip()
    try:
        mod = _module(modname)
        if mod is None:
            if _find_spec(modname.split(".")[0]) is None:
                return StaticReport(problem=f"module {modname!r} is not installed")
            return StaticReport(analyzed=False)
        problem = mod.missing_import()
        if problem:
            return StaticReport(problem=problem)
        if not attr:
            return StaticReport()
        found = mod.find(attr.split(".")[0])
    except SyntaxError as exc:
        return StaticReport(
            problem=f"syntax error in {Path(exc.filename or '?').name} line {exc.lineno}"
        )
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return StaticReport(analyzed=False)
    if isinstance(found, str):
        return StaticReport(problem=found, analyzed=bool(found))
    owner, node = found
    if not isinstance(node, ast.ClassDef):
        return StaticReport(analyzed=False)
    hooks = _class_hooks(owner, node)
    return StaticReport(hooks=tuple(hooks), problem=check_hooks(hooks, kind))


def parsed_modules() -> list[_Module]:
    """Modules parsed so far in this process (the catalog's disk cache records their files)."""
    return [m for m in _parsed.values() if m is not None]


def reset() -> None:
    """Forget parsed sources and path lookups (each listing starts from the disk as it is)."""
    _parsed.clear()
    importlib.invalidate_caches()
    _find_spec.cache_clear()
    _top_level_exists.cache_clear()
