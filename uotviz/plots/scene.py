"""The matching drawn on the image, as in Figure 1(a) of De Plaen et al. (CVPR 2023).

:func:`scene_figure` draws a :class:`~uotviz.plots.picture.Picture` (what is shown, computed once by
:func:`~uotviz.plots.picture.describe_picture`: the encodings are described there) with Plotly, one
small builder per visual encoding: ground-truth outlines and letters, prediction outlines and
badges, matching lines, background discs, and the invisible points that make boxes and lines
hoverable and clickable. :func:`figure1_gallery` draws several plans as small multiples.

Coordinates: the axes are the pixels of the image as annotated (the ``xyxy`` boxes of
:class:`~uotviz.matching.MatchingProblem`, ``(0, 0)`` at the top-left corner, y pointing down), so
boxes are drawn as given and hovering reads annotation pixels. The picture, possibly downscaled
by :func:`~uotviz.data.coco.open_image`, is stretched over that whole canvas.

What a plan changes is drawn with layout shapes (lines, ∅ discs, prediction outlines) and
annotations (badges), under the traces; the traces (ground-truth outlines, hover points, legend)
stay the same from one plan to the next, except for the hover texts of the traces whose
``meta["step_text"]`` is true. A chart that redraws the scene at every slider step
(:func:`uotviz.ui.charts.live_chart`) sends those texts beside the figure, so that plotly.js
only redraws the shapes that changed instead of computing and drawing the whole figure again.

Clicks carry integer ids: every hoverable point's ``customdata`` is ``[row, column]``, -1 where
it names no row or no column; a badge's or a letter's annotation ``name`` is ``"row,column"``.

Pure functions: arrays, labels and a PIL image in, a :class:`plotly.graph_objects.Figure` out.
"""

from __future__ import annotations

import base64
import io
import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike
from PIL import Image
from plotly.subplots import make_subplots

from uotviz.matching import BACKGROUND, MatchingProblem
from uotviz.plots.matrices import unvalidated_figure
from uotviz.plots.picture import (
    BACKGROUND_GREY,
    GT_PALETTE,
    MAX_WIDTH_MASS,
    MIN_MASS,
    Picture,
    describe_picture,
    link_width,
)

__all__ = [
    "GT_PALETTE",
    "PRESENTATION",
    "SceneStyle",
    "figure1_gallery",
    "picture_jpeg",
    "scene_figure",
    "scene_height",
    "scene_overlay",
]

CANVAS_COLOR = "#ececec"
_FADED = 0.18  # opacity factor of what a highlight pushes back
_EDGE_POINT_PX = 22  # hover points along a box's edges, about this far apart on screen


def _rgba(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha:.3g})"


def _coords(values: ArrayLike) -> list[float]:
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


def _rect_path(boxes: np.ndarray) -> tuple[list, list]:
    """Closed outlines of ``(K, 4)`` xyxy boxes, separated by ``None`` (one scatter trace)."""
    if len(boxes) == 0:
        return [], []
    x1, y1, x2, y2 = boxes.T
    nan = np.full(len(boxes), np.nan)
    xs = np.stack([x1, x2, x2, x1, x1, nan], axis=1).ravel()
    ys = np.stack([y1, y1, y2, y2, y1, nan], axis=1).ravel()
    return _with_gaps(xs), _with_gaps(ys)


def _segments_path(starts: list, ends: list) -> str:
    """An SVG path of the segments ``starts[k] -> ends[k]`` (data coordinates, to a tenth of an
    image pixel), for a path shape: ``"M x0,y0L x1,y1M ..."``."""
    return "".join(
        f"M{x0:.1f},{y0:.1f}L{x1:.1f},{y1:.1f}"
        for (x0, y0), (x1, y1) in zip(starts, ends, strict=True)
    )


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


