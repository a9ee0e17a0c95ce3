"""From a scene to a matching problem, and from a plan back to what it says about the scene.

:func:`build_matching_problem` turns a :class:`~uotviz.data.types.Scene` and
:class:`CostSettings` into the ``(N, M+1)`` cost the solver takes, with the labels every view
uses: predictions (or anchors) numbered ``1..N`` in the order of the rows, ground truths lettered
``A, B, ..., Z, AA, AB, ...`` in the order of the columns, and ``∅`` for the background column.
Crowd regions are left out of matching by default, as in COCO evaluation.
:func:`summarise` reads a plan: predictions per ground truth, unmatched ground-truth mass, mass
sent to the background.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from uotviz.anchors import ssd300_anchors, ssd512_anchors
from uotviz.costs import (
    DETR_WEIGHTS,
    FIGURE1_WEIGHTS,
    SSD_WEIGHTS,
    CostWeights,
    class_cost_from_detections,
    class_cost_from_probs,
    matching_cost,
)
from uotviz.data.predictions import selected_indices, take
from uotviz.data.types import Predictions, Scene

__all__ = [
    "ANCHOR_SETS",
    "COST_PRESETS",
    "BACKGROUND",
    "MIN_MASS",
    "CostSettings",
    "MatchingProblem",
    "MatchingSummary",
    "build_matching_problem",
    "column_letters",
    "summarise",
]

BACKGROUND = "∅"

MIN_MASS = 0.01
"""Masses below this many units (of one prediction) are not drawn or listed: no matching line,
no ∅ disc, no "received from"."""

COST_PRESETS: dict[str, CostWeights] = {
    "1 − GIoU": FIGURE1_WEIGHTS,
    "1 − IoU": SSD_WEIGHTS,
    "L1": CostWeights(l1_weight=1.0),
    "DETR (class 2, L1 5, GIoU 2)": DETR_WEIGHTS,
}
"""Named cost weights offered to users; the first is the default (the paper's Figure 1)."""

ANCHOR_SETS = {"SSD300 default boxes": ssd300_anchors, "SSD512 default boxes": ssd512_anchors}
"""Anchor mode: match these default boxes (scaled to the image) instead of the predictions."""


@dataclass(frozen=True)
class CostSettings:
    """How the matching cost is built; plain values, so it can key caches and URLs.

    Attributes:
        weights: weights of 1 − GIoU, 1 − IoU, L1 (on normalised cxcywh) and the class term.
        background_cost: ``c∅``, the cost of sending a prediction to the background.
        anchors: ``None`` to match the predictions, or a key of :data:`ANCHOR_SETS`.
        score_threshold: predictions scoring below it are left out.
        top_k: keep at most this many predictions, highest scores first (``None``: all).
        include_crowd: match crowd regions too (default: drawn but not matched).
    """

    weights: CostWeights = FIGURE1_WEIGHTS
    background_cost: float = 0.8
    anchors: str | None = None
    score_threshold: float = 0.0
    top_k: int | None = None
    include_crowd: bool = False


@dataclass(frozen=True)
class MatchingProblem:
    """The matching problem of one scene.

    Attributes:
        cost: (N, M + 1) float64, last column the background.
        pred_boxes: (N, 4) xyxy pixels of the matched boxes (predictions or anchors), row order.
        gt_boxes: (M, 4) xyxy pixels of the matched ground truths, column order.
        pred_index: (N,) int64 index of each row in ``scene.predictions`` (-1 for anchors).
        gt_index: (M,) int64 index of each column in ``scene.ground_truths``.
        row_labels: ``("1", ..., "N")``.
        col_labels: ``("A", ..., BACKGROUND)``, M + 1 labels.
        pred_scores: (N,) float32 scores (1 for anchors).
        pred_names: N category names of the predictions ("" when unknown).
        gt_names: M category names of the ground truths.
        notes: what the builder decided that a user should know (predictions dropped, ...).
    """

    cost: Tensor
    pred_boxes: Tensor
    gt_boxes: Tensor
    pred_index: Tensor
    gt_index: Tensor
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    pred_scores: Tensor
    pred_names: tuple[str, ...]
    gt_names: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def column_letters(count: int) -> tuple[str, ...]:
    """Spreadsheet-style letters for ground truths: A..Z, AA, AB, ... (``count`` of them)."""
    letters = []
    for index in range(count):
        label, number = "", index + 1
        while number:
            number, remainder = divmod(number - 1, 26)
            label = chr(ord("A") + remainder) + label
        letters.append(label)
    return tuple(letters)


def _class_cost(predictions: Predictions, gt_labels: Tensor, weights: CostWeights) -> Tensor | None:
    """-p̂(class) (N, M): from full class distributions when present, else from the detections."""
    if weights.class_weight == 0:
        return None
    if predictions.class_probs is not None and predictions.class_ids is not None:
        columns = {int(c): k for k, c in enumerate(predictions.class_ids.tolist())}
        # Ground truths of a class the model does not know get p̂ = 0 (their column index is K,
        # "no object", whose probability is not that class's).
        probs = torch.cat(
            [
                predictions.class_probs.double(),
                torch.zeros(len(predictions), 1, dtype=torch.float64),
            ],
            dim=1,
        )
        unknown = probs.shape[1] - 1
        index = torch.tensor([columns.get(int(c), unknown) for c in gt_labels.tolist()])
        return class_cost_from_probs(probs, index.to(torch.int64))
    return class_cost_from_detections(predictions.labels, predictions.scores.double(), gt_labels)


def build_matching_problem(
    scene: Scene, settings: CostSettings, predictions: Predictions | None = None
) -> MatchingProblem:
    """The cost and labels for ``scene`` under ``settings``.

    Args:
        scene: the image, its ground truths and (optionally) predictions.
        settings: see :class:`CostSettings`.
        predictions: predictions to use instead of ``scene.predictions`` (e.g. simulated ones).

    Returns:
        A :class:`MatchingProblem`; with no predictions and no anchor set, N = 0.
    """
    notes: list[str] = []
    gts = scene.ground_truths
    keep_gt = torch.ones(len(gts), dtype=torch.bool)
    if not settings.include_crowd and len(gts):
        keep_gt = ~gts.iscrowd
        crowd = int(gts.iscrowd.sum())
        if crowd:
            notes.append(f"{crowd} crowd region(s) drawn but not matched")
    gt_index = torch.nonzero(keep_gt).flatten()
    gt_boxes = gts.boxes[gt_index].double()
    gt_labels = gts.labels[gt_index]
    image_size = (scene.width, scene.height)

    if settings.anchors is not None:
        if settings.anchors not in ANCHOR_SETS:
            raise ValueError(
                f"unknown anchor set {settings.anchors!r}; choose one of {sorted(ANCHOR_SETS)}"
            )
        pred_boxes = ANCHOR_SETS[settings.anchors](image_size, dtype=torch.float64)
        count = pred_boxes.shape[0]
        pred_index = torch.full((count,), -1, dtype=torch.int64)
        pred_scores = torch.ones(count, dtype=torch.float32)
        pred_names = ("anchor",) * count
        class_cost = None
        weights = CostWeights(
            giou_weight=settings.weights.giou_weight,
            iou_weight=settings.weights.iou_weight,
            l1_weight=settings.weights.l1_weight,
        )
        if settings.weights.class_weight:
            notes.append("anchors carry no class: the class term is left out")
    else:
        source = predictions if predictions is not None else scene.predictions
        if source is None:
            source = Predictions()
        total = len(source)
        pred_index = selected_indices(
            source, score_threshold=settings.score_threshold, top_k=settings.top_k
        )
        chosen = take(source, pred_index)
        if len(chosen) < total:
            notes.append(f"{total - len(chosen)} of {total} predictions left out (score / top-k)")
        pred_boxes = chosen.boxes.double()
        pred_scores = chosen.scores.float()
        pred_names = tuple(
            scene.categories.get(int(label), "") if int(label) >= 0 else ""
            for label in chosen.labels.tolist()
        )
        weights = settings.weights
        class_cost = _class_cost(chosen, gt_labels, weights)

    cost = matching_cost(
        pred_boxes,
        gt_boxes,
        background_cost=float(settings.background_cost),
        weights=weights,
        image_size=image_size if weights.l1_weight else None,
        class_cost=class_cost,
    )
    n, m = pred_boxes.shape[0], gt_boxes.shape[0]
    return MatchingProblem(
        cost=cost,
        pred_boxes=pred_boxes,
        gt_boxes=gt_boxes,
        pred_index=pred_index,
        gt_index=gt_index,
        row_labels=tuple(str(i + 1) for i in range(n)),
        col_labels=(*column_letters(m), BACKGROUND),
        pred_scores=pred_scores,
        pred_names=pred_names,
        gt_names=tuple(scene.categories.get(int(c), str(int(c))) for c in gt_labels.tolist()),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class MatchingSummary:
    """What a plan (units of one prediction) says about the scene.

    Attributes:
        predictions_per_gt: (M,) number of predictions sending a ground truth at least
            ``threshold`` of a unit.
        gt_mass: (M,) mass each ground truth receives (1 when fully matched).
        unmatched_gt_mass: (M,) ``max(0, 1 - gt_mass)``.
        background_mass: total mass sent to ∅.
        unmatched_predictions: predictions sending at least ``1 - threshold`` of their mass to ∅.
    """

    predictions_per_gt: Tensor
    gt_mass: Tensor
    unmatched_gt_mass: Tensor
    background_mass: float
    unmatched_predictions: int


def summarise(plan: Tensor, threshold: float = 0.5) -> MatchingSummary:
    """Read a plan ``(N, M+1)`` in units of one prediction (background last)."""
    plan = plan.double()
    gt_part = plan[:, :-1]
    gt_mass = gt_part.sum(dim=0)
    rows = plan.sum(dim=1)
    to_background = plan[:, -1]
    unmatched = int(((to_background >= (1 - threshold) * rows) & (rows > 0)).sum())
    return MatchingSummary(
        predictions_per_gt=(gt_part >= threshold).sum(dim=0),
        gt_mass=gt_mass,
        unmatched_gt_mass=(1.0 - gt_mass).clamp_min(0.0),
        background_mass=float(to_background.sum()),
        unmatched_predictions=unmatched,
    )
