"""Pictures drawn per second while the mouse drags a slider, in a real browser.

One app server is started with the demo's annotations configured without predictions, so that
``source=configured`` images get simulated DETR-like query sets (``queries=300``), and the demo
itself (``source=demo``) keeps its own predictions. For each scene (the Figure 1 scene, the
coins, and the coins with 300 simulated queries) and each slider (ε, τ1, τ2), the mouse button
is pressed on the slider's thumb (a real press, through Playwright), then the page moves the
slider one position per animation frame across its whole track, as a pointer dragging it does
(an ``input`` event per position), and the button is released. Every picture drawn meanwhile is
counted: the picture's frames (the painted scene writes each position it draws, see
``uotviz/ui/js/frame_painter.js``) and, apart, the plan's (a new plan title names ε, τ1, τ2).

Before the press, the pointer rests on the thumb for ``--rest-ms`` (0 by default: pressed at
once). The sliders ask the app for a slider's frames when the pointer has rested on it for 80 ms
(or when it is pressed), so a rest gives the app that long to compute them before the drag.

Printed per case: pictures and plans drawn per second during the drag, the positions the drag
went through per second in the same run (the reference: no page can draw more positions than the
drag visits), the ratio of pictures to positions, the share of the positions drawn, and how
long after the press the first new picture came (the frames' computing time, less the rest).

    python bench/bench_drag.py                 # each drag lasts the slider's positions x 2 frames
    python bench/bench_drag.py --frames-per-position 4
    python bench/bench_drag.py --rest-ms 500   # as a hand that reaches the thumb, then presses

Needs Debian's Chromium (``apt-get install -y chromium``) and the ``playwright`` package. This is
a measurement, not a test: it exits 0 whatever the rates.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.streamlit_harness import CHROMIUM_ARGS, chromium_path, streamlit_servers  # noqa: E402
from uotviz.data.config import ENV_ANNOTATIONS, ENV_IMAGES, ENV_PREDICTIONS  # noqa: E402
from uotviz.data.demo import DEMO_ANNOTATIONS, DEMO_IMAGES  # noqa: E402

CASES = {
    "Figure 1 scene (5 x 2)": "/?source=demo&image=1",
    "coins (27 x 24)": "/?source=demo&image=7",
    "coins, 300 simulated queries (300 x 24)": "/?source=configured&image=7&queries=300",
}
SLIDERS = ("ε", "τ1", "τ2")
TIMEOUT_MS = 120_000
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"

# Records, with its time, each picture drawn (a scene frame painted by uotviz/ui/js/frame_painter.js
# writes its position on the painted group) and each new plan title (it names ε, τ1, τ2).
_RECORD_DRAWN = """() => {
    const planTitle = () => [...document.querySelectorAll('.js-plotly-plot .gtitle')]
        .map((t) => t.textContent).find((text) => text.startsWith('Plan'));
    window.__pictures = [];
    window.__plans = [];
    let shown = planTitle();  // what is drawn before the drag: not counted
    const record = (mutations) => {
        const now = performance.now();
        for (const m of mutations) {
            if (m.type === 'attributes' && m.attributeName === 'data-position') {
                window.__pictures.push([now, m.target.getAttribute('data-position')]);
            }
        }
        const title = planTitle();
        if (title && title !== shown) {
            shown = title;
            window.__plans.push([now, title]);
        }
    };
    window.__observer?.disconnect();
    window.__observer = new MutationObserver(record);
    window.__observer.observe(document.body, {
        subtree: true, childList: true, characterData: true, attributes: true,
        attributeFilter: ['data-position'],
    });
}"""


# Moves the slider from one end to the other, one position every `perPosition` animation
# frames, with an "input" event each time (what a dragging pointer makes the browser send); the
# button was pressed on the thumb before, and is released after.
_MOVE_ACROSS = """async ([label, perPosition]) => {
    const input = document.querySelector(`input[type=range][aria-label="${label}"]`);
    const last = Number(input.max), start = Number(input.value);
    const forward = start <= last / 2;
    const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
    const began = performance.now();
    for (let step = 1; step <= last; step += 1) {
        input.value = String(forward ? step : last - step);
        input.dispatchEvent(new Event("input", { bubbles: true }));
        for (let k = 0; k < perPosition; k += 1) await frame();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    return [began, performance.now(), last];
}"""


def drag(page: Page, label: str, per_position: int, rest_ms: int) -> dict[str, float]:
    """Drag ``label``'s slider across its track. Returns pictures and plans drawn per second,
    positions visited per second, the share of the positions whose picture was drawn, and the
    seconds from the press to the first new picture (the app computes the drag's frames then)."""
    box = page.get_by_role("slider", name=label).bounding_box()
    page.evaluate(_RECORD_DRAWN)
    # Press on the thumb's end of the track: the thumb is at an end for every default value.
    value = int(page.get_by_role("slider", name=label).input_value())
    maximum = int(page.get_by_role("slider", name=label).get_attribute("max"))
    x = box["x"] + 3 + (box["width"] - 6) * value / maximum
    page.mouse.move(x, box["y"] + box["height"] / 2)
    page.wait_for_timeout(rest_ms)
    pressed = page.evaluate("() => performance.now()")
    page.mouse.down()
    began, ended, positions = page.evaluate(_MOVE_ACROSS, [label, per_position])
    pictures = page.evaluate("() => window.__pictures")
    plans = page.evaluate("() => window.__plans")
    page.mouse.up()
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)
    span_s = (ended - began) / 1000
    pictured = [entry for entry in pictures if began <= entry[0] <= ended]
    planned = [entry for entry in plans if began <= entry[0] <= ended]
    return {
        "pictures": len(pictured) / span_s,
        "plans": len(planned) / span_s,
        "visited": positions / span_s,
        "share": len({entry[1] for entry in pictured}) / positions,
        "first": (pictured[0][0] - pressed) / 1000 if pictured else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frames-per-position", type=int, default=2, help="animation frames per position"
    )
    parser.add_argument(
        "--rest-ms", type=int, default=0, help="how long the pointer rests on the thumb first"
    )
    args = parser.parse_args(argv)
    chromium = chromium_path()
    if chromium is None:
        return 1
    os.environ[ENV_ANNOTATIONS] = str(DEMO_ANNOTATIONS)
    os.environ[ENV_IMAGES] = str(DEMO_IMAGES)
    os.environ.pop(ENV_PREDICTIONS, None)
    with streamlit_servers(["app.py"]) as (server,), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        print(
            f"{'case':42} {'slider':6} {'pictures/s':>10} {'plans/s':>8} {'positions/s':>11} "
            f"{'ratio':>6} {'drawn':>6} {'first (s)':>9}"
        )
        for case, query in CASES.items():
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server.url + query)
            page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
            page.wait_for_timeout(3000)  # the charts report their widths and are drawn again
            page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
            for label in SLIDERS:
                rates = drag(page, label, args.frames_per_position, args.rest_ms)
                print(
                    f"{case:42} {label:6} {rates['pictures']:10.1f} {rates['plans']:8.1f} "
                    f"{rates['visited']:11.1f} {rates['pictures'] / rates['visited']:6.2f} "
                    f"{rates['share']:6.0%} {rates['first']:9.2f}"
                )
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
