"""The Dataset page at COCO val2017 scale: how long until its first table, on the server.

The data is ``bench/bench_data.py``'s seeded synthetic val2017 (5,000 images, 36,781 annotations,
100 detections per image), configured as the app's dataset (``UOTVIZ_ANNOTATIONS``,
``UOTVIZ_PREDICTIONS``). In one run:

- the reference: :func:`uotviz.stats.compute_stats` at the app's default setting on the loaded
  dataset, the table the page shows, called directly;
- the page on the server: a new Streamlit session (``AppTest``) opens the Dataset page, which
  loads the dataset and computes its table; then the same page again in a second session, when
  the dataset and the table are cached;
- the page in a browser: a fresh server, and Debian's Chromium opening ``/dataset`` until the
  table of every image is shown (the server loading and computing, the browser drawing the
  5,000-row grid and the histograms).

The goal is the first table within 15 s.

    python bench/bench_dataset_page.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import bench_data  # noqa: E402

from tests.streamlit_harness import CHROMIUM_ARGS, chromium_path, streamlit_servers  # noqa: E402
from uotviz.data import DataConfig, load_dataset  # noqa: E402
from uotviz.data.config import ENV_ANNOTATIONS, ENV_PREDICTIONS  # noqa: E402
from uotviz.stats import StatsOptions, compute_stats  # noqa: E402

GOAL_S = 15.0


def _open_dataset_page() -> tuple[float, AppTest]:
    """Seconds for a new session to render the Dataset page, and the session."""
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=600)
    at._page_hash = calc_hash("dataset")  # AppTest.switch_page finds file pages only
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start, at


def _browser_first_table(rows: int) -> float:
    """Seconds from opening ``/dataset`` on a fresh server to its table of ``rows`` images."""
    with streamlit_servers(["app.py"]) as (server,), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        start = time.perf_counter()
        page.goto(server.url + "/dataset")
        page.get_by_text(f"{rows:,} of {rows:,} images", exact=False).wait_for(timeout=300_000)
        page.locator("[data-testid=stDataFrame]").wait_for(timeout=60_000)
        elapsed = time.perf_counter() - start
        browser.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        annotations, predictions = bench_data.write_files(Path(tmp))
        os.environ[ENV_ANNOTATIONS] = str(annotations)
        os.environ[ENV_PREDICTIONS] = str(predictions)

        start = time.perf_counter()
        dataset, _ = load_dataset(DataConfig(annotations=annotations, predictions=predictions))
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        table = compute_stats(dataset, StatsOptions())
        reference_s = time.perf_counter() - start

        first_s, at = _open_dataset_page()
        if at.exception:
            raise SystemExit(f"the page raised: {at.exception[0].value}")
        rows = len(at.dataframe[0].value) if at.dataframe else 0
        again_s, _ = _open_dataset_page()
        browser_s = _browser_first_table(len(table))

    print(f"{len(table):,} images with predictions, {int(table.n_predictions.sum()):,} predictions")
    print(
        f"reference: load {load_s:.2f} s + compute_stats {reference_s:.2f} s "
        f"= {load_s + reference_s:.2f} s"
    )
    print(
        f"Dataset page, first session (loads and computes): {first_s:.2f} s "
        f"({first_s / (load_s + reference_s):.2f}x the reference; goal {GOAL_S:.0f} s: "
        f"{'met' if first_s <= GOAL_S else 'NOT met'}); table of {rows:,} rows"
    )
    print(f"Dataset page, second session (cached): {again_s:.2f} s")
    print(
        f"Dataset page in Chromium, fresh server, to the table of every image: {browser_s:.2f} s "
        f"(goal {GOAL_S:.0f} s: {'met' if browser_s <= GOAL_S else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
