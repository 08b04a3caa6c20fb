"""Compile a new fused loop's component kernels on spare cores before the loop itself.

A loop that is not yet in the disk cache compiles every component kernel it calls
(guard checks, the venue's order path, reports...) one after another while numba types
the loop: measured on a 2-core machine, ~110 s of a ~150 s first backtest of the standard
guard set went to those kernels and ~40 s to the loop itself. The kernels are
independent of each other and numba caches each on disk, so a helper process compiles
part of them while this process compiles the rest; the loop's own compile then loads
them from the cache. The signatures are the ones the generated loop calls them with
(borrowed views have the same numba types as the arrays they borrow).

Nothing here changes what runs: a kernel the helper could not compile (its module does
not import in a fresh interpreter, it crashed) is compiled by the loop as before.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np
from numba import types
from tradeloop_sdk import TICK_DTYPE, ComponentKind, HotPath

from . import _kernel
from ._fusion import ROLES, identity

log = logging.getLogger(__name__)

#: Below this many kernels to compile a helper process (a few seconds of imports) does
#: not pay for itself.
MIN_HELPER_ENTRIES = 8

#: Rough compile cost of a role against one guard check, used only to balance the split:
#: the simulated venue's order path took ~35 s and its tick path ~18 s, a check ~2 s.
_WEIGHT = {(ComponentKind.VENUE, "on_intent"): 16, (ComponentKind.VENUE, "on_tick"): 8}

Entry = tuple[Any, tuple[Any, ...]]  # (dispatcher, argument types)


#: numba's typeof, under a typed name (numba carries no annotations)
_typeof: Callable[[Any], Any] = numba.typeof


def entries(components: Sequence[HotPath], ctx: Any, ks: Any) -> list[tuple[int, list[Entry]]]:
    """The kernels the fused loop calls, grouped by component: (weight, entries).

    A component's kernels share callees, so a group is compiled in one process. The loop
    inlines ``on_tick`` kernels, so only their out-of-line callees are ever cached; of
    those only a venue's (its matching engine) are worth compiling ahead.
    """
    c_ty, k_ty, i64 = _typeof(ctx), _typeof(ks), types.int64
    kernel = [(fn, (c_ty, k_ty, i64)) for fn in
              (_kernel.apply_report, _kernel.admit, _kernel.accept, _kernel.log_intent,
               _kernel.housekeeping)]
    out: list[tuple[int, list[Entry]]] = [(len(kernel), kernel)]
    tick = _typeof(np.zeros(1, TICK_DTYPE)).dtype  # the type of ``ticks[k]``
    for c in components:
        if c.python_mode:
            continue
        p_ty, s_ty = _typeof(c.params), _typeof(c.state)
        group: list[Entry] = []
        weight = 0
        for role in ROLES:
            fn = getattr(c, role)
            if fn is None or (role == "on_tick" and c.kind != ComponentKind.VENUE):
                continue
            group.append((fn, (p_ty, s_ty, c_ty, tick if role == "on_tick" else i64)))
            weight += _WEIGHT.get((ComponentKind(c.kind), role), 1)
        if group:
            out.append((weight, group))
    return out


def on_disk(fn: Any, sig: tuple[Any, ...]) -> bool:
    """True if numba's disk cache holds ``fn`` for ``sig`` (False when unsure)."""
    try:
        cache = fn._cache
        index = cache._cache_file._load_index()
        return cache._index_key(sig, fn.targetctx.codegen()) in index
    except Exception:
        return False


def loop_cached(module: Any) -> bool:
    """True if the fused module's loop functions are in numba's disk cache already."""
    if not getattr(module, "CACHE", False):
        return True  # never cached (Python mode, edited sources): nothing to prepare for
    try:
        for name in ("run_chunk", "run_live"):
            disp = getattr(module, name)
            if disp.overloads or disp._cache._cache_file._load_index():
                return True
        return False
    except Exception:
        return True


def _split(groups: list[tuple[int, list[Entry]]], parts: int) -> list[list[Entry]]:
    """Heaviest group first onto the lightest part (longest-processing-time)."""
    bins: list[list[Entry]] = [[] for _ in range(parts)]
    load = [0] * parts
    for w, group in sorted(groups, key=lambda x: -x[0]):
        k = load.index(min(load))
        bins[k] += group
        load[k] += w
    return bins


def _spawn(share: list[Entry]) -> tuple[subprocess.Popen[bytes], Any] | None:
    jobs = []
    for fn, sig in share:
        ident = identity(fn)[0]
        mod, _, qual = ident.partition(":")
        if "<locals>" in qual:
            continue
        jobs.append((mod, qual, sig))
    if not jobs:
        return None
    # a file, not a pipe: a full pipe would stall the helper (closed by precompile)
    err = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradeloop._precompile"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
        )
        assert proc.stdin is not None
        proc.stdin.write(pickle.dumps({"path": list(sys.path), "jobs": jobs}))
        proc.stdin.close()
    except (OSError, pickle.PicklingError) as e:
        err.close()
        log.warning("kernel precompile helper did not start (%s): compiling in this process", e)
        return None
    return proc, err


def precompile(components: Sequence[HotPath], ctx: Any, ks: Any, module: Any,
               helpers: int | None = None) -> int:
    """Compile the loop's kernels, part in helper processes, unless the loop is cached.

    Returns how many kernels were not yet compiled or cached when it started.
    """
    if loop_cached(module):
        return 0
    groups = []
    for w, group in entries(components, ctx, ks):
        left = [(fn, sig) for fn, sig in group if sig not in fn.overloads and not on_disk(fn, sig)]
        if left:
            groups.append((w, left))
    n = sum(len(g) for _, g in groups)
    if not n:
        return 0
    if helpers is None:
        helpers = min(3, len(os.sched_getaffinity(0)) - 1)
    if n < MIN_HELPER_ENTRIES:
        helpers = 0
    t0 = time.perf_counter()
    parts = _split(groups, helpers + 1)
    procs = [p for p in (_spawn(share) for share in parts[1:]) if p is not None]
    try:
        for fn, sig in parts[0]:
            try:
                fn.compile(sig)
            except Exception:  # the loop's own compile reports it, in context
                log.debug("precompile of %s failed", identity(fn)[0], exc_info=True)
        log.debug("own share of kernels compiled in %.1fs", time.perf_counter() - t0)
        for p, err in procs:
            if p.wait() != 0:
                err.seek(0)
                log.warning("kernel precompile helper exited %s (the loop compiles what it "
                            "missed): %s", p.returncode,
                            err.read().decode(errors="replace").strip()[-2000:])
    finally:
        for p, err in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            err.close()
    log.info("compiled %d kernels in %.1fs (%d helper processes)", n,
             time.perf_counter() - t0, len(procs))
    return n


def _resolve(mod: str, qual: str) -> Any:
    obj: Any = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _main() -> int:
    """Helper process: compile the kernels named on stdin into numba's disk cache."""
    logging.basicConfig(stream=sys.stderr, format="%(message)s")
    job = pickle.loads(sys.stdin.buffer.read())
    sys.path[:] = job["path"] + [p for p in sys.path if p not in job["path"]]
    failed = 0
    for mod, qual, sig in job["jobs"]:
        try:
            _resolve(mod, qual).compile(sig)
        except Exception as e:
            failed += 1
            log.warning("%s:%s: %s: %s", mod, qual, type(e).__name__, e)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main())