@dataclass(frozen=True)
class SceneStyle:
    """Sizes of one way of showing the scene, in screen pixels."""

    gt_width: float = 3.5
    pred_width: float = 2.0  # a prediction's outline at no mass; up to 2.5x at one unit
    font_px: int = 14  # the badges' and letters' size
    link_scale: float = 1.0  # multiplies the line widths
    disc_px: float = 30.0  # the diameter of the ∅ disc of one unit
    hover: bool = True
    legend: bool = True  # the legend under the picture
    max_picture_px: int = 720  # the picture's height at most


_MAIN = SceneStyle()
PRESENTATION = SceneStyle(
    gt_width=5.0, pred_width=3.0, font_px=18, link_scale=1.5, disc_px=38.0, legend=False,
    max_picture_px=420,
)  # fmt: skip
"""The style of presentation mode: labels of at least 16 px, thicker lines, no legend, and a
picture short enough that it, the sliders and the plan fit a 1280 x 720 screen."""
_SMALL = SceneStyle(gt_width=2.5, pred_width=1.2, font_px=11, link_scale=0.7, disc_px=20.0,
                    hover=False)  # fmt: skip


@dataclass(frozen=True)
class _Refs:
    """The axes one picture is drawn on."""

    x: str = "x"
    y: str = "y"

    @property
    def trace(self) -> dict:
        return {"xaxis": self.x, "yaxis": self.y}

    @property
    def layout(self) -> dict:
        return {"xref": self.x, "yref": self.y}


def _opacity(active: bool, picture: Picture, base: float = 1.0) -> float:
    """``base``, or less when a highlight pushes the mark back."""
    return round(base if active or not picture.highlighting else base * _FADED, 3)


# ------------------------------------------------------------------------ one builder per encoding


def _gt_outlines(picture: Picture, refs: _Refs, style: SceneStyle) -> list[dict]:
    """Ground-truth outlines: one trace per colour and emphasis (they do not change with the
    plan, except under a highlight)."""
    traces = []
    by_key: dict[tuple[str, bool], list] = {}
    for mark in picture.ground_truths:
        by_key.setdefault((mark.colour, mark.active), []).append(mark)
    for (colour, active), marks in by_key.items():
        xs, ys = _rect_path(np.array([mark.box for mark in marks]))
        traces.append(
            dict(
                type="scatter", x=xs, y=ys, mode="lines", **refs.trace,
                line={"color": colour, "width": style.gt_width}, opacity=0.3 if not active
                and picture.highlighting else 1.0, hoverinfo="skip", name="ground truth",
                legendgroup="gts", showlegend=False,
                meta={"role": "gt outlines", "columns": [mark.column for mark in marks]},
            )
        )  # fmt: skip
    return traces


def _label(
    picture: Picture,
    refs: _Refs,
    style: SceneStyle,
    place: tuple[float, float],
    text: str,
    colour: str,
    active: bool,
    ids: tuple[int, int],
) -> dict:
    """A label (a letter or a badge): bold white ``text`` on ``colour``, its top-left corner at
    ``place`` (to a tenth of an image pixel); its name is ``"row,column"`` (``ids``), which a
    click on it reports."""
    return dict(
        x=round(place[0], 1), y=round(place[1], 1), **refs.layout, text=f"<b>{text}</b>",
        showarrow=False, xanchor="left", yanchor="top",
        font={"color": "white", "size": style.font_px}, bgcolor=colour, borderpad=1,
        opacity=_opacity(active, picture), captureevents=style.hover, name=f"{ids[0]},{ids[1]}",
    )  # fmt: skip


def _gt_letters(picture: Picture, refs: _Refs, style: SceneStyle) -> list[dict]:
    """The ground truths' letters, white on their colour, where the layout placed them."""
    return [
        _label(
            picture,
            refs,
            style,
            mark.label_at,
            mark.label,
            mark.colour,
            mark.active,
            (-1, mark.column),
        )  # fmt: skip
        for mark in picture.ground_truths
        if mark.label_at is not None
    ]


