"""Matching cost matrices between predictions and ground truths.

Conventions (De Plaen et al., CVPR 2023, Section 3; see also ``MATH.md``):

- ``N`` predictions (rows) and ``M`` ground truths (columns); boxes are ``xyxy`` pixels unless a
  name says otherwise.
- :func:`matching_cost` returns ``(..., N, M + 1)``: column ``j < M`` is the cost of matching a
  prediction to ground truth ``j``; the LAST column is the background ``∅`` with the constant cost
  ``c∅`` (``background_cost``).
- Batches of images with different numbers of ground truths are padded to a common ``M`` with
  :func:`pad_ground_truths`; a boolean ``gt_mask`` of shape ``(..., M)`` marks the real columns
  (True) and padded columns may sit anywhere. Padded columns of the cost are filled with 0.0: the
  value is never used, since the transport solver ignores those columns through the same mask.
- ``M = 0`` (an image without ground truth) is valid: the cost is ``(..., N, 1)``, the ``∅``
  column alone.

The localisation terms are pure functions of boxes (:func:`giou_cost`, :func:`iou_cost`,
:func:`l1_cost`); the classification term is computed separately (from class probabilities,
logits or COCO detection results) and passed to :func:`matching_cost` as ``class_cost``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from uotviz.boxes import box_iou, generalized_box_iou, normalize_cxcywh

__all__ = [
    "DEFORMABLE_DETR_WEIGHTS",
    "DETR_WEIGHTS",
    "FIGURE1_WEIGHTS",
    "SSD_WEIGHTS",
    "CostWeights",
    "anchor_cost",
    "class_cost_from_detections",
    "class_cost_from_logits",
    "class_cost_from_probs",
    "giou_cost",
    "iou_cost",
    "l1_cost",
    "matching_cost",
    "normalise_cost",
    "pad_ground_truths",
]


# --- localisation terms -------------------------------------------------------------------------


def giou_cost(pred_xyxy: Tensor, gt_xyxy: Tensor) -> Tensor:
    """``1 - GIoU``, the default localisation cost (DETR; the paper's Figure 1).

    Args:
        pred_xyxy (Tensor[..., N, 4]): predicted boxes, ``xyxy``.
        gt_xyxy (Tensor[..., M, 4]): ground-truth boxes, ``xyxy``; leading dims broadcast.

    Returns:
        Tensor[..., N, M]: costs in ``[0, 2]``; 0 for identical non-degenerate boxes, above 1 for
        disjoint boxes. Two identical points cost 1 (their GIoU is defined as 0, see
        :func:`uotviz.boxes.generalized_box_iou`).
    """
    return 1.0 - generalized_box_iou(pred_xyxy, gt_xyxy)


def iou_cost(pred_xyxy: Tensor, gt_xyxy: Tensor) -> Tensor:
    """``1 - IoU``, the cost used by SSD (between anchors and ground truths).

    Args:
        pred_xyxy (Tensor[..., N, 4]): predicted boxes or anchors, ``xyxy``.
        gt_xyxy (Tensor[..., M, 4]): ground-truth boxes, ``xyxy``; leading dims broadcast.

    Returns:
        Tensor[..., N, M]: costs in ``[0, 1]``; 1 for disjoint boxes and for pairs of degenerate
        boxes whose union has zero area.
    """
    return 1.0 - box_iou(pred_xyxy, gt_xyxy)


def l1_cost(pred_cxcywh_norm: Tensor, gt_cxcywh_norm: Tensor) -> Tensor:
    """L1 distance between boxes in normalised ``cxcywh`` (DETR's box regression cost).

    Same values as ``torch.cdist(pred, gt, p=1)``, with broadcasting leading dims and exact
    results (no matrix-multiplication shortcut).

    Args:
        pred_cxcywh_norm (Tensor[..., N, 4]): predicted boxes, see
            :func:`uotviz.boxes.normalize_cxcywh`.
        gt_cxcywh_norm (Tensor[..., M, 4]): ground-truth boxes, same units.

    Returns:
        Tensor[..., N, M]: ``sum_k |pred[..., i, k] - gt[..., j, k]|``.
    """
    pred, gt = _float_pair(pred_cxcywh_norm, gt_cxcywh_norm)
    return (pred[..., :, None, :] - gt[..., None, :, :]).abs().sum(dim=-1)  # [..., N, M]


# --- classification terms -----------------------------------------------------------------------


def class_cost_from_probs(probs: Tensor, gt_labels: Tensor) -> Tensor:
    """Classification cost ``-p̂_i(c_j)``, DETR's matcher convention.

    The paper writes the class term as ``1 - p̂(c)``; DETR's matcher drops the constant 1. Under
    a weight ``λ`` the two differ by the constant ``λ`` on every real column, which does not
    change a balanced matching but does move real columns relative to the ``∅`` column.

    Args:
        probs (Tensor[..., N, K + 1]): class probabilities of each prediction; the last class is
            "no object" as in DETR.
        gt_labels (Tensor[..., M]): integer class of each ground truth, in ``[0, K]``; leading
            dims broadcast with those of ``probs``.

    Returns:
        Tensor[..., N, M]: ``cost[..., i, j] = -probs[..., i, gt_labels[..., j]]``.
    """
    if probs.dim() < 2 or gt_labels.dim() < 1:
        raise ValueError(
            f"probs must be (..., N, K + 1) and gt_labels (..., M), got "
            f"{tuple(probs.shape)} and {tuple(gt_labels.shape)}"
        )
    n, m = probs.shape[-2], gt_labels.shape[-1]
    batch = _broadcast(probs.shape[:-2], gt_labels.shape[:-1])
    probs = probs.expand(*batch, n, probs.shape[-1])
    index = gt_labels.long()[..., None, :].expand(*batch, n, m)  # [..., N, M]
    return -torch.gather(probs, -1, index)


def class_cost_from_logits(logits: Tensor, gt_labels: Tensor) -> Tensor:
    """Classification cost ``-softmax(logits)_i(c_j)``, as in DETR.

    Args:
        logits (Tensor[..., N, K + 1]): class logits; the softmax runs over the last dimension,
            whose last entry is "no object".
        gt_labels (Tensor[..., M]): integer class of each ground truth, in ``[0, K]``.

    Returns:
        Tensor[..., N, M]: see :func:`class_cost_from_probs`.
    """
    return class_cost_from_probs(logits.softmax(dim=-1), gt_labels)


def class_cost_from_detections(
    pred_labels: Tensor, pred_scores: Tensor, gt_labels: Tensor
) -> Tensor:
    """Classification cost ``-p̂_i(c_j)`` from COCO detection results.

    A COCO result carries one category and one score per box, not a class distribution. This
    function approximates ``p̂_i(c)`` by the score when ``c`` is the predicted category and by 0
    otherwise: the rest of the distribution is unknown, so a prediction of the wrong class costs
    0, as if it gave the true class no probability at all.

    Args:
        pred_labels (Tensor[..., N]): predicted category of each detection.
        pred_scores (Tensor[..., N]): its score (confidence) in ``[0, 1]``.
        gt_labels (Tensor[..., M]): category of each ground truth; leading dims broadcast.

    Returns:
        Tensor[..., N, M]: ``-score_i`` where ``pred_labels[i] == gt_labels[j]``, else 0.
    """
    if pred_labels.shape != pred_scores.shape:
        raise ValueError(
            f"pred_labels and pred_scores must have the same shape, got "
            f"{tuple(pred_labels.shape)} and {tuple(pred_scores.shape)}"
        )
    scores = pred_scores if pred_scores.is_floating_point() else pred_scores.to(torch.float32)
    same = pred_labels[..., :, None] == gt_labels[..., None, :]  # [..., N, M]
    return -torch.where(same, scores[..., :, None], 0.0)


# --- weights ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostWeights:
    """Weights of the terms of :func:`matching_cost` (a zero weight leaves the term out).

    ``cost = class_weight · class_cost + l1_weight · L1 + giou_weight · (1 - GIoU)
    + iou_weight · (1 - IoU)``.
    """

    class_weight: float = 0.0
    l1_weight: float = 0.0
    giou_weight: float = 0.0
    iou_weight: float = 0.0

    def __post_init__(self) -> None:
        for field, value in vars(self).items():
            if not value >= 0 or value == float("inf"):
                raise ValueError(f"{field} must be finite and non-negative, got {value!r}")


#: DETR (Carion et al., ECCV 2020): λ_class 2, λ_L1 5, λ_GIoU 2.
DETR_WEIGHTS = CostWeights(class_weight=2.0, l1_weight=5.0, giou_weight=2.0)
#: Deformable DETR (Zhu et al., ICLR 2021): λ_class 5, λ_L1 5, λ_GIoU 2.
DEFORMABLE_DETR_WEIGHTS = CostWeights(class_weight=5.0, l1_weight=5.0, giou_weight=2.0)
#: The paper's Figure 1: 1 - GIoU alone.
FIGURE1_WEIGHTS = CostWeights(giou_weight=1.0)
#: SSD (Liu et al., ECCV 2016): 1 - IoU alone.
SSD_WEIGHTS = CostWeights(iou_weight=1.0)


# --- the full cost matrix -----------------------------------------------------------------------


def matching_cost(
    pred_boxes_xyxy: Tensor,
    gt_boxes_xyxy: Tensor,
    *,
    background_cost: float | Tensor = 0.8,
    weights: CostWeights = FIGURE1_WEIGHTS,
    image_size: Sequence[float] | Tensor | None = None,
    class_cost: Tensor | None = None,
    gt_mask: Tensor | None = None,
) -> Tensor:
    """The cost matrix ``C`` of the transport problem, with the background column last.

    ``C[..., i, j] = class_weight · class_cost[..., i, j] + l1_weight · ‖b̂_i - b_j‖₁
    + giou_weight · (1 - GIoU(b̂_i, b_j)) + iou_weight · (1 - IoU(b̂_i, b_j))`` for ``j < M``, and
    ``C[..., i, M] = background_cost``. The L1 term compares boxes as ``cxcywh`` normalised by
    ``image_size``, as DETR does.

    Example (the paper's Figure 1, default arguments): prediction 4 ``(41, 52, 353, 283)`` and
    ground truth A ``(52, 22, 308, 328)`` have GIoU 0.6039, so ``C[3] = (0.3961, 0.6508, 0.8)``.

    Args:
        pred_boxes_xyxy (Tensor[..., N, 4]): predicted boxes in pixels.
        gt_boxes_xyxy (Tensor[..., M, 4]): ground-truth boxes in pixels; leading dims broadcast.
        background_cost (float or Tensor[..., N]): ``c∅``, the cost of sending a prediction to the
            background (Figure 1: 0.8; SSD: 0.5).
        weights (CostWeights): weights of the terms; default 1 - GIoU alone.
        image_size: ``(width, height)`` (or a tensor ``(..., 2)``, one size per image); needed
            only when ``weights.l1_weight > 0``.
        class_cost (Tensor[..., N, M], optional): a precomputed classification cost (see
            :func:`class_cost_from_probs`), multiplied by ``weights.class_weight``; needed only
            when ``weights.class_weight > 0``.
        gt_mask (BoolTensor[..., M], optional): True for real ground truths, False for padding.
            Padded columns of the result are 0.0.

    Returns:
        Tensor[..., N, M + 1]: the cost matrix, in the floating dtype of the boxes.

    Raises:
        ValueError: on inconsistent shapes, when ``l1_weight > 0`` and ``image_size`` is None, or
            when ``class_weight > 0`` and ``class_cost`` is None.
    """
    pred, gt = _float_pair(pred_boxes_xyxy, gt_boxes_xyxy)
    _check_boxes_shape(pred, "pred_boxes_xyxy", "N")
    _check_boxes_shape(gt, "gt_boxes_xyxy", "M")
    n, m = pred.shape[-2], gt.shape[-2]
    shapes = [pred.shape[:-2], gt.shape[:-2]]

    if weights.l1_weight > 0 and image_size is None:
        raise ValueError(
            "weights.l1_weight > 0 needs image_size=(width, height) to normalise the boxes"
        )
    if weights.class_weight > 0 and class_cost is None:
        raise ValueError(
            "weights.class_weight > 0 needs class_cost, e.g. from class_cost_from_probs()"
        )
    if class_cost is not None:
        if class_cost.dim() < 2 or tuple(class_cost.shape[-2:]) != (n, m):
            raise ValueError(
                f"class_cost must have shape (..., N, M) = (..., {n}, {m}), "
                f"got {tuple(class_cost.shape)}"
            )
        shapes.append(class_cost.shape[:-2])
    if gt_mask is not None:
        if gt_mask.dtype != torch.bool or gt_mask.dim() < 1 or gt_mask.shape[-1] != m:
            raise ValueError(
                f"gt_mask must be a bool tensor of shape (..., M) = (..., {m}), "
                f"got {gt_mask.dtype} {tuple(gt_mask.shape)}"
            )
        shapes.append(gt_mask.shape[:-1])
    background = torch.as_tensor(background_cost, dtype=pred.dtype, device=pred.device)
    if background.dim() > 0:
        if background.shape[-1] != n:
            raise ValueError(
                f"background_cost must be a float or a tensor of shape (..., N) = (..., {n}), "
                f"got {tuple(background.shape)}"
            )
        shapes.append(background.shape[:-1])
    batch = _broadcast(*shapes)

    cost = torch.zeros((n, m), dtype=pred.dtype, device=pred.device)
    if weights.giou_weight > 0:
        cost = cost + weights.giou_weight * giou_cost(pred, gt)
    if weights.iou_weight > 0:
        cost = cost + weights.iou_weight * iou_cost(pred, gt)
    if weights.l1_weight > 0:
        cost = cost + weights.l1_weight * l1_cost(
            normalize_cxcywh(pred, image_size), normalize_cxcywh(gt, image_size)
        )
    if weights.class_weight > 0:
        cost = cost + weights.class_weight * class_cost.to(pred.dtype)
    if gt_mask is not None:
        # where() rather than masked_fill: it also broadcasts cost up to the mask's batch dims
        cost = torch.where(gt_mask[..., None, :], cost, 0.0)  # mask: [..., 1, M]

    if background.dim() == 0:
        background = background.expand(*batch, n, 1)
    else:
        background = background[..., None].expand(*batch, n, 1)  # [..., N, 1]
    return torch.cat((cost.expand(*batch, n, m), background), dim=-1)


def anchor_cost(
    anchors_xyxy: Tensor,
    gt_xyxy: Tensor,
    background_cost: float | Tensor = 0.5,
    gt_mask: Tensor | None = None,
) -> Tensor:
    """SSD's matching cost: ``1 - IoU`` between anchors and ground truths, with a ``∅`` column.

    SSD matches its fixed default boxes (anchors, see :mod:`uotviz.anchors`), not the predicted
    boxes, to the ground truths; ``c∅ = 0.5`` makes an anchor prefer the background unless it
    overlaps a ground truth with IoU above 0.5 (MATH.md §4).

    Args:
        anchors_xyxy (Tensor[A, 4]): anchors in pixels.
        gt_xyxy (Tensor[..., M, 4]): ground-truth boxes in pixels.
        background_cost (float or Tensor[..., A]): ``c∅``.
        gt_mask (BoolTensor[..., M], optional): True for real ground truths.

    Returns:
        Tensor[..., A, M + 1]: see :func:`matching_cost`.
    """
    return matching_cost(
        anchors_xyxy,
        gt_xyxy,
        background_cost=background_cost,
        weights=SSD_WEIGHTS,
        gt_mask=gt_mask,
    )


# --- batches ------------------------------------------------------------------------------------


def pad_ground_truths(
    boxes_list: Sequence[Tensor], labels_list: Sequence[Tensor] | None = None
) -> tuple[Tensor, Tensor | None, Tensor]:
    """Stack per-image ground truths of different lengths into padded batch tensors.

    Args:
        boxes_list: ``B`` tensors of shape ``(M_b, 4)``; an image without ground truth may give
            ``(0, 4)`` or an empty ``(0,)`` tensor.
        labels_list: optionally ``B`` integer tensors of shape ``(M_b,)``.

    Returns:
        ``(boxes, labels, mask)``: ``boxes`` (Tensor[B, Mmax, 4]) padded with zeros,
        ``labels`` (LongTensor[B, Mmax], padded with 0) or None, and ``mask``
        (BoolTensor[B, Mmax]), True for real ground truths. Padded values mean nothing: always
        go through ``mask``. ``Mmax = 0`` when no image has a ground truth.
    """
    boxes_list = [b.reshape(0, 4) if b.numel() == 0 and b.dim() == 1 else b for b in boxes_list]
    for b, boxes in enumerate(boxes_list):
        if boxes.dim() != 2 or boxes.shape[-1] != 4:
            raise ValueError(f"boxes_list[{b}] must have shape (M, 4), got {tuple(boxes.shape)}")
    if labels_list is not None:
        if len(labels_list) != len(boxes_list):
            raise ValueError(
                f"labels_list has {len(labels_list)} entries but boxes_list has {len(boxes_list)}"
            )
        for b, (boxes, labels) in enumerate(zip(boxes_list, labels_list, strict=True)):
            if tuple(labels.shape) != (boxes.shape[0],):
                raise ValueError(
                    f"labels_list[{b}] must have shape ({boxes.shape[0]},), "
                    f"got {tuple(labels.shape)}"
                )

    count = len(boxes_list)
    m_max = max((boxes.shape[0] for boxes in boxes_list), default=0)
    dtype = torch.float32
    for boxes in boxes_list:
        if boxes.is_floating_point():
            dtype = torch.promote_types(dtype, boxes.dtype)
    device = boxes_list[0].device if boxes_list else None

    padded = torch.zeros((count, m_max, 4), dtype=dtype, device=device)
    mask = torch.zeros((count, m_max), dtype=torch.bool, device=device)
    labels = None
    if labels_list is not None:
        labels = torch.zeros((count, m_max), dtype=torch.long, device=device)
    for b, boxes in enumerate(boxes_list):
        m = boxes.shape[0]
        padded[b, :m] = boxes
        mask[b, :m] = True
        if labels is not None:
            labels[b, :m] = labels_list[b]
    return padded, labels, mask


def normalise_cost(cost: Tensor, gt_mask: Tensor | None = None) -> Tensor:
    """Divide each image's cost matrix by the maximum of its real entries.

    The paper trains with costs divided by their maximum, so that one ε heuristic fits every
    image (MATH.md §1); its Figure 1, and uotviz by default, use the raw costs. The maximum runs
    over every prediction and every real column, ``∅`` included, and ignores padded columns. A
    matrix whose maximum is not positive (all zeros, say) is returned unchanged.

    Args:
        cost (Tensor[..., N, M + 1]): from :func:`matching_cost`, ``∅`` last.
        gt_mask (BoolTensor[..., M], optional): True for real ground truths.

    Returns:
        Tensor[..., N, M + 1]: the normalised cost (padded columns are divided too: 0 stays 0).
    """
    if cost.dim() < 2:
        raise ValueError(f"cost must have shape (..., N, M + 1), got {tuple(cost.shape)}")
    if cost.shape[-2] == 0:
        return cost.clone()
    real = cost
    if gt_mask is not None:
        if gt_mask.shape[-1] != cost.shape[-1] - 1:
            raise ValueError(
                f"gt_mask must have shape (..., M) = (..., {cost.shape[-1] - 1}), "
                f"got {tuple(gt_mask.shape)}"
            )
        keep = torch.cat((gt_mask, gt_mask.new_ones((*gt_mask.shape[:-1], 1))), dim=-1)
        real = cost.masked_fill(~keep[..., None, :], float("-inf"))  # keep: [..., 1, M + 1]
    peak = real.amax(dim=(-2, -1), keepdim=True)  # [..., 1, 1]
    return cost / torch.where(peak > 0, peak, torch.ones_like(peak))


# --- helpers ------------------------------------------------------------------------------------


def _float_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    dtype = torch.promote_types(
        a.dtype if a.is_floating_point() else torch.float32,
        b.dtype if b.is_floating_point() else torch.float32,
    )
    return a.to(dtype), b.to(dtype)


def _check_boxes_shape(boxes: Tensor, name: str, rows: str) -> None:
    if boxes.dim() < 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., {rows}, 4), got {tuple(boxes.shape)}")


def _broadcast(*shapes: Sequence[int]) -> torch.Size:
    try:
        return torch.broadcast_shapes(*shapes)
    except RuntimeError as error:
        raise ValueError(
            f"batch dimensions do not broadcast: {[tuple(s) for s in shapes]}"
        ) from error
