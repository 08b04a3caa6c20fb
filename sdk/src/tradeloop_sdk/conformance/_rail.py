"""Funding-rail conformance: idempotent transfers, limits, status transitions.

Fixture to provide: ``rail`` (a FundingRail) and ``transfer_request`` (a factory
``key -> TransferRequest`` for a small, valid transfer between the rail's accounts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from .._errors import TradeloopError
from .._protocols import TransferRequest, TransferStatus

#: the transitions a transfer may make; terminal states have none
ALLOWED = {
    TransferStatus.PENDING: {TransferStatus.SUBMITTED, TransferStatus.FAILED, TransferStatus.CANCELLED},
    TransferStatus.SUBMITTED: {TransferStatus.SETTLED, TransferStatus.FAILED},
    TransferStatus.SETTLED: {TransferStatus.RETURNED},
    TransferStatus.FAILED: set(),
    TransferStatus.RETURNED: set(),
    TransferStatus.CANCELLED: set(),
}
_TERMINAL = {TransferStatus.FAILED, TransferStatus.RETURNED, TransferStatus.CANCELLED, TransferStatus.SETTLED}


class FundingRailConformance:
    """Checks every FundingRail plugin must pass."""

    def test_transfer_is_idempotent(self, rail: Any, transfer_request: Callable[[str], TransferRequest]) -> None:
        async def main() -> None:
            req = transfer_request("conformance-idem-1")
            before = await rail.balances()
            a = await rail.transfer(req)
            b = await rail.transfer(req)
            assert a.transfer_id == b.transfer_id, "the same idempotency key must return the same transfer"
            await _settle(rail, a.transfer_id)
            after = await rail.balances()
            moved = _total(before, req.source, req.currency) - _total(after, req.source, req.currency)
            assert moved in (req.amount, Decimal(0)), f"one transfer of {req.amount} moved {moved}"
            assert moved != 2 * req.amount, "a retried request was executed twice"

        asyncio.run(main())

    def test_limits_are_enforced(self, rail: Any, transfer_request: Callable[[str], TransferRequest]) -> None:
        async def main() -> None:
            limits = await rail.limits()
            req = attrs.evolve(transfer_request("conformance-limit-1"), amount=limits.per_transfer + 1)
            try:
                t = await rail.transfer(req)
            except TradeloopError:
                return
            final = await _settle(rail, t.transfer_id)
            assert final == TransferStatus.FAILED, (
                f"a transfer above the per-transfer limit {limits.per_transfer} must be refused, it ended {final}"
            )

        asyncio.run(main())

    def test_status_transitions_are_valid(self, rail: Any, transfer_request: Callable[[str], TransferRequest]) -> None:
        async def main() -> None:
            t = await rail.transfer(transfer_request("conformance-status-1"))
            seen = [t.status]
            for _ in range(200):
                cur = (await rail.transfer_status(t.transfer_id)).status
                if cur != seen[-1]:
                    assert cur in ALLOWED[seen[-1]], f"invalid transition {seen[-1].value} -> {cur.value}"
                    seen.append(cur)
                if cur in _TERMINAL:
                    break
                await asyncio.sleep(0.01)
            assert seen[-1] in _TERMINAL, f"transfer never reached a final state: {[s.value for s in seen]}"

        asyncio.run(main())


async def _settle(rail: Any, transfer_id: str) -> TransferStatus:
    for _ in range(200):
        st: TransferStatus = (await rail.transfer_status(transfer_id)).status
        if st in _TERMINAL:
            return st
        await asyncio.sleep(0.01)
    return st


def _total(balances: Any, account: str, currency: str) -> Decimal:
    return sum((b.total for b in balances if b.venue == account and b.currency == currency), Decimal(0))
