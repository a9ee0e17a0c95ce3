"""Drawing time of one ε slider step's figures in a real browser, against a bare Plotly chart.

On every ε slider step the app solves again and sends new scene and plan figures, which its live
charts redraw in place with ``Plotly.react`` (``uotviz.ui.charts.live_chart``): the scene's
traces stay the same (what the plan changes is in its layout shapes, its hover texts are sent
apart), so plotly.js redraws only the changed shapes; the plan's heatmap is computed and drawn
again. This measures both, and a first drawing (``Plotly.newPlot``) of each figure.

For each demo image (``--images``, default 1 and 7) the figures the app builds on a step are made
with the package's pure modules, at ε = 0.05, τ1 = τ2 = ∞, nothing highlighted:

* scene: :func:`uotviz.plots.scene.scene_figure` (40 predictions at most, lines from 0.01), with
  the height the app gives it at that width;
* plan: :func:`uotviz.plots.matrices.app_matrix_figure` of the rows
  :func:`uotviz.readout.rows_to_draw` keeps, as the app draws it;
* cost: the same for the cost matrix (not redrawn on a step, as long as the cost does not
  change, but shown for comparison).

The reference is a bare chart: one 3-point scatter trace and a title, the cheapest chart there is.
Each figure is prepared as the app shows it (:func:`uotviz.ui.charts.prepare_figure`, at the
widths of the app's columns in a 1400 px wide window: 532 px for the scene, 438 px for the
matrices), serialised as Streamlit sends it (``plotly.io.to_json``) and drawn in one headless
Chromium page (1400 × 900 viewport, an 800 px wide ``<div>``) running the plotly.js that ships
with the plotly package. One draw is ``Plotly.purge`` (not timed), then ``await Plotly.newPlot``
and the next animation frame plus a ``setTimeout(0)``, so that style, layout and paint are
counted; the time until newPlot's promise resolves (script only) is reported beside it. Each
round starts at another point of the frame interval, the same for all its figures: started just
after a frame, every draw shorter than a frame would read as one frame. The figures are drawn
round-robin (reference, scene, plan, cost, reference, ...) so that drift and noise hit all alike;
after ``--warmup`` rounds, ``--repeats`` rounds are kept and their medians reported, with each
figure's ratio to the reference's median. ``Plotly.react`` from the ε = 0.05 figure to the
ε = 0.1 one (and back, alternately) is timed the same way for the scene and the plan, as a ratio
to the figure's own newPlot: how much an in-place update would save.

Machines are noisy: read the ratios, not the absolute times. This is a measurement, not a test:
it exits 0 whatever the numbers.

    python bench/bench_figures.py                      # demo images 1 and 7, 15 rounds each
    python bench/bench_figures.py --images 7 --repeats 40

Needs Debian's Chromium (``apt-get install -y chromium``) and the ``playwright`` package.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
import plotly.io
from playwright.sync_api import Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.streamlit_harness import CHROMIUM_ARGS, chromium_path  # noqa: E402
from uotviz.matching import CostSettings, MatchingProblem, build_matching_problem  # noqa: E402
from uotviz.plots.matrices import app_matrix_figure, unvalidated_figure  # noqa: E402
from uotviz.plots.scene import scene_figure  # noqa: E402
from uotviz.readout import cost_title, plan_title, rows_to_draw  # noqa: E402
from uotviz.sliders import format_value  # noqa: E402
from uotviz.sources import DEMO, DataSource, demo_config, load_configured  # noqa: E402
from uotviz.transport import solve  # noqa: E402
from uotviz.ui.charts import prepare_figure, step_texts  # noqa: E402

EPS, EPS_NEXT = 0.05, 0.1  # the measured step: ε = 0.05 and the slider's next value
MAX_PREDICTIONS = 40  # as the app's matching view draws them
SCENE_WIDTH_PX = 532  # the app's scene column at a 1400 px wide window
MATRIX_WIDTH_PX = 438  # and its matrix columns
DIV_WIDTH_PX = 800
TIMEOUT_MS = 60_000
REFERENCE = "bare chart"

PAGE_HTML = f"""<!doctype html>
<html><head><meta charset="utf-8"></head>
<body style="margin: 0"><div id="chart" style="width: {DIV_WIDTH_PX}px"></div></body></html>"""

# In the page: the figures as JSON strings (each draw parses a fresh copy, untimed, since
# plotly.js writes into the objects it is given) and the two timed operations.
BENCH_JS = """
window.figureJson = {};
window.settled = () =>
    new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
