"""Engine metrics in the Prometheus text exposition format (version 0.0.4).

A tiny registry (counters, gauges, histograms with labels) so the kernel needs no client
library. Values are updated from the engine's asyncio thread; rendering copies them.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Sequence

#: Latency buckets in seconds: 1 µs .. 1 s, roughly 1-2.5-5 per decade.
LATENCY_BUCKETS = (
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
    1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0,
)

Labels = tuple[tuple[str, str], ...]


def _fmt_labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    esc = (
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(10), " ").replace(chr(34), chr(92) + chr(34))}"'
        for k, v in items
    )
    return "{" + ",".join(esc) + "}"


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class _Metric:
    type_name = ""

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self._lock = threading.Lock()


class Counter(_Metric):
    """A monotonically increasing count, per label set."""

    type_name = "counter"

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help_text)
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the series of ``labels``."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def set_total(self, total: float, **labels: str) -> None:
        """Mirror a count kept elsewhere (e.g. in the control block)."""
        with self._lock:
            self._values[tuple(sorted(labels.items()))] = float(total)

    def value(self, **labels: str) -> float:
        """Current value of one series (0 if never touched)."""
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_fmt_labels(k)} {_fmt(v)}" for k, v in items]


class Gauge(Counter):
    """A value that goes up and down, per label set."""

    type_name = "gauge"

    def set(self, value: float, **labels: str) -> None:
        """Set the series of ``labels``."""
        self.set_total(value, **labels)

    def clear(self) -> None:
        """Forget all series (before re-publishing a set that may shrink)."""
        with self._lock:
            self._values.clear()


class Histogram(_Metric):
    """Cumulative-bucket histogram of observations (e.g. latencies in seconds)."""

    type_name = "histogram"

    def __init__(self, name: str, help_text: str, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        super().__init__(name, help_text)
        self.buckets = tuple(sorted(buckets))
        self._counts = [0] * (len(self.buckets) + 1)
        self._sum = 0.0
        self._n = 0

    def observe(self, value: float) -> None:
        """Record one observation."""
        i = bisect.bisect_left(self.buckets, value)
        with self._lock:
            self._counts[i] += 1
            self._sum += value
            self._n += 1

    @property
    def count(self) -> int:
        """Observations so far."""
        return self._n

    def lines(self) -> list[str]:
        with self._lock:
            counts, total, n = list(self._counts), self._sum, self._n
        out, acc = [], 0
        for b, c in zip(self.buckets, counts[:-1], strict=True):  # the last count is +Inf
            acc += c
            out.append(f'{self.name}_bucket{{le="{_fmt(b)}"}} {acc}')
        out.append(f'{self.name}_bucket{{le="+Inf"}} {n}')
        out.append(f"{self.name}_sum {_fmt(total)}")
        out.append(f"{self.name}_count {n}")
        return out


class Registry:
    """An ordered set of metrics plus collectors run just before rendering."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._collectors: list[Callable[[], None]] = []

    def counter(self, name: str, help_text: str) -> Counter:
        """Register (or return) a counter."""
        return self._add(Counter(name, help_text))  # type: ignore[return-value]

    def gauge(self, name: str, help_text: str) -> Gauge:
        """Register (or return) a gauge."""
        return self._add(Gauge(name, help_text))  # type: ignore[return-value]

    def histogram(self, name: str, help_text: str, buckets: Sequence[float] = LATENCY_BUCKETS) -> Histogram:
        """Register (or return) a histogram."""
        return self._add(Histogram(name, help_text, buckets))  # type: ignore[return-value]

    def add_collector(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` before each render (to refresh gauges from engine state)."""
        self._collectors.append(fn)

    def _add(self, m: _Metric) -> _Metric:
        return self._metrics.setdefault(m.name, m)

    def render(self) -> str:
        """The whole registry in Prometheus text format."""
        for fn in self._collectors:
            fn()
        out: list[str] = []
        for m in self._metrics.values():
            out.append(f"# HELP {m.name} {m.help}")
            out.append(f"# TYPE {m.name} {m.type_name}")
            out.extend(m.lines())  # type: ignore[attr-defined]
        return "\n".join(out) + "\n"


class EngineMetrics:
    """The engine's metric set (names are part of the operations contract)."""

    def __init__(self) -> None:
        r = self.registry = Registry()
        self.tick_to_intent = r.histogram(
            "tradeloop_tick_to_intent_seconds", "Tick receive to intent popped from the order ring")
        self.intent_to_ack = r.histogram(
            "tradeloop_intent_to_ack_seconds", "Intent popped to venue ACK received")
        self.ring_occupancy = r.gauge("tradeloop_ring_occupancy", "Records waiting in a ring")
        self.ring_drops = r.counter("tradeloop_ring_drops_total", "Records dropped by a ring")
        self.ring_full = r.counter("tradeloop_ring_full_total", "Pushes refused by a full ring")
        self.ticks = r.counter("tradeloop_ticks_total", "Ticks pushed into the quote ring")
        self.orders = r.counter("tradeloop_orders_total", "Orders submitted, by venue")
        self.rejects = r.counter("tradeloop_rejects_total", "Orders rejected, by reason")
        self.reports = r.counter("tradeloop_reports_total", "Venue reports, by kind")
        self.guard_breaches = r.counter("tradeloop_guard_breaches_total", "Guard refusals and resizes")
        self.pnl_realized = r.gauge("tradeloop_pnl_realized", "Realised PnL (quote currency)")
        self.pnl_unrealized = r.gauge("tradeloop_pnl_unrealized", "Unrealised PnL (quote currency)")
        self.position = r.gauge("tradeloop_position", "Signed position quantity")
        self.open_orders = r.gauge("tradeloop_open_orders", "Live orders in the order table")
        self.breaker_state = r.gauge(
            "tradeloop_circuit_breaker_state", "Broker circuit breaker: 0 closed, 1 open, 2 half-open")
        self.stale_quotes = r.counter("tradeloop_stale_feed_total", "Feeds detected quiet or stale")
        self.reconnects = r.counter("tradeloop_reconnects_total", "Feed and broker reconnects")
        self.kill = r.gauge("tradeloop_kill", "Kill switch (nonzero: the Reason code)")
        self.paused = r.gauge("tradeloop_paused", "1 while paused")
        self.generation = r.gauge("tradeloop_config_generation", "Config generation in force")
        self.reloads = r.counter("tradeloop_reloads_total", "Config reloads, by outcome")


__all__ = ["LATENCY_BUCKETS", "Counter", "EngineMetrics", "Gauge", "Histogram", "Registry"]
