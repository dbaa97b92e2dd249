"""Load test of the web app: the suggestions page and its API under concurrent clients.

Starts the app with the sample event in waitress (a production WSGI server) as a
subprocess on a free loopback port, precomputes the suggestions, then drives

* the suggestions page of every need (``/events/<id>/needs/<need_id>``),
* its JSON API (``/api/events/<id>/suggestions?need_id=…``) and
* the static health endpoint (``/healthz``) for comparison

with ``--clients`` concurrent keep-alive HTTP clients (a small asyncio client,
loopback only; each client keeps its session cookie like a browser) for ``--duration`` seconds each, and reports requests/s,
p50/p95/p99 latency and the error count.

Usage::

    python benchmarks/web_load.py                # table
    python benchmarks/web_load.py --json         # one JSON object
    python benchmarks/web_load.py --lexical-only # skip the embedding model when precomputing
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 100.0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(instance, port, threads):
    env = dict(os.environ, WEBAPP_INSTANCE_PATH=str(instance), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    command = [sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}", f"--threads={threads}",
               "--connection-limit=200", "--call", "webapp:create_app"]
    with open(Path(instance) / "server.log", "wb") as log:  # the child keeps its own copy of the handle
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {Path(instance) / 'server.log'}")
        try:
            status, _body, _ms = fetch(port, "/healthz")
            if status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("server did not answer /healthz within 60 s")


def fetch(port, path, connection=None):
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Accept-Encoding": "identity"})
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if own:
        connection.close()
    return response.status, body, elapsed


def prepare(instance, lexical_only):
    """Load the sample event and precompute its suggestions (``flask load-sample``)."""
    config = "MATCHER_WEIGHTS = {'semantic': 0.0}\n" if lexical_only else ""
    (Path(instance) / "config.py").write_text(config)
    env = dict(os.environ, WEBAPP_INSTANCE_PATH=str(instance), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "load-sample"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"flask load-sample failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def drive(port, paths, clients, duration):
    """Closed-loop load: ``clients`` keep-alive connections on one asyncio loop for ``duration`` s.

    A minimal HTTP/1.1 client (request bytes prepared up front, Content-Length framing)
    keeps the load generator's own CPU use small on a machine it shares with the server.
    """
    return asyncio.run(_drive(port, paths, clients, duration))


async def _drive(port, paths, clients, duration):
    latencies, errors = [], [0]
    started = time.perf_counter()
    stop_at = started + duration

    async def client(offset):
        # Each client is one browser: it keeps its session cookie (and so its CSRF token).
        reader = writer = None
        cookie, i = "", offset
        while time.perf_counter() < stop_at:
            path = paths[i % len(paths)]
            i += 1
            request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\n"
                       f"{cookie}\r\n").encode()
            begin = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                status, keep_alive, session = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors[0] += 1
                writer = _close(writer)
                continue
            latencies.append((time.perf_counter() - begin) * 1000)
            if session:
                cookie = f"Cookie: session={session}\r\n"
            if status != 200:
                errors[0] += 1
            if not keep_alive:
                writer = _close(writer)
        _close(writer)

    await asyncio.gather(*(client(k * 7) for k in range(clients)))
    return summarise(latencies, errors[0], time.perf_counter() - started)


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _sep, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" not in headers:
        raise ValueError("response without Content-Length")
    await reader.readexactly(int(headers["content-length"]))
    cookie = headers.get("set-cookie", "")
    session = cookie.split(";", 1)[0].partition("=")[2] if cookie.startswith("session=") else ""
    return status, headers.get("connection", "").lower() != "close", session


def _close(writer):
    if writer is not None:
        writer.close()


def summarise(latencies, errors, seconds):
    ordered = sorted(latencies)

    def pct(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else None

    return {"requests": len(ordered) + 0, "errors": errors, "seconds": round(seconds, 2),
            "requests_per_s": round(len(ordered) / seconds, 1) if seconds else 0.0,
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1], 2) if ordered else None}


def run(args):
    with tempfile.TemporaryDirectory(prefix="matcher-web-load-") as instance:
        precompute_s = prepare(instance, args.lexical_only)
        port = free_port()
        server = start_server(instance, port, args.threads)
        try:
            _status, body, _ms = fetch(port, "/api/events")
            event = json.loads(body)["events"][0]["id"]
            _status, body, _ms = fetch(port, f"/api/events/{event}/needs")
            need_ids = [n["id"] for n in json.loads(body)["needs"]]
            pages = [f"/events/{event}/needs/{n}" for n in need_ids]
            api = [f"/api/events/{event}/suggestions?need_id={n}" for n in need_ids]
            for path in pages + api:  # warm-up: first renders fill the page cache
                fetch(port, path)
            results = {
                "suggestions_page": drive(port, pages, args.clients, args.duration),
                "suggestions_api": drive(port, api, args.clients, args.duration),
                "healthz": drive(port, ["/healthz"], args.clients, args.duration),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    page = results["suggestions_page"]
    return {**page, "target_p95_ms": TARGET_P95_MS,
            "meets_target": page["p95_ms"] is not None and page["p95_ms"] <= TARGET_P95_MS and page["errors"] == 0,
            "api": results["suggestions_api"], "healthz": results["healthz"],
            "config": {"clients": args.clients, "duration_s": args.duration, "server": "waitress",
                       "server_threads": args.threads, "needs": len(need_ids), "precompute_s": round(precompute_s, 1),
                       "model": "lexical only" if args.lexical_only else "default (semantic + lexical)",
                       "cpus": os.cpu_count()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint (default 20)")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads (default 4)")
    parser.add_argument("--lexical-only", action="store_true", help="precompute without the embedding model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = run(args)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    print(f"{args.clients} clients, {args.duration:g} s per endpoint, waitress ({args.threads} threads), "
          f"{report['config']['needs']} needs, precompute {report['config']['precompute_s']} s")
    print(f"{'endpoint':<18}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, row in (("suggestions page", report), ("suggestions API", report["api"]), ("/healthz", report["healthz"])):
        print(f"{name:<18}{row['requests']:>10}{row['errors']:>8}{row['requests_per_s']:>10}{row['p50_ms']:>9}"
              f"{row['p95_ms']:>9}{row['p99_ms']:>9}")
    print(f"target p95 <= {TARGET_P95_MS:g} ms with 0 errors: {'met' if report['meets_target'] else 'NOT met'}")


if __name__ == "__main__":
    main()
