"""The matching drawn on the image: geometry, encodings, limits, highlights and empty cases."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from PIL import Image

from tests.plotly_checks import assert_validation_changes_nothing
from uotviz import figure1
from uotviz.costs import matching_cost
from uotviz.matching import MIN_MASS, MatchingProblem, column_letters
from uotviz.plots.picture import BACKGROUND_GREY, link_width
from uotviz.plots.scene import GT_PALETTE, figure1_gallery, scene_figure
from uotviz.transport import solve

WIDTH, HEIGHT = 480, 430


def make_problem(
    pred_boxes: list[list[float]] | np.ndarray,
    gt_boxes: list[list[float]] | np.ndarray,
    *,
    pred_names: tuple[str, ...] | None = None,
    gt_names: tuple[str, ...] | None = None,
) -> MatchingProblem:
    preds = torch.as_tensor(np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4))
    gts = torch.as_tensor(np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4))
    n, m = preds.shape[0], gts.shape[0]
    return MatchingProblem(
        cost=matching_cost(preds, gts, background_cost=0.8),
        pred_boxes=preds,
        gt_boxes=gts,
        pred_index=torch.arange(n),
        gt_index=torch.arange(m),
        row_labels=tuple(str(i + 1) for i in range(n)),
        col_labels=(*column_letters(m), "∅"),
        pred_scores=torch.linspace(0.9, 0.5, n) if n else torch.zeros(0),
        pred_names=pred_names if pred_names is not None else ("cup",) * n,
        gt_names=gt_names if gt_names is not None else ("cup",) * m,
    )


@pytest.fixture(scope="module")
def fig1_problem() -> MatchingProblem:
    return make_problem(
        figure1.PREDICTIONS_XYXY,
        figure1.GROUND_TRUTHS_XYXY,
        pred_names=("cup", "spoon", "spoon", "cup", "plate"),
        gt_names=("cup", "plate"),
    )


@pytest.fixture(scope="module")
def ot_plan(fig1_problem: MatchingProblem) -> torch.Tensor:
    return solve(fig1_problem.cost, 0.05, math.inf, math.inf).plan  # panel (g)


def traces(fig, role: str) -> list:
    return [t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("role") == role]


def shapes_named(fig, kind: str) -> dict[str, object]:
    """The layout shapes named ``"<kind> <what>"`` (``"outline 4"``, ``"line 4 → A"``), by
    what they draw (``"4"``, ``"4 → A"``)."""
    prefix = kind + " "
    return {
        shape.name.removeprefix(prefix): shape
        for shape in fig.layout.shapes
        if (shape.name or "").startswith(prefix)
    }


def outline_rows(fig) -> dict[int, object]:
    """The prediction outline shapes by row index (labels are 1-based row numbers here)."""
    return {int(label) - 1: shape for label, shape in shapes_named(fig, "outline").items()}


def disc_rows(fig) -> list[int]:
    """The rows with a ∅ disc, in drawing order."""
    return [int(label) - 1 for label in shapes_named(fig, "∅ disc")]


def boxes_of(trace) -> list[tuple[float, float, float, float]]:
    """The xyxy boxes of an outline trace (closed 5-point paths separated by None)."""
    xs, ys = list(trace.x), list(trace.y)
    boxes, start = [], 0
    for end in [i for i, v in enumerate(xs) if v is None] + [len(xs)]:
        bx, by = xs[start:end], ys[start:end]
        assert len(bx) == 5 and bx[0] == bx[-1] and by[0] == by[-1]
        boxes.append((min(bx), min(by), max(bx), max(by)))
        start = end + 1
    return boxes


def line_segments(fig) -> list[tuple[tuple, tuple, float, float]]:
    """(start, end, width, opacity) of every drawn matching line (path shapes named "lines":
    ``M x0,y0L x1,y1`` per line)."""
    out = []
    for shape in fig.layout.shapes:
        if shape.name != "lines":
            continue
        assert shape.type == "path" and shape.layer == "between"
        for part in shape.path.split("M")[1:]:
            start, end = part.split("L")
            x0, y0 = map(float, start.split(","))
            x1, y1 = map(float, end.split(","))
            out.append(((x0, y0), (x1, y1), shape.line.width, shape.opacity))
    return out


def centre(box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def test_image_and_reversed_axis(fig1_problem, ot_plan):
    image = Image.new("RGB", (240, 215), "orange")  # downscaled by 2
    fig = scene_figure(image, WIDTH, HEIGHT, fig1_problem, ot_plan)
    (picture,) = fig.layout.images
    assert picture.source.startswith("data:image/")
    # the picture is stretched over the annotated canvas, its top-left corner at (0, 0)
    assert (picture.xref, picture.yref, picture.x, picture.y) == ("x", "y", 0, 0)
    assert (picture.sizex, picture.sizey) == (WIDTH, HEIGHT) and picture.sizing == "stretch"
    assert (picture.xanchor, picture.yanchor, picture.layer) == ("left", "top", "below")
    y_range = fig.layout.yaxis.range
    assert y_range[0] > y_range[1]  # y points down, as pixel rows do
    assert y_range[0] >= HEIGHT and y_range[1] <= 0
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert fig.layout.xaxis.showgrid is False and fig.layout.yaxis.showgrid is False


def test_no_image_draws_grey_canvas(fig1_problem):
    fig = scene_figure(None, WIDTH, HEIGHT, fig1_problem, None)
    assert not fig.layout.images
    (canvas,) = [shape for shape in fig.layout.shapes if shape.name == "canvas"]
    assert (canvas.x0, canvas.y0, canvas.x1, canvas.y1) == (0, 0, WIDTH, HEIGHT)
    assert canvas.layer == "below" and len(fig.layout.shapes) == 1 + 2 * 5  # and the outlines


def test_one_outline_per_box_at_its_coordinates(fig1_problem, ot_plan):
    fig = scene_figure(None, WIDTH, HEIGHT, fig1_problem, ot_plan)
    gt_drawn = {}
    for trace in traces(fig, "gt outlines"):
        for column, box in zip(trace.meta["columns"], boxes_of(trace), strict=True):
            gt_drawn[column] = box
            assert trace.line.color == GT_PALETTE[column]
    assert gt_drawn == {j: tuple(map(float, b)) for j, b in enumerate(figure1.GROUND_TRUTHS_XYXY)}
    pred_drawn = {}
    # Figure 1(g): 4 sends most to A, 5 to B, 1, 2 and 3 to the background
    expected_colour = {0: BACKGROUND_GREY, 1: BACKGROUND_GREY, 2: BACKGROUND_GREY,
                       3: GT_PALETTE[0], 4: GT_PALETTE[1]}  # fmt: skip
    for row, outline in outline_rows(fig).items():
        assert outline.type == "rect" and outline.line.color == expected_colour[row]
        pred_drawn[row] = (outline.x0, outline.y0, outline.x1, outline.y1)
    assert pred_drawn == {i: tuple(map(float, b)) for i, b in enumerate(figure1.PREDICTIONS_XYXY)}
    # a white halo under every outline, everything the plan changes under the traces
    assert set(shapes_named(fig, "halo")) == set(shapes_named(fig, "outline"))
    assert {shape.layer for shape in fig.layout.shapes if shape.name != "canvas"} == {"between"}
    labels = {a.text for a in fig.layout.annotations}
    badges = {"<b>1→∅</b>", "<b>2→∅</b>", "<b>3→∅</b>", "<b>4→A</b>", "<b>5→B</b>"}
    assert {"<b>A</b>", "<b>B</b>"} | badges <= labels


def test_lines_join_centres_and_widen_with_mass():
    gt = [[100, 100, 200, 200]]
    preds = [[90, 90, 190, 190], [120, 110, 220, 210]]
    problem = make_problem(preds, gt)
    plan = np.array([[0.2, 0.8], [0.9, 0.1]])
    fig = scene_figure(None, 300, 300, problem, plan)
    segments = {start: (end, width, opacity) for start, end, width, opacity in line_segments(fig)}
    weak, strong = segments[centre(preds[0])], segments[centre(preds[1])]
    assert weak[0] == strong[0] == centre(gt[0])
    assert weak[1] < strong[1]  # width grows with mass
    assert weak[2] < strong[2]  # and so does opacity
    # 1.5 + 6 · mass pixels, to the half pixel
    assert weak[1] == pytest.approx(1.5 + 6 * 0.2, abs=0.25)
    assert strong[1] == pytest.approx(1.5 + 6 * 0.9, abs=0.25)
    # a white casing, 2 px wider, under every line: the casings' paths come first
    names = [shape.name for shape in fig.layout.shapes]
    casings = [shape for shape in fig.layout.shapes if shape.name == "line casings"]
    assert names.index("line casings") < names.index("lines")
    assert {shape.line.color for shape in casings} == {"white"}
    assert sorted(shape.line.width - 2 for shape in casings) == sorted([weak[1], strong[1]])
    assert list(link_width([0.0, 0.5, 1.0])) == [1.5, 4.5, 7.5]


def test_small_masses_not_drawn():
    problem = make_problem([[0, 0, 50, 50], [60, 60, 90, 90]], [[0, 0, 40, 40], [50, 50, 99, 99]])
    plan = np.array([[0.995, 0.005, 0.0], [0.0, 0.5, 0.5]])  # 0.005 < 0.01: not drawn
    fig = scene_figure(None, 100, 100, problem, plan)
    segments = line_segments(fig)
    assert len(segments) == 2
    assert all(start != centre([0, 0, 50, 50]) or end != centre([50, 50, 99, 99])
               for start, end, _, _ in segments)  # fmt: skip
    assert disc_rows(fig) == [1]  # row 0 sends nothing to ∅


def test_background_mass_encoded(fig1_problem, ot_plan):
    fig = scene_figure(None, WIDTH, HEIGHT, fig1_problem, ot_plan)
    to_bg = ot_plan[:, -1].numpy()
    rows = disc_rows(fig)
    assert rows == [i for i in range(5) if to_bg[i] >= 0.01]
    discs = list(shapes_named(fig, "∅ disc").values())
    # discs sit inside the predictions' lower right corners (not on the centres, where the
    # lines start), sized in pixels, and their area follows the mass
    sizes = []
    for disc, row in zip(discs, rows, strict=True):
        x1, y1, x2, y2 = figure1.PREDICTIONS_XYXY[row]
        assert disc.type == "circle" and disc.xsizemode == disc.ysizemode == "pixel"
        assert (disc.xanchor, disc.yanchor) == (x2, y2)
        assert disc.x1 < 0 and disc.y0 > 0  # left of the right edge, above the bottom edge
        assert disc.x1 - disc.x0 == pytest.approx(disc.y1 - disc.y0)
        sizes.append(disc.x1 - disc.x0)
    sizes = np.asarray(sizes)
    order = np.argsort(to_bg[rows])
    assert np.all(np.diff(sizes[order]) >= 0)
    big = sizes >= 4.5  # smaller discs are drawn at 4 px, to stay visible
    assert np.all(big[np.argsort(-to_bg[rows])[:3]])
    assert sizes[big] ** 2 / to_bg[rows][big] == pytest.approx(
        np.full(big.sum(), 30.0**2), rel=0.02
    )
    labelled = [disc for disc, size in zip(discs, sizes, strict=True) if size >= 12]
    assert labelled and all(disc.label.text == "∅" for disc in labelled)
    # predictions 1, 2, 3 send most of their mass to ∅: dashed outlines
    dashed = [row for row, shape in outline_rows(fig).items() if shape.line.dash != "solid"]
    assert sorted(dashed) == [0, 1, 2]
    names = " ".join(t.name or "" for t in traces(fig, "legend"))
    assert "∅" in names and "area ∝ mass" in names and "width ∝ mass" in names


def _iou(a, b) -> float:
    """IoU of two xyxy boxes, written out for the test."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return w * h / (area(a) + area(b) - w * h)


