"""Cost of the standard guard set in the fused loop.

Runs the same ticks through three fused loops: a strategy and a venue alone (the
reference); the same with every standard gate and guard (``STANDARD_GATES`` +
``STANDARD_GUARDS``, parameters from ``examples/guards-standard.toml`` but loose enough
that orders pass, so every guard does its full work); and the standard set with the
guards' per-tick marking (drawdown and EWMA VaR ``on_tick``) left out, to isolate what
reacting to prices costs. Prints throughput, the ratio, and the extra cost per tick and
per order.

Then the per-order cost of the two guards that count live orders (position_limit with
open orders, concurrency) with their O(1) live-order index against the same guards made
to scan the order table (the index falls back to the scan when its size does not match
the table: exactly the code path the guards used before the index), over a table holding
``--live`` orders.

    python3 -m uv run --all-packages python bench/bench_guards.py [--ticks N] [--every K]
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import attrs
import numba
import numpy as np
from tradeloop.loop import build_loop
from tradeloop_sdk import (
    STANDARD_GATES,
    STANDARD_GUARDS,
    TICK_DTYPE,
    ComponentKind,
    HotPath,
    SymbolSpec,
    Universe,
    make_context,
    params_array,
    report,
    submit,
)

T0 = 1_700_000_000_000_000_000
U = Universe(
    venues=("sim",),
    symbols=("BTC-USD",),
    currencies=("USD", "BTC"),
    specs={("sim", "BTC-USD"): SymbolSpec(symbol="BTC-USD", base="BTC", quote="USD",
                                          tick_size=Decimal("0.01"), lot_step=Decimal("0.0001"),
                                          min_notional=Decimal("10"))},
)

# Loose limits: orders should pass every guard so each one does its whole check.
PARAMS: dict[str, dict[str, Any]] = {
    "kill_switch": {"max_loss": 1e12, "max_rejects": 20},
    "drawdown": {"capital": 1e9, "max_total_pct": 50.0, "max_daily_pct": 50.0},
    "price_band": {"band_bps": 500.0},
    "slippage": {"max_bps": 50.0},
    "order_limits": {"max_notional": 1e9},
    "position_limit": {"max_notional": 1e12},
    "portfolio_limit": {"max_gross": 1e12},
    "ewma_var": {"max_var": 1e12, "floor_daily_vol": 0.02},
    "concurrency": {"venue_max": 100_000},
    "rate_limit": {"venue_max": 100_000, "window_s": 1.0},
    "price_jump": {"n_sigma": 50.0},
}


@numba.njit(cache=True)
def _strategy_tick(params: Any, state: Any, ctx: Any, tick: Any) -> None:
    state[0] += 1
    if state[0] % params[0]["every"] != 0:
        return
    side = 1 + (state[0] // params[0]["every"]) % 2  # alternate buy/sell: position stays flat
    px = tick["ask"] if side == 1 else tick["bid"]
    submit(ctx, 0, tick["venue"], tick["symbol"], side, 2, 2, 0.01, px)


@numba.njit(cache=True)
def _venue_intent(params: Any, state: Any, ctx: Any, i: int) -> None:
    it = ctx.intents[i]
    if it["action"] != 1:
        return
    report(ctx, 3, it["client_id"], it["venue"], it["symbol"], it["side"], it["qty"], it["price"],
           0.0, 0.0, 2, 0, it["client_id"], ctx.control[0]["now_ns"])


def base_components(every: int) -> list[HotPath]:
    strat = HotPath(kind=ComponentKind.STRATEGY, name="bench", params=params_array({"every": every}),
                    state=np.zeros(1, np.int64), on_tick=_strategy_tick)
    venue = HotPath(kind=ComponentKind.VENUE, name="fill_all", params=params_array({"x": 0}),
                    state=np.zeros(1, np.int64), on_intent=_venue_intent)
    return [strat, venue]


def standard_components(on_tick: bool = True) -> list[HotPath]:
    eps = {ep.name: ep for ep in entry_points(group="tradeloop.guards")}
    out = []
    for name in STANDARD_GATES + STANDARD_GUARDS:
        cls = eps[name].load()
        hp = cls(cls.Params(**PARAMS.get(name, {}))).tradeloop_hot_path(U)
        if not on_tick and hp.kind == ComponentKind.GUARD:
            hp = attrs.evolve(hp, on_tick=None)
        out.append(hp)
    return out


@numba.njit(cache=True)
def _checks(check: Any, params: Any, state: Any, ctx: Any, n: int) -> int:
    """``n`` fresh NEW intents through one guard's check (as the loop calls it)."""
    refused = 0
    for _ in range(n):
        ctx.counts[0] = 0
        submit(ctx, 0, 0, 0, 1, 2, 1, 0.01, 100.0)
        refused += check(params, state, ctx, 0) != 0
    return refused


