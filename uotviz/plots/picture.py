"""What the matching picture shows for one plan: a plain description, read by the renderers.

:func:`describe_picture` turns a matching problem, a plan ``N · P̂`` (units of one prediction,
background ``∅`` last) and a highlight into a :class:`Picture`: which predictions are drawn,
the colour and strength of each, the text and place of every label, the matching lines, the
background marks and the hover texts. It computes no Plotly objects:
:mod:`uotviz.plots.scene` draws a :class:`Picture`, and tests read it directly.

The encodings (De Plaen et al., CVPR 2023, Figure 1(a) shows the boxes; the plans are drawn on
them here):

* a ground truth is a thick outline in its own colour, lettered ``A, B, ...``;
* a prediction's outline takes the colour of the ground truth it sends most mass to, its width
  and opacity growing with that mass; a prediction sending more to ``∅`` than to any ground
  truth is dark grey and dashed;
* every prediction carries a badge that says where its mass goes: ``4→A`` (filled with A's
  colour), ``4→A,B`` when it sends at least half a unit to each, ``1→∅`` (dark grey);
* a line runs from a prediction's centre to each ground truth it sends mass to, width ∝ mass;
* the mass to ``∅`` is a grey disc in the box's lower right corner, area ∝ mass, marked ``∅``.

Labels are laid out so that they do not overlap at the picture's scale: the ground truths'
letters first, then the badges in the order of the predictions' scores (not of the plan, so
that badges keep their places while a slider moves); each tries the four inside corners of its
box, then the corners just outside. A badge that fits nowhere is not written (the box still
shows its match by colour, and its hover text and click work). The highlighted prediction's
badge is always written.

Coordinates are annotation pixels (``xyxy``, y pointing down), as in the boxes. Hover texts
use Plotly's few HTML tags (``<b>``, ``<br>``); category names in them are HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from uotviz.boxes import box_iou
from uotviz.matching import BACKGROUND, MIN_MASS, MatchingProblem

__all__ = [
    "BACKGROUND_GREY",
    "GT_PALETTE",
    "GroundTruthMark",
    "Link",
    "Picture",
    "PredictionMark",
    "describe_picture",
    "gt_colour",
    "link_width",
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

BACKGROUND_GREY = "#3c3c3c"
"""The colour of what goes to the background ∅ (badges, outlines, discs)."""

UNMATCHED_COLOUR = "#000000"
"""A prediction that sends (almost) nothing anywhere, as in the plan of τ1 = τ2 = 0."""

MULTI_MATCH_MASS = 0.5
"""A badge names every ground truth that receives at least this much from its prediction."""

MAX_WIDTH_MASS = 2.0
"""Soft marginals can send more than one unit; widths and disc areas stop growing here."""

_WIDTH_STEP = 0.5  # line widths are rounded to half pixels so lines group into few paths
_CHAR_WIDTH_EM = 0.62  # a bold label's character width, in units of its font size
_LABEL_HEIGHT_EM = 1.35  # a label's height with its padding, in units of its font size
_LABEL_PAD_PX = 4.0  # a label's left and right padding together, in pixels


def gt_colour(column: int) -> str:
    """The colour of ground truth ``column`` (0 is A)."""
    return GT_PALETTE[column % len(GT_PALETTE)]


def link_width(mass: float | np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Width in pixels of a matching line carrying ``mass`` (units of one prediction):
    ``scale · (1.5 + 6 · mass)``, the mass clipped at 2, rounded to half pixels."""
    m = np.clip(np.asarray(mass, dtype=np.float64), 0.0, MAX_WIDTH_MASS)
    return np.round(scale * (1.5 + 6.0 * m) / _WIDTH_STEP) * _WIDTH_STEP