def test_hover_texts(fig1_problem, ot_plan):
    fig = scene_figure(None, WIDTH, HEIGHT, fig1_problem, ot_plan)
    (preds,) = traces(fig, "pred edges")
    plan = ot_plan.numpy()
    # every point of a box's edges names its row, and carries that row's text
    texts = {tuple(ids): text for ids, text in zip(preds.customdata, preds.text, strict=True)}
    assert set(texts) == {(i, -1) for i in range(5)}
    text = texts[(3, -1)]
    iou_4a = _iou(figure1.PREDICTIONS_XYXY[3], figure1.GROUND_TRUTHS_XYXY[0])
    assert text.startswith("<b>4</b> cup") and "score" in text
    # the pair's mass, its cost (1 - GIoU, the paper's Figure 1(b): 0.3961) and its IoU
    assert f"→ A {plan[3, 0]:.3f} · cost 0.396 · IoU {iou_4a:.2f}" in text
    assert f"→ ∅ {plan[3, 2]:.3f} · cost 0.800" in text
    (gts,) = traces(fig, "gt edges")
    gt_texts = {tuple(ids): text for ids, text in zip(gts.customdata, gts.text, strict=True)}
    assert set(gt_texts) == {(-1, 0), (-1, 1)}
    assert gt_texts[(-1, 1)].startswith("<b>B</b> plate")
    assert f"receives {plan[:, 1].sum():.3f}" in gt_texts[(-1, 1)]
    (lines,) = traces(fig, "line hover")
    assert f"4 → A: {plan[3, 0]:.3f}<br>cost 0.396 · IoU {iou_4a:.2f}" in lines.text
    assert [3, 0] in [list(ids) for ids in lines.customdata]
    # the middle of a line that is not drawn shows no tooltip
    pair_texts = {tuple(ids): text for ids, text in zip(lines.customdata, lines.text, strict=True)}
    undrawn = [pair for pair in pair_texts if plan[pair] < MIN_MASS]
    assert undrawn and all(pair_texts[pair] == "" for pair in undrawn)
    assert all(pair_texts[pair] for pair in pair_texts if plan[pair] >= MIN_MASS)


