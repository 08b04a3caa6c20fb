"""The operations HTTP server: health, metrics, state, events and the admin controls.

Plain HTTP/1.1 over asyncio streams (stdlib only), one request per connection. Bound to
127.0.0.1 unless the config says otherwise. Reads (``/health/*``, ``/metrics``, ``/state``,
``/events``) are open; anything that changes state (``POST /admin/*``) needs
``Authorization: Bearer <token>``, compared with :func:`hmac.compare_digest`. A missing
token gets 401, a wrong one 403; with no token configured the admin endpoints are off (403).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

_log = logging.getLogger("tradeloop.engine.ops")

_MAX_HEADER = 16 * 1024
_MAX_BODY = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}
ADMIN_ACTIONS = ("pause", "resume", "kill", "flatten", "reload")


class Controls(Protocol):
    """What the server asks of the engine."""

    def is_ready(self) -> bool: ...
    def metrics_text(self) -> str: ...
    def state(self) -> dict[str, Any]: ...
    def recent_events(self, n: int) -> list[dict[str, Any]]: ...
    def admin(self, action: str, body: dict[str, Any]) -> dict[str, Any]: ...


class OpsServer:
    """Serve the operations API for ``controls`` on ``host:port`` (port 0: any free port)."""

    def __init__(self, controls: Controls, *, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None) -> None:
        self.controls = controls
        self.host = host
        self.port = port
        self._token = token.encode() if token else None
        self._server: asyncio.base_events.Server | None = None
        try:
            if not ipaddress.ip_address(host).is_loopback:
                _log.warning("operations server bound to non-loopback address %s", host)
        except ValueError:
            _log.warning("operations server bound to host name %s", host)

    async def start(self) -> int:
        """Start listening; returns the bound port."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        _log.info("operations server on http://%s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _authorised(self, headers: dict[str, str]) -> int:
        """0 when the bearer token matches, else the HTTP status to answer with."""
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return 401
        if self._token is None:
            return 403
        return 0 if hmac.compare_digest(auth[7:].strip().encode(), self._token) else 403

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, ctype, body = await self._dispatch(reader)
        except Exception:  # a handler bug must not take the engine down
            _log.exception("operations request failed")
            status, ctype, body = 500, "application/json", b'{"error":"internal error"}'
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n")
        if status == 401:
            head += 'WWW-Authenticate: Bearer realm="tradeloop"\r\n'
        try:
            writer.write(head.encode() + b"\r\n" + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _dispatch(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return _json(400, {"error": "malformed request"})
        if len(raw) > _MAX_HEADER:
            return _json(400, {"error": "headers too large"})
        lines = raw.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            return _json(400, {"error": "malformed request line"})
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > _MAX_BODY:
            return _json(413, {"error": "body too large"})
        body = await reader.readexactly(length) if length else b""
        url = urlsplit(target)
        return self._route(method.upper(), url.path, parse_qs(url.query), headers, body)

    def _route(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: bytes) -> tuple[int, str, bytes]:
        c = self.controls
        if path.startswith("/admin/"):
            action = path[len("/admin/"):]
            if action not in ADMIN_ACTIONS:
                return _json(404, {"error": f"unknown admin action {action!r}"})
            denied = self._authorised(headers)
            if denied:
                return _json(denied, {"error": "missing bearer token" if denied == 401 else "forbidden"})
            if method != "POST":
                return _json(405, {"error": "use POST"})
            try:
                payload = json.loads(body) if body.strip() else {}
            except json.JSONDecodeError:
                return _json(400, {"error": "body is not JSON"})
            if not isinstance(payload, dict):
                return _json(400, {"error": "body must be a JSON object"})
            result = c.admin(action, payload)
            return _json(200 if result.get("ok", True) else 409, result)
        if method != "GET":
            return _json(405, {"error": "use GET"})
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/health/live": lambda: _json(200, {"status": "live"}),
            "/health/ready": lambda: _json(200, {"status": "ready"}) if c.is_ready()
            else _json(503, {"status": "not ready"}),
            "/metrics": lambda: (200, "text/plain; version=0.0.4; charset=utf-8",
                                 c.metrics_text().encode()),
            "/state": lambda: _json(200, c.state()),
            "/events": lambda: _json(200, {"events": c.recent_events(_int(query, "n", 100))}),
        }
        fn = routes.get(path)
        return fn() if fn else _json(404, {"error": f"no route {path}"})


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    try:
        return max(0, int(query.get(key, [default])[0]))
    except ValueError:
        return default


def _json(status: int, data: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(data, default=str).encode()


__all__ = ["ADMIN_ACTIONS", "Controls", "OpsServer"]
