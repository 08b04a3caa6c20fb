"""Operations server, metrics format, atomic snapshot and kill file."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from tradeloop.engine._killfile import KillFileWatcher
from tradeloop.engine._metrics import EngineMetrics
from tradeloop.engine._ops_server import OpsServer
from tradeloop.engine._snapshot import load, save_atomic


class _Controls:
    def __init__(self) -> None:
        self.actions: list[str] = []
        self.metrics = EngineMetrics()

    def is_ready(self) -> bool:
        return bool(self.actions)

    def metrics_text(self) -> str:
        return self.metrics.registry.render()

    def state(self) -> dict:
        return {"paused": "pause" in self.actions}

    def recent_events(self, n: int) -> list:
        return [{"i": i} for i in range(n)]

    def admin(self, action: str, body: dict) -> dict:
        self.actions.append(action)
        return {"ok": True, "action": action}


async def _req(port: int, method: str, path: str, token: str | None = None) -> tuple[int, bytes]:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    hdr = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
    if token is not None:
        hdr += f"Authorization: Bearer {token}\r\n"
    w.write((hdr + "\r\n").encode())
    await w.drain()
    data = await r.read()
    w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_ops_server_auth_and_routes():
    async def main() -> None:
        c = _Controls()
        srv = OpsServer(c, token="s3cret")
        port = await srv.start()
        assert srv._server.sockets[0].getsockname()[0] == "127.0.0.1"
        assert (await _req(port, "GET", "/health/live"))[0] == 200
        assert (await _req(port, "GET", "/health/ready"))[0] == 503
        assert (await _req(port, "POST", "/admin/pause"))[0] == 401
        assert (await _req(port, "POST", "/admin/pause", "wrong"))[0] == 403
        assert (await _req(port, "POST", "/admin/kill", ""))[0] == 401
        assert c.actions == []
        st, body = await _req(port, "POST", "/admin/pause", "s3cret")
        assert st == 200 and json.loads(body)["action"] == "pause"
        assert (await _req(port, "GET", "/health/ready"))[0] == 200
        assert json.loads((await _req(port, "GET", "/state"))[1]) == {"paused": True}
        assert len(json.loads((await _req(port, "GET", "/events?n=3"))[1])["events"]) == 3
        st, body = await _req(port, "GET", "/metrics")
        assert st == 200 and b"# TYPE tradeloop_tick_to_intent_seconds histogram" in body
        assert (await _req(port, "GET", "/admin/pause", "s3cret"))[0] == 405
        assert (await _req(port, "GET", "/nope"))[0] == 404
        await srv.stop()
        # no token configured: admin is off even with some bearer value
        srv2 = OpsServer(c, token=None)
        port2 = await srv2.start()
        assert (await _req(port2, "POST", "/admin/kill", "anything"))[0] == 403
        await srv2.stop()

    asyncio.run(main())


def test_metrics_text_format():
    m = EngineMetrics()
    m.tick_to_intent.observe(3e-6)
    m.tick_to_intent.observe(2.0)
    m.rejects.inc(reason="MIN_SIZE")
    m.position.set(-1.5, venue="sim", symbol='A"B')
    text = m.registry.render()
    assert 'tradeloop_tick_to_intent_seconds_bucket{le="5e-06"} 1' in text
    assert 'tradeloop_tick_to_intent_seconds_bucket{le="+Inf"} 2' in text
    assert "tradeloop_tick_to_intent_seconds_count 2" in text
    assert 'tradeloop_rejects_total{reason="MIN_SIZE"} 1' in text
    assert 'tradeloop_position{symbol="A\\"B",venue="sim"} -1.5' in text


def test_snapshot_atomic(tmp_path):
    p = tmp_path / "s" / "snap.json"
    assert load(p) is None
    save_atomic(p, {"a": 1})
    save_atomic(p, {"a": 2})
    assert load(p) == {"a": 2}
    assert [f for f in os.listdir(p.parent)] == ["snap.json"]  # no temp left behind
    p.write_text("{torn")
    with pytest.raises(ValueError, match="not valid JSON"):
        load(p)


def test_kill_file(tmp_path):
    seen: list[str] = []
    w = KillFileWatcher(tmp_path / "KILL", seen.append)
    assert not w.check()
    (tmp_path / "KILL").write_text("ops: stop now\n")
    assert w.check() and not w.check()
    assert seen == ["kill file KILL: ops: stop now"]