def per_order(n_live: int, n: int, rounds: int) -> dict[str, float]:
    """ns per check of position_limit + concurrency: live-order index vs order-table scan."""
    from tradeloop_plugin_risk import Concurrency, PositionLimit
    from tradeloop_plugin_risk import _openbook as book

    ctx = make_context(1, 1)
    ctx.books["bid"], ctx.books["ask"] = 99.0, 101.0
    rng = np.random.default_rng(2)
    for cid in rng.choice(np.arange(1, 4096), n_live, replace=False):
        o = ctx.orders[cid]
        o["client_id"], o["side"], o["qty"], o["state"] = cid, 1 + cid % 2, 1.0, 2
    ctx.control[0]["next_client_id"] = 4096
    out = {}
    for label, cap in (("index", ctx.orders.shape[0]), ("scan", ctx.orders.shape[0] // 2)):
        hps = [PositionLimit(PositionLimit.Params(max_qty=1e9)).tradeloop_hot_path(U),
               Concurrency(Concurrency.Params(venue_max=100_000)).tradeloop_hot_path(U)]
        states = [(hps[0].state[0], book.make(1, 1, cap)), book.make(1, 1, cap)]
        for h, st in zip(hps, states, strict=True):
            _checks(h.check, h.params, st, ctx, 10)  # compile, first full scan
        best = np.inf
        for _ in range(rounds):
            t0 = time.perf_counter()
            for h, st in zip(hps, states, strict=True):
                _checks(h.check, h.params, st, ctx, n)
            best = min(best, time.perf_counter() - t0)
        out[label] = best / n * 1e9
    return out


def ticks(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.zeros(n, TICK_DTYPE)
    t["kind"] = 1
    t["ts_exch"] = T0 + np.arange(n, dtype=np.int64) * 100_000_000
    t["ts_recv"] = t["ts_exch"] + 1_000_000
    t["seq"] = np.arange(1, n + 1)
    mid = 50_000.0 * np.exp(np.cumsum(rng.normal(0.0, 2e-5, n)))
    t["bid"] = np.round(mid - 0.5, 2)
    t["ask"] = np.round(mid + 0.5, 2)
    t["bid_size"] = t["ask_size"] = 1.0
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=400_000)
    ap.add_argument("--every", type=int, default=10, help="an order every K ticks")
    ap.add_argument("--rounds", type=int, default=8, help="interleaved timing rounds")
    ap.add_argument("--live", type=int, default=50, help="live orders in the per-order micro bench")
    ap.add_argument("--checks", type=int, default=20_000, help="checks per per-order timing round")
    a = ap.parse_args()
    warm_n = 2000
    data = ticks(a.ticks + warm_n)
    gated = standard_components()
    loops = {
        "reference": build_loop(U, base_components(a.every), mode="backtest"),
        "standard": build_loop(U, [*gated, *base_components(a.every)], mode="backtest"),
        "no_on_tick": build_loop(U, [*standard_components(on_tick=False), *base_components(a.every)],
                                 mode="backtest"),
    }
    for loop in loops.values():
        loop.run(data[:warm_n])  # compile (or load the cached loop) outside the timing
        loop.drain_intents()
    # interleave the two loops over the same segments so machine load hits both alike
    spent = dict.fromkeys(loops, 0.0)
    for seg in np.array_split(np.arange(warm_n, warm_n + a.ticks), a.rounds):
        chunk = np.ascontiguousarray(data[seg[0] : seg[-1] + 1])
        for name, loop in loops.items():
            t0 = time.perf_counter()
            loop.run(chunk)
            spent[name] += time.perf_counter() - t0
    std = loops["standard"]
    n_orders = len(std.drain_intents())
    refused = int(std.ctx.control[0]["guard_rejects"])
    ref_s, std_s, n = spent["reference"], spent["standard"], a.ticks
    quiet_s = spent["no_on_tick"]
    print(f"ticks: {n:,}   orders: {n_orders:,} (one every {a.every} ticks), refused by guards: {refused}")
    print(f"reference (strategy + venue):           {n / ref_s / 1e6:8.2f} M ticks/s")
    print(f"with the standard set ({len(gated)} components):  {n / std_s / 1e6:8.2f} M ticks/s")
    print(f"  same, guards' on_tick left out:       {n / quiet_s / 1e6:8.2f} M ticks/s")
    print(f"throughput ratio (with / without):      {ref_s / std_s:8.3f}")
    print(f"extra cost: {(std_s - ref_s) / n * 1e9:.0f} ns per tick; per order, with its share of "
          f"tick cost: {(std_s - ref_s) / max(1, n_orders) * 1e9:.0f} ns")
    print(f"guards' on_tick (drawdown, ewma_var marking): {(std_s - quiet_s) / n * 1e9:.1f} ns per tick")
    po = per_order(a.live, a.checks, a.rounds)
    print(f"position_limit + concurrency per order, {a.live} live orders in 4096 slots: "
          f"index {po['index']:.0f} ns, table scan {po['scan']:.0f} ns "
          f"(scan / index: {po['scan'] / po['index']:.1f}x)")


if __name__ == "__main__":
    main()
