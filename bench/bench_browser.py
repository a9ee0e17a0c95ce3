"""Slider latency in a real browser: uotviz's ε slider against a bare one-slider page.

Two Streamlit servers are started on free local ports: the app (``app.py``, on its demo) and
``bench/bare_slider_app.py`` (one ``st.select_slider("ε", ...)`` over the same values and a
``st.write`` of the value). Each is driven by Playwright in Debian's Chromium (one browser per
page, so neither page is ever a background tab). The ε slider is focused, then ``--repeats`` times
ArrowRight is pressed (ArrowLeft when the end of the range is reached, bouncing, so the value
always changes) and the time from the key press to the page settling is measured. The page has
settled when

* the app's script state is back to ``notRunning``,
* the new value is rendered: for uotviz the plan chart's title ``Plan N·P̂ at ε = <value>, ...``,
  for the bare page the written ``ε = <value>``, and
* nothing in the page has changed since for ``QUIET_MS``: a Plotly chart may still be drawing
  (Streamlit draws a newly mounted chart once before it knows its width and again after) when
  its title is already there.

The step ends at the first animation frame after the page's last DOM change, taken in the page
(a ``MutationObserver`` on the whole document). The pages are measured alternately
(A, B, A, B, ...) so that drift and noise hit them alike;
the first ``--warmup`` presses of each are discarded. The median and p90 of each, and the ratio of
the medians, are printed. The target is a ratio of at most 1.2 on the default image (the Figure 1
scene) and 1.5 on the others (the coins: 27 predictions, 24 ground truths). This is a
measurement, not a test:
it exits 0 whatever the ratio.

The medians of two pages measured minutes apart move with the machine's load, and so does
their ratio (by 0.15 from one run to the next on a busy machine). Each press of a page is
therefore also paired with the press of the next page that follows it, and the median of the
per-press ratios is printed ("paired"). ``--against DIR`` measures a third page in the same
run: the app of another checkout of uotviz (``git worktree add /tmp/before HEAD~1``), served
from its own folder, so that a change is compared with the version before it press by press.

Where a step's time goes is printed too, from timestamps taken in the page: from the key press to
the last websocket message of the step (the server's run, the transfer, and whatever the page
drew while messages were still arriving) and from that message to the page settling (the
browser drawing what came last).

    python bench/bench_browser.py                 # the default demo image, 30 presses each
    python bench/bench_browser.py --image 7       # the coins (a crowded scene)
    python bench/bench_browser.py --repeats 60 --verbose
    python bench/bench_browser.py --floor         # also the bare page with two trivial charts
    python bench/bench_browser.py --image 7 --against /tmp/before   # and the version before

Needs Debian's Chromium (``apt-get install -y chromium``) and the ``playwright`` package.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.streamlit_harness import (  # noqa: E402
    CHROMIUM_ARGS,
    chromium_path,
    streamlit_servers,
)
from uotviz.sliders import EPS_VALUES, format_value  # noqa: E402

APP = "app.py"
BARE_APP = "bench/bare_slider_app.py"
FLOOR_APP = "bench/two_charts_app.py"
TIMEOUT_MS = 60_000
DEFAULT_IMAGE_TARGET = 1.2
"""The target ratio on the default image (the Figure 1 scene)."""
OTHER_IMAGE_TARGET = 1.5
"""The target ratio on any other image (``--image``)."""
REFERENCE = "reference"
"""The name of the page of ``--against``'s checkout."""
EPS_SLIDER = 'input[type=range][aria-label="ε"]'
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
QUIET_MS = 500  # no DOM change for this long after the value is shown: the page has settled

# Shown: the script is not running and an element of `selector` shows a text containing
# `text` (`exact`: equal to it) and has a non-empty box.
SHOWN_JS = """([selector, text, exact]) => {
    const app = document.querySelector('[data-testid=stApp]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    for (const node of document.querySelectorAll(selector)) {
        const content = (node.textContent || '').trim();
        if (exact ? content !== text : !content.includes(text)) continue;
        const box = node.getBoundingClientRect();
        if (box.width > 0 && box.height > 0) return true;
    }
    return false;
}"""

# Quiet: no DOM change for `quiet` ms.
QUIET_JS = """(quiet) => performance.now() - window.__benchChanged >= quiet"""

# Page-side timestamps: the last key press, every websocket message the page handles, the last
# DOM change and the first animation frame after it (the page drawn).
TIMESTAMPS_JS = """(() => {
    window.__benchMessages = [];
    window.__benchChanged = window.__benchDrawn = performance.now();
    let frameAsked = false;
    new MutationObserver(() => {
        window.__benchChanged = performance.now();
        if (frameAsked) return;
        frameAsked = true;
        requestAnimationFrame(() => {
            frameAsked = false;
            window.__benchDrawn = performance.now();
        });
    }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
    document.addEventListener('keydown', () => { window.__benchKey = performance.now(); }, true);
    const Socket = window.WebSocket;
    window.WebSocket = function (...args) {
        const socket = new Socket(...args);
        socket.addEventListener('message', () => window.__benchMessages.push(performance.now()));
        return socket;
    };
    window.WebSocket.prototype = Socket.prototype;
    Object.assign(window.WebSocket, Socket);
})();"""


