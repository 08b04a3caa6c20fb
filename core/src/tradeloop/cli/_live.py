"""``tradeloop run CONFIG`` (paper or live trading) and ``tradeloop ctl`` (operate a running engine)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

import click

_CTL_ACTIONS = ("pause", "resume", "kill", "flatten", "reload")


@click.command("run")
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
@click.option("--journal", default=None, help="Journal path (overrides engine.journal).")
@click.option("--ops-port", type=int, default=None, help="Operations server port (0: any free).")
@click.option("--ops-host", default=None, help="Operations server address (default 127.0.0.1).")
@click.option("--kill-file", default=None, help="Kill-file path (overrides engine.kill_file).")
@click.option("--stop-when-feeds-end", is_flag=True, help="Exit once every feed has ended.")
@click.option("--no-cancel-on-stop", is_flag=True, help="Leave open orders at the venue on exit.")
def run(config: str, journal: str | None, ops_port: int | None, ops_host: str | None,
        kill_file: str | None, stop_when_feeds_end: bool, no_cancel_on_stop: bool) -> None:
    """Trade CONFIG (paper or live) until SIGINT/SIGTERM; SIGHUP reloads the config.

    Prints ``ops: http://HOST:PORT`` once the operations server listens. Exit 0 after a
    graceful stop, 1 when the loop failed, 2 for config errors.
    """
    from ..config import load_config
    from ..engine import EngineSettings, build_engine

    cfg = load_config(config)
    over: dict[str, Any] = {}
    if journal:
        over["journal"] = journal
    if ops_port is not None:
        over["ops_port"], over["ops_enabled"] = ops_port, True
    if ops_host:
        over["ops_host"] = ops_host
    if kill_file:
        over["kill_file"] = kill_file
    if stop_when_feeds_end:
        over["stop_when_feeds_end"] = True
    if no_cancel_on_stop:
        over["cancel_on_stop"] = False
    settings = EngineSettings.from_config(cfg, **over)
    engine = build_engine(cfg, settings=settings, load_config=lambda: load_config(config))

    def started(eng: Any) -> None:
        if eng.ops is not None:
            click.echo(f"ops: http://{eng.ops.host}:{eng.ops.port}")
        click.echo(f"trading: next client id {int(eng.control[0]['next_client_id'])}")
        sys.stdout.flush()

    sys.exit(asyncio.run(engine.run(on_started=started)))


def _request(url: str, method: str, token: str | None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body or {}).encode() if method == "POST" else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach {url}: {exc.reason}") from None
    try:
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")


@click.command("ctl")
@click.argument("action", type=click.Choice([*_CTL_ACTIONS, "status", "events"]))
@click.option("--url", default="http://127.0.0.1:8765", show_default=True, help="Operations server.")
@click.option("--token-env", default="TRADELOOP_OPS_TOKEN", show_default=True,
              help="Environment variable holding the admin token (never pass it on the command line).")
@click.option("--reason", default="operator", help="Reason recorded with a kill.")
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON.")
def ctl(action: str, url: str, token_env: str, reason: str, as_json: bool) -> None:
    """Operate a running engine: pause, resume, kill, flatten, reload, status, events."""
    from ._render import stdout

    base = url.rstrip("/")
    if action == "status":
        status, data = _request(base + "/state", "GET", None)
    elif action == "events":
        status, data = _request(base + "/events?n=50", "GET", None)
    else:
        token = os.environ.get(token_env)
        if not token:
            raise click.ClickException(f"set {token_env} to the admin token")
        body = {"reason": reason} if action == "kill" else {}
        status, data = _request(f"{base}/admin/{action}", "POST", token, body)
    con = stdout()
    if as_json or action != "status":
        con.print_json(json.dumps(data, default=str))
    else:
        _render_status(con, data)
    if status >= 400:
        sys.exit(1)


def _render_status(con: Any, st: dict[str, Any]) -> None:
    from rich.table import Table

    con.print(f"ready: {st.get('ready')}  kill: {st.get('kill')}  paused: {st.get('paused')}  "
              f"generation: {st.get('generation')}", markup=False)
    con.print(f"realised: {st.get('realized')}  unrealised: {st.get('unrealized')}  "
              f"fees: {st.get('fees')}", markup=False)
    t = Table(title="positions")
    for c in ("position", "qty", "avg_price", "realized", "unrealized"):
        t.add_column(c)
    for key, p in (st.get("positions") or {}).items():
        t.add_row(key, *(str(p.get(c)) for c in ("qty", "avg_price", "realized", "unrealized")))
    con.print(t)
    con.print(f"open orders: {len(st.get('open_orders') or [])}  breakers: "
              f"{ {v: b['state'] for v, b in (st.get('breakers') or {}).items()} }", markup=False)


__all__ = ["ctl", "run"]
