"""Real-browser helpers: the app on a free port (uvicorn), Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from api.app import create_app
from api.serving import uvicorn_options
from geo.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
NUANXIN = Path(sys.executable).with_name("nuanxin")  # the venv's console script
# Flags for a closed network: no background calls home, no sandbox as root, no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(settings: Settings, wrap: Callable[[Any], Any] | None = None) -> Iterator[str]:
    """Serve ``create_app(settings)`` on 127.0.0.1 in a thread; yield its base URL. ``wrap``
    puts an ASGI layer around the app (e.g. one that stands for a reverse proxy)."""
    port = free_port()
    api = settings.api.model_copy(update={"host": "127.0.0.1", "port": port, "workers": 1})
    options = uvicorn_options(api) | {"log_level": "warning"}  # trusts proxies as `serve` does
    app = create_app(settings)
    with in_thread(uvicorn.Config(wrap(app) if wrap else app, **options)) as base:
        yield base


@contextmanager
def in_thread(config: uvicorn.Config) -> Iterator[str]:
    """Run a uvicorn server in a thread until the block ends; yield its base URL."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_process(url: str, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real ``nuanxin serve`` process on database ``url`` (its own port); yield it and its
    base URL once ``/healthz`` answers; killed at the end if it still runs."""
    port = free_port()
    env = {**os.environ, "NUANXIN_DATABASE_URL": url, "NUANXIN_ENVIRONMENT": "test"}
    process = subprocess.Popen([str(NUANXIN), "serve", "--port", str(port), *options], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_healthy(base, process, 60):
            raise RuntimeError(f"nuanxin serve {' '.join(options)} did not start")
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_until_healthy(base: str, process: subprocess.Popen[Any], seconds: float) -> bool:
    """Whether ``base``'s ``/healthz`` answered 200 before ``process`` exited or time ran out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def child_pids(pid: int) -> set[int]:
    """The processes ``pid`` started that still run (Linux ``/proc``), from any of its threads."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found
