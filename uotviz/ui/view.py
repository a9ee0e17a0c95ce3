"""The matching view: cached problem and image, the warm-started solve, figures and highlights.

Caches: the matching problem of (source key, image id, cost settings, simulation) with
``st.cache_data`` (plain values only); the opened image with ``st.cache_resource``. The solve
reruns on every slider move inside a fragment, warm-started from the previous column potentials
while the cost is the same (kept in ``st.session_state``).
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import astuple, dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from streamlit.delta_generator import DeltaGenerator

from uotviz.costs import CostWeights
from uotviz.data import Scene, simulate_detr
from uotviz.data.coco import CocoIndex, ImageMissing, OpenedImage
from uotviz.export import plan_csv, plan_json, solve_diagnostics
from uotviz.matching import (
    MIN_MASS,
    CostSettings,
    MatchingProblem,
    build_matching_problem,
    summarise,
)
from uotviz.plots.matrices import app_matrix_figure, plan_update
from uotviz.plots.scene import (
    PRESENTATION,
    SceneStyle,
    picture_jpeg,
    scene_figure,
    scene_overlay,
)
from uotviz.plots.selection import pick_from_point
from uotviz.readout import (
    cost_title,
    diagnostics,
    escape_markdown,
    narrow_table,
    plan_title,
    rows_caption,
    rows_to_draw,
    summary_line,
    summary_table,
)
from uotviz.sliders import Parameters
from uotviz.sources import DataSource
from uotviz.sweep import plans_along
from uotviz.transport import TransportResult, solve
from uotviz.ui.charts import (
    FrameSet,
    chart_title,
    clicked_point,
    column_width,
    live_chart,
    media_url,
)
from uotviz.ui.extras import coco_eval_section, gallery_section
from uotviz.ui.heap import settle_heap
from uotviz.ui.hidden import drawn_while_open
from uotviz.ui.params import frames_path, transport_controls
from uotviz.ui.presentation import presenting
from uotviz.ui.settings import DEFAULT_DRAWN, FIGURE_FORMATS
from uotviz.ui.state import sync_url
from uotviz.ui.table import sortable_table

__all__ = ["HIGHLIGHT_OPEN", "load_image", "matching_problem", "matching_view", "needs_simulation"]

NONE = -1  # the highlight selectboxes' "nothing highlighted" (a selectbox shows None as empty)
HIGHLIGHT_OPEN = "highlight_popover"
"""Whether the highlight popover is open (its selectboxes are drawn only then)."""
_HIGHLIGHT_WIDGETS = ("highlight_pred", "highlight_gt")
SCENE_WIDTH_PX = 560  # the scene column's width on a laptop screen, until the browser says
_MATRIX_KEYS = ("cost_chart", "plan_chart")
_MATRIX_BOX_PX = 760  # a taller heatmap scrolls in a box of this height
_SCENE_KEY = "scene_chart"


def needs_simulation(scene: Scene, settings: CostSettings) -> bool:
    """Predictions are simulated when the source has none for the image (anchor mode needs none)."""
    return settings.anchors is None and (scene.predictions is None or len(scene.predictions) == 0)


@st.cache_data(max_entries=64, show_spinner="Building the cost…")
def _cached_problem(
    source_key: str,
    image_id: int,
    weights: tuple[float, float, float, float],
    background_cost: float,
    anchors: str | None,
    score_threshold: float,
    top_k: int | None,
    simulation: tuple[int, int] | None,
    _source: DataSource,
) -> MatchingProblem:
    """The matching problem, keyed by plain values only (the source by its key)."""
    settings = CostSettings(
        weights=CostWeights(*weights),
        background_cost=background_cost,
        anchors=anchors,
        score_threshold=score_threshold,
        top_k=top_k,
    )
    scene = _source.dataset.scene(image_id)
    predictions = None
    if simulation is not None:
        seed, queries = simulation
        predictions = simulate_detr(
            scene.ground_truths, (scene.width, scene.height), num_queries=queries, seed=seed
        )
    return build_matching_problem(scene, settings, predictions)


def matching_problem(
    source: DataSource,
    image_id: int,
    settings: CostSettings,
    simulation: tuple[int, int] | None,
) -> MatchingProblem:
    """The cached problem of an image (raises ValueError on bad settings or data)."""
    return _cached_problem(
        source.key,
        image_id,
        astuple(settings.weights),
        float(settings.background_cost),
        settings.anchors,
        float(settings.score_threshold),
        settings.top_k,
        simulation,
        source,
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_image(source_key: str, image_id: int, _source: DataSource) -> OpenedImage:
    return _source.open_image(_source.dataset.scene(image_id))


def load_image(source: DataSource, image_id: int) -> OpenedImage | None:
    """The image (cached), or None with a caption saying that it has no picture, or an st.error
    saying why it cannot be shown; what did not stop it from opening (a size that differs from
    the annotations') is a warning."""
    try:
        opened = _cached_image(source.key, image_id, source)
    except ImageMissing as error:  # common (pictures partly there): a quiet notice
        st.caption(f"{escape_markdown(str(error))}: the boxes are drawn on a blank canvas.")
        return None
    except ValueError as error:
        st.error(f"{escape_markdown(str(error))}. The boxes are drawn on a blank canvas.")
        return None
    for message in opened.messages:
        st.warning(escape_markdown(message))
    return opened


def picture_url(image: OpenedImage, image_key: str) -> str | None:
    """A URL the browser loads the picture from: Streamlit's media endpoint serves a JPEG copy of
    it for as long as this session keeps drawing it. None where there is no media endpoint (the
    scene then embeds the picture, about 90 kB more to send, parse and decode at every step).

    ``image_key`` names the picture's place in the session (one picture at a time per key).
    """
    return media_url(picture_jpeg(image.image), "image/jpeg", f"picture.{image_key}")


# ------------------------------------------------------------------------------ highlights


def _reset_highlights(key: str) -> None:
    state = st.session_state
    if state.get("highlight_for") != key:
        state.highlight_for = key
        state.highlight_pred = NONE
        state.highlight_gt = NONE


def _clicked(key: str) -> Mapping | None:
    """The point clicked on chart ``key``: a live chart's click, or an ``st.plotly_chart``'s
    selection (where there is no media endpoint for the live charts)."""
    point = clicked_point(key)
    if point is not None:
        return point
    selection = st.session_state.get(key, {}).get("selection", {})
    points = selection.get("points") if isinstance(selection, Mapping) else None
    return points[0] if points else None


def _scene_clicked(problem: MatchingProblem) -> None:
    point = _clicked(_SCENE_KEY)
    if point is None:
        return
    row, column = pick_from_point(point, len(problem.col_labels) - 1, len(problem.row_labels))
    if row is None and column is None:
        return
    st.session_state.highlight_pred = NONE if row is None else row
    st.session_state.highlight_gt = NONE if column is None else column


def _cell_clicked(chart_key: str, gt_count: int) -> None:
    point = _clicked(chart_key)
    if point is None:
        return
    row, column = pick_from_point(point, gt_count)
    if row is None:
        return
    st.session_state.highlight_pred = row
    st.session_state.highlight_gt = NONE if column is None else column


def _highlight(problem: MatchingProblem) -> tuple[int | None, int | None]:
    """The highlighted row and column (None: none), read before their selectboxes exist in this
    run (:func:`_highlight_controls`), a value that is not a row or column index reset."""
    state = st.session_state
    n, m = len(problem.row_labels), len(problem.col_labels) - 1
    for key, count in (("highlight_pred", n), ("highlight_gt", m)):
        # A widget's value can still be the raw one the browser sent (a label, after a click
        # set it and the options changed).
        value = state.get(key, NONE)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
            state[key] = NONE
    pred, gt = state.highlight_pred, state.highlight_gt
    return (None if pred == NONE else pred), (None if gt == NONE else gt)


def _highlight_controls(problem: MatchingProblem, rows: list[int]) -> None:
    """Selectboxes for the highlighted prediction and ground truth (clicks set them too), after
    :func:`_highlight` has checked their values, in a popover that draws them only while it is
    open (:mod:`uotviz.ui.hidden`: a step redraws every widget of the page)."""
    state = st.session_state
    m = len(problem.col_labels) - 1
    pred_options = sorted(set(rows) | ({state.highlight_pred} - {NONE}))
    drawn = drawn_while_open(HIGHLIGHT_OPEN, _HIGHLIGHT_WIDGETS)
    panel = st.popover(
        "Highlight",
        key=HIGHLIGHT_OPEN,
        on_change="rerun",
        help="Highlight a prediction or a ground truth: choose it here, or click its box, its "
        "badge or a line on the image, or a cell of a matrix.",
    )
    if not drawn:
        return
    panel.selectbox(
        "Highlight prediction",
        [NONE, *pred_options],
        format_func=lambda i: "none" if i == NONE else _pred_label(problem, i),
        key="highlight_pred",
    )
    panel.selectbox(
        "Highlight ground truth",
        [NONE, *range(m)],
        format_func=lambda j: (
            "none" if j == NONE else f"{problem.col_labels[j]} {problem.gt_names[j]}"
        ),
        key="highlight_gt",
    )


def _pred_label(problem: MatchingProblem, row: int) -> str:
    name = problem.pred_names[row] if row < len(problem.pred_names) else ""
    return f"{problem.row_labels[row]} {name}".rstrip()


# ------------------------------------------------------------------------------ solve


@st.cache_resource(show_spinner=False)
def solve_device() -> torch.device:
    """Where the app solves: the current CUDA device when there is one, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _solve(problem: MatchingProblem, key: str, eps: float, tau1: float, tau2: float):
    """Solve on :func:`solve_device`, warm-started from the previous potentials (kept on that
    device) when the cost has not changed. The cached problem stays on the CPU."""
    state = st.session_state
    device = solve_device()
    warm = None
    previous = state.get("warm_start")
    if eps > 0 and previous is not None and previous[0] == key:
        warm = previous[1]
    result = solve(problem.cost.to(device), eps, tau1, tau2, warm_start=warm)
    if result.potentials is not None:
        state.warm_start = (key, result.potentials)
    return result


# ------------------------------------------------------------------------------ the view


@dataclass
class _Matrices:
    """The cost and plan heatmaps of a step, or what is said instead of them."""

    caption: str | None = None  # which rows are drawn, when not all of them
    message: str | None = None  # shown instead of the heatmaps (nothing to draw)
    cost: go.Figure | None = None
    plan: go.Figure | None = None
    gt_count: int = 0  # M, for decoding clicks on cells
    outlined: tuple[int | None, int | None] = (None, None)  # the highlighted cell, as drawn
    wide: bool = False  # stack the two heatmaps instead of setting them side by side
    plan_base: str | None = None  # what the plan's figure keeps from one plan to the next


def _plan_rows(n: int, rows: np.ndarray | None) -> np.ndarray | None:
    """The rows the heatmaps draw, of a plan with ``n`` rows whose drawn rows are ``rows``
    (:func:`uotviz.matching.rows_to_draw`; None: all); None when they draw none (no row sends
    mass to a ground truth)."""
    if rows is None:
        return np.arange(n)
    return rows if len(rows) else None


def _matrix_figures(
    problem: MatchingProblem,
    problem_key: str,
    plan: np.ndarray,
    settings: CostSettings,
    params: tuple[float, float, float],
    rows: np.ndarray | None,
    highlight: tuple[int | None, int | None],
    cell_targets: bool,
) -> _Matrices:
    """The cost and plan heatmaps of the drawn rows, with the highlighted row and column
    outlined; ``cell_targets``: clickable through markers (for ``st.plotly_chart``), not through
    the heatmap (for live charts), see :func:`uotviz.plots.matrices.app_matrix_figure`."""
    n, k = plan.shape
    matrices = _Matrices(gt_count=k - 1, wide=k > 4)  # past 4 columns cells no longer fit
    if rows is not None:
        what = "anchors" if settings.anchors else "predictions"
        matrices.caption = rows_caption(plan, rows, what)
    shown = _plan_rows(n, rows)
    if shown is None:
        matrices.message = "No row sends mass to a ground truth: there is nothing to draw."
        return matrices
    pred, gt = highlight
    drawn_row = (
        int(np.flatnonzero(shown == pred)[0]) if pred is not None and pred in shown else None
    )
    matrices.outlined = (drawn_row, gt)
    matrices.plan_base = _paint_base(problem_key, shown.tolist(), matrices.outlined)
    matrices.plan = _plan_figure(problem, plan, params, shown, (drawn_row, gt), cell_targets)
    matrices.cost = _cost_chart(
        problem, problem_key, settings, shown, (drawn_row, gt), cell_targets
    )
    return matrices


def _plan_figure(
    problem: MatchingProblem,
    plan: np.ndarray,
    params: tuple[float, float, float],
    shown: np.ndarray,
    outlined: tuple[int | None, int | None],
    cell_targets: bool,
) -> go.Figure:
    """The plan heatmap of the ``shown`` rows, titled with its parameters."""
    return app_matrix_figure(
        "plan", plan, problem.row_labels, problem.col_labels, shown.tolist(),
        title=plan_title(*params), outlined=outlined, cell_targets=cell_targets,
    )  # fmt: skip


def _matrix_columns(matrices: _Matrices) -> tuple[DeltaGenerator, DeltaGenerator] | None:
    """The places of the two heatmaps, side by side or stacked, after their caption; None (and
    the message) when there is nothing to draw."""
    if matrices.caption:
        st.caption(matrices.caption)
    if matrices.message:
        st.info(matrices.message)
        return None
    if matrices.wide:
        return st.container(), st.container()
    cost_col, plan_col = st.columns(2, gap="large")
    return cost_col, plan_col


def _presentation_places(
    matrices: _Matrices, side_col: DeltaGenerator
) -> tuple[DeltaGenerator, DeltaGenerator] | None:
    """In presentation mode: the plan at the top of the side column, beside the picture, and
    the cost under everything; None (and the message) when there is nothing to draw."""
    if matrices.message:
        side_col.info(matrices.message)
        return None
    plan_place = side_col.container()
    if matrices.caption:
        side_col.caption(matrices.caption)
    return st.container(), plan_place


def _show_matrices(
    matrices: _Matrices,
    columns: tuple[DeltaGenerator, DeltaGenerator],
    file_stem: str,
    plotly_url: str | None,
    plan_frames: FrameSet | None = None,
) -> None:
    """The heatmaps of :func:`_matrix_figures` in the places of :func:`_matrix_columns`, each in
    a box that scrolls when the heatmap is taller than :data:`_MATRIX_BOX_PX` (hundreds of
    rows, each still as tall as its labels); ``plan_frames``: the plan's frames when the sliders
    asked for a slider's or a Play's (see :func:`_path_frames`)."""
    for column, fig, key in zip(columns, (matrices.cost, matrices.plan), _MATRIX_KEYS, strict=True):
        tall = (fig.layout.height or 0) > _MATRIX_BOX_PX
        # The same box either way: the chart stays mounted when the rows outgrow it.
        with column.container(height=_MATRIX_BOX_PX if tall else "content", border=tall):
            live_chart(
                fig,
                key=key,
                plotly_url=plotly_url,
                on_click=lambda key=key: _cell_clicked(key, matrices.gt_count),
                config=_matrix_chart_config(f"{file_stem}_{key.removesuffix('_chart')}"),
                frames=plan_frames if key == "plan_chart" else None,
                paint_base=matrices.plan_base if key == "plan_chart" else None,
            )


def _cost_chart(
    problem: MatchingProblem,
    problem_key: str,
    settings: CostSettings,
    shown: np.ndarray,
    outlined: tuple[int | None, int | None],
    cell_targets: bool,
):
    """The cost heatmap of the ``shown`` rows with a row and column outlined. It does not depend
    on ε, τ1, τ2: the figure is kept in the session and remade only when its inputs change (an
    unchanged figure is also left as it is in the browser)."""
    key = (problem_key, tuple(shown.tolist()), outlined, cell_targets)
    kept = st.session_state.get("cost_chart_figure")
    if kept is not None and kept[0] == key:
        return kept[1]
    fig = app_matrix_figure(
        "cost", problem.cost.cpu().numpy(), problem.row_labels, problem.col_labels,
        shown.tolist(), title=cost_title(settings), outlined=outlined, cell_targets=cell_targets,
    )  # fmt: skip
    st.session_state.cost_chart_figure = (key, fig)
    return fig


def _paint_base(*parts: object) -> str:
    """A live chart's ``paint_base`` (:func:`uotviz.ui.charts.live_chart`): a digest of what
    its figure is drawn from besides the plan."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def _scene_base(problem_key: str, image: OpenedImage | None, options: dict) -> str | None:
    """The scene's ``paint_base`` for its :func:`_scene_options`: its figure keeps everything
    but its shapes and labels from one plan to the next at the same image, width, style and cap
    on drawn predictions, except with a highlight (the ground truths' outlines, traces, fade
    with the plan); None then."""
    if (options["highlight_pred"], options["highlight_gt"]) != (None, None):
        return None
    return _paint_base(
        problem_key,
        image is None,
        options["figure_width_px"],
        options["style"],
        options["max_predictions"],
    )


def _scene_options(highlight: tuple[int | None, int | None], max_drawn: int) -> dict:
    """What the scene's figure and its drag frames share (taken once per run): the highlight,
    the cap on drawn predictions, the column's width (once the browser has measured it: the
    picture's height follows it, and its labels are laid out at that scale) and the style."""
    return {
        "highlight_pred": highlight[0],
        "highlight_gt": highlight[1],
        "max_predictions": max_drawn,
        "figure_width_px": column_width(_SCENE_KEY) or SCENE_WIDTH_PX,
        "style": PRESENTATION if presenting() else SceneStyle(),
    }


def _scene_chart(
    scene: Scene,
    image: OpenedImage | None,
    problem: MatchingProblem,
    plan: np.ndarray,
    options: dict,
) -> go.Figure:
    """The matching drawn on the picture with the :func:`_scene_options` ``options``, sized for
    the scene column (raises ValueError when it cannot be drawn)."""
    return scene_figure(
        None if image is None else image.image,
        scene.width,
        scene.height,
        problem,
        plan,
        # Plotly reads a few HTML tags in titles (links among them): the name is text.
        title=f"{html.escape(scene.file_name)}: the matching on the image",
        picture_url=None if image is None else picture_url(image, "scene"),
        **options,
    )


def _frames_asked_for(
    problem: MatchingProblem,
    params: tuple[float, float, float],
    scene: Scene,
    image: OpenedImage | None,
    options: dict,
    plan_rows: np.ndarray | None,
    plotly_url: str | None,
) -> tuple[FrameSet | None, FrameSet | None]:
    """The scene's and the plan's frames (:func:`_path_frames`) when the sliders asked for a
    slider's or a Play's (:func:`uotviz.ui.params.frames_path`); (None, None) otherwise, or
    without live charts. ``plan_rows``: the rows the plan heatmap draws (:func:`_plan_rows`),
    None when it draws none."""
    path = frames_path(params) if plotly_url is not None else None
    if path is None:
        return None, None
    scenes, plans = _path_frames(
        problem,
        path.points,
        lambda plan: _scene_overlay(scene, image, problem, plan, options),
        None
        if plan_rows is None
        else lambda plan, at: plan_update(
            plan, plan_rows, title=chart_title(plan_title(*at)), hover=False
        ),
    )
    return (
        FrameSet(path.name, path.at, scenes),
        None if plans is None else FrameSet(path.name, path.at, plans),
    )


def _path_frames(
    problem: MatchingProblem,
    points: Sequence[Parameters],
    scene_at: Callable[[np.ndarray], dict],
    plan_at: Callable[[np.ndarray, Parameters], dict] | None,
) -> tuple[list[dict], list[dict] | None]:
    """What the browser draws at each of ``points`` (``(ε, τ1, τ2)`` each: the positions of a
    dragged slider, :func:`uotviz.sliders.slider_walk`, or the points of a Play's walk,
    :func:`uotviz.sliders.walk`), as the live charts' frames, one per point in that order: the
    scene's layout (``scene_at``) and the plan's update (``plan_at``; None: no plan drawn). The
    plans come from :func:`uotviz.sweep.plans_along` (one batched solve, or for a large cost a
    chain of warm-started ones; each equal to
    :func:`~uotviz.transport.solve` at its point to within its tolerance)."""
    plans = plans_along(problem.cost.to(solve_device()), points)
    scenes, plan_updates = [], []
    for at, plan in zip(points, plans, strict=True):
        plan_array = plan.cpu().numpy()
        scenes.append({"layout": scene_at(plan_array), "traces": {}})
        if plan_at is not None:
            plan_updates.append(plan_at(plan_array, at))
    return scenes, plan_updates if plan_at is not None else None


def _scene_overlay(
    scene: Scene,
    image: OpenedImage | None,
    problem: MatchingProblem,
    plan: np.ndarray,
    options: dict,
) -> dict:
    """What ``plan`` draws on the scene of :func:`_scene_chart` with the same ``options``
    (shapes and annotations)."""
    return scene_overlay(
        image is not None,
        scene.width,
        scene.height,
        problem,
        plan,
        **options,
    )


def _limit_case_note(params: tuple[float, float, float], n: int, k: int) -> str | None:
    """What to say about the plan at a degenerate corner of the parameters, if anything."""
    eps, tau1, tau2 = params
    if eps == 0 and tau1 == 0 and tau2 == math.inf and n:
        share = max(n - (k - 1), 0) / n
        return (
            "At ε = 0, τ1 = 0, τ2 = ∞ the background mass is not unique: uotviz spreads it "
            f"evenly over all predictions (the ε → 0 limit at τ1 = 0 exactly, {share:.2g} "
            "per row here). The published panel (e) draws it only on the predictions that "
            "took no ground truth."
        )
    if eps == 0 and tau1 == 0 and tau2 == 0:
        return "Both marginals free and no entropy: sending nothing costs least, the plan is 0."
    return None


@st.fragment
def matching_view(
    source: DataSource,
    image_id: int,
    settings: CostSettings,
    problem: MatchingProblem,
    image: OpenedImage | None,
    problem_key: str,
    max_drawn: int = DEFAULT_DRAWN,
    plotly_url: str | None = None,
) -> None:
    """The parameter controls, the solve, the scene and the matrices; a slider move reruns only
    this. ``max_drawn`` caps the predictions drawn on the picture; ``plotly_url`` is where the
    browser loads plotly.js from for the live charts (:func:`uotviz.ui.charts.plotly_js_url`,
    added in the full run).

    The charts are sent first, right after the sliders, and the side panel after them: the
    browser draws the charts (most of its work at a step) while the server still sends the
    rest.
    """
    params = transport_controls()
    eps, tau1, tau2 = params
    _reset_highlights(problem_key)
    try:
        result: TransportResult = _solve(problem, problem_key, eps, tau1, tau2)
    except ValueError as error:
        st.error(f"The solver refused the problem: {escape_markdown(str(error))}")
        sync_url()
        return
    plan = result.plan.cpu().numpy()
    n, k = plan.shape
    rows = rows_to_draw(plan)
    drawable = list(range(n)) if rows is None else rows.tolist()
    scene = source.dataset.scene(image_id)
    highlight = _highlight(problem)

    scene_col, side_col = st.columns([3, 2], gap="large")
    plan_frames = None
    with scene_col:  # first: the browser draws the picture while the server makes the rest
        scene_options = _scene_options(highlight, max_drawn)
        try:
            figure = _scene_chart(scene, image, problem, plan, scene_options)
        except ValueError as error:
            st.error(f"The scene cannot be drawn: {escape_markdown(str(error))}")
        else:
            scene_frames, plan_frames = _frames_asked_for(
                problem, params, scene, image, scene_options, _plan_rows(n, rows), plotly_url
            )
            live_chart(
                figure,
                key=_SCENE_KEY,
                plotly_url=plotly_url,
                on_click=lambda: _scene_clicked(problem),
                config=_chart_config(f"{_stem(scene.file_name)}_scene"),
                frames=scene_frames,
                paint_base=_scene_base(problem_key, image, scene_options),
            )
    matrices = _matrix_figures(
        problem, problem_key, plan, settings, params, rows, highlight, plotly_url is None
    )
    if presenting():  # the plan beside the picture, for one projector screen
        matrix_columns = _presentation_places(matrices, side_col)
    else:
        matrix_columns = _matrix_columns(matrices)  # below the scene and the side panel
    if matrix_columns is not None:
        _show_matrices(matrices, matrix_columns, _stem(scene.file_name), plotly_url, plan_frames)
    with side_col:
        summary = summarise(result.plan)
        st.markdown("**Matching summary**  \n" + summary_line(summary, n))
        if k > 1:
            sortable_table(
                narrow_table(summary_table(summary, problem, plan)),
                key="gt_table",
                digits={"received": 3, "preds ≥ 0.5": 0, "unmatched": 3},
                helps={
                    "GT": "The ground truth and its category",
                    "received": "The mass it receives (its column sum)",
                    "from": f"The predictions sending it at least {MIN_MASS:g}, heaviest first",
                    "preds ≥ 0.5": "How many predictions send it at least half a unit",
                    "unmatched": "1 − received, when positive",
                },
            )
        _highlight_controls(problem, drawable)
        st.caption(diagnostics(result, eps))
        _downloads(problem, plan, result, settings, params, image_id, scene.file_name)
        for note in problem.notes:
            st.caption(note)
        note = _limit_case_note(params, n, k)
        if note:
            st.info(note)
    _extras(problem, image, scene, source.dataset.index, plan, params)
    sync_url()  # last: the element shows nothing, but the page leaves a gap for it
    settle_heap(source.key)


def _extras(
    problem: MatchingProblem,
    image: OpenedImage | None,
    scene: Scene,
    index: CocoIndex,
    plan: np.ndarray,
    params: tuple[float, float, float],
) -> None:
    """The Figure 1 gallery and COCOeval's matching, each computed only when switched on (they
    cost 6 solves and an evaluation)."""
    row = st.container(horizontal=True)
    show_gallery = row.toggle(
        "Figure 1 gallery: the cost (b) and the plans (c)–(h) for this image", key="show_gallery"
    )
    show_coco = row.toggle("COCOeval's matching beside the plan", key="show_coco_eval")
    if show_gallery:
        gallery_section(problem, image, scene.width, scene.height, "extras")
    if show_coco:
        coco_eval_section(index, scene, problem, plan, plan_title(*params), "extras")


# ------------------------------------------------------------------------------ downloads


def _stem(file_name: str) -> str:
    """A file name's stem, for the names of downloaded files."""
    return file_name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "uotviz"


def _chart_config(file_stem: str) -> dict:
    """Plotly's camera button saves the figure in the sidebar's format, named after the image."""
    image_format = str(st.session_state.get("figure_format", FIGURE_FORMATS[0])).lower()
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": image_format, "filename": file_stem, "scale": 2},
    }


