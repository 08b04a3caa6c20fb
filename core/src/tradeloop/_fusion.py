"""Fusion: generate one compiled loop from the selected hot-path components, cached on disk.

The generator writes Python source into ``<cache_dir>/fused_<key>.py`` and imports it. Its
functions are ``numba.njit(cache=True)``, so numba keeps the machine code beside that file
and a second start with the same components loads it instead of compiling. The key (and the
file name) is a hash of: the component kinds and function identities (module:qualname), the
sha256 of each component's source file, the kernel and SDK versions and the sha256 of the
kernel's own compiled modules, and the numba version. numba's cache does not notice when a
*callee* in another file changes; putting those hashes in the key does: an edited component
gives a new file, hence a fresh compile. An unchanged file is never rewritten (numba's cache
index is keyed on the file's timestamp).

The component functions are injected into the generated module's globals before it runs
(and are listed, with their source hashes, in the file's header), so kernels defined in any
importable or test module work. Python-mode components (``HotPath(python_mode=True)``) are
called through ``numba.objmode``; a loop containing one is compiled without the disk cache
(its callables are Python objects of this process), see :mod:`tradeloop._pymode`. So is a
loop whose sources changed after this process started: it runs the code it imported, which
the key (hashed from the files) would not name.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numba
import numpy as np
import tradeloop_sdk
from numba.core.registry import CPUDispatcher
from tradeloop_sdk import TAINTED, ComponentKind, HotPath, TickKind

from . import __version__ as KERNEL_VERSION
from ._kstate import KC_LAST_KILL, KC_STEP, KC_STEP_ALLOW, KC_STEP_TAKEN

log = logging.getLogger(__name__)

_KERNEL_MODULES = ("_atomics", "_borrow", "_distinct", "_kernel", "_kstate", "_ledger", "_orders", "_rings", "_fusion")
_LOADED: dict[str, ModuleType] = {}

ROLES = ("on_tick", "check", "on_intent", "on_report")

#: Decorator of the functions only the loop calls: no Python or C entry point to build
#: (a wrapper unboxing some fifty arrays costs seconds of compile and is never used).
INNER = "@numba.njit(cache=CACHE, nogil=NOGIL, no_cpython_wrapper=True, no_cfunc_wrapper=True)"


def default_cache_dir() -> Path:
    """``$TRADELOOP_CACHE_DIR`` or ``$XDG_CACHE_HOME/tradeloop/fused`` (``~/.cache`` default)."""
    env = os.environ.get("TRADELOOP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tradeloop" / "fused"


#: A source file modified after this moment may hold other code than this process runs (it
#: imported the file before the edit). A key hashed from such a file would name the edited
#: code while the compiled loop holds the old one, so such loops are never written to the
#: shared disk cache (see fuse). ``_EDITED`` collects such files while one key is hashed.
_STARTED = time.time()
_EDITED: set[str] = set()


#: path -> (mtime_ns, size, sha256, when hashed): every fuse checks every source file, and
#: re-hashing them all took ~20 ms, a tenth of a sweep point's fixed cost. A file is read
#: again when its mtime or size changed, or when it was modified within ``_RACY_NS`` of
#: its hashing: a second edit that soon can keep the mtime (timestamps are coarser than ns).
_SHA_MEMO: dict[str, tuple[int, int, str, int]] = {}
_RACY_NS = 100_000_000


def _file_sha(path: str | None) -> str:
    if not path:
        return "nofile"
    try:
        st = os.stat(path)
        if st.st_mtime > _STARTED:
            _EDITED.add(path)
        memo = _SHA_MEMO.get(path)
        if (memo is not None and memo[0] == st.st_mtime_ns and memo[1] == st.st_size
                and st.st_mtime_ns < memo[3] - _RACY_NS):
            return memo[2]
        hashed_at = time.time_ns()
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"
    _SHA_MEMO[path] = (st.st_mtime_ns, st.st_size, sha, hashed_at)
    return sha


@functools.lru_cache(maxsize=64)
def _tree_sha(root: str) -> str:
    """sha256 over every .py file under ``root`` (names and contents, sorted)."""
    files = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x != "__pycache__"]  # numba's cache files: thousands
        files += [os.path.relpath(os.path.join(d, n), root) for n in names if n.endswith(".py")]
    files.sort()
    h = hashlib.sha256()
    for rel in files:
        h.update(rel.encode())
        h.update(_file_sha(os.path.join(root, rel)).encode())
    return h.hexdigest()


def _kernel_fingerprint() -> str:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for m in _KERNEL_MODULES:
        h.update(_file_sha(str(here / f"{m}.py")).encode())
    # the whole SDK: components inline SDK helpers (submit, indicators...) into the loop
    h.update(_tree_sha(str(Path(tradeloop_sdk.__file__).parent)).encode())
    h.update(f"{KERNEL_VERSION}|{tradeloop_sdk.__version__}|{numba.__version__}".encode())
    return h.hexdigest()


def identity(fn: Callable[..., Any]) -> tuple[str, str]:
    """(``module:qualname``, source hash) of a kernel function.

    The hash covers the defining file and, when the module belongs to a package, every
    ``.py`` file of its top-level package: a kernel's compiled callees (helpers in sibling
    modules) are inlined into the cached loop, so editing any of them must invalidate it.
    """
    py = getattr(fn, "py_func", fn)
    mod = getattr(py, "__module__", None) or "?"
    qual = getattr(py, "__qualname__", None) or repr(py)
    try:
        src = inspect.getsourcefile(py)
    except TypeError:
        src = None
    sha = _file_sha(src)
    top = sys.modules.get(mod.split(".")[0])
    paths = list(getattr(top, "__path__", None) or ()) if top is not None and "." in mod else []
    if paths:
        sha = hashlib.sha256((sha + "".join(_tree_sha(p) for p in paths)).encode()).hexdigest()
    return f"{mod}:{qual}", sha


def bakeable(c: HotPath) -> bool:
    """Whether ``c``'s params can be compiled into a loop: a compiled kernel's params array
    of the type a constant copy passed ``as_argument`` has (C-contiguous, aligned,
    writable), so that every kernel it reaches keeps the signature it has anyway."""
    p = c.params
    return (not c.python_mode and isinstance(p, np.ndarray) and p.flags.c_contiguous
            and p.flags.aligned and p.flags.writeable)


def _params_sha(params: np.ndarray) -> str:
    h = hashlib.sha256(str(params.dtype.descr).encode())
    h.update(str(params.shape).encode())
    h.update(np.ascontiguousarray(params).tobytes())
    return h.hexdigest()


def validate(components: Sequence[HotPath], *, live: bool) -> None:
    """Raise ValueError/TypeError naming the component that does not fit the contract."""
    venues = [i for i, c in enumerate(components) if c.kind == ComponentKind.VENUE]
    if len(venues) > 1:
        raise ValueError(f"at most one VENUE component, got {len(venues)} (indices {venues})")
    if live and venues:
        raise ValueError("live mode takes no VENUE component: intents go to the intent ring")
    for i, c in enumerate(components):
        label = f"component {i} ({c.name or ComponentKind(c.kind).name})"
        if not isinstance(c, HotPath):
            raise TypeError(f"{label}: expected a HotPath, got {type(c).__name__}")
        need = {
            ComponentKind.GATE: ("on_tick",),
            ComponentKind.GUARD: ("check",),
            ComponentKind.VENUE: ("on_intent",),
        }.get(ComponentKind(c.kind), ())
        for role in need:
            if getattr(c, role) is None:
                raise ValueError(f"{label}: a {ComponentKind(c.kind).name} needs {role}")
        for role in ROLES:
            fn = getattr(c, role)
            if fn is None:
                continue
            if not c.python_mode and not isinstance(fn, CPUDispatcher):
                raise TypeError(
                    f"{label}: {role} must be a module-level numba.njit function "
                    f"(or set python_mode=True), got {fn!r}"
                )
            if c.python_mode and not callable(fn):
                raise TypeError(f"{label}: {role} is not callable: {fn!r}")


class _Gen:
    """Source builder for one component list."""

    def __init__(self, components: Sequence[HotPath], baked: Collection[int] = ()) -> None:
        self.c = list(components)
        self.baked = frozenset(k for k in baked if bakeable(self.c[k]))
        self.A = "".join(f", p{k}, s{k}" for k in range(len(self.c)))
        self.pymode = any(c.python_mode for c in self.c)
        if self.pymode:
            # the Python bridge must receive managed arrays: pass the originals down
            self.CA = "ctx, ks" + self.A
            self.CA_LIVE = "ctx, ks, intent_ring, stop" + self.A
        else:
            # borrowed views all the way down: no reference counting on the hot path
            BA = "".join(f", bp{k}, bs{k}" for k in range(len(self.c)))
            self.CA = "bctx, bks" + BA
            self.CA_LIVE = "bctx, bks, intent_ring, stop" + BA
        self.inject: dict[str, Any] = {}
        self.originals: dict[str, Any] = {}
        for k, comp in enumerate(self.c):
            for role in ROLES:
                fn = getattr(comp, role)
                if fn is None:
                    continue
                self.originals[f"c{k}_{role}"] = fn
                if role == "on_tick" and not comp.python_mode:
                    # Per-tick calls are inlined at numba-IR level: an out-of-line call passes
                    # the Context's dozen arrays with an incref/decref each (~100 ns a call);
                    # inlined, numba prunes those reference-count pairs.
                    fn = numba.njit(inline="always", nogil=True)(fn.py_func)
                self.inject[f"c{k}_{role}"] = fn
        for k in self.baked:
            # A global array is a constant to numba: its values are compiled into the code,
            # so loads of them fold away and branches on them are decided at compile time.
            # Calls pass it through as_argument, under the argument's numba type: the
            # read-only type numba gives a global would compile every out-of-line callee a
            # second time (~70 s more on a first backtest). Kernels never write params.
            self.inject[f"P{k}"] = np.array(self.c[k].params, copy=True)
        self.venue = next(
            (k for k, c in enumerate(self.c) if c.kind == ComponentKind.VENUE), None
        )

    def call(self, k: int, role: str, arg: str, ret: str | None, ind: str) -> list[str]:
        if not self.c[k].python_mode:
            expr = f"c{k}_{role}({self.params(k)}, bs{k}, bctx, {arg})"
            return [f"{ind}{ret} = {expr}" if ret else f"{ind}{expr}"]
        # the Python side gets the managed (reference-counted) originals, never borrowed views
        expr = f"c{k}_{role}(p{k}, s{k}, ctx, {arg})"
        if ret is None:
            return [f"{ind}with objmode():", f"{ind}    {expr}"]
        return [f"{ind}with objmode({ret}='int64'):", f"{ind}    {ret} = int({expr})"]

    def params(self, k: int) -> str:
        """The name component ``k``'s params go by in compiled calls."""
        return f"as_argument(P{k})" if k in self.baked else f"bp{k}"

    def of_kind(self, *kinds: ComponentKind) -> list[int]:
        return [k for k, c in enumerate(self.c) if c.kind in kinds]

    def prologue(self) -> list[str]:
        """Borrowed views of every argument (see tradeloop._borrow) for compiled callees."""
        L = ["    bctx = borrow(ctx)", "    bks = borrow(ks)"]
        for k in range(len(self.c)):
            L += [f"    bp{k} = borrow(p{k})", f"    bs{k} = borrow(s{k})"]
        return L

    def inner_prologue(self) -> list[str]:
        """Borrowed views for a function called only by the loop: it borrows only when the
        loop hands it the managed originals (Python mode), else its arguments already are."""
        return self.prologue() if self.pymode else []

    def reports_fn(self) -> list[str]:
        L = [INNER, f"def _reports({self.CA}):"]
        L += self.inner_prologue()
        L += ["    counts = bctx.counts", "    j = 0", "    while j < counts[1]:"]
        L += ["        apply_report(bctx, bks, j)"]
        for k, c in enumerate(self.c):
            if c.on_report is not None:
                L += self.call(k, "on_report", "j", None, "        ")
        L += ["        j += 1", "    counts[1] = 0", ""]
        return L

    def dispatch_fn(self, live: bool) -> list[str]:
        name = "_dispatch_live" if live else "_dispatch"
        L = [INNER, f"def {name}({self.CA_LIVE if live else self.CA}):"]
        L += self.inner_prologue()
        L += [
            "    counts = bctx.counts",
            "    i = 0",
            "    while True:",
            "        check_kill(bctx, bks)",
            "        if counts[1] > 0:",
            f"            _reports({self.CA})",
            "        if i >= counts[0]:",
            "            break",
            "        while i < counts[0]:",
            "            r = admit(bctx, bks, i)",
        ]
        guards = self.of_kind(ComponentKind.GUARD)
        if guards:
            L += ["            if r == 0 and bctx.intents[i]['action'] != 2:"]
            for g, k in enumerate(guards):
                L += [
                    "                if r == 0:",
                    "                    q0 = bctx.intents[i]['qty']",
                ]
                L += self.call(k, "check", "i", "r", "                    ")
                L += [f"                    r = guard_verdict(bctx, i, r, {g}, {k}, q0)"]
        L += ["            if r == 0:", "                r = accept(bctx, bks, i)", "            if r == 0:"]
        if live:
            L += ["                push_intent(bctx, bks, i, intent_ring, stop)"]
        elif self.venue is not None:
            L += self.call(self.venue, "on_intent", "i", None, "                ")
        else:
            L += ["                pass"]
        L += [
            "            else:",
            "                refuse(bctx, i, r)",
            "            log_intent(bctx, bks, i)",
            "            i += 1",
            "    counts[0] = 0",
            "",
        ]
        return L

    def tick_body(self, src: str, live: bool, ind: str) -> list[str]:
        L = [f"tick = {src}[k]"]
        clock = ["now = tick['ts_recv']", "if now == 0:", "    now = tick['ts_exch']",
                 "control[0]['now_ns'] = now"]
        # live, the clock is the wall's, unless stepping (replay): then it is the ticks', as
        # in a backtest, so guards and taints that read it act as they would there
        L += ["if stepping:", *["    " + x for x in clock]] if live else clock
        L += ["v = tick['venue']", "s = tick['symbol']"]
        if live:
            L += ["if v >= nv or s >= ns:", "    bad += 1", "    continue"]
        else:
            L += ["if v >= nv or s >= ns:", "    bad = k", "    break"]
        L += ["flags = int(tick['flags'])"]
        gates = self.of_kind(ComponentKind.GATE)
        for k in gates:
            L += self.call(k, "on_tick", "tick", "gf", "")
            L += ["if gf != 0:", "    flags |= gf"]
            p = self.c[k].params
            names = getattr(getattr(p, "dtype", None), "names", None) or ()
            if "taint_ns" in names:
                L += [
                    f"    if gf & {TAINTED}:",
                    f"        tu = now + {'P' if k in self.baked else 'p'}{k}[0]['taint_ns']",
                    "        if tu > books[v, s]['tainted_until']:",
                    "            books[v, s]['tainted_until'] = tu",
                ]
        if gates:
            L += ["if flags != tick['flags']:", "    tick['flags'] = flags"]
        # A bar is all a bar-only source knows of the book: its close both ways, with its
        # volume, as the simulated venue quotes it. Guards that need a quote (a reference
        # price, the touch, a mark) then work on bars as on quotes.
        L += [
            "b = books[v, s]",
            "kind = tick['kind']",
            "if kind == 1:",
            "    b['bid'] = tick['bid']",
            "    b['ask'] = tick['ask']",
            "    b['bid_size'] = tick['bid_size']",
            "    b['ask_size'] = tick['ask_size']",
            "else:",
            "    b['last'] = tick['bid']",
            "    b['last_size'] = tick['bid_size']",
            f"    if kind == {int(TickKind.BAR)}:",
            "        b['bid'] = tick['bid']",
            "        b['ask'] = tick['bid']",
            "        b['bid_size'] = tick['bid_size']",
            "        b['ask_size'] = tick['bid_size']",
            "b['ts_exch'] = tick['ts_exch']",
            "b['ts_recv'] = tick['ts_recv']",
            "b['seq'] = tick['seq']",
            "b['flags'] = flags",
            "b['n_ticks'] += 1",
            f"if flags & {TAINTED}:",
            "    tainted += 1",
        ]
        if not live and self.venue is not None and self.c[self.venue].on_tick is not None:
            L += self.call(self.venue, "on_tick", "tick", None, "")
            L += ["if counts[1] != 0:", f"    _reports({self.CA})"]
        # A guard's on_tick runs after the venue and before strategies: a drawdown guard that
        # marks this tick to market can set the kill switch before any strategy reacts to it.
        for k in self.of_kind(ComponentKind.GUARD):
            if self.c[k].on_tick is not None:
                L += self.call(k, "on_tick", "tick", None, "")
        if any(self.c[k].on_tick is not None for k in self.of_kind(ComponentKind.GUARD)):
            # Compare inline, call only on a change: check_kill takes the whole Context,
            # whose dozen arrays are passed field by field (~90 ns a call, every tick).
            L += [f"if control[0]['kill'] != bks.kc[{KC_LAST_KILL}]:", "    check_kill(bctx, bks)"]
        for k in self.of_kind(ComponentKind.STRATEGY, ComponentKind.STAGE):
            if self.c[k].on_tick is not None:
                L += self.call(k, "on_tick", "tick", None, "")
        disp = (
            f"_dispatch_live({self.CA_LIVE})"
            if live
            else f"_dispatch({self.CA})"
        )
        if live:
            # stepping (replay): hold after a tick whose intents went out, so the venue sees
            # them before the next tick (see _kstate)
            L += ["if counts[0] != 0:", "    sent = control[0]['intents_out']", f"    {disp}",
                  "    due = next_due(bks)",
                  "    if stepping and control[0]['intents_out'] != sent:",
                  f"        bks.kc[{KC_STEP_ALLOW}] = 0"]
        else:
            L += ["if counts[0] != 0:", f"    {disp}", "    due = next_due(bks)"]
        if not live:
            L += ["    if logs_high(bctx, bks):", "        k += 1", "        break"]
            L += ["if now >= due:", "    due = housekeeping(bctx, bks, now)"]
        return [ind + x for x in L]

    def chunk_fn(self) -> list[str]:
        L = [
            "@numba.njit(cache=CACHE, nogil=NOGIL)",
            f"def run_chunk(ctx, ks, ticks, start, stop{self.A}):",
            # Python-mode kernels reach the same arrays through Python objects
            *([] if self.pymode else ["    distinct_arguments()"]),
            *self.prologue(),
            "    control = bctx.control",
            "    counts = bctx.counts",
            "    books = bctx.books",
            "    check_kill(bctx, bks)",
            "    if counts[0] != 0 or counts[1] != 0:",
            f"        _dispatch({self.CA})",
            "    due = next_due(bks)",
            "    tainted = 0",
            "    nv, ns = books.shape",
            "    bad = -1",
            "    k = start",
            "    while k < stop:",
        ]
        L += self.tick_body("ticks", False, "        ")
        L += [
            "        k += 1",
            "    control[0]['ticks_in'] += k - start",
            "    control[0]['iterations'] += k - start",
            "    control[0]['tainted_ticks'] += tainted",
            "    if bad >= 0:",
            "        return -1 - bad",
            "    return k",
            "",
        ]
        return L

    def live_fn(self) -> list[str]:
        L = [
            "@numba.njit(cache=CACHE, nogil=NOGIL)",
            "def run_live(ctx, ks, tick_ring, intent_ring, report_ring, stop, max_polls"
            f"{self.A}):",
            *self.prologue(),
            "    control = bctx.control",
            "    counts = bctx.counts",
            "    books = bctx.books",
            "    tbuf = bks.tick_buf",
            "    nv, ns = books.shape",
            "    bad = 0",
            "    tainted = 0",
            "    n_ticks = 0",
            "    polls = 0",
            "    due = next_due(bks)",
            "    while polls < max_polls:",
            "        if load_acquire(stop, 0) != 0:",
            "            break",
            "        polls += 1",
            "        now = wall_clock_ns()",
            "        control[0]['heartbeat_ns'] = now",
            "        kc = bks.kc",
            f"        stepping = kc[{KC_STEP}] != 0",
            "        take = tbuf.shape[0]",
            "        if stepping:",
            "            now = control[0]['now_ns']",
            f"            take = 1 if load_acquire(kc, {KC_STEP_ALLOW}) > 0 else 0",
            "        else:",
            "            control[0]['now_ns'] = now",
            # Ticks are taken before reports: a report published before a tick (a fill the
            # venue sent first) is then applied before any strategy sees that tick.
            "        nt = ring_pop_batch(tick_ring, tbuf, 0, take) if take > 0 else 0",
            "        if nt > 0 and stepping:",
            f"            kc[{KC_STEP_ALLOW}] -= nt",
            f"            kc[{KC_STEP_TAKEN}] += nt",
            "        room = bctx.reports.shape[0] - counts[1]",
            "        if room > 0:",
            "            counts[1] += ring_pop_batch(report_ring, bctx.reports, counts[1], room)",
            "        if counts[0] != 0 or counts[1] != 0:",
            f"            _dispatch_live({self.CA_LIVE})",
            "            due = next_due(bks)",
            "        for k in range(nt):",
        ]
        L += self.tick_body("tbuf", True, "            ")
        L += [
            "        n_ticks += nt",
            "        if now >= due and now > 0:",  # stepping, no tick yet: no clock yet
            "            due = housekeeping(bctx, bks, now)",
            "        if logs_high(bctx, bks):",
            "            break",
            "    control[0]['ticks_in'] += n_ticks",
            "    control[0]['iterations'] += polls",
            "    control[0]['tainted_ticks'] += tainted",
            "    control[0]['ticks_dropped'] = tick_ring.ctrl[16] + bad",
            "    return n_ticks",
            "",
        ]
        return L

    def header(self, key: str, cache: bool, nogil: bool) -> list[str]:
        L = [
            f"# Generated by tradeloop {KERNEL_VERSION} (sdk {tradeloop_sdk.__version__}, "
            f"numba {numba.__version__}). Do not edit.",
            f"# key: {key}",
            "# Component functions are injected into this module's globals as c<index>_<role>:",
        ]
        for k, c in enumerate(self.c):
            for role in ROLES:
                fn = getattr(c, role)
                if fn is not None:
                    ident, sha = identity(fn)
                    mode = " python_mode" if c.python_mode else ""
                    L.append(
                        f"#   c{k}_{role}: {ComponentKind(c.kind).name} {c.name!r} {ident} "
                        f"sha256={sha[:16]}{mode}"
                    )
        if self.baked:
            L.append("# Params compiled in as constants (global P<index>): "
                     + ", ".join(f"c{k} {self.c[k].name!r}" for k in sorted(self.baked)))
        L += [
            "import numba",
            "from numba import objmode",
            "from tradeloop._atomics import load_acquire, wall_clock_ns",
            "from tradeloop._borrow import as_argument, borrow",
            "from tradeloop._distinct import distinct_arguments",
            "from tradeloop._kernel import (accept, admit, apply_report, check_kill, "
            "guard_verdict, housekeeping,",
            "    log_intent, logs_high, next_due, push_intent, refuse)",
            "from tradeloop._rings import ring_pop_batch",
            "",
            f"CACHE = {cache}",
            f"NOGIL = {nogil}",  # a Python-mode call takes the GIL anyway
            "",
        ]
        return L

    def key(self) -> str:
        h = hashlib.sha256(_kernel_fingerprint().encode())
        for c in self.c:
            h.update(f"|{int(c.kind)}|{c.python_mode}".encode())
            for role in ROLES:
                fn = getattr(c, role)
                ident, sha = identity(fn) if fn is not None else ("-", "-")
                h.update(f"|{role}={ident}@{sha}".encode())
            names = getattr(getattr(c.params, "dtype", None), "names", None) or ()
            h.update(f"|taint={'taint_ns' in names}".encode())
        for k in sorted(self.baked):
            h.update(f"|P{k}={_params_sha(self.c[k].params)}".encode())
        return h.hexdigest()[:24]

    def source(self, key: str, cache: bool, nogil: bool) -> str:
        L = self.header(key, cache, nogil)
        L += self.reports_fn()
        L += self.dispatch_fn(live=False)
        L += self.dispatch_fn(live=True)
        L += self.chunk_fn()
        L += self.live_fn()
        return "\n".join(L) + "\n"


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_", suffix=".py")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def fuse(
    components: Sequence[HotPath], cache_dir: Path | None = None, baked: Collection[int] = ()
) -> ModuleType:
    """Generate (or reuse) the fused-loop module for ``components`` and import it.

    The module exposes ``run_chunk(ctx, ks, ticks, start, stop, p0, s0, ...)`` and
    ``run_live(ctx, ks, tick_ring, intent_ring, report_ring, stop, max_polls, p0, s0, ...)``.
    The params of the components indexed in ``baked`` (those :func:`bakeable`) are compiled
    into the module as constants, their values at this call: the loop ignores the ``p<k>``
    passed for them, and other values make another module (the key hashes them).
    """
    gen = _Gen(components, baked)
    pymode = gen.pymode
    _EDITED.clear()
    _tree_sha.cache_clear()  # re-read: an edit since the last fuse must be seen (a few ms)
    key = gen.key()
    edited = sorted(_EDITED)
    if not pymode:
        mod = _LOADED.get(key)
        if mod is not None and all(
            mod.__dict__["__tradeloop_originals__"].get(n) is f for n, f in gen.originals.items()
        ):
            return mod
    cache = not pymode and not edited
    if not pymode and edited:
        log.warning("source changed since this process started (%s): fused loop %s is "
                    "compiled without the disk cache", ", ".join(edited[:3]), key)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    text = gen.source(key, cache, nogil=not pymode)
    if cache:
        path = cache_dir / f"fused_{key}.py"
        modname = f"_tradeloop_fused_{key}"
    else:
        # Python-mode loops and loops of edited sources belong to this process only:
        # never share or reuse their file.
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix="pyfused_" if pymode else "fresh_",
                                   suffix=".py")
        os.close(fd)
        path = Path(tmp)
        modname = f"_tradeloop_{path.stem}"
    _write_if_changed(path, text)
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        raise ImportError(f"cannot import generated loop {path}")
    mod = importlib.util.module_from_spec(spec)
    mod.__dict__.update(gen.inject)
    mod.__dict__["__tradeloop_originals__"] = dict(gen.originals)
    mod.__dict__["__tradeloop_baked__"] = gen.baked
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    log.debug("fused loop %s from %s (disk cache=%s)", key, path, cache)
    if not pymode:
        _LOADED[key] = mod
    return mod
