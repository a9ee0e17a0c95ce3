"""The matching drawn on the image, as in Figure 1(a) of De Plaen et al. (CVPR 2023).

Ground truths are thick coloured outlines lettered ``A, B, ...``; predictions (or anchors) are thin
black outlines numbered ``1..N``. A plan ``N · P̂`` (units of one prediction, background last) is
drawn as a line from each prediction's centre to the centre of each ground truth it sends mass to,
in the ground truth's colour, its width (``1 + 6 · mass`` pixels) and opacity growing with the mass.
The mass a prediction sends to the background ``∅`` is a grey disc on its centre whose area is
proportional to that mass, and a prediction sending more to ``∅`` than to all ground truths
together has a dashed outline.

Coordinates: the axes are the pixels of the image as annotated (the ``xyxy`` boxes of
:class:`~uotviz.matching.MatchingProblem`, ``(0, 0)`` at the top-left corner, y pointing down), so
boxes are drawn as given and hovering reads annotation pixels. The picture, possibly downscaled
by :func:`~uotviz.data.coco.open_image`, is stretched over that whole canvas.

What a plan changes is drawn with layout shapes (lines, ∅ discs, prediction outlines), under
the traces (``layer="between"``); the traces (ground-truth outlines, hover points, legend) stay
the same from one plan to the next, except for the hover texts of the traces whose
``meta["step_text"]`` is true. A chart that redraws the scene at every slider step
(:func:`uotviz.ui.charts.live_chart`) sends those texts beside the figure, so that plotly.js
only redraws the shapes that changed instead of computing and drawing the whole figure again.

Pure functions: arrays, labels and a PIL image in, a :class:`plotly.graph_objects.Figure` out.
"""

from __future__ import annotations

import base64
import io
import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike
from PIL import Image
from plotly.subplots import make_subplots

from uotviz.figures import unvalidated_figure
from uotviz.matching import BACKGROUND, MatchingProblem

__all__ = [
    "GT_PALETTE",
    "figure1_gallery",
    "line_width",
    "picture_jpeg",
    "scene_figure",
    "scene_height",
]

GT_PALETTE: tuple[str, ...] = (
    "#e6194b",  # red
    "#1f6fd1",  # blue
    "#2ca02c",  # green
    "#ff8c00",  # orange
    "#9a37c8",  # purple
    "#00a6b4",  # teal
    "#e040a0",  # magenta
    "#8c5a2b",  # brown
    "#7fa800",  # olive
    "#3b3fb6",  # indigo
)
"""Ground-truth colours, by column (A is the first); they repeat after ten. No grey: grey is ∅."""

BACKGROUND_COLOR = "rgba(60, 60, 60, 0.75)"
CANVAS_COLOR = "#ececec"

_MAX_WIDTH_MASS = 2.0  # soft marginals can send more than one unit; widths stop growing here
_WIDTH_STEP = 0.5  # line widths are rounded to half pixels so lines group into few traces
_MAX_LABELS = 40  # predictions numbered on the picture at most
_FADED = 0.18  # opacity factor of what a highlight pushes back


def line_width(mass: ArrayLike) -> np.ndarray:
    """Width in pixels of a matching line carrying ``mass`` (units of one prediction).

    ``1 + 6 · mass`` for masses up to 2, rounded to half pixels.
    """
    m = np.clip(np.asarray(mass, dtype=np.float64), 0.0, _MAX_WIDTH_MASS)
    return np.round((1.0 + 6.0 * m) / _WIDTH_STEP) * _WIDTH_STEP


def _line_opacity(width: np.ndarray) -> np.ndarray:
    """Opacity of a line of this width: 0.55 for the thinnest, 0.95 from one unit of mass up."""
    mass = np.clip((width - 1.0) / 6.0, 0.0, 1.0)
    return 0.55 + 0.4 * mass


def _background_size(mass: np.ndarray) -> np.ndarray:
    """Diameter in pixels of the ∅ disc: its area grows like the mass (28 px for one unit)."""
    return 28.0 * np.sqrt(np.clip(mass, 0.0, _MAX_WIDTH_MASS))