def _matrix_chart_config(file_stem: str) -> dict:
    """The matrices' mode bar holds the camera button only (there is nothing to zoom), small
    enough to stay clear of the title."""
    return {
        **_chart_config(file_stem),
        "modeBarButtons": [["toImage"]],
    }


def _downloads(
    problem: MatchingProblem,
    plan: np.ndarray,
    result: TransportResult,
    settings: CostSettings,
    params: tuple[float, float, float],
    image_id: int,
    file_name: str,
) -> None:
    """The plan's download buttons, CSV and JSON; each file is written only when its button is
    pressed."""
    eps, tau1, tau2 = params
    values = {
        "eps": eps,
        "tau1": tau1,
        "tau2": tau2,
        "preset": st.session_state.get("preset"),
        "cost": cost_title(settings).removeprefix("Cost C = "),
    }
    diagnostics_ = solve_diagnostics(result)
    cost = problem.cost.numpy()
    stem = f"{_stem(file_name)}_plan"
    row = st.container(horizontal=True)
    row.download_button(
        "Plan as CSV",
        data=lambda: plan_csv(problem, plan, values, file_name=file_name),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key="download_csv",
        on_click="ignore",
        width="stretch",
    )
    row.download_button(
        "Plan as JSON",
        data=lambda: plan_json(
            problem, plan, cost, values, diagnostics_, image_id=image_id, file_name=file_name
        ),
        file_name=f"{stem}.json",
        mime="application/json",
        key="download_json",
        on_click="ignore",
        width="stretch",
    )