def _pred_outlines(picture: Picture, refs: _Refs, style: SceneStyle) -> list[dict]:
    """Prediction outlines in the colour of their main destination, wider and more opaque with
    its mass, dashed when it is ∅; a white halo under each keeps it visible on dark pixels."""
    halos, outlines = [], []
    for mark in picture.predictions:
        width = style.pred_width * (1.0 + 1.5 * mark.strength)
        if picture.highlighting and mark.active:
            width = max(width, style.pred_width * 2.2)
        width = round(width, 2)
        x1, y1, x2, y2 = mark.box
        box = dict(
            type="rect", x0=x1, y0=y1, x1=x2, y1=y2, **refs.layout, layer="between",
            opacity=_opacity(mark.active, picture, 0.55 + 0.45 * mark.strength),
        )  # fmt: skip
        # Dash lengths in pixels: Plotly's named dashes scale with the width, and halos differ.
        dash = "8px,5px" if mark.mostly_background else "solid"
        halos.append(
            dict(box, name=f"halo {mark.label}",
                 line={"color": "rgba(255, 255, 255, 0.7)", "width": width + 2, "dash": dash})
        )  # fmt: skip
        outlines.append(
            dict(box, name=f"outline {mark.label}",
                 line={"color": mark.colour, "width": width, "dash": dash})
        )  # fmt: skip
    return halos + outlines


def _badges(picture: Picture, refs: _Refs, style: SceneStyle) -> list[dict]:
    """Each prediction's badge (``4→A``), white on its outline's colour, where the layout
    placed it; a badge that could not be placed is not written."""
    return [
        _label(
            picture,
            refs,
            style,
            mark.badge_at,
            mark.badge,
            mark.colour,
            mark.active,
            (mark.row, -1),
        )  # fmt: skip
        for mark in picture.predictions
        if mark.badge_at is not None
    ]


def _links(picture: Picture, refs: _Refs, style: SceneStyle) -> list[dict]:
    """Matching lines as path shapes, one per (colour, width, emphasis), white casings first:
    a dense plan (every pair of a 27 x 24 scene) is a few dozen paths, not a thousand."""
    groups: dict[tuple, list] = {}
    widths = link_width(np.array([link.mass for link in picture.links]), style.link_scale)
    for link, width in zip(picture.links, widths.tolist(), strict=True):
        groups.setdefault((link.colour, width, link.emphasis), []).append(link)
    casings, lines = [], []
    for (colour, width, emphasis), links in sorted(groups.items()):
        mass = min(max((width / style.link_scale - 1.5) / 6.0, 0.0), 1.0)
        opacity = 0.6 + 0.4 * mass
        if picture.highlighting:
            opacity = 0.95 if emphasis else opacity * _FADED
        path = _segments_path([link.start for link in links], [link.end for link in links])
        common = dict(type="path", **refs.layout, layer="between", path=path)
        casings.append(
            dict(common, name="line casings", line={"color": "white", "width": width + 2},
                 opacity=round(opacity * 0.5, 3))
        )  # fmt: skip
        lines.append(
            dict(common, name="lines", line={"color": colour, "width": width},
                 opacity=round(opacity, 3))
        )  # fmt: skip
    return casings + lines


def _background_discs(picture: Picture, refs: _Refs, style: SceneStyle) -> list[dict]:
    """A grey disc in the lower right corner of each prediction sending mass to ∅, area ∝
    mass, marked ∅ when big enough: in the corner it hides neither the lines nor the badge."""
    discs = []
    for mark in picture.predictions:
        if mark.to_background < MIN_MASS:
            continue
        size = style.disc_px * math.sqrt(min(mark.to_background, MAX_WIDTH_MASS))
        radius = round(max(size, 4.0) / 2, 2)
        inset = 3.0
        # Pixel offsets from the box's lower right corner; y offsets point up on screen.
        disc = dict(
            type="circle", **refs.layout, xsizemode="pixel", ysizemode="pixel",
            xanchor=mark.box[2], yanchor=mark.box[3], x0=-inset - 2 * radius, x1=-inset,
            y0=inset, y1=inset + 2 * radius, layer="between",
            fillcolor=_rgba(BACKGROUND_GREY, 0.85), line={"color": "white", "width": 1},
            opacity=_opacity(mark.active, picture), name=f"{BACKGROUND} disc {mark.label}",
        )  # fmt: skip
        if size >= 12:  # the ∅ sign is written on the discs big enough to hold it
            disc["label"] = {
                "text": BACKGROUND, "textposition": "middle center",
                "font": {"size": round(size * 0.6, 1), "color": "white"},
            }  # fmt: skip
        discs.append(disc)
    return discs


