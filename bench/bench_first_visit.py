"""First visit in a real browser: the time from opening the app to the scene's picture drawn.

Two Streamlit servers are started on free local ports, the app (``app.py``, on its demo) and
``bench/bare_slider_app.py`` (one slider and a written value), and each is warmed with one
visit that is not counted. Then ``--repeats`` times, for each page in turn (the order swapped
at every repeat, so that drift and noise hit both alike), Debian's Chromium opens the page in
a new browser context: a new profile, with an empty HTTP cache and no cookies, as a first
visit. The time is taken in the page, from the start of the navigation (``performance.now()``)
to the first animation frame at which

* for uotviz: the scene chart (the live chart under the scene's key) has been laid out by
  plotly.js (``_fullLayout``, its ``.main-svg``) and each of its layout images (the picture)
  has fired its ``load`` event;
* for the bare page: the script has finished and the written value is shown
  (``bench/bench_browser.py``'s test of a shown text).

The medians are printed, and their ratio: the bare page is what any Streamlit page costs on
the same machine at the same moment. For uotviz the median times (from the navigation) at
which plotly.js was requested, received and run, and the picture loaded, say where the time
goes. After each first visit the app is opened once more in the same profile, in a new tab:
the time of that second visit, and whether plotly.js came from the browser's cache, are
printed too. The sizes of the plotly.js bundle the live charts load, raw and gzipped (at level
9, as Streamlit's media endpoint sends it), and of the plotly package's full bundle are printed
first. This is a measurement, not a test: it exits 0 whatever the times.

    python bench/bench_first_visit.py               # 5 visits to each page
    python bench/bench_first_visit.py --repeats 3 --verbose

Needs Debian's Chromium (``apt-get install -y chromium``) and the ``playwright`` package.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import plotly
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.bench_browser import APP, BARE_APP, SHOWN_JS, TIMEOUT_MS  # noqa: E402
from tests.streamlit_harness import CHROMIUM_ARGS, chromium_path, streamlit_servers  # noqa: E402
from uotviz.ui.charts import _PLOTLY_JS  # noqa: E402
from uotviz.ui.view import _SCENE_KEY  # noqa: E402

TARGET_S = 2.5
VIEWPORT = {"width": 1400, "height": 900}

# Load events of scripts and SVG images, as they happen (they do not bubble: caught on the way
# down). A script's load event fires once it has run.
LOADS_JS = """document.addEventListener('load', (event) => {
    const node = event.target;
    if (node instanceof SVGImageElement) node.__benchLoaded = performance.now();
    if (node instanceof HTMLScriptElement && node.src.includes('/media/')) {
        window.__benchPlotlyRun = performance.now();
    }
}, true);"""

# The time (from the navigation) at which the scene chart under `key` is laid out and its
# layout images are loaded; false before.
SCENE_DRAWN_JS = """(key) => {
    const gd = document.querySelector(`.st-key-${key} .uotviz-chart`);
    const layout = gd && gd._fullLayout;
    if (!layout || !gd.querySelector('.main-svg')) return false;
    const wanted = (layout.images || []).filter((image) => image.visible !== false).length;
    const images = [...gd.querySelectorAll('.imagelayer image')];
    if (images.length < wanted || images.some((image) => !image.__benchLoaded)) return false;
    return performance.now();
}"""

# The bare page: its written value shown (bench_browser's test), and when.
BARE_DRAWN_JS = f"(args) => ({SHOWN_JS})(args) && performance.now()"

# Where the app's time went, in ms from the navigation: plotly.js requested, received, run
# (null when the page did not load it), fetched from the network or not, the picture loaded.
TIMELINE_JS = """(key) => {
    const script = performance.getEntriesByType('resource')
        .find((entry) => entry.initiatorType === 'script' && entry.name.includes('/media/'));
    const images = [...document.querySelectorAll(`.st-key-${key} .imagelayer image`)];
    return {
        requested: script ? script.startTime : null,
        received: script ? script.responseEnd : null,
        run: window.__benchPlotlyRun ?? null,
        fetched: script ? script.transferSize > 0 : null,
        picture: images.length ? Math.max(...images.map((image) => image.__benchLoaded)) : null,
    };
}"""


@dataclass
class Visits:
    """One page's visits: how to tell it is drawn, and the times (ms from the navigation)."""

    name: str
    url: str
    drawn: Callable[[Page], float]
    times: list[float] = field(default_factory=list)
    timelines: list[dict] = field(default_factory=list)


def _scene_drawn(page: Page) -> float:
    handle = page.wait_for_function(SCENE_DRAWN_JS, arg=_SCENE_KEY, polling="raf")
    return float(handle.json_value())


def _bare_drawn(page: Page) -> float:
    arg = ["[data-testid=stMarkdownContainer]", "ε = ", False]
    return float(page.wait_for_function(BARE_DRAWN_JS, arg=arg, polling="raf").json_value())


