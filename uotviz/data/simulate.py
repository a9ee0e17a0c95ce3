"""Simulated predictions, so that plain COCO annotations can be matched without a detector.

Two simulators, both returning :class:`uotviz.data.types.Predictions`:

- :func:`simulate_detr`: a seeded DETR-like set of exactly ``num_queries`` predictions (Carion et
  al., ECCV 2020): jittered copies of the ground truths (the first one confident, further copies,
  the duplicates, less so), objects missed entirely, and background junk, each query with a full
  class distribution whose last column is "no object". This is the situation the paper's
  Figure 1 illustrates: more predictions than objects, some redundant, some on nothing.
- :func:`simulate_anchors`: the SSD default boxes (Liu et al., ECCV 2016) scaled to the image, to
  be matched with SSD's cost ``1 - IoU`` and ``c∅ = 0.5`` (:func:`uotviz.costs.anchor_cost`,
  MATH.md §4).

Conventions (those of :mod:`uotviz.data.types`): boxes are ``xyxy`` pixels of the image, float32;
labels are COCO category ids (int64, ``-1`` for none); probabilities and scores are float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from uotviz.anchors import ssd300_anchors, ssd512_anchors
from uotviz.boxes import box_iou
from uotviz.data.types import GroundTruths, Predictions

__all__ = ["ANCHOR_KINDS", "simulate_anchors", "simulate_detr"]

#: The anchor sets :func:`simulate_anchors` knows.
ANCHOR_KINDS = ("ssd300", "ssd512")

# Coordinates snap to 1/64 pixel: float32 then holds them, and their differences, exactly (below
# 2**17 pixels), so the one-pixel minimum size survives the cast from float64.
_GRID = 64.0
# Beta laws of the class confidences have this concentration (a + b): a spread of about ±0.1.
_CONCENTRATION = 10.0
# At most this share of a query's non-target probability goes to the other real classes; the rest
# goes to "no object".
_OTHER_CLASS_SHARE = 0.2
# Background junk: each box is the least overlapping (with the ground truths) of this many random
# candidates, whose side is log-uniform in this range (relative to sqrt(width · height)) and whose
# width / height ratio lies between 1/3 and 3.
_JUNK_TRIES = 8
_JUNK_SIDE = (0.03, 0.4)
_JUNK_ASPECT = 3.0


def simulate_detr(
    ground_truths: GroundTruths,
    image_size: Sequence[float],
    *,
    num_queries: int = 100,
    class_ids: Sequence[int] | None = None,
    seed: int = 0,
    miss_rate: float = 0.15,
    duplicate_prob: float = 0.3,
    max_copies: int = 3,
    jitter: float = 0.1,
    junk_fraction: float = 0.1,
    confidence: float = 0.85,
    duplicate_confidence: float = 0.35,
    junk_confidence: float = 0.05,
    confusion: float = 0.05,
) -> Predictions:
    """A seeded DETR-like query set of exactly ``num_queries`` predictions for one image.

    The ``M`` ground truths that are not crowd regions (``iscrowd``) are the objects; crowd
    regions are never copied (COCO evaluation leaves them out of matching too). Then:

    1. **Misses.** ``miss_rate · M`` objects, rounded at random to one of the two nearest counts
       (exactly 3 of 20 at the default 0.15), chosen uniformly, get no prediction at all.
    2. **Copies.** Every other object gets one copy, then a second with probability
       ``duplicate_prob``, a third (given a second) with the same probability, and so on up to
       ``max_copies``. Each copy is the object's box with its centre moved by
       ``N(0, jitter · w)``, ``N(0, jitter · h)`` and its width and height multiplied by
       ``exp(N(0, jitter))``.
    3. **Junk.** At least ``junk_fraction · num_queries`` queries (rounded) are background junk,
       and so is every query that no copy takes. A junk box has a random size and place, the
       least overlapping with the ground truths of a few random tries, so it mostly sits on the
       background. When the copies outnumber the remaining queries, every object first gets one
       query (a random subset of the objects, if even that is too many), then the duplicates.
    4. **Classes.** Each query has a full distribution over the ``K`` classes ``class_ids`` and
       "no object" (last column). A copy puts ``Beta``-distributed probability (mean
       ``confidence`` for the first copy, ``duplicate_confidence`` for the others) on the
       object's class or, with probability ``confusion``, on a random other class; a junk query
       puts mean ``junk_confidence`` on a random class. Of the rest, at most a fifth spreads over
       the other classes and the remainder goes to "no object".

    The queries come in a random order, as DETR's do not follow the objects. ``labels`` is the
    most probable real class (its COCO id) and ``scores`` that probability; with no class at all
    (``K = 0``), labels are -1 and scores 0.

    Determinism: the draws come from ``numpy.random.default_rng`` streams spawned from ``seed``,
    never from global random state, so the same inputs and seed give bit-identical tensors. Each
    step (misses, copies, jitter, junk boxes, classes, order) has its own stream, drawn per object
    and copy or per query, so that moving one knob (say ``miss_rate``) leaves the draws of the
    other steps in place: the surviving copies keep their boxes and the junk its places.

    Args:
        ground_truths: the image's annotations (``xyxy`` pixels).
        image_size: ``(width, height)`` in pixels, each at least 1.
        num_queries: ``N``, the number of predictions (DETR: 100).
        class_ids: the COCO category ids of the ``K`` real classes of ``class_probs``, in column
            order; default: the sorted labels of the ground truths. Must hold every label of a
            non-crowd ground truth.
        seed: a non-negative integer.
        miss_rate: share of the objects with no prediction, in [0, 1].
        duplicate_prob: probability of each further copy of a detected object, in [0, 1].
        max_copies: most copies of one object, at least 1.
        jitter: box noise relative to the object's size, >= 0 (0: exact copies).
        junk_fraction: least share of the queries kept for background junk, in [0, 1].
        confidence: mean probability of the target class on an object's first copy, in (0, 1).
        duplicate_confidence: the same for further copies, in (0, 1).
        junk_confidence: the same for junk queries, in (0, 1).
        confusion: probability that a copy's confidence goes to a wrong class, in [0, 1].

    Returns:
        Predictions with ``boxes`` (N, 4) float32 ``xyxy`` pixels inside the image, each at least
        one pixel wide and high (coordinates on a 1/64-pixel grid); ``class_probs`` (N, K + 1)
        float32, rows summing to 1; ``class_ids`` (K,) int64; ``labels`` (N,) int64; ``scores``
        (N,) float32; ``source`` ``"simulated (seed S)"``.

    Raises:
        ValueError: on a bad image size, knob, ``class_ids`` or ground-truth shape.

    Example:
        >>> gts = GroundTruths(
        ...     boxes=torch.tensor([[10.0, 20.0, 110.0, 220.0]]),
        ...     labels=torch.tensor([1]),
        ...     iscrowd=torch.tensor([False]),
        ...     annotation_ids=torch.tensor([7]),
        ... )
        >>> preds = simulate_detr(gts, (640, 480), num_queries=10)
        >>> preds.boxes.shape, preds.class_probs.shape, preds.class_ids.tolist()
        (torch.Size([10, 4]), torch.Size([10, 2]), [1])
    """
    width, height = _check_image_size(image_size)
    _check_knobs(
        num_queries=num_queries,
        seed=seed,
        max_copies=max_copies,
        jitter=jitter,
        closed={
            "miss_rate": miss_rate,
            "duplicate_prob": duplicate_prob,
            "junk_fraction": junk_fraction,
            "confusion": confusion,
        },
        open_={
            "confidence": confidence,
            "duplicate_confidence": duplicate_confidence,
            "junk_confidence": junk_confidence,
        },
    )
    gt_boxes, gt_labels, crowd = _ground_truth_arrays(ground_truths)
    ids = _class_ids(class_ids, gt_labels[~crowd])
    k = len(ids)
    rng_miss, rng_copy, rng_jitter, rng_junk, rng_class, rng_order = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )

    # 1. misses: a random order of the objects; the first n_miss are missed
    objects = np.flatnonzero(~crowd)
    m = len(objects)
    n_miss = min(m, math.floor(miss_rate * m + rng_miss.random()))
    missed = np.zeros(m, dtype=bool)
    missed[rng_miss.permutation(m)[:n_miss]] = True

    # 2. copies: copy c of object i exists when the first c - 1 duplicate draws all succeeded
    extra = rng_copy.random((m, max_copies - 1)) < duplicate_prob
    num_copies = 1 + np.cumprod(extra, axis=1).sum(axis=1)  # [M]
    priority = rng_copy.permutation(m)  # who keeps a query when they run out
    object_index, copy_index = np.nonzero(np.arange(max_copies)[None, :] < num_copies[:, None])
    kept = ~missed[object_index]
    object_index, copy_index = object_index[kept], copy_index[kept]
    order = np.lexsort((priority[object_index], copy_index))  # first copies first
    n_junk_min = min(num_queries, math.floor(junk_fraction * num_queries + 0.5))
    order = order[: num_queries - n_junk_min]
    object_index, copy_index = object_index[order], copy_index[order]
    n_copies = len(order)

    noise = rng_jitter.standard_normal((m, max_copies, 4))  # per object and copy
    copy_boxes = _jitter(gt_boxes[objects[object_index]], noise[object_index, copy_index], jitter)
    copy_boxes = _fit_to_image(copy_boxes, width, height)

    # 3. junk: every query left
    n_junk = num_queries - n_copies
    junk_boxes = _junk_boxes(rng_junk, num_queries, gt_boxes, width, height)[:n_junk]

    # 4. classes, drawn per object and copy, and per query for the junk
    sorter = np.argsort(ids)
    label_column = sorter[np.searchsorted(ids, gt_labels[objects], sorter=sorter)]  # [M]
    copy_probs = _class_rows(
        rng_class,
        shape=(m, max_copies),
        k=k,
        true_column=np.broadcast_to(label_column[:, None], (m, max_copies)),
        mean=np.where(np.arange(max_copies) == 0, confidence, duplicate_confidence),
        confusion=confusion,
    )[object_index, copy_index]
    junk_probs = _class_rows(
        rng_class,
        shape=(num_queries,),
        k=k,
        true_column=None,
        mean=np.full(num_queries, junk_confidence),
        confusion=0.0,
    )[:n_junk]

    shuffle = rng_order.permutation(num_queries)
    boxes = torch.from_numpy(np.concatenate((copy_boxes, junk_boxes))[shuffle]).to(torch.float32)
    probs = torch.from_numpy(np.concatenate((copy_probs, junk_probs))[shuffle]).to(torch.float32)
    class_ids_t = torch.from_numpy(ids)
    if k:
        scores, column = probs[:, :k].max(dim=1)
        labels = class_ids_t[column]
    else:
        scores = torch.zeros(num_queries, dtype=torch.float32)
        labels = torch.full((num_queries,), -1, dtype=torch.int64)
    return Predictions(
        boxes=boxes,
        scores=scores,
        labels=labels,
        class_probs=probs,
        class_ids=class_ids_t,
        source=f"simulated (seed {seed})",
    )


def simulate_anchors(image_size: Sequence[float], kind: str = "ssd300") -> Predictions:
    """The SSD default boxes scaled to the image, as "predictions" for anchor-based matching.

    SSD matches its fixed default boxes, not its outputs, to the ground truths, with the cost
    ``1 - IoU`` and ``c∅ = 0.5`` (:func:`uotviz.costs.anchor_cost`, MATH.md §4). The anchors carry
    no class: ``labels`` are -1, ``scores`` 1, ``class_probs`` and ``class_ids`` None.

    Args:
        image_size: ``(width, height)`` in pixels; the anchors, laid out on SSD's square input,
            are scaled to it (see :mod:`uotviz.anchors`).
        kind: ``"ssd300"`` (8 732 anchors) or ``"ssd512"`` (24 564 anchors).

    Returns:
        Predictions with ``boxes`` (A, 4) float32 ``xyxy`` pixels clipped to the image, ``scores``
        (A,) float32 ones, ``labels`` (A,) int64 -1, and ``source`` naming the anchor set, e.g.
        ``"SSD300 default boxes (8732 anchors)"``.

    Raises:
        ValueError: if ``kind`` is not one of :data:`ANCHOR_KINDS` or the size is not positive.
    """
    if kind not in ANCHOR_KINDS:
        raise ValueError(f"kind={kind!r} is not an anchor set; expected one of {ANCHOR_KINDS}")
    make = ssd300_anchors if kind == "ssd300" else ssd512_anchors
    boxes = make(tuple(image_size))
    count = len(boxes)
    return Predictions(
        boxes=boxes,
        scores=torch.ones(count, dtype=torch.float32),
        labels=torch.full((count,), -1, dtype=torch.int64),
        source=f"{kind.upper()} default boxes ({count} anchors)",
    )


# --- checks -------------------------------------------------------------------------------------


def _check_image_size(image_size: Sequence[float]) -> tuple[float, float]:
    size = tuple(image_size)
    if len(size) != 2 or not all(math.isfinite(v) and v >= 1 for v in size):
        raise ValueError(f"image_size must be (width, height), each at least 1 pixel, got {size}")
    return float(size[0]), float(size[1])


def _check_knobs(
    *,
    num_queries: int,
    seed: int,
    max_copies: int,
    jitter: float,
    closed: dict[str, float],
    open_: dict[str, float],
) -> None:
    for name, value, least in (("num_queries", num_queries, 0), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if isinstance(max_copies, bool) or not isinstance(max_copies, int) or max_copies < 1:
        raise ValueError(f"max_copies must be an integer >= 1, got {max_copies!r}")
    if not (math.isfinite(jitter) and jitter >= 0):
        raise ValueError(f"jitter must be finite and >= 0, got {jitter!r}")
    for name, value in closed.items():
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    for name, value in open_.items():
        if not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), got {value!r}")


def _ground_truth_arrays(ground_truths: GroundTruths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    boxes = ground_truths.boxes.detach().to("cpu", torch.float64).numpy()
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"ground_truths.boxes must have shape (M, 4), got {boxes.shape}")
    m = len(boxes)
    labels = ground_truths.labels.detach().cpu().numpy().astype(np.int64)
    crowd = ground_truths.iscrowd.detach().cpu().numpy().astype(bool)
    if labels.shape != (m,) or crowd.shape != (m,):
        raise ValueError(
            f"ground_truths.labels and .iscrowd must have shape ({m},), "
            f"got {labels.shape} and {crowd.shape}"
        )
    return boxes, labels, crowd


def _class_ids(class_ids: Sequence[int] | None, object_labels: np.ndarray) -> np.ndarray:
    """The class ids as int64, in the given order; default the sorted labels of the objects."""
    if class_ids is None:
        return np.unique(object_labels).astype(np.int64)
    ids = np.array(class_ids, dtype=np.int64).reshape(-1)  # a copy: the result must not alias it
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"class_ids must be distinct, got {ids.tolist()}")
    missing = np.setdiff1d(object_labels, ids)
    if len(missing):
        raise ValueError(
            f"class_ids must hold every ground-truth label; missing {missing.tolist()}"
        )
    return ids


# --- boxes --------------------------------------------------------------------------------------


def _jitter(boxes: np.ndarray, noise: np.ndarray, scale: float) -> np.ndarray:
    """Jitter (n, 4) xyxy boxes with (n, 4) standard normal ``noise`` and the ``jitter`` knob.

    Centres move by ``scale · size · noise[:, :2]``; sizes are multiplied by
    ``exp(scale · noise[:, 2:])``.
    """
    size = boxes[:, 2:] - boxes[:, :2]  # [n, 2]
    centre = 0.5 * (boxes[:, :2] + boxes[:, 2:]) + scale * size * noise[:, :2]
    half = 0.5 * size * np.exp(scale * noise[:, 2:])
    return np.concatenate((centre - half, centre + half), axis=1)


def _fit_to_image(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Snap outwards to the 1/64-pixel grid, clip to the image, widen to at least one pixel."""
    bounds = np.floor(np.array([width, height]) * _GRID) / _GRID  # on the grid, >= 1
    low = np.clip(np.floor(boxes[:, :2] * _GRID) / _GRID, 0.0, bounds)
    high = np.clip(np.ceil(boxes[:, 2:] * _GRID) / _GRID, 0.0, bounds)
    small = ~(high - low >= 1.0)  # also catches inverted boxes
    centre = 0.5 * (low + high)
    start = np.clip(np.floor((centre - 0.5) * _GRID) / _GRID, 0.0, bounds - 1.0)
    low = np.where(small, start, low)
    high = np.where(small, start + 1.0, high)
    return np.concatenate((low, high), axis=1)