def _edge_points(boxes: np.ndarray, units_per_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Points along the edges of ``(K, 4)`` boxes, about :data:`_EDGE_POINT_PX` screen pixels
    apart (at least the corners and the middles of the sides), and the box each belongs to.

    Each box's edges go top, right, bottom, left from its top-left corner; an edge's points
    start at its first end and stop short of its second (the next edge's first)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, 2)), np.zeros(0, dtype=int)
    x1, y1, x2, y2 = boxes.T
    corners = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1),
                        np.stack([x2, y2], 1), np.stack([x1, y2], 1)], 1)  # fmt: skip
    starts = corners.reshape(-1, 2)  # (4K, 2): each box's edges in order
    ends = np.roll(corners, -1, axis=1).reshape(-1, 2)
    length_px = np.hypot(*(ends - starts).T) / max(units_per_px, 1e-9)
    steps = np.clip(np.round(length_px / _EDGE_POINT_PX), 2, 40).astype(int)
    first = np.repeat(np.cumsum(steps) - steps, steps)  # each point's edge's first point
    t = (np.arange(steps.sum()) - first) / np.repeat(steps, steps)
    edge = np.repeat(np.arange(len(steps)), steps)
    points = starts[edge] + (ends[edge] - starts[edge]) * t[:, None]
    return points, edge // 4


def _hover_points(picture: Picture, refs: _Refs, units_per_px: float) -> list[dict]:
    """Invisible points that make boxes and lines hoverable and clickable: along every drawn
    prediction's and ground truth's edges, and in the middle of every drawn pair. Their
    ``customdata`` is ``[row, column]`` (-1: none); their places stay from one plan to the next
    (only their texts change, ``meta["step_text"]``).

    They are drawn as nothing (``mode="none"``): plotly.js finds the point under the pointer
    from the data, for hover and clicks alike, and makes no SVG node for it. Markers of opacity
    0 were one node per point (1,266 on the coins), which the browser laid out, painted and
    composited with the rest of the page at every slider step."""
    traces = []
    invisible = {"mode": "none", "showlegend": False,
                 "hovertemplate": "%{text}<extra></extra>", **refs.trace}  # fmt: skip
    rows = [mark.row for mark in picture.predictions]
    columns = [mark.column for mark in picture.ground_truths]
    if rows:
        boxes = np.array([mark.box for mark in picture.predictions])
        points, owners = _edge_points(boxes, units_per_px)
        owner_rows = [rows[k] for k in owners.tolist()]
        traces.append(
            dict(
                type="scatter", x=_coords(points[:, 0]), y=_coords(points[:, 1]), **invisible,
                customdata=[[i, -1] for i in owner_rows],
                text=[picture.pred_hover[i] for i in owner_rows], name="prediction edges",
                meta={"role": "pred edges", "step_text": True, "text_key": 0},
            )
        )  # fmt: skip
    if columns:
        boxes = np.array([mark.box for mark in picture.ground_truths])
        points, owners = _edge_points(boxes, units_per_px)
        traces.append(
            dict(
                type="scatter", x=_coords(points[:, 0]), y=_coords(points[:, 1]), **invisible,
                customdata=[[-1, int(k)] for k in owners.tolist()],
                text=[picture.gt_hover[k] for k in owners.tolist()], name="ground-truth edges",
                meta={"role": "gt edges", "step_text": True, "text_key": 1},
            )
        )  # fmt: skip
    if rows and columns and picture.has_plan:
        pairs = [(a, b) for a in range(len(rows)) for b in range(len(columns))]
        starts = np.array([picture.predictions[a].centre for a, _ in pairs])
        ends = np.array([picture.ground_truths[b].centre for _, b in pairs])
        middle = (starts + ends) / 2
        text = list(picture.pair_hover)
        traces.append(
            dict(
                type="scatter", x=_coords(middle[:, 0]), y=_coords(middle[:, 1]), **invisible,
                customdata=[[rows[a], b] for a, b in pairs], text=text, name="line middles",
                meta={"role": "line hover", "step_text": True},
            )
        )  # fmt: skip
    return traces