def visit(context: BrowserContext, visits: Visits) -> tuple[float, dict | None]:
    """Open ``visits.url`` in a new tab of ``context``; the ms until drawn, and for the app
    where its time went."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.add_init_script(LOADS_JS)
    page.goto(visits.url, wait_until="commit")
    drawn = visits.drawn(page)
    timeline = page.evaluate(TIMELINE_JS, _SCENE_KEY) if visits.drawn is _scene_drawn else None
    errors = page.locator("[data-testid=stException]").count()
    if errors:
        print(f"warning: {errors} exception(s) shown on {visits.url}", file=sys.stderr)
    page.close()
    return drawn, timeline


def first_visit(browser: Browser, visits: Visits, again: Visits | None = None) -> None:
    """A first visit to ``visits.url`` in a new profile, kept in ``visits``; then, if ``again``
    is given, a second visit in the same profile, kept there."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        drawn, timeline = visit(context, visits)
        visits.times.append(drawn)
        if timeline is not None:
            visits.timelines.append(timeline)
        if again is not None:
            drawn, timeline = visit(context, again)
            again.times.append(drawn)
            if timeline is not None:
                again.timelines.append(timeline)
    finally:
        context.close()


# ------------------------------------------------------------------------------ report


def _sizes(path: Path) -> str:
    data = path.read_bytes()
    return f"{len(data):>9,} bytes, {len(gzip.compress(data, compresslevel=9)):>9,} gzipped"


def _median(values: list[float | None]) -> str:
    kept = [value for value in values if value is not None]
    return f"{statistics.median(kept):.0f}" if kept else "-"


def report(app: Visits, bare: Visits, again: Visits) -> None:
    width = max(len(visits.name) for visits in (app, bare, again))
    print(f"{'page':<{width}}  visits  median ms  min ms  max ms")
    for visits in (app, bare, again):
        times = visits.times
        print(
            f"{visits.name:<{width}}  {len(times):>6}  {statistics.median(times):>9.0f}  "
            f"{min(times):>6.0f}  {max(times):>6.0f}"
        )
    for visits in (app, again):
        lines = visits.timelines
        fetched = sum(1 for line in lines if line["fetched"])
        steps = ", ".join(
            f"{label} {_median([line[key] for line in lines])}"
            for label, key in (
                ("requested", "requested"),
                ("received", "received"),
                ("run", "run"),
                ("picture loaded", "picture"),
            )
        )
        print(
            f"{visits.name}, medians in ms from the navigation: plotly.js {steps}; plotly.js "
            f"fetched from the server in {fetched} of {len(lines)} visits"
        )
    ratio = statistics.median(app.times) / statistics.median(bare.times)
    median_s = statistics.median(app.times) / 1e3
    verdict = "within" if median_s <= TARGET_S else "ABOVE"
    print(f"ratio of medians {app.name} / {bare.name} = {ratio:.2f}")
    print(f"{app.name}: picture drawn {median_s:.2f} s after opening ({verdict} {TARGET_S} s)")


def run(
    browser: Browser, app: Visits, bare: Visits, again: Visits, args: argparse.Namespace
) -> None:
    """Warm both servers with a visit each (not counted), then ``args.repeats`` first visits to
    each page, alternating which goes first, each app visit followed by one in its profile."""
    for visits in (app, bare):
        first_visit(browser, Visits(visits.name, visits.url, visits.drawn))
    for repeat in range(args.repeats):
        order = [(app, again), (bare, None)]
        for visits, second in order if repeat % 2 == 0 else order[::-1]:
            first_visit(browser, visits, second)
            if args.verbose:
                after = f", again {second.times[-1]:.0f} ms" if second else ""
                print(f"{visits.name:>9} visit {repeat + 1}: {visits.times[-1]:.0f} ms{after}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="first visits to each page")
    parser.add_argument("--verbose", action="store_true", help="print every visit")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    chromium = chromium_path()
    if chromium is None:
        return 1
    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    print(f"plotly.js for the live charts  {_sizes(_PLOTLY_JS)}  ({_PLOTLY_JS.name})")
    print(f"the plotly package's full one  {_sizes(full)}  ({full.name})")
    started = time.perf_counter()
    with streamlit_servers([APP, BARE_APP]) as (app_server, bare_server), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        app = Visits("uotviz", app_server.url, _scene_drawn)
        bare = Visits("bare page", bare_server.url, _bare_drawn)
        again = Visits("uotviz again", app_server.url, _scene_drawn)
        try:
            run(browser, app, bare, again, args)
        finally:
            browser.close()
    print(
        f"first visit in a new profile, navigation to drawn ({args.repeats} visits each, "
        f"alternating; {time.perf_counter() - started:.0f} s in all)"
    )
    report(app, bare, again)
    return 0


if __name__ == "__main__":
    sys.exit(main())