def test_max_predictions_hides_and_says_so():
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 400, size=(300, 2))
    preds = np.concatenate([corners, corners + rng.uniform(20, 80, size=(300, 2))], axis=1)
    problem = make_problem(preds, [[10, 10, 100, 100], [200, 200, 300, 300]])
    plan = solve(problem.cost, 0.05, math.inf, math.inf).plan.numpy()
    fig = scene_figure(None, 500, 500, problem, plan, max_predictions=50)
    drawn = sorted(outline_rows(fig))
    to_gt = plan[:, :-1].sum(axis=1)
    # past the limit, only rows that carry mass to a ground truth are drawn (thousands of
    # anchors would otherwise pile up), the heaviest first
    carrying = int((to_gt >= 0.01).sum())
    assert 0 < carrying < 50 and len(drawn) == carrying
    assert to_gt[drawn].min() >= 0.01
    notes = [a.text for a in fig.layout.annotations if a.name == "note"]
    assert len(notes) == 1 and notes[0].startswith(f"{300 - carrying} of 300 predictions not drawn")
    fig = scene_figure(None, 500, 500, problem, plan, max_predictions=5)
    drawn = sorted(outline_rows(fig))
    assert len(drawn) == 5 and to_gt[drawn].min() >= np.sort(to_gt)[-5] - 1e-12