def _as_array(values: object, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A float64 numpy copy of a tensor or array (CPU, detached)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()  # type: ignore[union-attr]
    array = np.asarray(values, dtype=np.float64)
    if shape is not None and array.size == 0:
        array = array.reshape(shape)
    return array


def _rect_path(boxes: np.ndarray) -> tuple[list, list]:
    """Closed outlines of ``(K, 4)`` xyxy boxes, separated by ``None`` (one scatter trace)."""
    if len(boxes) == 0:
        return [], []
    x1, y1, x2, y2 = boxes.T
    nan = np.full(len(boxes), np.nan)
    xs = np.stack([x1, x2, x2, x1, x1, nan], axis=1).ravel()
    ys = np.stack([y1, y1, y2, y2, y1, nan], axis=1).ravel()
    return _with_gaps(xs), _with_gaps(ys)


def _segments_path(starts: np.ndarray, ends: np.ndarray) -> str:
    """An SVG path of the segments ``starts[k] -> ends[k]`` (``(K, 2)`` data coordinates), for a
    path shape: ``"M x0,y0L x1,y1M ..."``."""
    return "".join(
        f"M{x0:.2f},{y0:.2f}L{x1:.2f},{y1:.2f}"
        for (x0, y0), (x1, y1) in zip(starts.tolist(), ends.tolist(), strict=True)
    )


def _coords(values: np.ndarray) -> list[float]:
    """Pixel coordinates rounded to 0.01, as a list: plotly.py would send a NumPy array as a
    typed array, which plotly.js takes for new data at every redraw (see
    :mod:`uotviz.ui.charts`)."""
    return np.round(np.asarray(values, dtype=np.float64), 2).tolist()


def _with_gaps(values: np.ndarray) -> list:
    """A list with NaN replaced by None (the gap Plotly draws between segments), last gap cut."""
    out = [None if math.isnan(v) else round(float(v), 2) for v in values]
    if out and out[-1] is None:
        out.pop()
    return out


def _gt_color(column: int) -> str:
    return GT_PALETTE[column % len(GT_PALETTE)]


def _rgba(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha:.3g})"


_ENCODED: dict[tuple[int, int | None], tuple[bytes, str]] = {}
"""JPEG bytes and data URIs already made, by (id of a live image, max_side): a slider step redraws
the same picture, and encoding it again would be wasted work."""


def picture_jpeg(image: Image.Image, max_side: int | None = None) -> bytes:
    """``image`` as JPEG bytes (quality 88), downscaled to ``max_side`` pixels on its longer side.

    Remembered for as long as ``image`` lives (images are treated as read-only)."""
    return _encoded(image, max_side)[0]


def _data_uri(image: Image.Image, max_side: int | None = None) -> str:
    """:func:`picture_jpeg` as a base64 data URI (remembered the same way)."""
    return _encoded(image, max_side)[1]


def _encoded(image: Image.Image, max_side: int | None) -> tuple[bytes, str]:
    key = (id(image), max_side)
    if key not in _ENCODED:
        data = _encode_jpeg(image, max_side)
        _ENCODED[key] = (data, "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii"))
        weakref.finalize(image, _ENCODED.pop, key, None)
    return _ENCODED[key]


