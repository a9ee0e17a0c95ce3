"""Running the app in a real browser: Streamlit servers on free local ports and Chromium's flags.

Shared by the browser tests (``tests/conftest.py``) and the latency benchmark
(``bench/bench_browser.py``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT_S = 90.0

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Debian's Chromium, headless, as root, on a machine with no outside network."""


@dataclass
class Server:
    """A ``streamlit run`` process serving ``script`` at ``url``; its output is in ``log_path``."""

    script: str
    url: str
    process: subprocess.Popen
    log_path: Path
    root: Path = REPO_ROOT  # the checkout it runs in (its working directory)


def chromium_path() -> str | None:
    """Where Debian's Chromium is, or None after saying on stderr how to install it."""
    path = shutil.which("chromium")
    if path is None:
        print("chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _start(
    script: str,
    log_dir: Path,
    port: int | None = None,
    options: Sequence[str] = (),
    root: Path = REPO_ROOT,
) -> Server:
    port = port or _free_port()
    log_path = log_dir / (Path(script).stem + ".log")
    command = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        *options,
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    return Server(script, f"http://127.0.0.1:{port}", process, log_path, root)


def _wait_healthy(server: Server) -> None:
    """Wait until the server answers its health check; RuntimeError with its log otherwise."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not _healthy(server.url):
        if server.process.poll() is not None:
            raise RuntimeError(
                f"streamlit run {server.script} exited with code {server.process.returncode}:\n"
                + server.log_path.read_text(errors="replace")
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"streamlit run {server.script} did not answer {server.url}/_stcore/health "
                f"within {SERVER_START_TIMEOUT_S:.0f} s:\n"
                + server.log_path.read_text(errors="replace")
            )
        time.sleep(0.1)


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextmanager
def streamlit_servers(
    scripts: Sequence[str], options: Sequence[str] = (), root: Path = REPO_ROOT
) -> Iterator[list[Server]]:
    """Start one Streamlit server per script (paths relative to the checkout ``root``, this
    repository by default), all at once, with the ``streamlit run`` ``options``, e.g.
    ``["--server.disconnectedSessionTTL", "10"]``; wait until each is healthy, and stop them
    all on exit."""
    with tempfile.TemporaryDirectory(prefix="uotviz-streamlit-") as log_dir, ExitStack() as stack:
        started = []
        for script in scripts:
            server = _start(script, Path(log_dir), options=options, root=root)
            stack.callback(_stop, server)
            started.append(server)
        for server in started:
            _wait_healthy(server)
        yield started


@contextmanager
def restarted(server: Server) -> Iterator[Server]:
    """Stop ``server`` and start its script again on the same port (pages open on it reconnect
    to a new session); yields the new server once healthy, and stops it on exit."""
    _stop(server)
    port = int(server.url.rsplit(":", 1)[1])
    again = _start(server.script, server.log_path.parent, port, root=server.root)
    try:
        _wait_healthy(again)
        yield again
    finally:
        _stop(again)