def _gt_centres(picture: Picture, refs: _Refs) -> list[dict]:
    """A dot at each ground truth's centre, where its lines end."""
    if not picture.ground_truths or not picture.has_plan:
        return []
    marks = picture.ground_truths
    return [
        dict(
            type="scatter", x=_coords([m.centre[0] for m in marks]),
            y=_coords([m.centre[1] for m in marks]), mode="markers", **refs.trace,
            marker={"size": 9, "color": [m.colour for m in marks],
                    "line": {"color": "white", "width": 1.5},
                    "opacity": [_opacity(m.active, picture) for m in marks]},
            hoverinfo="skip", showlegend=False, name="ground-truth centres",
            meta={"role": "gt centres"},
        )
    ]  # fmt: skip


def _legend_entries(picture: Picture, refs: _Refs) -> list[dict]:
    """Legend-only traces (no data) explaining each encoding. The matching is drawn with
    layout shapes, which legend clicks do not hide: the legend explains, it does not toggle."""
    proxy = {"type": "scatter", "x": [None], "y": [None], **refs.trace, "hoverinfo": "skip",
             "meta": {"role": "legend"}}  # fmt: skip
    what = picture.what
    entries = [
        dict(proxy, mode="lines", line={"color": GT_PALETTE[0], "width": 3.5},
             name="ground truth (A, B, …)", legendgroup="gts"),
        dict(proxy, mode="lines", line={"color": GT_PALETTE[1], "width": 2.5},
             name=f"{what}: badge 4→A, coloured as the ground truth it sends most to",
             legendgroup="predictions"),
    ]  # fmt: skip
    if picture.has_plan:
        entries += [
            dict(proxy, mode="lines", line={"color": BACKGROUND_GREY, "width": 2,
                 "dash": "8px,5px"}, name=f"{what} sending most of its mass to {BACKGROUND}",
                 legendgroup="predictions mostly to ∅"),
            dict(proxy, mode="lines", line={"color": "#555", "width": 5},
                 name="mass to a ground truth (line width ∝ mass)", legendgroup="lines"),
            dict(proxy, mode="markers", marker={"color": BACKGROUND_GREY, "size": 16},
                 name=f"mass to {BACKGROUND}, the background (disc area ∝ mass)",
                 legendgroup="background"),
        ]  # fmt: skip
    return entries


def _draw(
    picture: Picture, refs: _Refs, style: SceneStyle, units_per_px: float, *, traces: bool = True
):
    """(traces, shapes, annotations) drawing ``picture`` on the axes ``refs`` (no traces
    without ``traces``)."""
    drawn = []
    if traces:
        drawn = _gt_outlines(picture, refs, style) + _gt_centres(picture, refs)
    if traces and style.hover:
        drawn += _hover_points(picture, refs, units_per_px)
    shapes = (
        _pred_outlines(picture, refs, style)
        + _links(picture, refs, style)
        + _background_discs(picture, refs, style)
    )
    annotations = _gt_letters(picture, refs, style) + _badges(picture, refs, style)
    return drawn, shapes, annotations


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


_TITLE_PX = 65
"""What a scene figure needs above the picture: its title and a note."""
_LEGEND_PX = 110
"""What it needs below the picture for its legend (two or three rows of entries)."""


def scene_height(
    figure_width: float, width: float, height: float, style: SceneStyle | None = None
) -> int:
    """Height in pixels of a scene figure ``figure_width`` px wide for a ``width`` x ``height``
    picture: the picture at that width, kept between 300 px and the style's
    ``max_picture_px``, with its title and (where the style has one) its legend."""
    style = style or _MAIN
    aspect = height / width if width > 0 else 0.75
    picture = int(min(style.max_picture_px, max(300, figure_width * aspect)))
    return picture + _TITLE_PX + (_LEGEND_PX if style.legend else 10)


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


