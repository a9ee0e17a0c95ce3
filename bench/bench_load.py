"""A classroom at once: N concurrent sessions on one server, each stepping ε.

One Streamlit server runs the app on its demo. Debian's Chromium opens ``--sessions`` pages on it
at the same moment (one browser context each, so each is its own Streamlit session, none of them
throttled as a background tab), waits until each shows its plan, then has every page press
ArrowRight on the ε slider ``--steps`` times, all pages at once, each waiting for its own plan to
show the new ε before the next press. The pages are then closed, and after the server's
disconnected-session TTL (``--ttl``) the same is done a second time.

Printed:

* **errors**: pages that never showed their plan or their step, and exception boxes;
* **time per step**, median and p95 over every step of every page: from the key press to the
  step's last websocket message (the server's run, waiting for a core included, and the
  transfer), and to the new ε shown;
* **the server's CPU per step**: its user + system CPU time during the stepping, divided by the
  number of steps, so that steps per second per core can be read off;
* **memory**: the server's resident set idle, with the N sessions open, and after they closed and
  the TTL passed, for both waves. What a session costs is (open − closed) / N in the second wave
  (the first also pays for one-off imports and caches). That the second wave ends where the
  first did says that what the sessions held was freed and reused.

On a 2-core machine the browsers and the server share the cores: the times per step are the
server's under that load, the CPU per step is its own. This is a measurement, not a test: it
exits 0 whatever it finds, unless the server cannot start.

    python bench/bench_load.py                          # 40 sessions, 5 steps each
    python bench/bench_load.py --sessions 20 --steps 10 --ttl 15

Needs Debian's Chromium (``apt-get install -y chromium``) and the ``playwright`` package.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, async_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.streamlit_harness import CHROMIUM_ARGS, chromium_path, streamlit_servers  # noqa: E402
from uotviz.sliders import EPS_VALUES, format_value  # noqa: E402

TIMEOUT_MS = 180_000
PLAN_TITLE = ".gtitle"
EPS_SLIDER = 'input[type=range][aria-label="ε"]'
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
BACKGROUND_FLAGS = [  # every page is drawn and timed as if it were in front
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
# Page-side timestamps: the last key press and the last websocket message handled.
TIMESTAMPS_JS = """(() => {
    window.__loadLastMessage = 0;
    document.addEventListener('keydown', () => { window.__loadKey = performance.now(); }, true);
    const Socket = window.WebSocket;
    window.WebSocket = function (...args) {
        const socket = new Socket(...args);
        socket.addEventListener('message', () => {
            window.__loadLastMessage = performance.now();
        });
        return socket;
    };
    window.WebSocket.prototype = Socket.prototype;
    Object.assign(window.WebSocket, Socket);
})();"""
# The plan's title shows ε = `value` and the script is not running.
SHOWN_JS = """(value) => {
    const app = document.querySelector('[data-testid=stApp]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    return [...document.querySelectorAll('.gtitle')]
        .some((node) => node.textContent.startsWith('Plan N·P̂ at ε = ' + value + ','));
}"""


@dataclass
class Wave:
    """What one wave of sessions measured."""

    opened: int = 0
    errors: list[str] = field(default_factory=list)
    open_s: list[float] = field(default_factory=list)
    to_last_message_s: list[float] = field(default_factory=list)
    to_shown_s: list[float] = field(default_factory=list)
    steps: int = 0
    cpu_s: float = 0.0
    rss_open_mb: float = 0.0
    rss_closed_mb: float = 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    """Resident set of process ``pid``, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _session(browser: Browser, url: str, steps: int, go: asyncio.Event, wave: Wave) -> None:
    """One session: open the app, wait for ``go``, press ArrowRight on ε ``steps`` times."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.add_init_script(TIMESTAMPS_JS)
    try:
        start = time.perf_counter()
        await page.goto(url)
        slider = page.locator(EPS_SLIDER)
        await slider.wait_for(state="attached")
        position = int(await slider.input_value())
        await page.wait_for_function(SHOWN_JS, arg=format_value(EPS_VALUES[position]))
        wave.open_s.append(time.perf_counter() - start)
        wave.opened += 1
        await go.wait()
        for _ in range(steps):
            position = position + 1 if position + 1 < len(EPS_VALUES) else position - 1
            await slider.focus()
            await slider.press(
                "ArrowRight" if position > int(await slider.input_value()) else "ArrowLeft"
            )
            await page.wait_for_function(SHOWN_JS, arg=format_value(EPS_VALUES[position]))
            key_ms, last_ms = await page.evaluate("[window.__loadKey, window.__loadLastMessage]")
            now_ms = await page.evaluate("performance.now()")
            wave.to_last_message_s.append((last_ms - key_ms) / 1000)
            wave.to_shown_s.append((now_ms - key_ms) / 1000)
            wave.steps += 1
        if await page.locator("[data-testid=stException]").count():
            wave.errors.append(f"{url}: an exception box")
    except Exception as error:  # noqa: BLE001 - any failure is an error of this session
        wave.errors.append(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
    finally:
        await context.close()


async def _wave(
    browser: Browser, url: str, pid: int, sessions: int, steps: int, ttl: float
) -> Wave:
    """Open ``sessions`` pages at once, step them all, close them, wait out the TTL."""
    wave = Wave()
    go = asyncio.Event()
    tasks = [asyncio.create_task(_session(browser, url, steps, go, wave)) for _ in range(sessions)]
    deadline = time.perf_counter() + TIMEOUT_MS / 1000
    while wave.opened + len(wave.errors) < sessions and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # the last runs' settling
    wave.rss_open_mb = _rss_mb(pid)
    cpu_before = _cpu_seconds(pid)
    go.set()
    await asyncio.gather(*tasks)
    wave.cpu_s = _cpu_seconds(pid) - cpu_before
    await asyncio.sleep(ttl + 10)  # the server drops disconnected sessions after the TTL
    wave.rss_closed_mb = _rss_mb(pid)
    return wave


def _spread(values: list[float]) -> str:
    if not values:
        return "no values"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:6.0f} ms, p95 {p95 * 1000:6.0f} ms"


def _report(number: int, wave: Wave, sessions: int, rss_before: float) -> None:
    print(f"wave {number}: {wave.opened}/{sessions} sessions served, {len(wave.errors)} error(s)")
    for error in wave.errors[:10]:
        print(f"  error: {error}")
    print(f"  page open to its plan shown:     {_spread(wave.open_s)}")
    print(f"  step, key to last message:       {_spread(wave.to_last_message_s)}")
    print(f"  step, key to new ε shown:        {_spread(wave.to_shown_s)}")
    if wave.steps:
        per_step = wave.cpu_s / wave.steps
        print(
            f"  server CPU per step:             {per_step * 1000:6.0f} ms "
            f"({wave.steps} steps; about {1 / per_step:.0f} steps/s per core)"
        )
    print(
        f"  server RSS: {rss_before:.0f} MB before, {wave.rss_open_mb:.0f} MB with the sessions "
        f"open, {wave.rss_closed_mb:.0f} MB after they closed and the TTL passed"
    )


async def _main(args: argparse.Namespace) -> None:
    chromium = chromium_path()
    if chromium is None:
        raise SystemExit(1)
    options = ["--server.disconnectedSessionTTL", str(args.ttl)]
    with streamlit_servers(["app.py"], options=options) as (server,):
        pid = server.process.pid
        await asyncio.sleep(2)
        idle = _rss_mb(pid)
        print(
            f"{args.sessions} sessions x {args.steps} ε steps, server TTL {args.ttl} s, "
            f"{os.cpu_count()} CPU(s); server RSS idle {idle:.0f} MB"
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium, args=CHROMIUM_ARGS + BACKGROUND_FLAGS
            )
            first = await _wave(browser, server.url, pid, args.sessions, args.steps, args.ttl)
            _report(1, first, args.sessions, idle)
            second = await _wave(browser, server.url, pid, args.sessions, args.steps, args.ttl)
            _report(2, second, args.sessions, first.rss_closed_mb)
            await browser.close()
        per_session = (second.rss_open_mb - second.rss_closed_mb) / max(second.opened, 1)
        print(
            f"memory per open session (wave 2): {per_session:.1f} MB; after wave 2 the server "
            f"holds {second.rss_closed_mb - first.rss_closed_mb:+.0f} MB against wave 1 "
            "(what sessions kept after they closed would add up here, wave after wave)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=40, help="concurrent sessions (40)")
    parser.add_argument("--steps", type=int, default=5, help="ε steps per session (5)")
    parser.add_argument(
        "--ttl", type=int, default=15, help="the server's disconnected-session TTL, s (15)"
    )
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
