"""The fused loop is compiled on the promise that its arrays do not overlap: the promise
is made in the compiled code, and every way to break it is refused with a clear error."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import attrs
import numba
import numpy as np
import pytest
from tradeloop._distinct import distinct_arguments
from tradeloop._fusion import _Gen
from tradeloop._kstate import make_kstate
from tradeloop.loop import _check_distinct, build_loop
from tradeloop_sdk import TICK_DTYPE, SymbolSpec, Universe
from tradeloop_sdk._context import make_context

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import _bench_kernels as bk  # noqa: E402

UNIVERSE = Universe(
    venues=("sim",),
    symbols=("BTCUSD",),
    currencies=("USD", "BTC"),
    specs={("sim", "BTCUSD"): SymbolSpec(symbol="BTCUSD", base="BTC", quote="USD",
                                         taker_fee=Decimal("0.001"))},
)


def components():  # type: ignore[no-untyped-def]
    return [bk.crossed_gate_component(), bk.script_component([]), *bk.guard_components(),
            bk.venue_component()]


def _define(fn, *args) -> str:  # type: ignore[no-untyped-def]
    fn(*args)
    ir = fn.inspect_llvm(fn.signatures[0])
    return next(line for line in ir.splitlines() if line.startswith("define") and fn.__name__ in line)


def test_distinct_arguments_marks_the_callers_pointer_arguments_noalias() -> None:
    @numba.njit
    def promised(a, b):  # type: ignore[no-untyped-def]
        distinct_arguments()
        a[0] = 1.0
        return b[0]

    @numba.njit
    def plain(a, b):  # type: ignore[no-untyped-def]
        a[0] = 1.0
        return b[0]

    a, b = np.zeros(2), np.ones(2)
    # retptr and excinfo are noalias in every numba function; the arrays' pointers only here
    base = _define(plain, a, b).count("noalias")
    assert _define(promised, a, b).count("noalias") >= base + 6
    assert promised(a, b) == 1.0 and a[0] == 1.0


def test_the_chunk_loop_makes_the_promise_and_python_mode_does_not() -> None:
    src = _Gen(components()).source("k", True, nogil=True)
    chunk = src[src.index("def run_chunk"):src.index("def run_live")]
    assert "distinct_arguments()" in chunk
    assert "distinct_arguments()" not in src[src.index("def run_live"):]
    comps = components()
    comps[1] = attrs.evolve(comps[1], python_mode=True,
                            on_tick=lambda params, state, ctx, tick: None)
    assert "distinct_arguments()" not in _Gen(comps).source("k", False, nogil=False)


@pytest.mark.parametrize(
    ("share", "names"),
    [
        (lambda c: attrs.evolve(c[3], state=c[2].state), r"component 2 \(max_qty\) state and "
         r"component 3 \(position_limit\) state"),
        (lambda c: attrs.evolve(c[3], state=c[5].state[3:5, 0]), r"component 3 \(position_limit\) "
         r"state and component 5 \(touch_venue\) state"),
        (lambda c: attrs.evolve(c[3], params=c[2].state), r"component 2 \(max_qty\) state and "
         r"component 3 \(position_limit\) params"),
    ],
    ids=["same state", "state inside another", "params on a state"],
)
def test_components_whose_arrays_overlap_are_refused_before_the_compile(share, names) -> None:  # type: ignore[no-untyped-def]
    comps = components()
    comps[3] = share(comps)
    with pytest.raises(ValueError, match=names + ".* share memory"):
        build_loop(UNIVERSE, comps, cache_dir=Path("/nonexistent"))


@pytest.mark.parametrize(
    ("where", "name"), [(lambda ctx, ks: ctx.books, r"ctx\.books"),
                        (lambda ctx, ks: ks.tick_buf, r"kernel state\.tick_buf")],
)
def test_a_state_inside_the_context_or_kernel_state_is_refused(where, name) -> None:  # type: ignore[no-untyped-def]
    ctx = make_context()
    ks = make_kstate(log_capacity=64, equity_capacity=8, order_timeout_ns=1, equity_interval_ns=1)
    comps = components()
    comps[1] = attrs.evolve(comps[1], state=(np.zeros(3), where(ctx, ks)))
    with pytest.raises(ValueError, match=name + r" and component 1 \(script\) state\[1\] share memory"):
        _check_distinct(ctx, ks, comps)


@pytest.mark.slow  # builds (compiles) a loop
def test_shared_params_are_fine_and_ticks_or_params_inside_the_loop_are_refused(
    tmp_path: Path,
) -> None:
    comps = components()
    comps[4] = attrs.evolve(comps[4], params=comps[5].params)  # both {"x": 0.0}, read-only
    loop = build_loop(UNIVERSE, comps, cache_dir=tmp_path, initial_cash={"USD": 10_000})
    ticks = np.zeros(4, TICK_DTYPE)
    ticks["kind"], ticks["bid"], ticks["ask"] = 1, 100.0, 100.5
    ticks["ts_recv"] = 1_000 + np.arange(4)
    loop.run(ticks)
    assert loop.ctx.books[0, 0]["n_ticks"] == 4
    with pytest.raises(ValueError, match=r"ticks share memory with the loop's kernel state\.tick_buf"):
        loop.run(loop._ks.tick_buf[:2])
    with pytest.raises(ValueError, match=r"component 2 \(max_qty\): new params share memory "
                                         r"with the loop's component 2 \(max_qty\) state"):
        loop.set_params(2, loop.components[2].state.view(loop.components[2].params.dtype))
    assert loop.ctx.books[0, 0]["n_ticks"] == 4  # nothing ran