def _junk_boxes(
    rng: np.random.Generator, count: int, gt_boxes: np.ndarray, width: float, height: float
) -> np.ndarray:
    """``count`` boxes, each the least overlapping with ``gt_boxes`` of a few random tries."""
    tries = (count, _JUNK_TRIES)
    side = math.sqrt(width * height) * np.exp(rng.uniform(*np.log(_JUNK_SIDE), size=tries))
    aspect = np.exp(rng.uniform(-math.log(_JUNK_ASPECT), math.log(_JUNK_ASPECT), size=tries))
    size = np.stack((side * np.sqrt(aspect), side / np.sqrt(aspect)), axis=-1)  # [n, T, 2]
    size = np.minimum(size, [width, height])
    centre = rng.uniform(0.0, 1.0, size=(*tries, 2)) * [width, height]
    candidates = np.concatenate((centre - 0.5 * size, centre + 0.5 * size), axis=-1)
    candidates = _fit_to_image(candidates.reshape(-1, 4), width, height).reshape(*tries, 4)
    if count == 0 or len(gt_boxes) == 0:
        return candidates[:, 0]
    iou = box_iou(torch.from_numpy(candidates.reshape(-1, 4)), torch.from_numpy(gt_boxes))
    overlap = iou.max(dim=1).values.numpy().reshape(tries)  # [n, T]
    return candidates[np.arange(count), overlap.argmin(axis=1)]


