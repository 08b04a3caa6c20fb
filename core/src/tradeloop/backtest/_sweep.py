"""Parameter sweeps: a grid or a random search over config paths, run serially, on a local
process pool (all cores by default), or on a Ray cluster.

A point is a set of overrides of the raw TOML document, addressed by path
(``strategies[0].params.fast``). Each point runs a full backtest in a worker and returns
its summary; a failing point (say, ``fast >= slow``) is a row with an error, not a crash.

The first points run in the calling process: the fused loop is compiled once and cached on
disk by numba, so every worker loads machine code instead of compiling it again (or, forked
on Linux, starts with it loaded), and their time says whether a pool pays off (a spawned
worker costs seconds to start; a short sweep runs here).
With a pool, the calling process goes on running points beside the workers while they start,
and counts as one of the ``workers`` processes: on K cores it starts K - 1 workers, since a
K-th would only take turns on the cores with the others.

Ray is the engine for going beyond one machine (``ray.init(address=...)``); it is an
optional dependency (``tradeloop[ray]``) and imported only when asked for.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import copy
import importlib
import itertools
import logging
import multiprocessing
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import attrs

__all__ = [
    "SweepPoint",
    "SweepResult",
    "grid_points",
    "keep_loop_shared",
    "parse_assignment",
    "parse_value",
    "random_points",
    "run_points",
    "set_path",
]

log = logging.getLogger(__name__)

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)((?:\[\d+\])*)")


def parse_value(text: str) -> Any:
    """A TOML-like scalar: int, float, true/false, else the string (quotes stripped)."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    return t


def parse_assignment(spec: str) -> tuple[str, list[Any] | tuple[Any, Any]]:
    """``path=v1,v2,...`` -> (path, [values]); ``path=lo:hi`` -> (path, (lo, hi)) for random search."""
    if "=" not in spec:
        raise ValueError(f"--grid {spec!r}: expected PATH=VALUES, e.g. strategies[0].params.fast=5,10")
    path, _, values = spec.partition("=")
    path = path.strip()
    _split_path(path)
    if ":" in values and "," not in values:
        lo, _, hi = values.partition(":")
        a, b = parse_value(lo), parse_value(hi)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
            raise ValueError(f"--grid {spec!r}: a range needs numbers, LO:HI")
        if a > b:
            raise ValueError(f"--grid {spec!r}: range low {a} exceeds high {b}")
        return path, (a, b)
    vals = [parse_value(v) for v in values.split(",") if v.strip()]
    if not vals:
        raise ValueError(f"--grid {spec!r}: no values")
    return path, vals


def _split_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.split("."):
        m = _SEGMENT.fullmatch(part)
        if m is None:
            raise ValueError(f"bad config path {path!r} at {part!r}")
        out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return out


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at ``path`` in a TOML document (dicts are created, list items must exist)."""
    keys = _split_path(path)
    cur: Any = doc
    for i, k in enumerate(keys[:-1]):
        nxt = keys[i + 1]
        if isinstance(k, int):
            if not isinstance(cur, list) or k >= len(cur):
                raise ValueError(f"config path {path!r}: no item [{k}] here")
            cur = cur[k]
            continue
        if not isinstance(cur, dict):
            raise ValueError(f"config path {path!r}: {k!r} is not inside a table")
        if k not in cur:
            if isinstance(nxt, int):
                raise ValueError(f"config path {path!r}: no list {k!r} in the config")
            cur[k] = {}
        cur = cur[k]
    last = keys[-1]
    if isinstance(last, int):
        if not isinstance(cur, list) or last >= len(cur):
            raise ValueError(f"config path {path!r}: no item [{last}] here")
        cur[last] = value
    else:
        if not isinstance(cur, dict):
            raise ValueError(f"config path {path!r}: {last!r} is not inside a table")
        cur[last] = value


@attrs.frozen
class SweepPoint:
    """One configuration of a sweep: its index and overrides, path -> value."""

    index: int
    overrides: Mapping[str, Any]


@attrs.frozen
class SweepResult:
    """A point's outcome: its summary (JSON-ready dict), or the error that stopped it."""

    point: SweepPoint
    summary: Mapping[str, Any] | None
    error: str = ""


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[SweepPoint]:
    """Every combination of the grid's values (the last path varies fastest)."""
    paths = list(grid)
    return [
        SweepPoint(i, dict(zip(paths, combo, strict=True)))
        for i, combo in enumerate(itertools.product(*(grid[p] for p in paths)))
    ]


#: a finite space of at most this many configurations is enumerated and sampled without
#: replacement; a larger one is sampled point by point, repeats drawn again
_ENUMERATE_MAX = 100_000