def _encode_jpeg(image: Image.Image, max_side: int | None) -> bytes:
    rgb = image.convert("RGB")
    if max_side is not None and max(rgb.size) > max_side:
        ratio = max_side / max(rgb.size)
        size = (max(1, round(rgb.width * ratio)), max(1, round(rgb.height * ratio)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


@dataclass
class _Panel:
    """What one picture of the scene adds to a figure."""

    traces: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    shapes: list[dict] = field(default_factory=list)
    note: str = ""
    what: str = "prediction"  # or "anchor"


@dataclass(frozen=True)
class _Style:
    """Sizes that differ between the main picture and the small multiples."""

    gt_width: float = 3.5
    pred_width: float = 2.0
    label_size: int = 16
    pred_label_size: int = 14
    width_factor: float = 1.0  # multiplies the line widths
    hover: bool = True


_MAIN = _Style()
_SMALL = _Style(
    gt_width=2.5, pred_width=1.2, label_size=12, pred_label_size=10, width_factor=0.7, hover=False
)


def _select_predictions(
    plan: np.ndarray | None, scores: np.ndarray, limit: int, keep: int | None
) -> np.ndarray:
    """Indices (ascending) of the predictions to draw: the ``limit`` sending most to GTs."""
    n = len(scores)
    if n <= limit:
        return np.arange(n)
    # Most mass to ground truths first; with no plan (or ties), the highest scores.
    to_gt = plan[:, :-1].sum(axis=1) if plan is not None else np.zeros(n)
    order = np.lexsort((-scores, -to_gt))
    chosen = order[: max(limit, 0)]
    if keep is not None and 0 <= keep < n and keep not in chosen:
        chosen = np.append(chosen[: max(limit - 1, 0)], keep)
    return np.sort(chosen)


def _scene_panel(
    problem: MatchingProblem,
    plan: np.ndarray | None,
    *,
    xref: str,
    yref: str,
    highlight_pred: int | None,
    highlight_gt: int | None,
    max_predictions: int,
    min_mass: float,
    style: _Style,
    legend: bool,
) -> _Panel:
    """Boxes, labels, lines and ∅ discs of one scene on the axes ``xref`` / ``yref``."""
    panel = _Panel()
    axes = {"xaxis": xref, "yaxis": yref}
    shape_axes = {"xref": xref, "yref": yref}
    pred_boxes = _as_array(problem.pred_boxes, (0, 4)).reshape(-1, 4)
    gt_boxes = _as_array(problem.gt_boxes, (0, 4)).reshape(-1, 4)
    n, m = len(pred_boxes), len(gt_boxes)
    scores = _as_array(problem.pred_scores).reshape(-1) if n else np.zeros(0)
    if len(scores) != n:
        scores = np.ones(n)
    row_labels = list(problem.row_labels) or [str(i + 1) for i in range(n)]
    col_labels = list(problem.col_labels[:m])
    pred_names = list(problem.pred_names) + [""] * (n - len(problem.pred_names))
    gt_names = list(problem.gt_names) + [""] * (m - len(problem.gt_names))
    if plan is not None and plan.shape != (n, m + 1):
        raise ValueError(f"plan has shape {plan.shape}, expected (N, M + 1) = ({n}, {m + 1})")
    if highlight_pred is not None and not 0 <= highlight_pred < n:
        highlight_pred = None
    if highlight_gt is not None and not 0 <= highlight_gt < m:
        highlight_gt = None

    if pred_names and pred_names[0] == "anchor":
        panel.what = "anchor"
    drawn = _select_predictions(plan, scores, max_predictions, highlight_pred)
    hidden = n - len(drawn)
    if hidden:
        what = panel.what + "s"
        lost = ""
        if plan is not None:
            rest = np.setdiff1d(np.arange(n), drawn)
            lost = f"; together they send {plan[rest, :-1].sum():.3g} units to ground truths"
        panel.note = (
            f"{hidden:,} of {n:,} {what} hidden: only the {len(drawn):,} sending the most mass "
            f"to ground truths are drawn{lost}"
        )

    pred_centre = (pred_boxes[:, :2] + pred_boxes[:, 2:]) / 2
    gt_centre = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2

    # What a highlight keeps in front: the chosen box and the boxes it exchanges mass with.
    pred_active = np.ones(n, dtype=bool)
    gt_active = np.ones(m, dtype=bool)
    if highlight_pred is not None:
        pred_active[:] = False
        pred_active[highlight_pred] = True
        if highlight_gt is None:
            gt_active = plan[highlight_pred, :-1] >= min_mass if plan is not None else ~gt_active
    if highlight_gt is not None:
        gt_active[:] = False
        gt_active[highlight_gt] = True
        if highlight_pred is None:
            pred_active = plan[:, highlight_gt] >= min_mass if plan is not None else ~pred_active
    highlighting = highlight_pred is not None or highlight_gt is not None

    # -- matching lines: path shapes, one per (colour, width, emphasis), casings under them
    outline_shapes: list[dict] = []
    line_shapes: list[dict] = []
    disc_shapes: list[dict] = []
    if plan is not None and m and len(drawn):
        sub = plan[drawn, :-1]
        rows, cols = np.nonzero(sub >= min_mass)
        preds = drawn[rows]
        widths = line_width(sub[rows, cols])
        emphasis = np.ones(len(preds), dtype=bool)
        if highlight_pred is not None:
            emphasis &= preds == highlight_pred
        if highlight_gt is not None:
            emphasis &= cols == highlight_gt
        colour_index = cols % len(GT_PALETTE)
        # White casings first (one shape per width), then the coloured lines on top of them:
        # the casing keeps a line visible on any picture. Grouped, so that a dense plan (every
        # pair of a 27 x 24 scene) is a few dozen paths to draw, not a thousand.
        for kind, keys in (
            ("line casings", np.stack([np.full(len(cols), -1), widths * 2, emphasis], axis=1)),
            ("lines", np.stack([colour_index, widths * 2, emphasis], axis=1)),
        ):
            groups, inverse = np.unique(keys, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            for g, (colour, doubled, bright) in enumerate(groups):
                members = inverse == g
                width = float(doubled) / 2
                opacity = float(_line_opacity(np.array([width]))[0])
                if highlighting:
                    opacity = 0.95 if bright else opacity * _FADED
                if kind == "lines":
                    line = {"color": GT_PALETTE[int(colour)], "width": width * style.width_factor}
                else:
                    line = {"color": "white", "width": width * style.width_factor + 2}
                    opacity *= 0.45
                line_shapes.append(
                    dict(
                        type="path", **shape_axes, layer="between", name=kind,
                        path=_segments_path(
                            pred_centre[preds[members]], gt_centre[cols[members]]
                        ),
                        line=line, opacity=round(opacity, 3),
                    )
                )  # fmt: skip
    if plan is not None and m and len(drawn) and style.hover:
        # An invisible point in the middle of every (prediction, ground truth) pair, to read
        # the mass by hovering: every pair, drawn or not, so that the points stay where they
        # are from one plan to the next (only their texts change).
        pair_rows = np.repeat(drawn, m)
        pair_cols = np.tile(np.arange(m), len(drawn))
        mid = (pred_centre[pair_rows] + gt_centre[pair_cols]) / 2
        text = [
            f"{row_labels[i]} → {col_labels[j]}: {plan[i, j]:.3f}"
            for i, j in zip(pair_rows.tolist(), pair_cols.tolist(), strict=True)
        ]
        panel.traces.append(
            dict(
                type="scatter", x=_coords(mid[:, 0]), y=_coords(mid[:, 1]), mode="markers",
                **axes, marker={"size": 10, "opacity": 0}, text=text,
                hovertemplate="%{text}<extra></extra>", showlegend=False, name="line middles",
                legendgroup="lines", meta={"role": "line hover", "step_text": True},
            )
        )  # fmt: skip

    # -- ground truths: one outline trace per colour (and emphasis)
    gt_received = plan[:, :-1].sum(axis=0) if plan is not None else np.zeros(m)
    for colour in range(min(m, len(GT_PALETTE))):
        in_colour = np.arange(colour, m, len(GT_PALETTE))
        for bright in (True, False):
            members = in_colour[gt_active[in_colour] == bright]
            if not len(members):
                continue
            xs, ys = _rect_path(gt_boxes[members])
            emphasised = bright and highlight_gt is not None and highlight_pred is None
            panel.traces.append(
                dict(
                    type="scatter", x=xs, y=ys, mode="lines", **axes,
                    line={
                        "color": _gt_color(colour),
                        "width": style.gt_width * (1.6 if emphasised else 1.0),
                    },
                    opacity=1.0 if bright or not highlighting else 0.3,
                    hoverinfo="skip", name="ground truth", legendgroup="gts", showlegend=False,
                    meta={"role": "gt outlines", "columns": members.tolist()},
                )
            )  # fmt: skip
    for j in range(m):
        faded = highlighting and not gt_active[j]
        colour = _gt_color(j)
        panel.annotations.append(
            dict(
                x=gt_boxes[j, 0], y=gt_boxes[j, 1], xref=xref, yref=yref,
                text=f"<b>{col_labels[j]}</b>", showarrow=False, xanchor="left", yanchor="top",
                xshift=1, yshift=-1,
                font={"color": colour, "size": style.label_size}, bgcolor="white",
                bordercolor=colour, borderwidth=1, borderpad=1, opacity=0.35 if faded else 1.0,
            )
        )  # fmt: skip
    if m and style.hover:
        text = []
        for j in range(m):
            line = f"<b>{col_labels[j]}</b> {gt_names[j]}"
            if plan is not None:
                givers = np.argsort(-plan[:, j])[:5]
                givers = [i for i in givers.tolist() if plan[i, j] >= min_mass]
                given = ", ".join(f"{row_labels[i]}: {plan[i, j]:.3f}" for i in givers)
                line += f"<br>mass received: {gt_received[j]:.3f}"
                more = " …" if (plan[:, j] >= min_mass).sum() > 5 else ""
                if given:
                    line += f"<br>from {given}{more}"
            text.append(line)
        panel.traces.append(
            dict(
                type="scatter", x=_coords(gt_centre[:, 0]), y=_coords(gt_centre[:, 1]),
                mode="markers", **axes,
                marker={
                    "size": 9, "color": [_gt_color(j) for j in range(m)],
                    "line": {"color": "white", "width": 1.5},
                    "opacity": [1.0 if gt_active[j] or not highlighting else 0.3 for j in range(m)],
                },
                text=text, hovertemplate="%{text}<extra></extra>", showlegend=False,
                name="ground-truth centres", legendgroup="gts",
                meta={"role": "gt centres", "step_text": True},
            )
        )  # fmt: skip

    # -- predictions: black outlines, dashed when most of the mass goes to ∅
    if len(drawn):
        to_bg = plan[:, -1] if plan is not None else np.zeros(n)
        to_gt = plan[:, :-1].sum(axis=1) if plan is not None else np.zeros(n)
        mostly_bg = (to_bg > to_gt) if plan is not None else np.zeros(n, dtype=bool)
        # A white halo under each black outline keeps it visible on dark pixels. Dash lengths
        # are in pixels: Plotly's named dashes scale with the width, and the halo is wider.
        halos, outlines = [], []
        for i in drawn.tolist():
            bright = bool(pred_active[i])
            width = style.pred_width * (2.2 if bright and highlight_pred is not None else 1.0)
            box = dict(
                type="rect", x0=float(pred_boxes[i, 0]), y0=float(pred_boxes[i, 1]),
                x1=float(pred_boxes[i, 2]), y1=float(pred_boxes[i, 3]), **shape_axes,
                layer="between", opacity=1.0 if bright or not highlighting else 0.3,
            )  # fmt: skip
            dash = "7px,5px" if mostly_bg[i] else "solid"
            halos.append(
                dict(
                    box, name=f"halo {row_labels[i]}",
                    line={"color": "rgba(255, 255, 255, 0.6)", "width": width + 2, "dash": dash},
                )
            )  # fmt: skip
            outlines.append(
                dict(
                    box, name=f"outline {row_labels[i]}",
                    line={"color": "black", "width": width, "dash": dash},
                )
            )  # fmt: skip
        outline_shapes = halos + outlines
        label_opacity = np.where(pred_active[drawn] | (not highlighting), 1.0, 0.3)
        # Numbers on at most _MAX_LABELS boxes (those sending the most mass to ground truths):
        # more would hide the picture; hovering a box's centre still names it.
        labelled = np.isin(drawn, _select_predictions(plan, scores, _MAX_LABELS, highlight_pred))
        for i, opacity in zip(
            drawn[labelled].tolist(), label_opacity[labelled].tolist(), strict=True
        ):
            panel.annotations.append(
                dict(
                    x=pred_boxes[i, 2], y=pred_boxes[i, 1], xref=xref, yref=yref,
                    text=row_labels[i], showarrow=False, xanchor="right", yanchor="top",
                    xshift=-1, yshift=-1, font={"color": "black", "size": style.pred_label_size},
                    bgcolor="rgba(255, 255, 255, 0.85)", borderpad=0, opacity=opacity,
                )
            )  # fmt: skip
        if style.hover:
            text = []
            for i in drawn.tolist():
                line = f"<b>{row_labels[i]}</b> {pred_names[i]}".rstrip()
                line += f"<br>score {scores[i]:.3f}"
                if plan is not None:
                    order = np.argsort(-plan[i, :-1])
                    parts = [
                        f"{col_labels[j]}: {plan[i, j]:.3f}"
                        for j in order[:6].tolist()
                        if plan[i, j] >= min_mass
                    ]
                    rest = (plan[i, :-1] >= min_mass).sum() - len(parts)
                    line += "<br>mass to " + (", ".join(parts) if parts else "no ground truth")
                    if rest > 0:
                        line += f" (+{rest} more)"
                    line += f"<br>mass to {BACKGROUND}: {plan[i, -1]:.3f}"
                text.append(line)
            panel.traces.append(
                dict(
                    type="scatter", x=_coords(pred_centre[drawn, 0]),
                    y=_coords(pred_centre[drawn, 1]), mode="markers", **axes,
                    marker={"size": 5, "color": "black", "line": {"color": "white", "width": 1},
                            "opacity": label_opacity.tolist()},
                    text=text, hovertemplate="%{text}<extra></extra>", showlegend=False,
                    name="prediction centres", legendgroup="predictions",
                    meta={"role": "pred centres", "step_text": True},
                )
            )  # fmt: skip

        # -- mass to the background: a grey disc on the prediction's centre, area ∝ mass
        if plan is not None:
            for i in drawn[to_bg[drawn] >= min_mass].tolist():
                opacity = 1.0 if pred_active[i] or not highlighting else _FADED
                size = float(_background_size(to_bg[i])) * style.width_factor
                radius = round(size / 2, 2)
                disc = dict(
                    type="circle", **shape_axes, xsizemode="pixel", ysizemode="pixel",
                    xanchor=float(pred_centre[i, 0]), yanchor=float(pred_centre[i, 1]),
                    x0=-radius, x1=radius, y0=-radius, y1=radius, layer="between",
                    fillcolor=BACKGROUND_COLOR, line={"color": "white", "width": 1},
                    opacity=opacity, name=f"{BACKGROUND} disc {row_labels[i]}",
                )  # fmt: skip
                if size >= 12:  # the ∅ sign is written on the discs big enough to hold it
                    disc["label"] = {
                        "text": BACKGROUND, "textposition": "middle center",
                        "font": {"size": round(size * 0.6, 1), "color": "white"},
                    }  # fmt: skip
                disc_shapes.append(disc)
    panel.shapes = outline_shapes + line_shapes + disc_shapes
    return panel


def _legend_entries(
    xref: str, yref: str, *, has_plan: bool, what: str, first_colour: str
) -> list[dict]:
    """Legend-only traces (no data) explaining each encoding, in the groups of the real traces.

    The matching is drawn with layout shapes, which legend clicks do not hide: the legend
    explains, it does not toggle (``itemclick`` is off).
    """
    proxy = {"type": "scatter", "x": [None], "y": [None], "xaxis": xref, "yaxis": yref,
             "hoverinfo": "skip", "meta": {"role": "legend"}}  # fmt: skip
    entries = [
        dict(
            proxy, mode="lines", line={"color": first_colour, "width": 3.5},
            name="ground truth (A, B, …)", legendgroup="gts",
        ),
        dict(
            proxy, mode="lines", line={"color": "black", "width": 2},
            name=f"{what} (1, 2, …)", legendgroup="predictions",
        ),
    ]  # fmt: skip
    if has_plan:
        entries += [
            dict(
                proxy, mode="lines", line={"color": "black", "width": 2, "dash": "7px,5px"},
                name=f"{what} sending most of its mass to {BACKGROUND}",
                legendgroup="predictions mostly to ∅",
            ),
            dict(
                proxy, mode="lines", line={"color": "#555", "width": 5},
                name="mass to a ground truth (line width ∝ mass)", legendgroup="lines",
            ),
            dict(
                proxy, mode="markers", marker={"color": BACKGROUND_COLOR, "size": 16},
                name=f"mass to {BACKGROUND}, the background (disc area ∝ mass)",
                legendgroup="background",
            ),
        ]  # fmt: skip
    return entries


def _axis_ranges(width: float, height: float) -> tuple[list[float], list[float]]:
    """x and (reversed) y ranges showing the whole canvas with a thin margin."""
    pad = 0.01 * max(width, height, 1.0)
    return [-pad, width + pad], [height + pad, -pad]


def _axis_style(width: float, height: float, x_anchor: str) -> tuple[dict, dict]:
    """Axis settings: pixel axes, y pointing down, equal aspect, no grid and no ticks."""
    x_range, y_range = _axis_ranges(width, height)
    hidden = {"showgrid": False, "zeroline": False, "showticklabels": False, "ticks": ""}
    xaxis = {"range": x_range, "autorange": False, "constrain": "domain", **hidden}
    yaxis = {
        "range": y_range, "autorange": False, "scaleanchor": x_anchor, "scaleratio": 1,
        "constrain": "domain", **hidden,
    }  # fmt: skip
    return xaxis, yaxis


def _backdrop(
    image: Image.Image | None,
    width: float,
    height: float,
    xref: str,
    yref: str,
    source: str | None = None,
) -> tuple[list[dict], list[dict]]:
    """The picture as a layout image stretched over the canvas ``[0, width] x [0, height]`` of
    annotation pixels, or a grey canvas shape without one.

    A layout image, not an image trace: the browser draws it as one ``<image>`` element, about
    half the drawing time of an image trace on the demo pictures. ``source`` is where the browser
    reads the picture from: a URL, or a data URI made earlier (a thumbnail shared by several
    panels); by default the picture is embedded as a data URI.

    Returns:
        (layout images, shapes).
    """
    if image is None:
        canvas = dict(
            type="rect", x0=0, y0=0, x1=width, y1=height, xref=xref, yref=yref,
            fillcolor=CANVAS_COLOR, line={"width": 0}, layer="below", name="canvas",
        )  # fmt: skip
        return [], [canvas]
    uri = source if source is not None else _data_uri(image)
    # y points down: the image's top edge is at y = 0.
    picture = dict(
        source=uri, xref=xref, yref=yref, x=0, y=0, sizex=width, sizey=height,
        xanchor="left", yanchor="top", sizing="stretch", layer="below", name="image",
    )  # fmt: skip
    return [picture], []


_SCENE_FRAME_PX = 175
"""What a scene figure needs besides the picture: the title above it, the legend below."""


def scene_height(figure_width: float, width: float, height: float) -> int:
    """Height in pixels of a scene figure ``figure_width`` px wide for a ``width`` x ``height``
    picture: the picture at that width, kept between 300 and 720 px, with its title and legend.
    """
    aspect = height / width if width > 0 else 0.75
    return int(min(720, max(300, figure_width * aspect))) + _SCENE_FRAME_PX


_DEFAULT_WIDTH_PX = 860
"""The width a scene figure is sized for when its caller does not say (see
:func:`scene_height`)."""


def _legend(font_size: int) -> dict:
    """The horizontal legend under a scene or the gallery; it explains the encodings, and its
    clicks are off (they would hide traces but not the shapes that draw the matching)."""
    return {
        "orientation": "h", "x": 0, "y": -0.01, "yanchor": "top", "font": {"size": font_size},
        "itemclick": False, "itemdoubleclick": False,
    }  # fmt: skip


def scene_figure(
    image: Image.Image | None,
    width: int,
    height: int,
    problem: MatchingProblem,
    plan: ArrayLike | None,
    *,
    highlight_pred: int | None = None,
    highlight_gt: int | None = None,
    max_predictions: int = 200,
    min_mass: float = 0.01,
    title: str = "",
    picture_url: str | None = None,
) -> go.Figure:
    """The image with its boxes and the matching of ``plan`` drawn on it (Figure 1(a)).

    Args:
        image: the picture (RGB), as returned by :func:`~uotviz.data.coco.open_image`, possibly
            downscaled; None draws a light grey canvas instead.
        width, height: the annotated image size in pixels: the canvas, in the boxes' coordinates.
        problem: the boxes and labels; ``pred_boxes`` (N, 4) and ``gt_boxes`` (M, 4) are ``xyxy``
            annotation pixels, drawn as given.
        plan: ``(N, M + 1)`` plan ``N · P̂`` (units of one prediction, background last), a tensor
            or array; None draws the boxes only.
        highlight_pred: a row index: draw that prediction and its lines in front, fade the rest.
        highlight_gt: a column index (not the background): the same for a ground truth. With
            both, only the line between them is in front.
        max_predictions: draw at most this many predictions, those sending the most mass to
            ground truths (the highest scores without a plan); an annotation says how many are
            hidden.
        min_mass: lines and ∅ discs carrying less than this are not drawn.
        title: the figure title.
        picture_url: a URL the browser can load ``image`` from (a server's copy of
            :func:`picture_jpeg`, say); by default the picture is embedded in the figure as a
            data URI, which makes every figure sent about 90 kB heavier.

    Returns:
        The figure. Its traces carry ``meta["role"]``: ``"gt outlines"`` (``meta["columns"]``),
        the hover points ``"gt centres"``, ``"pred centres"`` and ``"line hover"`` (the middle
        of every drawn prediction's pair with every ground truth), and ``"legend"``. Its layout
        shapes are named after what they draw: ``"lines"`` and ``"line casings"`` (paths of the
        matching lines of one colour, width and emphasis, and their white casings),
        ``"outline 4"`` and ``"halo 4"`` (a prediction's box), ``"∅ disc 4"`` (its mass to the
        background).

    Raises:
        ValueError: if ``plan`` is not ``(N, M + 1)``.
    """
    plan_array = None if plan is None else _as_array(plan)
    if plan_array is not None and plan_array.ndim != 2:
        raise ValueError(f"plan must be a 2-D (N, M + 1) matrix, got shape {plan_array.shape}")
    panel = _scene_panel(
        problem, plan_array, xref="x", yref="y", highlight_pred=highlight_pred,
        highlight_gt=highlight_gt, max_predictions=max_predictions, min_mass=min_mass,
        style=_MAIN, legend=True,
    )  # fmt: skip
    images, shapes = _backdrop(image, width, height, "x", "y", picture_url)
    data = list(panel.traces)
    data += _legend_entries(
        "x", "y", has_plan=plan_array is not None, what=panel.what, first_colour=GT_PALETTE[0]
    )
    annotations = list(panel.annotations)
    if panel.note:
        annotations.append(
            dict(
                x=0, y=1, xref="paper", yref="paper", xanchor="left", yanchor="bottom", yshift=4,
                text=panel.note, showarrow=False, font={"size": 12, "color": "#444"},
                name="hidden predictions",
            )
        )  # fmt: skip
    xaxis, yaxis = _axis_style(width, height, "x")
    layout = dict(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}},
        xaxis=xaxis, yaxis=yaxis, shapes=shapes + panel.shapes, annotations=annotations,
        images=images, height=scene_height(_DEFAULT_WIDTH_PX, width, height),
        margin={"l": 10, "r": 10, "t": 70 if title or panel.note else 30, "b": 10},
        plot_bgcolor="white", hovermode="closest", dragmode="pan",
        legend=_legend(12),
    )  # fmt: skip
    return unvalidated_figure(data, layout)


def figure1_gallery(
    image: Image.Image | None,
    width: int,
    height: int,
    problem: MatchingProblem,
    plans: Mapping[str, ArrayLike | None],
    *,
    columns: int = 3,
    max_predictions: int = 60,
    min_mass: float = 0.01,
    title: str = "",
) -> go.Figure:
    """Small multiples: the matching of each plan on the image, side by side (Figure 1(c)–(h)).

    Args:
        image, width, height, problem, min_mass: as for :func:`scene_figure`.
        plans: panel title -> ``(N, M + 1)`` plan (or None), in the order to draw them; the six
            presets of :data:`uotviz.figure1.PRESETS` give 2 rows of 3.
        columns: panels per row.
        max_predictions: predictions drawn per panel (fewer than in the main picture: the
            panels are small).
        title: the figure title.

    Returns:
        The figure, one subplot per plan, each titled with its key.
    """
    names = list(plans)
    count = max(len(names), 1)
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    fig = make_subplots(
        rows=rows, cols=columns, subplot_titles=names or None,
        horizontal_spacing=0.015, vertical_spacing=0.06 / rows,
    )  # fmt: skip
    # One thumbnail for every panel: the panels are a few hundred pixels wide.
    source = None if image is None else _data_uri(image, max_side=640)
    data: list[dict] = []
    images: list[dict] = []
    shapes: list[dict] = []
    annotations = list(fig.layout.annotations)
    axes: dict[str, dict] = {}
    for k, name in enumerate(names):
        suffix = "" if k == 0 else str(k + 1)
        xref, yref = f"x{suffix}", f"y{suffix}"
        plan = plans[name]
        plan_array = None if plan is None else _as_array(plan)
        panel = _scene_panel(
            problem, plan_array, xref=xref, yref=yref, highlight_pred=None, highlight_gt=None,
            max_predictions=max_predictions, min_mass=min_mass, style=_SMALL, legend=k == 0,
        )  # fmt: skip
        pictures, canvas = _backdrop(image, width, height, xref, yref, source)
        images += pictures
        data += panel.traces
        if k == 0:
            data += _legend_entries(
                xref, yref, has_plan=any(v is not None for v in plans.values()), what=panel.what,
                first_colour=GT_PALETTE[0],
            )  # fmt: skip
        shapes += canvas + panel.shapes
        annotations += panel.annotations
        if panel.note:
            annotations[k].text = f"{name}<br><sup>{panel.note.split(':')[0]}</sup>"
        xaxis, yaxis = _axis_style(width, height, xref)
        axes[f"xaxis{suffix}"] = xaxis
        axes[f"yaxis{suffix}"] = yaxis
    fig.add_traces(data)
    panel_height = 300 * (height / width if width > 0 else 0.75)
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}},
        shapes=shapes, annotations=annotations, images=images, showlegend=bool(names),
        height=int(rows * (panel_height + 40) + 90),
        margin={"l": 10, "r": 10, "t": 60 if title else 30, "b": 10},
        plot_bgcolor="white", hovermode="closest",
        legend=_legend(11),
        **axes,
    )  # fmt: skip
    return fig
