"""``tradeloop sim serve`` as a real subprocess: trade through RemoteSimBroker, watch its
market data through SimFeed, drop the client, come back, and find the venue's state intact;
SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from decimal import Decimal

import pytest
from tradeloop_plugin_sim import RemoteSimBroker, SimFeed
from tradeloop_sdk import Intent, OrderType, Reason, ReportKind, Side, TimeInForce

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradeloop.cli", "sim", "serve", "--port", "0", "--rate", "400",
         "--seed", "11"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_sim_serve_subprocess_keeps_state_across_client_restarts(
    server: subprocess.Popen[str],
) -> None:
    assert server.stdout is not None
    line = server.stdout.readline()
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
    assert m, f"unexpected first line {line!r}; stderr: {server.stderr.read() if server.poll() is not None else ''}"  # type: ignore[union-attr]
    port = int(m.group(1))

    async def main() -> None:
        feed = SimFeed("127.0.0.1", port)
        stream = feed.stream()
        batch = await asyncio.wait_for(stream.__anext__(), 60)
        assert len(batch) > 0
        await stream.aclose()

        b = RemoteSimBroker("127.0.0.1", port)
        await b.connect()
        reports = b.reports()
        # A top-of-book venue may show an empty touch for a moment (a print took the displayed
        # size); then a market IOC rightly expires with NO_LIQUIDITY, so try again.
        seen: list = []
        filled = Decimal(0)
        cid = 0
        while filled == 0:
            cid += 1
            assert cid <= 20, f"no fill after 20 market IOCs: {seen}"
            await b.submit(Intent(client_id=cid, venue="sim", symbol="BTC-USD", side=Side.BUY,
                                  type=OrderType.MARKET, qty=Decimal("0.01"),
                                  tif=TimeInForce.IOC))
            mine = []
            while not mine or mine[-1].kind not in (ReportKind.FILL, ReportKind.EXPIRED,
                                                    ReportKind.REJECTED):
                mine.append(await asyncio.wait_for(reports.__anext__(), 30))
            assert mine[0].kind == ReportKind.ACK, mine
            assert all(r.client_id == cid for r in mine), mine
            seen += mine
            filled = sum((r.fill_qty for r in mine), Decimal(0))
            if filled == 0:
                assert mine[-1].kind == ReportKind.EXPIRED, mine
                assert mine[-1].reason == Reason.NO_LIQUIDITY, mine
        await b.close()  # the engine goes away...

        b2 = RemoteSimBroker("127.0.0.1", port)  # ...and a new one reconnects
        await b2.connect()
        [pos] = await b2.positions()
        assert pos.qty == filled
        assert [f.client_id for f in await b2.fills()] == [
            r.client_id for r in seen if r.fill_qty > 0]
        usd = next(x for x in await b2.balances() if x.currency == "USD")
        assert usd.total < Decimal(100_000)
        await b2.close()

    asyncio.run(main())
    server.send_signal(signal.SIGTERM)
    assert server.wait(30) == 0
