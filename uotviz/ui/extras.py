"""More views of the current matching problem: Figure 1's six matchings and COCOeval's matching.

* :func:`gallery_section`: the paper's Figure 1 (b)–(h) for the current image: the cost and the
  plans of the six presets as matrices side by side (a click on a plan chooses its preset), and
  on request the six matchings drawn on the image, as small multiples.
* :func:`coco_eval_section`: pycocotools' evaluation matching of the image as a 0/1 plan, beside
  the transport plan: evaluation matching against training matching.

Both cache what they solve in ``st.session_state`` under keys starting with ``key_prefix``,
tagged with a fingerprint of the cost, so a new problem is never shown stale plans. The pure
helpers (:func:`empty_message`, :func:`problem_fingerprint`, :func:`gallery_plans`,
:func:`gallery_rows`, :func:`clicked_preset`, :func:`figure1_matrices_figure`) need no running
app.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from uotviz.data.coco import CocoIndex
from uotviz.data.types import Scene
from uotviz.figure1 import PRESETS
from uotviz.matching import MatchingProblem
from uotviz.plots.matrices import app_matrix_figure, clicked_panel, figure1_matrices
from uotviz.plots.scene import figure1_gallery
from uotviz.readout import MAX_MATRIX_ROWS, coco_eval_caption, escape_markdown, rows_to_draw
from uotviz.sliders import format_value, preset_by_name
from uotviz.stats import coco_eval_plans, image_matching
from uotviz.sweep import preset_plans
from uotviz.ui.charts import prepare_figure, show_chart
from uotviz.ui.params import apply_preset

__all__ = [
    "clicked_preset",
    "coco_eval_section",
    "empty_message",
    "figure1_matrices_figure",
    "gallery_plans",
    "gallery_rows",
    "gallery_section",
    "make_room_for_titles",
    "problem_fingerprint",
]


def empty_message(problem: MatchingProblem) -> str | None:
    """Why there is nothing to match (no prediction or no ground truth), or None."""
    n, m = problem.cost.shape[0], problem.cost.shape[1] - 1
    if n == 0:
        return "This image has no prediction to match: there is no plan to draw."
    if m == 0:
        return (
            "This image has no ground truth to match: every prediction goes to the background "
            "∅ whatever the parameters."
        )
    return None


def problem_fingerprint(problem: MatchingProblem) -> str:
    """A short hash of the cost (values and shape) and the labels: what the plans depend on."""
    digest = hashlib.blake2b(digest_size=12)
    cost = np.ascontiguousarray(problem.cost.detach().cpu().numpy(), dtype=np.float64)
    digest.update(repr(cost.shape).encode())
    digest.update(cost.tobytes())
    digest.update("\x1f".join((*problem.row_labels, *problem.col_labels)).encode())
    return digest.hexdigest()


def gallery_plans(problem: MatchingProblem) -> dict[str, np.ndarray]:
    """The plan of each preset of Figure 1, keyed by the panel title drawn over it."""
    plans = preset_plans(problem.cost)
    titles = {}
    for preset in PRESETS:
        params = (
            f"ε = {format_value(preset.eps)}, τ1 = {format_value(preset.tau1)}, "
            f"τ2 = {format_value(preset.tau2)}"
        )
        titles[preset.name] = f"{preset.name}<br><sup>{params}</sup>"
    return {titles[name]: plan.detach().cpu().numpy() for name, plan in plans.items()}


def make_room_for_titles(fig: go.Figure, *, title_px: int = 34, gap_px: int = 44) -> go.Figure:
    """Space the rows of a :func:`~uotviz.plots.scene.figure1_gallery` for two-line panel titles.

    Each row of panels keeps ``title_px`` pixels above it for its titles and ``gap_px`` between
    rows; the figure grows by what this adds, and the panel titles move with their rows.
    Returns ``fig``, modified.
    """
    layout = fig.layout
    names = [name for name in layout if name.startswith("yaxis") and layout[name].domain]
    tops = sorted({round(layout[name].domain[1], 6) for name in names}, reverse=True)
    if not tops or layout.height is None:
        return fig
    rows = len(tops)
    old_gap = (
        (tops[0] - tops[1] - (layout[names[0]].domain[1] - layout[names[0]].domain[0]))
        if rows > 1
        else 0.0
    )
    plot_px = layout.height - layout.margin.t - layout.margin.b
    extra_px = title_px + (rows - 1) * gap_px - old_gap * plot_px
    height = layout.height + max(0, round(extra_px))
    plot_px = height - layout.margin.t - layout.margin.b
    top, gap = title_px / plot_px, gap_px / plot_px
    row_h = (1.0 - top - (rows - 1) * gap) / rows
    new_top = {old: 1.0 - top - i * (row_h + gap) for i, old in enumerate(tops)}
    for name in names:
        t = new_top[round(layout[name].domain[1], 6)]
        layout[name].domain = [max(t - row_h, 0.0), t]
    for annotation in layout.annotations:
        if annotation.yref == "paper" and annotation.y is not None:
            key = round(annotation.y, 6)
            if key in new_top:
                annotation.y = new_top[key]
    layout.height = height
    return fig


def _image_of(image: object):
    """The PIL image of ``image`` (a PIL image, an ``OpenedImage`` or None)."""
    return getattr(image, "image", image)


def gallery_rows(plans: Sequence[np.ndarray]) -> np.ndarray | None:
    """The rows the Figure 1 matrices draw, or None for all: with more than
    :data:`~uotviz.readout.MAX_MATRIX_ROWS` rows, the rows that send a ground truth mass in any
    of the ``plans`` (:func:`~uotviz.readout.rows_to_draw` of their largest entries), at most
    that many, the heaviest; the first ones when no row does."""
    largest = np.max(np.stack([np.asarray(plan, dtype=np.float64) for plan in plans]), axis=0)
    rows = rows_to_draw(largest, cap=MAX_MATRIX_ROWS)
    if rows is not None and not len(rows):
        return np.arange(MAX_MATRIX_ROWS)
    return rows


def clicked_preset(point: Mapping | None) -> str | None:
    """The name of the preset whose panel of :func:`figure1_matrices_figure` was clicked, or
    None (the cost panel, or no panel)."""
    name = clicked_panel(point)
    return name if name is not None and preset_by_name(name) is not None else None


def figure1_matrices_figure(problem: MatchingProblem, plans: Mapping[str, np.ndarray]) -> go.Figure:
    """The cost and the six plans of :func:`gallery_plans` as the paper's Figure 1 (b)–(h),
    each plan panel reporting its preset's name when clicked (:func:`clicked_preset`), of the
    rows of :func:`gallery_rows`, prepared for :func:`~uotviz.ui.charts.show_chart`."""
    rows = gallery_rows(list(plans.values()))
    shown = slice(None) if rows is None else rows
    labels = list(problem.row_labels) if rows is None else [problem.row_labels[i] for i in rows]
    n = len(problem.row_labels)
    note = "" if rows is None else f", {len(rows)} of {n} rows"
    figure = figure1_matrices(
        problem.cost.detach().cpu().numpy()[shown],
        {title: plan[shown] for title, plan in plans.items()},
        labels,
        problem.col_labels,
        panel_ids=[preset.name for preset in PRESETS],
        cost_title="Cost C (b)",
        title=f"The paper's Figure 1 (b)–(h) for this image{note}",
    )
    # Kept as shown: preparing it again at every run is then cheap (see show_chart).
    return prepare_figure(figure, None, selectable=True)


def _kept(state_key: str, key: tuple, make: Callable[[], object]) -> object:
    """``make()``, kept in ``st.session_state[state_key]`` with ``key`` and made again only
    when ``key`` changes."""
    cached = st.session_state.get(state_key)
    if cached is not None and cached[0] == key:
        return cached[1]
    value = make()
    st.session_state[state_key] = (key, value)
    return value


def _use_clicked_preset(chart_key: str, counter_key: str) -> None:
    """A panel of the Figure 1 matrices was clicked: choose its preset, as the preset selector
    does, and count the click, which gives the next chart a new key (no selection left, so
    that the same panel can be clicked again)."""
    selection = st.session_state.get(chart_key, {}).get("selection", {})
    points = selection.get("points") if isinstance(selection, Mapping) else None
    name = clicked_preset(points[0] if points else None)
    if name is not None:
        st.session_state.preset = name
        apply_preset()
        st.session_state[counter_key] = st.session_state.get(counter_key, 0) + 1


def gallery_section(
    problem: MatchingProblem,
    image: object,
    width: int,
    height: int,
    key_prefix: str,
) -> None:
    """Figure 1 of the paper for the current problem: the cost and the six plans (panels
    (b)–(h)) as matrices, a click on a plan choosing its preset; below, on request, the six
    matchings drawn on the image as small scenes.

    Args:
        problem: the current matching problem.
        image: the picture (a PIL image, or an ``OpenedImage``), or None for a blank canvas.
        width, height: the annotated image size in pixels.
        key_prefix: prefix of the ``st.session_state`` keys this section uses.
    """
    message = empty_message(problem)
    if message is not None:
        st.info(message)
        return
    fingerprint = problem_fingerprint(problem)

    def solved() -> dict[str, np.ndarray]:
        with st.spinner("Solving the six presets…"):
            return gallery_plans(problem)

    try:
        plans = _kept(f"{key_prefix}_gallery_plans", (fingerprint,), solved)
        matrices = _kept(
            f"{key_prefix}_gallery_matrices",
            (fingerprint,),
            lambda: figure1_matrices_figure(problem, plans),
        )
    except ValueError as error:
        st.error(f"The presets cannot be drawn: {error}")
        return
    st.caption(
        "Top row, ε = 0: each prediction to its cheapest column (c), Hungarian matching (d), "
        "each ground truth to its best prediction (e). Bottom row, ε = 0.05: unbalanced OT "
        "close to (c) (f), balanced OT (g), unbalanced OT close to (e) (h). The plans share "
        "one colour scale. Click a plan to set the parameters to its preset."
    )
    counter_key = f"{key_prefix}_gallery_clicks"
    chart_key = f"{key_prefix}_gallery_matrices_chart_{st.session_state.get(counter_key, 0)}"
    show_chart(
        matrices,
        key=chart_key,
        on_select=lambda: _use_clicked_preset(chart_key, counter_key),
        config={"displayModeBar": False},
    )
    if st.toggle("Also draw the six matchings on the image", key=f"{key_prefix}_gallery_scenes"):
        _gallery_scenes(problem, image, width, height, plans, key_prefix)


def _gallery_scenes(
    problem: MatchingProblem,
    image: object,
    width: int,
    height: int,
    plans: Mapping[str, np.ndarray],
    key_prefix: str,
) -> None:
    """The six matchings of :func:`gallery_plans` as small scenes on the image, side by side
    (:func:`~uotviz.plots.scene.figure1_gallery`)."""
    picture = _image_of(image)
    size = None if picture is None else getattr(picture, "size", None)

    def drawn() -> go.Figure:
        figure = figure1_gallery(
            picture,
            width,
            height,
            problem,
            plans,
            title="The six matchings of the paper's Figure 1, on this image",
        )
        make_room_for_titles(figure)
        # Kept as shown: preparing it again at every run is then cheap (see show_chart).
        return prepare_figure(figure, None, selectable=False)

    key = (problem_fingerprint(problem), width, height, id(picture), size)
    try:
        figure = _kept(f"{key_prefix}_gallery", key, drawn)
    except ValueError as error:
        st.error(f"The matchings cannot be drawn on the image: {error}")
        return
    show_chart(figure, key=f"{key_prefix}_gallery_chart")


def coco_eval_section(
    index: CocoIndex,
    scene: Scene,
    problem: MatchingProblem,
    plan: np.ndarray,
    title: str,
    key_prefix: str,
) -> None:
    """pycocotools' evaluation matching of this image (``COCOeval.evaluateImg`` at one IoU
    threshold, :func:`uotviz.stats.coco_eval_plans`) as a 0/1 plan beside the transport ``plan``
    (titled ``title``): what evaluation counts against what training pushes. Only for the
    dataset's own predictions (not anchors, not simulated ones)."""
    if (
        scene.predictions is None
        or len(scene.predictions) == 0
        or bool((problem.pred_index < 0).any())
    ):
        st.info(
            "COCOeval's matching needs the dataset's own predictions: not anchors, and not the "
            "simulated ones of an image without predictions."
        )
        return
    iou = st.number_input(
        "COCOeval's IoU threshold",
        min_value=0.05,
        max_value=0.95,
        value=0.5,
        step=0.05,
        key=f"{key_prefix}_coco_iou",
        width=220,
    )

    def evaluated() -> tuple[torch.Tensor, int]:
        (coco_plan,), (ignored,) = coco_eval_plans(index, [image_matching(scene, problem)], iou)
        return coco_plan, ignored

    try:  # kept: it depends on the image and the threshold, not on ε, τ1, τ2
        coco_plan, ignored = _kept(
            f"{key_prefix}_coco_plan",
            (problem_fingerprint(problem), scene.image_id, iou),
            evaluated,
        )
    except ValueError as error:
        st.error(f"COCOeval's matching cannot be computed: {escape_markdown(str(error))}")
        return
    coco = coco_plan.numpy()
    st.caption(coco_eval_caption(coco, ignored, iou, plan))
    both = np.maximum(coco, plan)
    rows = rows_to_draw(both)
    shown = range(len(both)) if rows is None else rows.tolist()
    for place, matrix, name, chart in zip(
        st.columns(2, gap="large"),
        (coco, plan),
        (f"COCOeval's matching (IoU ≥ {iou:g})", title),
        ("coco", "plan"),
        strict=True,
    ):
        figure = app_matrix_figure(
            "plan", matrix, problem.row_labels, problem.col_labels, shown, title=name
        )
        with place:
            show_chart(figure, key=f"{key_prefix}_coco_{chart}_chart")
