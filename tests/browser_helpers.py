"""What the browser tests share: a waitress server on a free loopback port, and Debian's chromium via Playwright."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def serve(instance, log_path, *extra_args):
    """Base URL of waitress serving the app from ``instance`` (log in ``log_path``), stopped on exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, WEBAPP_INSTANCE_PATH=str(instance), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with Path(log_path).open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}",
                                    *extra_args, "--call", "webapp:create_app"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"server did not start: {Path(log_path).read_text()[-2000:]}")
                time.sleep(0.2)
        try:
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextlib.contextmanager
def chromium():
    """A headless Debian chromium; skipped where it is not installed, a failure in CI (.ci/run installs it)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        message = "Debian chromium not installed: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