@dataclass(frozen=True)
class PredictionMark:
    """One drawn prediction (a row of the plan).

    Attributes:
        row: the row index in the plan.
        label: its row label (``"4"``).
        box: ``(x1, y1, x2, y2)`` annotation pixels.
        colour: the outline's and badge's colour: its main ground truth's, or
            :data:`BACKGROUND_GREY`, or :data:`UNMATCHED_COLOUR`.
        strength: the mass to that destination, clipped to [0, 1]: outline width and opacity.
        to_background: its mass to ∅.
        badge: the badge's text, e.g. ``"4→A"``, ``"4→A,B"``, ``"1→∅"``.
        badge_at: where the badge's top-left corner sits (annotation pixels), or None when it
            could not be placed without covering another label.
        active: False when a highlight pushes it back.
    """

    row: int
    label: str
    box: tuple[float, float, float, float]
    colour: str
    strength: float
    to_background: float
    badge: str
    badge_at: tuple[float, float] | None
    active: bool

    @property
    def mostly_background(self) -> bool:
        return self.colour == BACKGROUND_GREY

    @property
    def centre(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.box
        return (x1 + x2) / 2, (y1 + y2) / 2


@dataclass(frozen=True)
class GroundTruthMark:
    """One ground truth (a column of the plan, not ∅): its box, colour, letter, label place and
    the mass it receives."""

    column: int
    box: tuple[float, float, float, float]
    colour: str
    label: str
    label_at: tuple[float, float] | None
    received: float
    active: bool

    @property
    def centre(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.box
        return (x1 + x2) / 2, (y1 + y2) / 2


@dataclass(frozen=True)
class Link:
    """A matching line from a prediction's centre to a ground truth's centre."""

    row: int
    column: int
    mass: float
    start: tuple[float, float]
    end: tuple[float, float]
    colour: str
    emphasis: bool  # False when a highlight pushes it back


@dataclass(frozen=True)
class Picture:
    """Everything the matching picture shows for one plan.

    Attributes:
        width, height: the canvas, in annotation pixels.
        predictions: the drawn predictions, in row order.
        ground_truths: every ground truth, in column order.
        links: the lines carrying at least ``min_mass``.
        highlighting: whether a highlight is set (what is not active is faded).
        pred_hover: hover text of every row (``""`` for rows not drawn), by row index.
        gt_hover: hover text of every ground truth, by column index.
        pair_hover: hover text of every pair of a drawn prediction and a ground truth, drawn
            rows first: ``pair_hover[a * M + j]`` for the ``a``-th drawn prediction (``""``
            where no line is drawn; empty without a plan).
        note: what is not drawn and why ("" when everything is).
        what: ``"prediction"`` or ``"anchor"``.
        has_plan: False when only the boxes are drawn.
        font_px: the label font size the layout was made for.
    """

    width: float
    height: float
    predictions: tuple[PredictionMark, ...]
    ground_truths: tuple[GroundTruthMark, ...]
    links: tuple[Link, ...]
    highlighting: bool
    pred_hover: tuple[str, ...]
    gt_hover: tuple[str, ...]
    pair_hover: tuple[str, ...]
    note: str
    what: str
    has_plan: bool
    font_px: int


def _array(values: object, columns: int) -> np.ndarray:
    """A float64 ``(K, columns)`` copy of a tensor or array (CPU, detached)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64).reshape(-1, columns)


def _select_rows(
    plan: np.ndarray | None, scores: np.ndarray, limit: int, keep: int | None
) -> np.ndarray:
    """Indices (ascending) of the rows to draw: all when at most ``limit``; else the ``limit``
    sending most mass to ground truths (highest scores first among equals, and without a plan),
    with ``keep`` (a highlighted row) always among them. Rows sending nothing to a ground truth
    are not drawn when there are more rows than ``limit`` (thousands of anchors)."""
    n = len(scores)
    if n <= limit:
        return np.arange(n)
    to_gt = plan[:, :-1].sum(axis=1) if plan is not None else np.zeros(n)
    order = np.lexsort((-scores, -to_gt))
    if plan is not None:
        order = order[to_gt[order] >= MIN_MASS]
    chosen = order[: max(limit, 0)]
    if keep is not None and 0 <= keep < n and keep not in chosen:
        chosen = np.append(chosen[: max(limit - 1, 0)], keep)
    return np.sort(chosen)


def _destination(
    row_plan: np.ndarray | None, col_labels: Sequence[str], row_label: str
) -> tuple[int | None, float, str]:
    """(main ground truth or None, its mass or the ∅ mass, badge text) of one plan row."""
    if row_plan is None:
        return None, 0.0, row_label
    to_gt, to_bg = row_plan[:-1], float(row_plan[-1])
    best = int(np.argmax(to_gt)) if len(to_gt) else None
    best_mass = float(to_gt[best]) if best is not None else 0.0
    if best is None or best_mass < MIN_MASS or to_bg > best_mass:
        if to_bg < MIN_MASS:
            return None, 0.0, row_label
        return None, to_bg, f"{row_label}→{BACKGROUND}"
    many = [j for j in np.argsort(-to_gt, kind="stable").tolist() if to_gt[j] >= MULTI_MATCH_MASS]
    names = ",".join(col_labels[j] for j in many) if len(many) > 1 else col_labels[best]
    return best, best_mass, f"{row_label}→{names}"


class _LabelSpace:
    """Rectangles already taken by labels, in annotation pixels; finds a free place for a new
    label among candidate corners."""

    def __init__(self, units_per_px: float, font_px: int, width: float, height: float):
        self.units_per_px = units_per_px
        self.font_px = font_px
        self.bounds = (width, height)
        self.taken: list[tuple[float, float, float, float]] = []

    def size(self, text: str) -> tuple[float, float]:
        """(width, height) of a label with ``text``, in annotation pixels."""
        w_px = len(text) * _CHAR_WIDTH_EM * self.font_px + _LABEL_PAD_PX
        return w_px * self.units_per_px, _LABEL_HEIGHT_EM * self.font_px * self.units_per_px

    def place(
        self, text: str, box: tuple[float, float, float, float], *, force: bool = False
    ) -> tuple[float, float] | None:
        """The top-left corner of the first free place for ``text`` around ``box`` (inside
        corners, then outside), taken; None when every place covers another label, unless
        ``force`` (the first place is then taken anyway)."""
        w, h = self.size(text)
        x1, y1, x2, y2 = box
        candidates = [
            (x1, y1), (x2 - w, y1), (x1, y2 - h), (x2 - w, y2 - h),  # inside corners
            (x1, y1 - h), (x2 - w, y1 - h), (x1, y2), (x2 - w, y2),  # just outside
        ]  # fmt: skip
        width, height = self.bounds
        for x, y in candidates:
            if x < 0 or y < 0 or x + w > width or y + h > height:
                continue
            if not any(_overlap((x, y, x + w, y + h), other) for other in self.taken):
                self.taken.append((x, y, x + w, y + h))
                return x, y
        if force:
            x, y = candidates[0]
            self.taken.append((x, y, x + w, y + h))
            return x, y
        return None


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _pair_text(
    problem: MatchingProblem, plan: np.ndarray, cost: np.ndarray, iou: np.ndarray, i: int, j: int
) -> str:
    """``→ A 0.748 · cost 0.396 · IoU 0.62`` for prediction ``i`` and ground truth ``j``."""
    return (
        f"→ {problem.col_labels[j]} {plan[i, j]:.3f} · cost {cost[i, j]:.3f} · IoU {iou[i, j]:.2f}"
    )


def _pred_hover(
    problem: MatchingProblem,
    plan: np.ndarray | None,
    cost: np.ndarray,
    iou: np.ndarray,
    i: int,
    score: float,
) -> str:
    """A prediction's hover text: its name and score, then where its mass goes, heaviest first
    (at most six ground truths), with each pair's cost and IoU, then ∅."""
    name = html.escape(problem.pred_names[i]) if i < len(problem.pred_names) else ""
    text = f"<b>{problem.row_labels[i]}</b> {name}".rstrip() + f" · score {score:.3f}"
    if plan is None:
        return text
    order = [j for j in np.argsort(-plan[i, :-1], kind="stable")[:6].tolist()]
    shown = [j for j in order if plan[i, j] >= MIN_MASS] or order[:1]
    for j in shown:
        text += "<br>" + _pair_text(problem, plan, cost, iou, i, j)
    rest = int((plan[i, :-1] >= MIN_MASS).sum()) - len([j for j in shown if plan[i, j] >= MIN_MASS])
    if rest > 0:
        text += f"<br>(+{rest} more)"
    text += f"<br>→ {BACKGROUND} {plan[i, -1]:.3f} · cost {cost[i, -1]:.3f}"
    return text


def _pair_hover(
    problem: MatchingProblem,
    plan: np.ndarray | None,
    cost: np.ndarray,
    iou: np.ndarray,
    drawn: np.ndarray,
    links: tuple[Link, ...],
) -> tuple[str, ...]:
    """``4 → A: 0.748<br>cost 0.396 · IoU 0.62`` for every drawn row and every ground truth
    whose line is drawn (one of ``links``), ``""`` for the other pairs: the middle of a line
    that is not on the picture shows no tooltip."""
    if plan is None:
        return ()
    rows, cols = problem.row_labels, problem.col_labels
    lines = {(link.row, link.column) for link in links}
    return tuple(
        f"{rows[i]} → {cols[j]}: {plan[i, j]:.3f}<br>cost {cost[i, j]:.3f} · IoU {iou[i, j]:.2f}"
        if (i, j) in lines
        else ""
        for i in drawn.tolist()
        for j in range(iou.shape[1])
    )


def _gt_hover(
    problem: MatchingProblem, plan: np.ndarray | None, cost: np.ndarray, iou: np.ndarray, j: int
) -> str:
    """A ground truth's hover text: its name, the mass it receives and from whom (heaviest
    first, at most five), with each pair's cost and IoU."""
    name = html.escape(problem.gt_names[j]) if j < len(problem.gt_names) else ""
    text = f"<b>{problem.col_labels[j]}</b> {name}".rstrip()
    if plan is None:
        return text
    text += f"<br>receives {plan[:, j].sum():.3f}"
    givers = [
        i for i in np.argsort(-plan[:, j], kind="stable")[:5].tolist() if plan[i, j] >= MIN_MASS
    ]
    for i in givers:
        text += (
            f"<br>← {problem.row_labels[i]} {plan[i, j]:.3f} · cost {cost[i, j]:.3f} · "
            f"IoU {iou[i, j]:.2f}"
        )
    if int((plan[:, j] >= MIN_MASS).sum()) > len(givers):
        text += "<br>…"
    return text


def describe_picture(
    problem: MatchingProblem,
    plan: object | None,
    width: float,
    height: float,
    *,
    highlight_pred: int | None = None,
    highlight_gt: int | None = None,
    max_predictions: int = 200,
    units_per_px: float = 1.0,
    font_px: int = 14,
    hover: bool = True,
) -> Picture:
    """The description of the matching picture of ``plan`` on ``problem``'s boxes.

    Args:
        problem: the boxes and labels (``pred_boxes`` (N, 4), ``gt_boxes`` (M, 4), ``xyxy``).
        plan: ``(N, M + 1)`` plan ``N · P̂`` (tensor or array), or None for the boxes only.
        width, height: the canvas, in annotation pixels.
        highlight_pred: a row to bring forward with what it exchanges mass with.
        highlight_gt: a column (not ∅) to bring forward; with both, only their pair.
        max_predictions: draw at most this many predictions (those sending the most mass to
            ground truths); the note says how many are hidden.
        units_per_px: annotation pixels per screen pixel at the size the picture is shown:
            labels are laid out at that scale.
        font_px: the labels' font size in screen pixels.
        hover: False leaves the hover texts empty (a slider drag's frames need none).

    Raises:
        ValueError: if ``plan`` is not ``(N, M + 1)``.
    """
    pred_boxes = _array(problem.pred_boxes, 4)
    gt_boxes = _array(problem.gt_boxes, 4)
    n, m = len(pred_boxes), len(gt_boxes)
    plan_array = None
    if plan is not None:
        raw = plan.detach().cpu().numpy() if isinstance(plan, torch.Tensor) else np.asarray(plan)
        if raw.shape != (n, m + 1):
            raise ValueError(f"plan has shape {raw.shape}, expected (N, M + 1) = ({n}, {m + 1})")
        plan_array = raw.astype(np.float64)
    scores = _array(problem.pred_scores, 1).reshape(-1) if n else np.zeros(0)
    if len(scores) != n:
        scores = np.ones(n)
    if highlight_pred is not None and not 0 <= highlight_pred < n:
        highlight_pred = None
    if highlight_gt is not None and not 0 <= highlight_gt < m:
        highlight_gt = None
    iou = (
        box_iou(torch.as_tensor(pred_boxes), torch.as_tensor(gt_boxes)).numpy()
        if n and m
        else np.zeros((n, m))
    )

    cost = _array(problem.cost, m + 1)
    pred_active, gt_active = _active(plan_array, n, m, highlight_pred, highlight_gt)
    highlighting = highlight_pred is not None or highlight_gt is not None
    what = "anchor" if problem.pred_names[:1] == ("anchor",) else "prediction"
    drawn = _select_rows(plan_array, scores, max_predictions, highlight_pred)
    note = _hidden_note(plan_array, n, drawn, what)

    space = _LabelSpace(units_per_px, font_px, width, height)
    ground_truths = tuple(
        GroundTruthMark(
            column=j,
            box=tuple(gt_boxes[j].tolist()),
            colour=gt_colour(j),
            label=problem.col_labels[j],
            label_at=space.place(problem.col_labels[j], tuple(gt_boxes[j].tolist()), force=True),
            received=float(plan_array[:, j].sum()) if plan_array is not None else 0.0,
            active=bool(gt_active[j]),
        )
        for j in range(m)
    )
    predictions = _prediction_marks(
        problem, plan_array, pred_boxes, drawn, pred_active, highlight_pred, space, scores
    )
    links = _links(plan_array, pred_boxes, gt_boxes, drawn, highlight_pred, highlight_gt)
    pred_hover = [""] * n
    for i in drawn.tolist() if hover else []:
        pred_hover[i] = _pred_hover(problem, plan_array, cost, iou, i, float(scores[i]))
    unlabelled = sum(mark.badge_at is None for mark in predictions)
    if unlabelled:
        extra = f"{unlabelled} badge(s) not written where they would cover others: hover a box"
        note = f"{note}<br>{extra}" if note else extra  # one line each, above the picture
    return Picture(
        width=float(width),
        height=float(height),
        predictions=predictions,
        ground_truths=ground_truths,
        links=links,
        highlighting=highlighting,
        pred_hover=tuple(pred_hover),
        gt_hover=tuple(
            _gt_hover(problem, plan_array, cost, iou, j) if hover else "" for j in range(m)
        ),
        pair_hover=_pair_hover(problem, plan_array, cost, iou, drawn, links) if hover else (),
        note=note,
        what=what,
        has_plan=plan_array is not None,
        font_px=font_px,
    )


def _active(
    plan: np.ndarray | None, n: int, m: int, pred: int | None, gt: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows and columns a highlight keeps in front: the chosen box and the boxes it
    exchanges at least :data:`MIN_MASS` with (everything without a highlight)."""
    pred_active = np.ones(n, dtype=bool)
    gt_active = np.ones(m, dtype=bool)
    if pred is not None:
        pred_active[:] = False
        pred_active[pred] = True
        if gt is None:
            gt_active = plan[pred, :-1] >= MIN_MASS if plan is not None else ~gt_active
    if gt is not None:
        gt_active[:] = False
        gt_active[gt] = True
        if pred is None:
            pred_active = plan[:, gt] >= MIN_MASS if plan is not None else ~pred_active
    return pred_active, gt_active


def _hidden_note(plan: np.ndarray | None, n: int, drawn: np.ndarray, what: str) -> str:
    """What the picture says about the rows it does not draw (one short line: it is written
    above the picture)."""
    hidden = n - len(drawn)
    if not hidden:
        return ""
    lost = ""
    if plan is not None:
        rest = np.setdiff1d(np.arange(n), drawn)
        lost = f" (together {plan[rest, :-1].sum():.3g} units to ground truths)"
    return f"{hidden:,} of {n:,} {what}s not drawn, those sending least{lost}"


def _prediction_marks(
    problem: MatchingProblem,
    plan: np.ndarray | None,
    boxes: np.ndarray,
    drawn: np.ndarray,
    active: np.ndarray,
    highlight: int | None,
    space: _LabelSpace,
    scores: np.ndarray,
) -> tuple[PredictionMark, ...]:
    """The drawn predictions' marks. Badges are placed in the order of the predictions' scores
    (the highlighted one before all, and always): that order does not depend on the plan, so
    badges stay where they are while a slider moves, and where labels crowd, the most
    confident predictions keep theirs."""
    details = {}
    for i in drawn.tolist():
        column, mass, badge = _destination(
            None if plan is None else plan[i], problem.col_labels, problem.row_labels[i]
        )
        details[i] = (column, mass, badge)
    badge_at = {}
    for i in sorted(details, key=lambda i: (i != highlight, -scores[i], i)):
        box = tuple(boxes[i].tolist())
        badge_at[i] = space.place(details[i][2], box, force=i == highlight)
    marks = []
    for i in drawn.tolist():
        column, mass, badge = details[i]
        if column is not None:
            colour = gt_colour(column)
        elif plan is not None and mass >= MIN_MASS:
            colour = BACKGROUND_GREY
        else:
            colour = UNMATCHED_COLOUR
        marks.append(
            PredictionMark(
                row=i,
                label=problem.row_labels[i],
                box=tuple(boxes[i].tolist()),
                colour=colour,
                strength=float(np.clip(mass, 0.0, 1.0)),
                to_background=float(plan[i, -1]) if plan is not None else 0.0,
                badge=badge,
                badge_at=badge_at[i],
                active=bool(active[i]),
            )
        )
    return tuple(marks)


def _links(
    plan: np.ndarray | None,
    pred_boxes: np.ndarray,
    gt_boxes: np.ndarray,
    drawn: np.ndarray,
    highlight_pred: int | None,
    highlight_gt: int | None,
) -> tuple[Link, ...]:
    """The matching lines of the drawn rows that carry at least :data:`MIN_MASS`."""
    if plan is None or not len(gt_boxes) or not len(drawn):
        return ()
    pred_centre = [
        tuple(centre) for centre in ((pred_boxes[:, :2] + pred_boxes[:, 2:]) / 2).tolist()
    ]
    gt_centre = [tuple(centre) for centre in ((gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2).tolist()]
    rows, cols = np.nonzero(plan[drawn, :-1] >= MIN_MASS)
    rows = drawn[rows]
    masses = plan[rows, cols].tolist()
    links = []
    for i, j, mass in zip(rows.tolist(), cols.tolist(), masses, strict=True):
        emphasis = (highlight_pred is None or i == highlight_pred) and (
            highlight_gt is None or j == highlight_gt
        )
        links.append(
            Link(
                row=i,
                column=j,
                mass=float(mass),
                start=pred_centre[i],
                end=gt_centre[j],
                colour=gt_colour(j),
                emphasis=emphasis,
            )
        )
    return tuple(links)
