"""Load test of the web app: logged-in users browsing what the visibility rule lets them see.

Starts the app with the sample event in waitress (a production WSGI server) as a subprocess
on a free loopback port, after precomputing the suggestions (``flask load-sample``) and creating
one account per client in the server's instance (enterprise members of the sample's
enterprises, institute members of its institutes and organisers of the event, about
60 / 30 / 10 %). Every client then logs in through the real login form, CSRF on as in
production (get the page, post its token), keeps its session cookie like a browser and, with
``--clients`` concurrent keep-alive connections for ``--duration`` seconds, cycles through

* the suggestions page of each need it may open (``/events/<id>/needs/<need_id>``: an
  enterprise its own needs, an institute or organiser a slice of ``--needs-per-client``
  needs; members see only the suggestions the rule allows),
* the JSON suggestions API of the same needs (``/api/events/<id>/suggestions?need_id=…``),
* the event overview (``/events/<id>``) and
* a free-text search (``/events/<id>/search?q=…``: capabilities for enterprises and
  organisers, needs for institutes; never cached),

then, in the same run and with the same logged-in clients, the static ``/healthz`` for
comparison. Reports requests/s, p50/p95/p99 latency and errors (any status but 200, or a broken
connection) for the mix, per kind and for ``/healthz``, the ratios to ``/healthz``, the first
(uncached) render of each page, the CPU model and the load average before and after.

Usage::

    python benchmarks/web_load.py                # table
    python benchmarks/web_load.py --json         # one JSON object
    python benchmarks/web_load.py --lexical-only # skip the embedding model (precompute and search)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 100.0
PASSWORD = "load-test-password-1"
SEARCHES = ("碳化硅外延缺陷控制与器件可靠性", "复合材料结构轻量化设计", "铝合金压铸件气孔问题", "可降解材料耐热改性",
            "工业机器人视觉检测", "锂电池热管理与安全")
KINDS = ("suggestions_page", "suggestions_api", "overview", "search")
#: Runs in the server's instance before waitress starts: one account per client, and what each may open.
_ACCOUNTS = r"""
import json, sys
from sqlalchemy import select
from webapp import create_app
from webapp.db import db
from webapp.models import Capability, Event, Need
from webapp.services.accounts import create_user

clients, password, per_client = json.loads(sys.stdin.read())
app = create_app()
with app.app_context():
    event = db.session.scalar(select(Event).order_by(Event.id))
    needs = db.session.execute(select(Need.need_id, Need.org).where(Need.event_id == event.id)
                               .order_by(Need.need_id)).all()
    enterprises = sorted({org for _id, org in needs})
    institutes = sorted(set(db.session.scalars(select(Capability.org).where(Capability.event_id == event.id))))
    accounts = []
    for k in range(clients):
        share = k % 10
        role = "enterprise" if share < 6 else "institute" if share < 9 else "organiser"
        if role == "enterprise":
            org = enterprises[k % len(enterprises)]
            own = [n for n, o in needs if o == org]
            foreign = next(n for n, o in needs if o != org)
        else:
            org = institutes[k % len(institutes)] if role == "institute" else None
            start = (k * per_client) % len(needs)
            own = [n for n, _o in (needs[start:] + needs[:start])[:per_client]]
            foreign = None
        username = f"load-{role}-{k:03d}"
        create_user(username, password, role, org=org, event_ids=[event.id] if role == "organiser" else ())
        accounts.append({"username": username, "role": role, "org": org, "needs": own, "foreign_need": foreign})
    print(json.dumps({"event": event.id, "accounts": accounts}))
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(instance):
    # Plain http on loopback: the session cookie must not require HTTPS (as `make serve`).
    return dict(os.environ, WEBAPP_INSTANCE_PATH=str(instance), WEBAPP_SESSION_COOKIE_SECURE="0",
                HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def prepare(instance, lexical_only, clients, per_client):
    """Load and rank the sample event (``flask load-sample``), then create one account per client."""
    config = "MATCHER_WEIGHTS = {'semantic': 0.0}\n" if lexical_only else ""
    (Path(instance) / "config.py").write_text(config)
    env = server_env(instance)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "load-sample"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"flask load-sample failed:\n{done.stdout}{done.stderr}")
    precompute_s = time.perf_counter() - started
    done = subprocess.run([sys.executable, "-c", _ACCOUNTS], cwd=ROOT, env=env, capture_output=True, text=True,
                          input=json.dumps([clients, PASSWORD, per_client]), check=False)
    if done.returncode:
        raise RuntimeError(f"creating the accounts failed:\n{done.stdout}{done.stderr}")
    return precompute_s, json.loads(done.stdout.strip().splitlines()[-1])