def _units_per_px(
    figure_width_px: float,
    figure_height_px: float,
    width: float,
    height: float,
    margins: Mapping[str, float],
    style: SceneStyle,
) -> float:
    """Annotation pixels per screen pixel of a picture drawn in a figure of this size: the
    axes keep the picture's aspect and fit the plot area (see :func:`_axis_style`)."""
    x_range, y_range = _axis_ranges(width, height)
    legend = _LEGEND_PX if style.legend else 0
    plot_w = max(figure_width_px - margins["l"] - margins["r"], 50.0)
    plot_h = max(figure_height_px - margins["t"] - margins["b"] - legend, 50.0)
    span_x, span_y = x_range[1] - x_range[0], y_range[0] - y_range[1]
    return max(span_x / plot_w, span_y / plot_h)


def _geometry(
    figure_width_px: int, width: float, height: float, style: SceneStyle
) -> tuple[int, dict, float]:
    """(figure height, margins, annotation pixels per screen pixel) of a scene figure shown
    ``figure_width_px`` wide."""
    fig_height = scene_height(figure_width_px, width, height, style)
    margins = {"l": 10, "r": 10, "t": _TITLE_PX, "b": 10}
    units = _units_per_px(figure_width_px, fig_height, width, height, margins, style)
    return fig_height, margins, units


def _overlay(
    picture: Picture, canvas: list[dict], shapes: list[dict], annotations: list[dict]
) -> tuple[list[dict], list[dict]]:
    """The layout shapes (``canvas`` first) and annotations (the note last) that draw
    ``picture`` on the main axes (``shapes`` and ``annotations`` from :func:`_draw`):
    everything a new plan changes in a scene figure."""
    annotations = list(annotations)
    if picture.note:
        annotations.append(
            dict(
                x=0, y=1, xref="paper", yref="paper", xanchor="left", yanchor="bottom", yshift=4,
                text=picture.note, showarrow=False, font={"size": 11, "color": "#444"},
                align="left", name="note",
            )
        )  # fmt: skip
    return canvas + shapes, annotations


