"""The simulated venue on the Python side: the compiled kernel over a private context.

:class:`SimVenue` is synchronous and owns no event loop; :class:`SimBroker` (in-process
paper trading) and :class:`SimVenueServer` (the venue as its own process) both wrap one.
Prices and quantities cross this boundary as Decimals (money exact on the Python side);
inside the kernel they are float64.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

import numpy as np
from tradeloop_sdk import (
    REPORT_DTYPE,
    Balance,
    Intent,
    IntentAction,
    OrderRejected,
    OrderState,
    OrderStatus,
    OrderType,
    Position,
    Reason,
    Report,
    ReportKind,
    Side,
    SymbolSpec,
    TimeInForce,
    Universe,
    VenueSpec,
    fill_specs,
    make_context,
    to_decimal,
)

from ._driver import run_flush, run_intent, run_ticks
from ._layout import (
    C_DEAD,
    C_NLIVE,
    C_NOW,
    C_PI_HEAD,
    C_PI_TAIL,
    C_RI_HEAD,
    C_RI_TAIL,
    F_FILLED,
    F_LEAVES,
    F_NOTIONAL,
    F_PRICE,
    F_QTY,
    I_CID,
    I_RESTING,
    I_SIDE,
    I_SYMBOL,
    I_TIF,
    I_TS,
    I_TYPE,
    I_VENUE,
    I_VOI,
    make_state,
    sim_params,
)

log = logging.getLogger(__name__)

_FILL_KINDS = (ReportKind.PARTIAL, ReportKind.FILL)


class SimVenue:
    """One simulated venue account: book, orders, fills and balances, driven by ticks.

    ``universe`` names the venues, symbols and currencies (ticks carry their ids);
    ``venues`` limits which of its venues are simulated (default: all).
    """

    def __init__(
        self,
        universe: Universe,
        *,
        venues: Sequence[str] | None = None,
        latency_ns: int = 0,
        report_latency_ns: int = 0,
        starting_balances: Mapping[str, Decimal | str | int] | None = None,
        starting_positions: Mapping[str, Decimal | str | int] | None = None,
        allow_short: bool = False,
        check_balance: bool = True,
        shadow_only: bool = False,
        max_orders: int = 4096,
        queue_capacity: int = 4096,
    ) -> None:
        self.universe = universe
        self.venues = tuple(venues) if venues else universe.venues
        self.shadow_only = shadow_only
        nv, ns, nc = len(universe.venues), len(universe.symbols), len(universe.currencies)
        self.ctx = make_context(nv, ns, n_currencies=nc, order_capacity=1 << 12,
                                intent_capacity=4, report_capacity=1024)
        fill_specs(self.ctx.specs, universe)
        if shadow_only:
            for v in self.venues:
                self.ctx.specs["shadow_only"][universe.venue_id(v)] = 1
        self.params = sim_params(latency_ns=latency_ns, report_latency_ns=report_latency_ns,
                                 allow_short=allow_short, check_balance=check_balance)
        self.state = make_state(nv, ns, nc, handles=[universe.venue_id(v) for v in self.venues],
                                max_orders=max_orders, queue_capacity=queue_capacity)
        for v in self.venues:
            vid = universe.venue_id(v)
            for cur, amount in (starting_balances or {}).items():
                self.state.cash[vid, universe.currency_id(cur)] = float(Decimal(str(amount)))
            for sym, qty in (starting_positions or {}).items():
                self.state.pos[vid, universe.symbol_id(sym)] = float(Decimal(str(qty)))
        self._out = np.zeros(4 * 1024, REPORT_DTYPE)
        self._known: set[int] = set()
        self._fills: list[Report] = []
        self._listeners: list[Callable[[Report], None]] = []

    # --- time and market data ---

    @property
    def now_ns(self) -> int:
        """Venue time: the time of the latest tick (or arrival) the venue has seen."""
        return int(self.state.ctr[C_NOW])

    def feed(self, ticks: np.ndarray) -> list[Report]:
        """Match a chunk of TICK_DTYPE ticks; returns (and publishes) the reports released."""
        got: list[Report] = []
        i = 0
        while i < ticks.shape[0]:
            i, n = run_ticks(self.params, self.state, self.ctx, ticks, i, self._out)
            got.extend(self._publish(self._out[:n]))
        return got

    def quiet(self) -> bool:
        """No live order, pending arrival or queued report: a tick fed now only moves the
        venue's book and releases no report (replay feeds such ticks in batches)."""
        c = self.state.ctr
        return (c[C_NLIVE] == c[C_DEAD] and c[C_PI_HEAD] == c[C_PI_TAIL]
                and c[C_RI_HEAD] == c[C_RI_TAIL])

    def advance(self, now_ns: int) -> list[Report]:
        """Advance venue time without a tick (delivers due arrivals and reports)."""
        n = run_flush(self.params, self.state, self.ctx, now_ns, self._out)
        return self._publish(self._out[:n])

    def subscribe(self, listener: Callable[[Report], None]) -> None:
        """Call ``listener`` with every report, in venue order."""
        self._listeners.append(listener)

    def _publish(self, recs: np.ndarray) -> list[Report]:
        reps = [Report.from_record(r, self.universe) for r in recs]
        for rep in reps:
            if rep.kind in _FILL_KINDS:
                self._fills.append(rep)
            for fn in self._listeners:
                fn(rep)
        return reps

    # --- requests ---

    def known(self, client_id: int) -> bool:
        """Whether the venue has ever received a NEW order with this client id."""
        return client_id in self._known

    def submit(self, intent: Intent) -> list[Report]:
        """Send a NEW order; raises OrderRejected(DUPLICATE_ORDER) for a reused client id."""
        if intent.action != IntentAction.NEW:
            raise ValueError(f"submit takes NEW intents, got {intent.action.name}")
        if intent.client_id <= 0:
            raise ValueError(f"client_id must be positive, got {intent.client_id}")
        if intent.client_id in self._known:
            raise OrderRejected(Reason.DUPLICATE_ORDER, "client id already used",
                                venue=intent.venue, client_id=intent.client_id)
        if intent.venue not in self.venues:
            raise OrderRejected(Reason.INVALID_SYMBOL, f"venue {intent.venue!r} is not simulated",
                                venue=intent.venue, client_id=intent.client_id)
        if intent.symbol not in self.universe.symbols:
            raise OrderRejected(Reason.INVALID_SYMBOL, f"unknown symbol {intent.symbol!r}",
                                venue=intent.venue, client_id=intent.client_id)
        self._known.add(intent.client_id)
        return self._send(intent)

    def cancel(self, client_id: int, venue: str | None = None) -> list[Report]:
        """Ask to cancel ``client_id`` (REJECTED UNKNOWN_ORDER when it is not open)."""
        return self._send(self._amend(client_id, IntentAction.CANCEL, venue))

    def replace(self, client_id: int, qty: Decimal, price: Decimal | None,
                venue: str | None = None) -> list[Report]:
        """Amend ``client_id`` to total quantity ``qty`` at ``price``."""
        return self._send(self._amend(client_id, IntentAction.REPLACE, venue, qty, price))

    def _amend(self, client_id: int, action: IntentAction, venue: str | None,
               qty: Decimal = Decimal(0), price: Decimal | None = None) -> Intent:
        row = self._row(client_id)
        if row is not None:
            v = self.universe.venues[int(self.state.oi[row, I_VENUE])]
            s = self.universe.symbols[int(self.state.oi[row, I_SYMBOL])]
            side = Side(int(self.state.oi[row, I_SIDE]))
        else:
            v, s, side = venue or self.venues[0], self.universe.symbols[0], Side.NONE
        return Intent(client_id=client_id, venue=v, symbol=s, side=side, type=OrderType.LIMIT,
                      qty=qty, price=price, action=action, target_id=client_id)

    def _send(self, intent: Intent) -> list[Report]:
        rec = intent.to_record(self.universe)[0]
        self.ctx.intents[0] = rec
        self.ctx.control[0]["now_ns"] = max(self.now_ns, int(self.ctx.control[0]["now_ns"]))
        n = run_intent(self.params, self.state, self.ctx, self._out)
        return self._publish(self._out[:n])

    def _row(self, client_id: int) -> int | None:
        for r in range(int(self.state.ctr[C_NLIVE])):
            if self.state.oi[r, I_CID] == client_id and self.state.oi[r, I_RESTING] >= 0:
                return r
        return None

    # --- snapshots ---

    def open_orders(self) -> list[OrderStatus]:
        """Orders live at the venue, in time priority."""
        st, out = self.state, []
        for r in range(int(st.ctr[C_NLIVE])):
            if st.oi[r, I_RESTING] < 0:
                continue
            filled = to_decimal(st.of[r, F_FILLED])
            avg = (to_decimal(st.of[r, F_NOTIONAL] / st.of[r, F_FILLED])
                   if st.of[r, F_FILLED] > 0 else Decimal(0))
            price = st.of[r, F_PRICE]
            out.append(OrderStatus(
                client_id=int(st.oi[r, I_CID]),
                venue=self.universe.venues[int(st.oi[r, I_VENUE])],
                symbol=self.universe.symbols[int(st.oi[r, I_SYMBOL])],
                side=Side(int(st.oi[r, I_SIDE])),
                type=OrderType(int(st.oi[r, I_TYPE])),
                tif=TimeInForce(int(st.oi[r, I_TIF])),
                qty=to_decimal(st.of[r, F_QTY]),
                price=None if np.isnan(price) else to_decimal(price),
                filled=filled,
                avg_fill_price=avg,
                state=OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN,
                venue_order_id=int(st.oi[r, I_VOI]),
                ts=int(st.oi[r, I_TS]),
            ))
        return out

    def leaves(self, client_id: int) -> Decimal | None:
        """Open quantity of a live order, or None."""
        row = self._row(client_id)
        return None if row is None else to_decimal(self.state.of[row, F_LEAVES])

    def fills(self, since_ns: int = 0) -> list[Report]:
        """Fill reports released so far with ``ts >= since_ns``."""
        return [f for f in self._fills if f.ts >= since_ns]

    def positions(self) -> list[Position]:
        """Venue-side positions (non-zero), with fees and average price from the fills."""
        out = []
        for v in self.venues:
            vid = self.universe.venue_id(v)
            for sid, sym in enumerate(self.universe.symbols):
                qty = self.state.pos[vid, sid]
                if qty != 0.0:
                    fills = [f for f in self._fills if f.venue == v and f.symbol == sym]
                    fees = sum((f.fee for f in fills), Decimal(0))
                    out.append(Position(venue=v, symbol=sym, qty=to_decimal(qty),
                                        avg_price=_avg_price(fills), fees=fees))
        return out

    def balances(self) -> list[Balance]:
        """Cash per currency: total, and available (total less what open buys hold)."""
        out = []
        for v in self.venues:
            vid = self.universe.venue_id(v)
            for cid, cur in enumerate(self.universe.currencies):
                total = self.state.cash[vid, cid]
                held = self.state.held_cash[vid, cid]
                out.append(Balance(venue=v, currency=cur, total=to_decimal(total),
                                   available=to_decimal(round(total - held, 10))))
        return out

    def venue_spec(self, venue: str | None = None) -> VenueSpec:
        """Metadata of ``venue`` (default: the first simulated venue)."""
        name = venue or self.venues[0]
        specs: Iterable[SymbolSpec] = (
            spec for (v, _s), spec in self.universe.specs.items() if v == name
        )
        return VenueSpec(name=name, symbols=tuple(specs), shadow_only=self.shadow_only)


def _avg_price(fills: list[Report]) -> Decimal:
    """Average entry price of the open position, replaying fills (FIFO-free, weighted)."""
    qty = Decimal(0)
    avg = Decimal(0)
    for f in fills:
        signed = f.fill_qty if f.side == Side.BUY else -f.fill_qty
        new = qty + signed
        if qty == 0 or (qty > 0) == (signed > 0):
            avg = (avg * abs(qty) + f.fill_price * abs(signed)) / abs(new) if new else Decimal(0)
        elif (new > 0) != (qty > 0) and new != 0:
            avg = f.fill_price  # flipped through zero
        elif new == 0:
            avg = Decimal(0)
        qty = new
    return avg
