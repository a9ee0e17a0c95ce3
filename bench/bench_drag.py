"""Pictures drawn per second while the mouse drags a slider, in a real browser.

One app server is started with the demo's annotations configured without predictions, so that
``source=configured`` images get simulated DETR-like query sets (``queries=300``), and the demo
itself (``source=demo``) keeps its own predictions. For each scene (the Figure 1 scene, the
coins, and the coins with 300 simulated queries) and each slider (ε, τ1, τ2), Playwright drags
the slider's thumb across its whole track with the mouse button down for ``--seconds``, moving
the mouse about every 16 ms (a 60 Hz pointer). Every picture drawn during the drag is counted:
a new plan title (it names ε, τ1, τ2) appears when the scene and the plan of a new position have
been drawn. Printed per case: pictures per second during the drag, the pointer's moves per
second in the same run (the reference: no page can draw more positions than the pointer
visits), their ratio, and how many of the slider's positions the drag went through.

    python bench/bench_drag.py                 # 3 s per drag
    python bench/bench_drag.py --seconds 5

Needs Debian's Chromium (``apt-get install -y chromium``) and the ``playwright`` package. This is
a measurement, not a test: it exits 0 whatever the rates.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.streamlit_harness import CHROMIUM_ARGS, chromium_path, streamlit_servers  # noqa: E402
from uotviz.data.config import ENV_ANNOTATIONS, ENV_IMAGES, ENV_PREDICTIONS  # noqa: E402

CASES = {
    "Figure 1 scene (5 x 2)": "/?source=demo&image=1",
    "coins (27 x 24)": "/?source=demo&image=7",
    "coins, 300 simulated queries (300 x 24)": "/?source=configured&image=7&queries=300",
}
SLIDERS = ("ε", "τ1", "τ2")
TIMEOUT_MS = 120_000
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"

# Records each new plan title with its time (the plan is drawn after the scene in a step).
_RECORD_TITLES = """() => {
    window.__drawn = [];
    const record = () => {
        const title = [...document.querySelectorAll('.js-plotly-plot .gtitle')]
            .map((t) => t.textContent).find((text) => text.startsWith('Plan'));
        const drawn = window.__drawn;
        if (title && (!drawn.length || drawn[drawn.length - 1][1] !== title)) {
            drawn.push([performance.now(), title]);
        }
    };
    window.__observer?.disconnect();
    window.__observer = new MutationObserver(record);
    window.__observer.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def drag(page: Page, label: str, seconds: float) -> tuple[float, float, int]:
    """Drag ``label``'s slider across its track; (pictures per second, pointer moves per second,
    positions gone through)."""
    slider = page.get_by_role("slider", name=label)
    start_position = int(slider.input_value())
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    left, right = box["x"] + 3, box["x"] + box["width"] - 3
    start, end = (
        (right, left)
        if start_position > int(slider.get_attribute("max")) / 2
        else (
            left,
            right,
        )
    )
    page.mouse.move(start, y)
    page.mouse.down()
    page.evaluate(_RECORD_TITLES)
    moves, began = 0, time.perf_counter()
    t0 = page.evaluate("() => performance.now()")
    while (elapsed := time.perf_counter() - began) < seconds:
        page.mouse.move(start + (end - start) * elapsed / seconds, y)
        moves += 1
        page.wait_for_timeout(16)
    page.mouse.move(end, y)
    t1 = page.evaluate("() => performance.now()")
    drawn = page.evaluate("() => window.__drawn")
    page.mouse.up()
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)
    during = [entry for entry in drawn if t0 <= entry[0] <= t1]
    span_s = (t1 - t0) / 1000
    return len(during) / span_s, moves / span_s, int(slider.get_attribute("max")) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each drag")
    args = parser.parse_args(argv)
    chromium = chromium_path()
    if chromium is None:
        return 1
    os.environ[ENV_ANNOTATIONS] = str(REPO_ROOT / "assets/demo/instances.json")
    os.environ[ENV_IMAGES] = str(REPO_ROOT / "assets/demo/images")
    os.environ.pop(ENV_PREDICTIONS, None)
    with streamlit_servers(["app.py"]) as (server,), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        print(f"{'case':42} {'slider':6} {'pictures/s':>10} {'moves/s':>8} {'ratio':>6} positions")
        for case, query in CASES.items():
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server.url + query)
            page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
            page.wait_for_timeout(3000)  # the charts report their widths and are drawn again
            page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
            for label in SLIDERS:
                drawn, moves, positions = drag(page, label, args.seconds)
                print(
                    f"{case:42} {label:6} {drawn:10.1f} {moves:8.1f} {drawn / moves:6.2f} "
                    f"{positions}"
                )
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