def _values(dom: Sequence[Any] | tuple[Any, Any]) -> Sequence[Any] | None:
    """Every value of a domain, or None for a float range (uncountable)."""
    if isinstance(dom, tuple):
        lo, hi = dom
        return range(lo, hi + 1) if isinstance(lo, int) and isinstance(hi, int) else None
    return list(dict.fromkeys(dom))  # a value listed twice is one configuration


def random_points(
    space: Mapping[str, Sequence[Any] | tuple[Any, Any]], n: int, seed: int = 0
) -> list[SweepPoint]:
    """``n`` distinct random points: a list is sampled uniformly, an (lo, hi) tuple uniformly
    in range (integers when both ends are integers, inclusive). A space with fewer than
    ``n`` configurations gives each of them once."""
    rng = random.Random(seed)
    paths = list(space)
    values = [_values(space[p]) for p in paths]
    size: int | None = 1
    for v in values:
        size = None if v is None or size is None else size * len(v)
    if size is not None:
        n = min(n, size)
        if size <= _ENUMERATE_MAX:
            combos = rng.sample(list(itertools.product(*values)), n)  # type: ignore[arg-type]
            return [SweepPoint(i, dict(zip(paths, c, strict=True))) for i, c in enumerate(combos)]
    out: list[SweepPoint] = []
    seen: set[tuple[Any, ...]] = set()
    while len(out) < n:
        combo = tuple(
            rng.choice(v) if v is not None else rng.uniform(*space[p])
            for p, v in zip(paths, values, strict=True)
        )
        if combo not in seen:
            seen.add(combo)
            out.append(SweepPoint(len(out), dict(zip(paths, combo, strict=True))))
    return out


#: Top-level config sections holding the params a backtest compiles into its loop (guards and
#: gates, the venue, and the universe its specs come from).
_SPECIALIZED_SECTIONS = ("guards", "broker", "universe")


def keep_loop_shared(doc: dict[str, Any], paths: Iterable[str]) -> None:
    """Turn off ``backtest.specialize`` in ``doc`` (unless it says otherwise) when a swept
    path reaches params a backtest would compile into its loop: each point would compile a
    loop of its own (~25 s) instead of all of them loading one."""
    if any(p.split(".")[0].split("[")[0] in _SPECIALIZED_SECTIONS for p in paths):
        doc.setdefault("backtest", {}).setdefault("specialize", False)