# --- classes ------------------------------------------------------------------------------------


def _class_rows(
    rng: np.random.Generator,
    *,
    shape: tuple[int, ...],
    k: int,
    true_column: np.ndarray | None,
    mean: np.ndarray,
    confusion: float,
) -> np.ndarray:
    """Class distributions of shape ``shape + (k + 1,)``, float64, "no object" last.

    Each row puts ``Beta`` probability of mean ``mean`` (broadcast to ``shape``) on its target
    column: ``true_column``, or with probability ``confusion`` another one (None: uniform).
    """
    # every draw is made whatever confusion is, so the stream does not depend on it
    target_mass = rng.beta(mean * _CONCENTRATION, (1.0 - mean) * _CONCENTRATION, size=shape)
    other_share = _OTHER_CLASS_SHARE * rng.random(shape)
    confused = rng.random(shape) < confusion
    offset = rng.integers(1, max(k, 2), size=shape)  # a column other than the true one
    uniform = rng.integers(0, max(k, 1), size=shape)
    weights = rng.standard_exponential((*shape, max(k, 1)))  # Dirichlet(1, ..., 1) by normalising

    rows = np.zeros((*shape, k + 1))
    if k == 0:
        rows[..., 0] = 1.0
        return rows
    if true_column is None:
        target = uniform
    else:
        target = np.where(confused & (k > 1), (true_column + offset) % k, true_column)
    one_hot = np.arange(k) == target[..., None]  # [..., K]
    rest = 1.0 - target_mass
    if k > 1:
        weights = np.where(one_hot, 0.0, weights[..., :k])
        weights = weights / np.maximum(weights.sum(axis=-1, keepdims=True), 1e-300)
        rows[..., :k] = (rest * other_share)[..., None] * weights
        rest = rest * (1.0 - other_share)
    rows[..., :k] = np.where(one_hot, target_mass[..., None], rows[..., :k])
    rows[..., k] = rest
    return rows