def test_highlight_fades_the_rest(fig1_problem, ot_plan):
    plain = scene_figure(None, WIDTH, HEIGHT, fig1_problem, ot_plan)
    assert {o for _, _, _, o in line_segments(plain)} != set()
    fig = scene_figure(None, WIDTH, HEIGHT, fig1_problem, ot_plan, highlight_pred=3)
    start = centre(figure1.PREDICTIONS_XYXY[3])
    for seg_start, _, _, opacity in line_segments(fig):
        assert (opacity >= 0.9) == (seg_start == start)
    outline = outline_rows(fig)
    assert outline[3].opacity > 0.8 and outline[0].opacity < 0.3
    assert outline[3].line.width > outline[0].line.width
    fig = scene_figure(None, WIDTH, HEIGHT, fig1_problem, ot_plan, highlight_gt=1)
    for _, end, _, opacity in line_segments(fig):
        assert (opacity >= 0.9) == (end == centre(figure1.GROUND_TRUTHS_XYXY[1]))
    gt_outline = {c: t for t in traces(fig, "gt outlines") for c in t.meta["columns"]}
    assert gt_outline[1].opacity == 1 and gt_outline[0].opacity < 1


def test_boxes_only_and_empty_sides(fig1_problem):
    fig = scene_figure(None, WIDTH, HEIGHT, fig1_problem, None)
    assert not line_segments(fig) and not disc_rows(fig) and not traces(fig, "line hover")
    assert len(outline_rows(fig)) == 5 and len(traces(fig, "gt outlines")) == 2
    no_preds = make_problem(np.zeros((0, 4)), [[0, 0, 10, 10]])
    fig = scene_figure(None, 50, 50, no_preds, np.zeros((0, 2)))
    assert not outline_rows(fig) and len(traces(fig, "gt outlines")) == 1
    no_gts = make_problem([[0, 0, 10, 10], [5, 5, 20, 20]], np.zeros((0, 4)))
    fig = scene_figure(None, 50, 50, no_gts, np.ones((2, 1)))
    assert not traces(fig, "gt outlines") and not line_segments(fig)
    assert disc_rows(fig) == [0, 1]
    with pytest.raises(ValueError, match="shape"):
        scene_figure(None, 50, 50, no_gts, np.ones((2, 2)))