def scene_overlay(
    has_image: bool,
    width: int,
    height: int,
    problem: MatchingProblem,
    plan: ArrayLike,
    *,
    highlight_pred: int | None = None,
    highlight_gt: int | None = None,
    max_predictions: int = 200,
    figure_width_px: int = _DEFAULT_WIDTH_PX,
    style: SceneStyle = _MAIN,
) -> dict:
    """``{"shapes": [...], "annotations": [...]}``: the layout of :func:`scene_figure` with the
    same arguments that ``plan`` changes (``has_image``: whether it has a picture), without its
    hover texts. A slider drag's frames are these, one per position, drawn in the browser;
    computing them costs a fraction of whole figures."""
    _, _, units = _geometry(figure_width_px, width, height, style)
    picture = describe_picture(
        problem, plan, width, height, highlight_pred=highlight_pred, highlight_gt=highlight_gt,
        max_predictions=max_predictions, units_per_px=units, font_px=style.font_px, hover=False,
    )  # fmt: skip
    canvas = [] if has_image else _backdrop(None, width, height, "x", "y")[1]
    _, shapes, annotations = _draw(picture, _Refs(), style, units, traces=False)
    shapes, annotations = _overlay(picture, canvas, shapes, annotations)
    return {"shapes": shapes, "annotations": annotations}


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
    title: str = "",
    picture_url: str | None = None,
    figure_width_px: int = _DEFAULT_WIDTH_PX,
    style: SceneStyle = _MAIN,
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
            ground truths (the highest scores without a plan); a note says how many are hidden.
        title: the figure title.
        picture_url: a URL the browser can load ``image`` from (a server's copy of
            :func:`picture_jpeg`, say); by default the picture is embedded in the figure as a
            data URI, which makes every figure sent about 90 kB heavier.
        figure_width_px: the width the figure will be shown at: its height follows
            (:func:`scene_height`), and labels are laid out at that scale.
        style: sizes (:data:`PRESENTATION` for a room).

    Returns:
        The figure. Its traces carry ``meta["role"]``: ``"gt outlines"`` (``meta["columns"]``),
        ``"gt centres"``, the invisible hover points ``"pred edges"``, ``"gt edges"`` and
        ``"line hover"``, and ``"legend"``. Its layout shapes are named after what they draw:
        ``"lines"`` and ``"line casings"`` (paths of the matching lines of one colour, width
        and emphasis, and their white casings), ``"outline 4"`` and ``"halo 4"`` (a
        prediction's box), ``"∅ disc 4"`` (its mass to the background). Its annotations are
        the letters and badges (``name`` ``"row,column"``) and the note.

    Raises:
        ValueError: if ``plan`` is not ``(N, M + 1)``.
    """
    fig_height, margins, units = _geometry(figure_width_px, width, height, style)
    picture = describe_picture(
        problem, plan, width, height, highlight_pred=highlight_pred, highlight_gt=highlight_gt,
        max_predictions=max_predictions, units_per_px=units, font_px=style.font_px,
    )  # fmt: skip
    traces, shapes, annotations = _draw(picture, _Refs(), style, units)
    images, canvas = _backdrop(image, width, height, "x", "y", picture_url)
    shapes, annotations = _overlay(picture, canvas, shapes, annotations)
    xaxis, yaxis = _axis_style(width, height, "x")
    layout = dict(
        # The title at the top, the note (up to two lines) between it and the picture.
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}, "y": 1.0,
               "yref": "container", "yanchor": "top", "pad": {"t": 6}},
        xaxis=xaxis, yaxis=yaxis, shapes=shapes, annotations=annotations,
        images=images, height=fig_height, margin=margins, plot_bgcolor="white",
        hovermode="closest", dragmode="pan", legend=_legend(max(12, style.font_px - 2)),
        showlegend=style.legend,
    )  # fmt: skip
    legend = _legend_entries(picture, _Refs()) if style.legend else []
    return unvalidated_figure(traces + legend, layout)


def figure1_gallery(
    image: Image.Image | None,
    width: int,
    height: int,
    problem: MatchingProblem,
    plans: Mapping[str, ArrayLike | None],
    *,
    columns: int = 3,
    max_predictions: int = 60,
    title: str = "",
) -> go.Figure:
    """Small multiples: the matching of each plan on the image, side by side.

    Args:
        image, width, height, problem: as for :func:`scene_figure`.
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
    panel_px = 300.0
    units = max(width, height, 1) * 1.02 / panel_px
    data: list[dict] = []
    images: list[dict] = []
    shapes: list[dict] = []
    annotations = list(fig.layout.annotations)
    axes: dict[str, dict] = {}
    for k, name in enumerate(names):
        suffix = "" if k == 0 else str(k + 1)
        refs = _Refs(f"x{suffix}", f"y{suffix}")
        picture = describe_picture(
            problem, plans[name], width, height, max_predictions=max_predictions,
            units_per_px=units, font_px=_SMALL.font_px,
        )  # fmt: skip
        traces, panel_shapes, panel_annotations = _draw(picture, refs, _SMALL, units)
        pictures, canvas = _backdrop(image, width, height, refs.x, refs.y, source)
        images += pictures
        data += traces
        if k == 0:
            data += _legend_entries(picture, refs)
        shapes += canvas + panel_shapes
        annotations += panel_annotations
        if picture.note:
            annotations[k].text = f"{name}<br><sup>{picture.note.split(':')[0]}</sup>"
        xaxis, yaxis = _axis_style(width, height, refs.x)
        axes[f"xaxis{suffix}"] = xaxis
        axes[f"yaxis{suffix}"] = yaxis
    fig.add_traces(data)
    panel_height = panel_px * (height / width if width > 0 else 0.75)
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