def apply_overrides(doc: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``doc`` with ``overrides`` set."""
    new = copy.deepcopy(dict(doc))
    for path, v in overrides.items():
        set_path(new, path, v)
    return new


#: A point runner: (base TOML document, overrides, source path) -> summary dict.
PointRunner = Callable[[Mapping[str, Any], Mapping[str, Any], str], Mapping[str, Any]]


def _safe(runner: PointRunner, doc: Mapping[str, Any], point: SweepPoint, source: str) -> SweepResult:
    try:
        return SweepResult(point, dict(runner(doc, point.overrides, source)))
    except Exception as exc:  # a bad point is a row, not the end of the sweep
        log.warning("sweep point %d %s failed: %s", point.index, dict(point.overrides), exc)
        return SweepResult(point, None, f"{type(exc).__name__}: {exc}")


def _shared_run(
    pool: cf.ProcessPoolExecutor, worker_up: cf.Future[Any], workers: int, runner: PointRunner,
    doc: Mapping[str, Any], points: Sequence[SweepPoint], source: str,
) -> Iterator[SweepResult]:
    """This process and the pool's workers share the points.

    Points go to the pool only once a worker is up (a point queued to a worker cannot be
    taken back, and a short sweep would wait for the workers' start-up), two per worker so
    that none idles while this process runs a point of its own. If the pool breaks (a
    worker cannot import the runner, or dies), its unfinished points run here: a sweep is
    never lost to its pool.
    """
    queue = collections.deque(points)
    sent: dict[cf.Future[SweepResult], SweepPoint] = {}
    usable = True
    while queue or sent:
        for f in [f for f in sent if f.done()]:
            p = sent.pop(f)
            try:
                yield f.result()
            except BrokenProcessPool as exc:
                if usable:
                    log.warning("the process pool broke (%s): running its points here", exc)
                usable = False
                queue.appendleft(p)
        if usable and worker_up.done():
            if worker_up.exception() is not None:
                log.warning("the process pool did not start (%s): running every point here",
                            worker_up.exception())
                usable = False
            while usable and queue and len(sent) < 2 * workers:
                p = queue.popleft()
                sent[pool.submit(_safe, runner, doc, p, source)] = p
        if queue:
            yield _safe(runner, doc, queue.popleft(), source)
        elif sent:
            cf.wait(sent, return_when=cf.FIRST_COMPLETED)


def _ray_run(
    runner: PointRunner, doc: Mapping[str, Any], points: Sequence[SweepPoint], source: str,
    address: str, workers: int,
) -> Iterator[SweepResult]:
    """Ray tasks and this process share the points, as with a pool (see _shared_run).

    At most two tasks per Ray CPU are out at a time; this process runs points meanwhile, so
    no core idles while Ray's workers start. A local Ray gets ``workers - 1`` CPUs: this
    process is the last worker.
    """
    if address == "local" and "ray" not in sys.modules:
        # Under `uv run`, Ray would start every worker through `uv run` to replicate the
        # driver's environment: ~10 s more for a 32-point sweep here. Local workers run
        # this interpreter (sys.executable) and see its packages already. Read by Ray
        # once, at import; a user's own setting wins.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is in the dev group
        raise RuntimeError("--ray needs Ray: pip install 'tradeloop[ray]'") from exc
    started = not ray.is_initialized()
    if started:
        if address == "local":
            ray.init(num_cpus=max(1, workers - 1), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_safe)
        doc_ref = ray.put(doc)
        cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
        cap = 2 * max(1, int(cpus))
        queue = collections.deque(points)
        sent: list[Any] = []  # object refs of the tasks out
        while queue or sent:
            while queue and len(sent) < cap:
                sent.append(remote.remote(runner, doc_ref, queue.popleft(), source))
            done, sent = ray.wait(sent, num_returns=len(sent), timeout=0)
            for ref in done:
                yield ray.get(ref)
            if queue:
                yield _safe(runner, doc, queue.popleft(), source)
            elif sent:
                ray.wait(sent, num_returns=1)
    finally:
        if started:
            ray.shutdown()


def start_method() -> str:
    """How pool workers start: ``fork`` where that is safe, else ``spawn``.

    A forked worker begins with what this process has loaded by its first two points (the
    compiled loop, a market its data source keeps in memory) and works within milliseconds;
    a spawned one spends ~3 s importing and loading first. Fork only on Linux and with no
    other Python thread alive: a lock another thread holds at the fork stays held in the
    child.
    """
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


#: estimated serial seconds below which a sweep runs in this process: starting a spawned
#: worker (imports, loading the compiled kernels, its first reads of the market) costs ~3 s
#: of CPU, more than a short sweep would save on it. Measured on 2 cores (bench_sweep.py):
#: 6.6 s of serial work ran 1.08x faster with a spawned worker, 10 s 1.3-1.5x.
POOL_MIN_S = 8.0

#: the same for forked workers, which start in milliseconds (3.4 s of work ran 2.0x faster)
FORK_POOL_MIN_S = 1.0


def run_points(
    runner: PointRunner,
    doc: Mapping[str, Any],
    points: Sequence[SweepPoint],
    *,
    source: str = "",
    workers: int | None = None,
    ray_address: str | None = None,
    warm: bool = True,
    on_result: Callable[[SweepResult], None] | None = None,
) -> list[SweepResult]:
    """Run every point on up to ``workers`` processes (default: all cores): ``1`` runs
    serially, more adds a pool of ``workers - 1`` beside this process; or on Ray, beside
    this process, when ``ray_address`` is given (``"local"`` starts one of ``workers - 1``
    CPUs).

    The first points run here and are timed: a sweep whose remaining points would take less
    than ``FORK_POOL_MIN_S`` (forked workers, see :func:`start_method`) or ``POOL_MIN_S``
    (spawned) serially finishes here, without a pool. With Ray, ``warm`` runs the
    first point here before the others are sent out. Results come back in point order.
    """
    n = workers or os.cpu_count() or 1
    done: list[SweepResult] = []
    todo = list(points)

    def record(r: SweepResult) -> None:
        done.append(r)
        if on_result:
            on_result(r)

    pool: cf.ProcessPoolExecutor | None = None
    try:
        if ray_address:
            if warm and todo:
                # compile (or load) the fused loop once here so the workers start warm
                record(_safe(runner, doc, todo.pop(0), source))
            runs: Iterable[SweepResult] = _ray_run(runner, doc, todo, source, ray_address, n)
        else:
            # The first point may compile the fused loop (cached on disk for the workers);
            # the second shows what a point costs once it is loaded.
            per_point = 0.0
            while n > 1 and todo and len(done) < 2:
                t0 = time.perf_counter()
                record(_safe(runner, doc, todo.pop(0), source))
                per_point = time.perf_counter() - t0
            method = start_method()
            least = FORK_POOL_MIN_S if method == "fork" else POOL_MIN_S
            if n > 1 and len(todo) > 1 and per_point * len(todo) >= least:
                pool = cf.ProcessPoolExecutor(
                    max_workers=n - 1, mp_context=multiprocessing.get_context(method),
                    initializer=importlib.import_module, initargs=(runner.__module__,))
                worker_up = pool.submit(int)
                runs = _shared_run(pool, worker_up, n - 1, runner, doc, todo, source)
            else:
                runs = (_safe(runner, doc, p, source) for p in todo)
        for r in runs:
            record(r)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return sorted(done, key=lambda r: r.point.index)