def random_boxes(rng: np.random.Generator, count: int) -> np.ndarray:
    xy = rng.uniform(0, 500, size=(count, 2))
    return np.concatenate([xy, xy + rng.uniform(30, 150, size=(count, 2))], axis=1)


def test_fast_for_100_predictions_and_20_ground_truths():
    rng = np.random.default_rng(1)
    problem = make_problem(random_boxes(rng, 100), random_boxes(rng, 20))
    plan = solve(problem.cost, 0.1, math.inf, math.inf).plan
    scene_figure(None, 700, 700, problem, plan)  # warm-up (imports, validators)
    times = []
    for _ in range(3):  # the best of three: a stray garbage collection is not the figure's cost
        start = time.perf_counter()
        scene_figure(None, 700, 700, problem, plan)
        times.append(time.perf_counter() - start)
    assert min(times) < 0.1


def test_gallery_has_one_panel_per_plan(fig1_problem):
    plans = {p.name: solve(fig1_problem.cost, p.eps, p.tau1, p.tau2).plan for p in figure1.PRESETS}
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    fig = figure1_gallery(image, WIDTH, HEIGHT, fig1_problem, plans)
    assert len(fig.layout.images) == 6
    assert {(i.xref, i.yref) for i in fig.layout.images} == {
        (f"x{s}", f"y{s}") for s in ("", "2", "3", "4", "5", "6")
    }
    titles = [a.text for a in fig.layout.annotations[:6]]
    assert titles == [p.name for p in figure1.PRESETS]
    for suffix in ("", "2", "3", "4", "5", "6"):
        y_range = fig.layout[f"yaxis{suffix}"].range
        assert y_range[0] > y_range[1]


def test_every_kind_of_figure_passes_plotly_validation(fig1_problem, ot_plan):
    """The figures are built unvalidated for speed: plotly.py's own validation of their dicts
    must accept every property (it raises ValueError on an unknown name or a bad value)."""

    from uotviz.plots.matrices import (
        add_cell_targets,
        cost_figure,
        fit_matrix_figure,
        outline_cells,
        plan_figure,
    )

    image = Image.new("RGB", (WIDTH // 2, HEIGHT // 2), "white")
    plan = ot_plan.numpy().copy()
    plan[0, -1] = 0.5  # a ∅ disc and a dashed outline
    rows, cols = fig1_problem.row_labels, fig1_problem.col_labels
    matrices = []
    for make, values in ((plan_figure, plan), (cost_figure, fig1_problem.cost.numpy())):
        fig = make(values, rows, cols)
        fit_matrix_figure(fig, *values.shape)
        add_cell_targets(fig)
        outline_cells(fig, 1, 0)
        matrices.append(fig)
    figures = [
        scene_figure(image, WIDTH, HEIGHT, fig1_problem, plan, title="t"),
        scene_figure(None, WIDTH, HEIGHT, fig1_problem, plan, highlight_pred=0, highlight_gt=1),
        scene_figure(image, WIDTH, HEIGHT, fig1_problem, plan, max_predictions=2),
        figure1_gallery(image, WIDTH, HEIGHT, fig1_problem, {"a": plan, "b": None}),
        *matrices,
    ]
    for fig in figures:
        assert_validation_changes_nothing(fig)


def test_picture_embedded_or_loaded_from_a_url(fig1_problem, ot_plan):
    import base64
    import io

    from uotviz.plots.scene import picture_jpeg

    image = Image.new("RGB", (240, 215), "orange")
    embedded = scene_figure(image, WIDTH, HEIGHT, fig1_problem, ot_plan).layout.images[0].source
    jpeg = picture_jpeg(image)
    assert jpeg[:2] == b"\xff\xd8" and Image.open(io.BytesIO(jpeg)).size == (240, 215)
    assert embedded == "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    served = scene_figure(image, WIDTH, HEIGHT, fig1_problem, ot_plan, picture_url="/media/p.jpg")
    (picture,) = served.layout.images
    assert picture.source == "/media/p.jpg" and (picture.sizex, picture.sizey) == (WIDTH, HEIGHT)