def start_server(instance, port, threads):
    command = [sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}", f"--threads={threads}",
               "--connection-limit=200", "--call", "webapp:create_app"]
    with open(Path(instance) / "server.log", "wb") as log:  # the child keeps its own copy of the handle
        process = subprocess.Popen(command, cwd=ROOT, env=server_env(instance), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {Path(instance) / 'server.log'}")
        try:
            if asyncio.run(_healthz(port)) == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("server did not answer /healthz within 120 s")


async def _healthz(port):
    client = Client(port)
    try:
        return (await client.request("GET", "/healthz"))[0]
    finally:
        client.close()


class Client:
    """One browser: a keep-alive HTTP/1.1 connection and its session cookie.

    A minimal client (Content-Length framing, requests built as bytes) keeps the load
    generator's own CPU use small on a machine it shares with the server.
    """

    def __init__(self, port):
        self.port, self.cookie = port, ""
        self.reader = self.writer = None

    async def request(self, method, path, form=None):
        body = urlencode(form).encode() if form else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Accept: */*"]
        if self.cookie:
            head.append(f"Cookie: session={self.cookie}")
        if form:
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            status, headers, payload = await self._response()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise
        for cookie in headers.get("set-cookie", []):
            if cookie.startswith("session="):
                self.cookie = cookie.split(";", 1)[0].partition("=")[2]
        if headers.get("connection", [""])[0].lower() == "close":
            self.close()
        return status, payload

    async def _response(self):
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for name, _sep, value in (line.partition(":") for line in lines[1:] if line):
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        if "content-length" not in headers:
            raise ValueError("response without Content-Length")
        return status, headers, await self.reader.readexactly(int(headers["content-length"][0]))

    async def login(self, username):
        """The real form: get the login page (and its CSRF token), post the token with the credentials."""
        status, page = await self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"login page answered {status} without a CSRF token")
        status, _body = await self.request("POST", "/login", {"csrf_token": token.group(1).decode(),
                                                              "username": username, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"login of {username} answered {status}, not a redirect")

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def client_paths(event, account, index):
    """``[(kind, path)]`` the ``index``-th client cycles through."""
    base = f"/events/{event}"
    paths = []
    for need_id in account["needs"]:
        paths += [("suggestions_page", f"{base}/needs/{quote(need_id)}"),
                  ("suggestions_api", f"/api{base}/suggestions?need_id={quote(need_id)}")]
    target = "need" if account["role"] == "institute" else "capability"
    text = SEARCHES[index % len(SEARCHES)]
    return paths + [("overview", base), ("search", f"{base}/search?q={quote(text)}&target={target}")]


async def _open_clients(port, event, accounts):
    """Log every client in, check the rule once per client, and render each of its pages once (uncached)."""
    clients = [Client(port) for _ in accounts]
    await asyncio.gather(*(c.login(a["username"]) for c, a in zip(clients, accounts)))
    first = {kind: [] for kind in KINDS}
    for index, (client, account) in enumerate(zip(clients, accounts)):
        if account["foreign_need"]:  # another enterprise's need answers like a missing one
            status, _body = await client.request("GET", f"/events/{event}/needs/{quote(account['foreign_need'])}")
            if status != 404:
                raise RuntimeError(f"{account['username']} opened another enterprise's need: {status}")
        for kind, path in client_paths(event, account, index):
            begin = time.perf_counter()
            status, _body = await client.request("GET", path)
            if status != 200:
                raise RuntimeError(f"{account['username']} GET {path} answered {status}")
            first[kind].append((time.perf_counter() - begin) * 1000)
    return clients, {kind: summarise(values, 0, None) for kind, values in first.items()}


async def _drive(clients, plans, duration):
    """Closed loop: every client sends its next request as soon as the last one is answered."""
    samples, errors = [], {}
    started = time.perf_counter()
    stop_at = started + duration

    async def run(client, plan, offset):
        i = offset
        while time.perf_counter() < stop_at:
            kind, path = plan[i % len(plan)]
            i += 1
            begin = time.perf_counter()
            try:
                status, _body = await client.request("GET", path)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors[kind] = errors.get(kind, 0) + 1
                continue
            samples.append((kind, (time.perf_counter() - begin) * 1000))
            if status != 200:
                errors[kind] = errors.get(kind, 0) + 1

    await asyncio.gather(*(run(c, p, k * 7) for k, (c, p) in enumerate(zip(clients, plans))))
    seconds = time.perf_counter() - started
    kinds = sorted({k for k, _ms in samples} | set(errors), key=lambda k: (KINDS + ("healthz",)).index(k))
    by_kind = {k: summarise([ms for kind, ms in samples if kind == k], errors.get(k, 0), seconds) for k in kinds}
    return summarise([ms for _k, ms in samples], sum(errors.values()), seconds), by_kind


def summarise(latencies, errors, seconds):
    ordered = sorted(latencies)

    def pct(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else None

    out = {"requests": len(ordered), "errors": errors, "p50_ms": pct(0.50), "p95_ms": pct(0.95),
           "p99_ms": pct(0.99), "max_ms": round(ordered[-1], 2) if ordered else None}
    if seconds:
        out.update(seconds=round(seconds, 2), requests_per_s=round(len(ordered) / seconds, 1))
    return out


async def _measure(port, event, accounts, duration):
    clients, first = await _open_clients(port, event, accounts)
    try:
        mix, by_kind = await _drive(clients, [client_paths(event, a, k) for k, a in enumerate(accounts)], duration)
        healthz, _ = await _drive(clients, [[("healthz", "/healthz")]] * len(clients), duration)
    finally:
        for client in clients:
            client.close()
    return mix, by_kind, healthz, first


def cpu_model():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def ratios(row, healthz):
    return {key: round(row[key] / healthz[key], 2) if row[key] and healthz[key] else None
            for key in ("p50_ms", "p95_ms", "p99_ms", "requests_per_s")}


def run(args):
    load_before = [round(v, 2) for v in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="matcher-web-load-") as instance:
        precompute_s, setup = prepare(instance, args.lexical_only, args.clients, args.needs_per_client)
        port = free_port()
        server = start_server(instance, port, args.threads)
        try:
            mix, by_kind, healthz, first = asyncio.run(_measure(port, setup["event"], setup["accounts"],
                                                                args.duration))
        finally:
            server.terminate()
            server.wait(timeout=30)
    roles = [a["role"] for a in setup["accounts"]]
    met = mix["p95_ms"] is not None and mix["p95_ms"] <= TARGET_P95_MS and mix["errors"] == 0
    return {**mix, "target_p95_ms": TARGET_P95_MS, "meets_target": met, "by_kind": by_kind, "healthz": healthz,
            "ratio_to_healthz": ratios(mix, healthz), "first_render": first,
            "config": {"clients": args.clients, "accounts": {r: roles.count(r) for r in sorted(set(roles))},
                       "duration_s": args.duration, "server": "waitress", "server_threads": args.threads,
                       "needs_per_client": args.needs_per_client, "precompute_s": round(precompute_s, 1),
                       "model": "lexical only" if args.lexical_only else "default (semantic + lexical)",
                       "cpu": cpu_model(), "cpus": os.cpu_count(), "load_average_before": load_before,
                       "load_average_after": [round(v, 2) for v in os.getloadavg()]}}


def print_table(report):
    config = report["config"]
    print(f"{config['clients']} clients ({', '.join(f'{n} {r}' for r, n in config['accounts'].items())}), "
          f"{config['duration_s']:g} s each for the mix and /healthz, waitress ({config['server_threads']} threads), "
          f"precompute {config['precompute_s']} s")
    print(f"CPU {config['cpu']} × {config['cpus']}; load average before {config['load_average_before']}, "
          f"after {config['load_average_after']}")
    print(f"{'requests':<22}{'count':>8}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    rows = [("mix (all below)", report)] + [(f"  {k}", v) for k, v in report["by_kind"].items()]
    for name, row in rows + [("/healthz", report["healthz"])]:
        print(f"{name:<22}{row['requests']:>8}{row['errors']:>8}{row['requests_per_s']:>9}{row['p50_ms']:>9}"
              f"{row['p95_ms']:>9}{row['p99_ms']:>9}")
    ratio = report["ratio_to_healthz"]
    print(f"mix / healthz: p50 {ratio['p50_ms']}×, p95 {ratio['p95_ms']}×, p99 {ratio['p99_ms']}×, "
          f"req/s {ratio['requests_per_s']}×")
    first = report["first_render"]
    print("first (uncached) render p95: " + ", ".join(f"{k} {v['p95_ms']} ms" for k, v in first.items()))
    print(f"target p95 <= {TARGET_P95_MS:g} ms with 0 errors: {'met' if report['meets_target'] else 'NOT met'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients, one account each (default 50)")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds for the mix and for /healthz (default 20)")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads (default 4)")
    parser.add_argument("--needs-per-client", type=int, default=8,
                        help="needs an institute or organiser client browses (default 8)")
    parser.add_argument("--lexical-only", action="store_true", help="precompute and search without the embedding model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = run(args)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