# ------------------------------------------------------------------------------ servers


# ------------------------------------------------------------------------------ pages


@dataclass
class Target:
    """A page under measurement: how to find its rendered ε value, and its timings (seconds)."""

    name: str
    page: Page
    selector: str  # elements that show the value
    expected_text: Callable[[str], str]  # the text such an element shows for a value label
    exact: bool
    direction: int = 1
    times: list[float] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    # per press, seconds from the key press to the last message, and from it to settling
    to_last_message: list[float] = field(default_factory=list)
    after_last_message: list[float] = field(default_factory=list)


def _open_page(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.add_init_script(TIMESTAMPS_JS)
    page.goto(url)
    page.wait_for_selector(IDLE)
    page.wait_for_selector(EPS_SLIDER, state="attached")
    return page


def _wait_settled(target: Target, value_label: str) -> None:
    """Wait until the page shows ``value_label`` and has not changed for :data:`QUIET_MS`."""
    target.page.wait_for_function(
        SHOWN_JS,
        arg=[target.selector, target.expected_text(value_label), target.exact],
        polling="raf",
        timeout=TIMEOUT_MS,
    )
    target.page.wait_for_function(QUIET_JS, arg=QUIET_MS, polling=50, timeout=TIMEOUT_MS)


def _choose_image(page: Page, image_id: int) -> None:
    """Pick a demo image in the app's image selectbox and wait until it is drawn."""
    picker = page.get_by_role("combobox", name=re.compile(r"^Image \("))
    picker.click()
    page.get_by_role("option", name=re.compile(rf"^{image_id} · ")).click()
    page.wait_for_function(
        """(prefix) => [...document.querySelectorAll('[data-testid=stCaptionContainer]')]
            .some((node) => node.textContent.startsWith(prefix))""",
        arg=f"Image {image_id} · ",
        polling="raf",
    )
    page.wait_for_selector(IDLE)


def _app_target(name: str, page: Page, image_id: int | None) -> Target:
    """The app on ``page``, at the demo image ``image_id`` (None: the one it opens on)."""
    if image_id is not None:
        _choose_image(page, image_id)
    return Target(
        name,
        page,
        selector=".js-plotly-plot .gtitle",
        expected_text=lambda label: f"Plan N·P̂ at ε = {label}, ",
        exact=False,
    )


def _check_start(target: Target) -> None:
    """The page shows its current ε value before the first press (the predicate works)."""
    slider = target.page.locator(EPS_SLIDER)
    label = format_value(EPS_VALUES[int(slider.input_value())])
    _wait_settled(target, label)


def measure_press(target: Target) -> float:
    """One key press on the ε slider; returns the seconds until the page has settled."""
    slider = target.page.locator(EPS_SLIDER)
    index = int(slider.input_value())
    if not 0 <= index + target.direction < len(EPS_VALUES):
        target.direction = -target.direction
    key = "ArrowRight" if target.direction > 0 else "ArrowLeft"
    new_index = index + target.direction
    label = format_value(EPS_VALUES[new_index])
    slider.focus()
    target.page.evaluate("window.__benchMessages = []")
    slider.press(key)
    _wait_settled(target, label)
    key_ms, last_ms, settled_ms = target.page.evaluate(
        "[window.__benchKey, window.__benchMessages.at(-1) ?? null, window.__benchDrawn]"
    )
    if key_ms is None or settled_ms < key_ms:
        raise RuntimeError(f"{target.name}: no key press or no change seen after {key}")
    elapsed = (settled_ms - key_ms) / 1e3
    if last_ms is not None and key_ms is not None and last_ms >= key_ms:
        target.to_last_message.append((last_ms - key_ms) / 1e3)
        target.after_last_message.append(max(settled_ms - last_ms, 0.0) / 1e3)
    after = int(slider.input_value())
    if after != new_index:
        raise RuntimeError(
            f"{target.name}: after {key} the ε slider is at index {after}, not {new_index}"
        )
    return elapsed


# ------------------------------------------------------------------------------ report


def _p90(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def paired_ratio(first: Target, second: Target, warmup: int) -> float:
    """The median over presses of ``first``'s time over ``second``'s at the same press (the
    pages are measured in turn, so the two presses of a pair are seconds apart)."""
    pairs = zip(first.times[warmup:], second.times[warmup:], strict=True)
    return statistics.median(a / b for a, b in pairs)


def report(targets: list[Target], warmup: int, target_ratio: float) -> None:
    width = max(len(target.name) for target in targets)
    print(f"{'page':<{width}}  presses  median ms  p90 ms  min ms  max ms")
    for target in targets:
        kept = target.times[warmup:]
        print(
            f"{target.name:<{width}}  {len(kept):>7}  {1e3 * statistics.median(kept):>9.0f}  "
            f"{1e3 * _p90(kept):>6.0f}  {1e3 * min(kept):>6.0f}  {1e3 * max(kept):>6.0f}"
        )
    print(f"{'page':<{width}}  key press to last message ms  last message to settled ms")
    for target in targets:
        to_last, after = target.to_last_message[warmup:], target.after_last_message[warmup:]
        if to_last:
            print(
                f"{target.name:<{width}}  {1e3 * statistics.median(to_last):>28.0f}  "
                f"{1e3 * statistics.median(after):>26.0f}"
            )
    app, bare, *others = targets
    bare_median = statistics.median(bare.times[warmup:])
    for other in others:
        ratio = statistics.median(other.times[warmup:]) / bare_median
        print(
            f"ratio of medians {other.name} / {bare.name} = {ratio:.2f}; "
            f"paired {paired_ratio(other, bare, warmup):.2f}"
        )
        if other.name == REFERENCE:
            print(
                f"paired ratio {app.name} / {other.name} = {paired_ratio(app, other, warmup):.3f}"
            )
    print(f"paired ratio {app.name} / {bare.name} = {paired_ratio(app, bare, warmup):.2f}")
    ratio = statistics.median(app.times[warmup:]) / bare_median
    verdict = "within" if ratio <= target_ratio else "ABOVE"
    print(
        f"ratio of medians {app.name} / {bare.name} = {ratio:.2f} "
        f"({verdict} the target of {target_ratio})"
    )


def run(playwright: Playwright, args: argparse.Namespace, chromium: str) -> list[Target]:
    scripts = [APP, BARE_APP, FLOOR_APP] if args.floor else [APP, BARE_APP]
    with streamlit_servers(scripts) as servers, ExitStack() as stack:
        app_server, bare_server, *floor_server = servers
        reference_server = None
        if args.against is not None:
            (reference_server,) = stack.enter_context(streamlit_servers([APP], root=args.against))
        browsers = []
        for _ in range(len(servers) + (reference_server is not None)):
            # one browser per page: none is a throttled background tab
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            stack.callback(browser.close)
            browsers.append(browser)
        app = _app_target("uotviz", _open_page(browsers[0], app_server.url), args.image)
        bare_page = _open_page(browsers[1], bare_server.url)
        bare = Target(
            "bare page",
            bare_page,
            selector="[data-testid=stMarkdownContainer]",
            expected_text=lambda label: f"ε = {label}",
            exact=True,
        )
        targets = [app, bare]
        if floor_server:
            targets.append(
                Target(
                    "two charts",
                    _open_page(browsers[2], floor_server[0].url),
                    selector=".js-plotly-plot .gtitle",
                    expected_text=lambda label: f"right at ε = {label}",
                    exact=True,
                )
            )
        if reference_server is not None:
            page = _open_page(browsers[-1], reference_server.url)
            targets.append(_app_target(REFERENCE, page, args.image))
        for target in targets:
            _check_start(target)
        for press in range(args.warmup + args.repeats):
            for target in targets:
                seconds = measure_press(target)
                target.times.append(seconds)
                target.values.append(
                    target.page.locator(EPS_SLIDER).get_attribute("aria-valuetext") or "?"
                )
                if args.verbose:
                    tag = " (warm-up)" if press < args.warmup else ""
                    print(
                        f"{target.name:>9} press {press + 1:>3}: ε = {target.values[-1]:<6} "
                        f"{1e3 * seconds:7.0f} ms{tag}",
                        flush=True,
                    )
        for page in (target.page for target in targets):
            errors = page.locator("[data-testid=stException]").count()
            if errors:
                print(f"warning: {errors} exception(s) shown on {page.url}", file=sys.stderr)
        return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="measured presses per page")
    parser.add_argument("--warmup", type=int, default=3, help="discarded presses per page")
    parser.add_argument("--image", type=int, default=None, help="demo image id (7: the coins)")
    parser.add_argument("--verbose", action="store_true", help="print every press")
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        metavar="DIR",
        help="also measure the app of another checkout of uotviz (a git worktree), press by press",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure bench/two_charts_app.py: the bare page with two trivial charts",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")
    if args.against is not None and not (args.against / APP).is_file():
        parser.error(f"--against {args.against}: no {APP} there (a checkout of uotviz)")
    chromium = chromium_path()
    if chromium is None:
        return 1
    started = time.perf_counter()
    with sync_playwright() as playwright:
        targets = run(playwright, args, chromium)
    image = "default demo image" if args.image is None else f"demo image {args.image}"
    print(
        f"ε slider, key press to settled page ({image}; {args.repeats} presses each after "
        f"{args.warmup} warm-up, interleaved; {time.perf_counter() - started:.0f} s in all)"
    )
    target = DEFAULT_IMAGE_TARGET if args.image is None else OTHER_IMAGE_TARGET
    report(targets, args.warmup, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