window.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
window.frameMs = async (frames) => {
    await window.settled();
    const start = await new Promise((resolve) => requestAnimationFrame(resolve));
    let last = start;
    for (let i = 0; i < frames; i++) {
        last = await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    return (last - start) / frames;
};
window.timeNewPlot = async (name, delay) => {
    const div = document.getElementById('chart');
    const figure = JSON.parse(window.figureJson[name]);
    Plotly.purge(div);
    await window.settled();
    await window.sleep(delay);
    const start = performance.now();
    await Plotly.newPlot(div, figure.data, figure.layout);
    const script = performance.now() - start;
    await window.settled();
    return [performance.now() - start, script];
};
window.timeReact = async (before, after, delay) => {
    const div = document.getElementById('chart');
    const first = JSON.parse(window.figureJson[before]);
    const second = JSON.parse(window.figureJson[after]);
    Plotly.purge(div);
    await Plotly.newPlot(div, first.data, first.layout);
    await window.settled();
    await window.sleep(delay);
    const start = performance.now();
    await Plotly.react(div, second.data, second.layout);
    const script = performance.now() - start;
    await window.settled();
    return [performance.now() - start, script];
};
"""


# ------------------------------------------------------------------------------ figures


@dataclass
class Measured:
    """A figure under measurement: its JSON at ε = 0.05 (and ε = 0.1 when its update is timed),
    its size, and its timings in milliseconds."""

    name: str
    json: str
    next_json: str | None = None
    traces: int = 0
    annotations: int = 0
    images: int = 0
    new_plot_ms: list[float] = field(default_factory=list)  # to the next frame + setTimeout(0)
    new_plot_script_ms: list[float] = field(default_factory=list)  # until the promise resolves
    react_ms: list[float] = field(default_factory=list)


def _to_json(fig: go.Figure, width_px: int) -> str:
    """The figure as the app's live charts send it to the browser: without its step texts
    (:func:`uotviz.ui.charts.step_texts`), prepared by :func:`uotviz.ui.charts.prepare_figure`
    at ``width_px``."""
    copy = go.Figure(fig.to_dict(), _validate=False)
    step_texts(copy)
    return plotly.io.to_json(prepare_figure(copy, width_px, selectable=False), validate=False)


def _measured(
    name: str, fig: go.Figure, next_fig: go.Figure | None = None, width_px: int = DIV_WIDTH_PX
) -> Measured:
    """A :class:`Measured` with the figure's JSON and its counts of drawn things."""
    layout = fig.layout
    return Measured(
        name=name,
        json=_to_json(fig, width_px),
        next_json=None if next_fig is None else _to_json(next_fig, width_px),
        traces=len(fig.data),
        annotations=len(layout.annotations or ()),
        images=len(layout.images or ()),
    )


def reference_figure() -> go.Figure:
    """The cheapest chart there is: one 3-point scatter trace and a title (empty template, as
    the package's figures have)."""
    return unvalidated_figure(
        [{"type": "scatter", "x": [0, 1, 2], "y": [0, 1, 0]}], {"title": {"text": "A bare chart"}}
    )


def _shown(plan: np.ndarray) -> np.ndarray:
    """The rows the matrices draw (all of them when there are few)."""
    rows = rows_to_draw(plan)
    return np.arange(plan.shape[0]) if rows is None else rows


def plan_chart(problem: MatchingProblem, plan: np.ndarray, eps: float) -> go.Figure:
    """The plan heatmap as the app's live chart draws it on a slider step, nothing highlighted."""
    return app_matrix_figure(
        "plan", plan, problem.row_labels, problem.col_labels, _shown(plan).tolist(),
        title=plan_title(eps, math.inf, math.inf), cell_targets=False,
    )  # fmt: skip


def cost_chart(problem: MatchingProblem, plan: np.ndarray, settings: CostSettings) -> go.Figure:
    """The cost heatmap of the plan's drawn rows, as the app draws it, nothing highlighted."""
    return app_matrix_figure(
        "cost", problem.cost.cpu().numpy(), problem.row_labels, problem.col_labels,
        _shown(plan).tolist(), title=cost_title(settings), cell_targets=False,
    )  # fmt: skip


def image_figures(source: DataSource, image_id: int) -> tuple[str, list[Measured]]:
    """A demo image's description and its figures: reference, scene, plan, cost."""
    scene = source.dataset.scene(image_id)
    image = source.open_image(scene).image
    settings = CostSettings()
    problem = build_matching_problem(scene, settings)

    def plan_at(eps: float) -> np.ndarray:
        return solve(problem.cost, eps, math.inf, math.inf).plan.cpu().numpy()

    def scene_at(plan: np.ndarray) -> go.Figure:
        fig = scene_figure(
            image,
            scene.width,
            scene.height,
            problem,
            plan,
            max_predictions=MAX_PREDICTIONS,
            title=f"{scene.file_name}: the matching on the image",
            figure_width_px=SCENE_WIDTH_PX,
        )
        return fig

    plan, next_plan = plan_at(EPS), plan_at(EPS_NEXT)
    n, k = plan.shape
    about = (
        f"demo image {image_id} ({scene.file_name}, {scene.width}×{scene.height}): "
        f"{n} predictions, {k - 1} ground truths, {len(_shown(plan))} rows drawn"
    )
    return about, [
        _measured(REFERENCE, reference_figure()),
        _measured("scene", scene_at(plan), scene_at(next_plan), SCENE_WIDTH_PX),
        _measured(
            "plan",
            plan_chart(problem, plan, EPS),
            plan_chart(problem, next_plan, EPS_NEXT),
            MATRIX_WIDTH_PX,
        ),
        _measured("cost", cost_chart(problem, plan, settings), width_px=MATRIX_WIDTH_PX),
    ]


# ------------------------------------------------------------------------------ the page


def open_bench_page(page: Page) -> None:
    """Load the blank page, plotly.js from the plotly package, and the timing functions."""
    page.set_default_timeout(TIMEOUT_MS)
    page.set_content(PAGE_HTML)
    page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
    page.add_script_tag(content=BENCH_JS)


def frame_ms(page: Page, frames: int = 30) -> float:
    """The page's animation frame interval in milliseconds (about 16.7 at 60 Hz)."""
    return float(page.evaluate("(frames) => window.frameMs(frames)", frames))


def _store(page: Page, name: str, text: str) -> None:
    """Keep a figure's JSON in the page under ``name``."""
    page.evaluate("([name, text]) => { window.figureJson[name] = text; }", [name, text])


def _delay(round_: int, frame: float) -> float:
    """A start delay spreading the rounds' starts over the frame interval (golden-ratio steps),
    the same for every figure of a round: without it each draw would start just after a frame
    and every draw shorter than a frame would read as one frame."""
    return (round_ * 0.6180339887 % 1.0) * frame


def measure(page: Page, figures: list[Measured], warmup: int, repeats: int, frame: float) -> None:
    """Round-robin over the figures: ``warmup`` discarded rounds, then ``repeats`` kept. Each
    figure is drawn with newPlot, then, when it has an ε = 0.1 version, updated with react (from
    ε = 0.05 to 0.1 on even rounds, back on odd ones)."""
    for figure in figures:
        _store(page, figure.name, figure.json)
        if figure.next_json is not None:
            _store(page, f"{figure.name} next", figure.next_json)
    for round_ in range(warmup + repeats):
        delay = _delay(round_, frame)
        for figure in figures:
            total, script = page.evaluate(
                "([name, delay]) => window.timeNewPlot(name, delay)", [figure.name, delay]
            )
            if round_ >= warmup:
                figure.new_plot_ms.append(total)
                figure.new_plot_script_ms.append(script)
            if figure.next_json is not None:
                pair = [figure.name, f"{figure.name} next"]
                if round_ % 2:
                    pair.reverse()
                total, _ = page.evaluate(
                    "([a, b, delay]) => window.timeReact(a, b, delay)", [*pair, delay]
                )
                if round_ >= warmup:
                    figure.react_ms.append(total)


# ------------------------------------------------------------------------------ report


def report(about: str, figures: list[Measured]) -> None:
    """One table: the figures' sizes; the median newPlot time, its ratio to the reference's and
    its script part; the median react time and its ratio to the figure's own newPlot."""
    reference = statistics.median(figures[0].new_plot_ms)
    print(about)
    print(
        f"  {'figure':<11}{'traces':>7}{'annot.':>7}{'images':>7}{'JSON kB':>9}"
        f"{'newPlot ms':>12}{'× bare':>8}{'(script ms)':>13}{'react ms':>10}{'/ newPlot':>11}"
    )
    for figure in figures:
        new_plot = statistics.median(figure.new_plot_ms)
        script = statistics.median(figure.new_plot_script_ms)
        react = ""
        if figure.react_ms:
            react_ms = statistics.median(figure.react_ms)
            react = f"{react_ms:>10.1f}{react_ms / new_plot:>11.2f}"
        print(
            f"  {figure.name:<11}{figure.traces:>7}{figure.annotations:>7}{figure.images:>7}"
            f"{len(figure.json.encode()) / 1e3:>9.1f}{new_plot:>12.1f}"
            f"{new_plot / reference:>8.2f}{f'({script:.1f})':>13}{react}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images", type=int, nargs="+", default=[1, 7], help="demo image ids (7: the coins)"
    )
    parser.add_argument("--repeats", type=int, default=15, help="measured rounds per image")
    parser.add_argument("--warmup", type=int, default=3, help="discarded rounds per image")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")
    chromium = chromium_path()
    if chromium is None:
        return 1
    source = load_configured(DEMO, demo_config())
    unknown = sorted(set(args.images) - set(source.dataset.image_ids()))
    if unknown:
        parser.error(f"no demo image with id {unknown}: choose from {source.dataset.image_ids()}")
    started = time.perf_counter()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            open_bench_page(page)
            frame = frame_ms(page)
            print(
                f"plotly.js {page.evaluate('Plotly.version')}, Chromium {browser.version}, "
                f"frame {frame:.1f} ms; ε = {format_value(EPS)} (react: to and from "
                f"ε = {format_value(EPS_NEXT)}), τ1 = τ2 = ∞; medians of {args.repeats} rounds "
                f"after {args.warmup} warm-up, interleaved; newPlot and react timed to the next "
                "frame + setTimeout(0), script: until newPlot's promise resolves"
            )
            for image_id in args.images:
                about, figures = image_figures(source, image_id)
                measure(page, figures, args.warmup, args.repeats, frame)
                report(about, figures)
        finally:
            browser.close()
    print(f"{time.perf_counter() - started:.0f} s in all; ratios are to the bare chart's newPlot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
