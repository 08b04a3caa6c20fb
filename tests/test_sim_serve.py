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
from tradeloop_sdk import Intent, OrderType, ReportKind, Side, TimeInForce

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
        await b.submit(Intent(client_id=1, venue="sim", symbol="BTC-USD", side=Side.BUY,
                              type=OrderType.MARKET, qty=Decimal("0.01"),
                              tif=TimeInForce.IOC))
        seen = []
        while not seen or seen[-1].kind not in (ReportKind.FILL, ReportKind.EXPIRED,
                                                ReportKind.REJECTED):
            seen.append(await asyncio.wait_for(reports.__anext__(), 30))
        filled = sum((r.fill_qty for r in seen), Decimal(0))
        assert seen[0].kind == ReportKind.ACK and filled > 0
        await b.close()  # the engine goes away...

        b2 = RemoteSimBroker("127.0.0.1", port)  # ...and a new one reconnects
        await b2.connect()
        [pos] = await b2.positions()
        assert pos.qty == filled
        assert [f.client_id for f in await b2.fills()] == [1] * (len(seen) - 1)
        usd = next(x for x in await b2.balances() if x.currency == "USD")
        assert usd.total < Decimal(100_000)
        await b2.close()

    asyncio.run(main())
    server.send_signal(signal.SIGTERM)
    assert server.wait(30) == 0
