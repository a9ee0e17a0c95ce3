"""Per-image statistics of a matching over a whole dataset: the table ``python -m uotviz stats``
writes.

For every image that has predictions, the matching plan is computed as the app computes it
(:func:`uotviz.matching.build_matching_problem`, then :func:`uotviz.transport.solve`, with the
conventions of De Plaen et al., "Unbalanced Optimal Transport: A Unified Framework for Object
Detection", CVPR 2023: masses of Proposition 1, exact eps = 0 corners with ties split, ``M > N``)
and read as in the app (:func:`uotviz.matching.summarise`). A plan is ``N * P_hat``, ``(N, M+1)``,
rows the predictions, the last column the background ``∅``, "in units of one prediction": each
prediction sends one unit when its marginal is hard.

Columns of :func:`compute_stats` (one row per image with at least one prediction in the file,
in the order of the annotations' ``images`` list):

- ``image_id``, ``file_name``;
- ``n_predictions``: N, the predictions kept by the score threshold and top-k;
- ``n_ground_truths``: M, the ground truths matched (crowd regions are left out, as in the app);
- ``mass_to_background``: the sum of the ∅ column;
- ``unmatched_gt_mass``: the sum over ground truths of ``max(0, 1 - column sum)``;
- ``gt_multi``: how many ground truths receive at least 0.5 from each of two or more predictions;
- ``plan_difference`` (with a comparison setting): ``1/2 sum |P - Q|`` over every entry, ∅
  included, P the plan and Q the comparison plan;
- ``image_index``: the image's position in the annotations' ``images`` list (sorting by it gives
  the unsharded order);
- ``ignored_predictions`` (coco-eval only): the predictions COCOeval does not count.

**The coco-eval strategy** is pycocotools' own matching (``COCOeval.evaluateImg``, ``iouType
"bbox"``): per image and category, detections in decreasing score take the unmatched ground truth
of highest IoU at or above the threshold; area range "all", at most 100 detections per image and
category (pycocotools' ``maxDets[-1]``). It is drawn as a 0/1 plan on the same rows and columns:
a matched detection sends one unit to its ground truth, an unmatched one sends one unit to ∅. A
detection that COCOeval ignores (matched to a crowd region, which is then not a false positive)
or does not see (beyond the 100 best of its category, or of a category the annotations do not
have) sends nothing: its row is zero and it is counted in ``ignored_predictions``. So
``mass_to_background`` is COCOeval's number of false positives and ``unmatched_gt_mass`` its
number of missed (non-crowd) ground truths.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from pycocotools.cocoeval import COCOeval
from torch import Tensor

from uotviz.boxes import box_convert
from uotviz.data.coco import CocoIndex
from uotviz.data.dataset import Dataset
from uotviz.data.types import Scene
from uotviz.figure1 import PRESETS, Preset
from uotviz.matching import CostSettings, MatchingProblem, build_matching_problem, summarise
from uotviz.sliders import DEFAULT_PRESET, preset_by_name
from uotviz.transport.batch import DEFAULT_BATCH_SIZE, padded_batches, solve_batch

__all__ = [
    "COLUMNS",
    "STRATEGIES",
    "ImageMatching",
    "Setting",
    "StatsOptions",
    "coco_eval_plans",
    "compute_stats",
    "image_matching",
    "image_matchings",
    "images_with_predictions",
    "plan_difference",
    "plan_readings",
    "shard",
    "transport_plans",
]

COLUMNS = (
    "image_id",
    "file_name",
    "n_predictions",
    "n_ground_truths",
    "mass_to_background",
    "unmatched_gt_mass",
    "gt_multi",
    "plan_difference",
)
"""The table's leading columns, in order (``plan_difference`` only with a comparison); then
``image_index``, and ``ignored_predictions`` for the coco-eval strategy."""

STRATEGIES = ("uot", "coco-eval")
"""``uot``: the entropic unbalanced OT plan at a setting; ``coco-eval``: pycocotools' matching."""

MULTI_THRESHOLD = 0.5
"""A ground truth counts a prediction when it receives at least this much from it (units of one
prediction), as in the app's summary."""

IMAGES_PER_CHUNK = 1024
"""Images whose costs and plans are held in memory at once."""


@dataclass(frozen=True)
class Setting:
    """A point ``(eps, tau1, tau2)`` of the paper's parameter space (Definition 4)."""

    eps: float
    tau1: float
    tau2: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.eps) and self.eps >= 0):
            raise ValueError(f"eps must be a finite number >= 0, got {self.eps}")
        for name in ("tau1", "tau2"):
            value = getattr(self, name)
            if not value >= 0:  # NaN too
                raise ValueError(f"{name} must be >= 0 (inf allowed), got {value}")

    @classmethod
    def of(cls, preset: Preset) -> Setting:
        """The setting of a preset of :data:`uotviz.figure1.PRESETS`."""
        return cls(preset.eps, preset.tau1, preset.tau2)

    @classmethod
    def from_panel(cls, panel: str) -> Setting:
        """The setting of Figure 1's panel ``"c"`` .. ``"h"``; ValueError for another letter."""
        for preset in PRESETS:
            if preset.panel == panel:
                return cls.of(preset)
        panels = ", ".join(preset.panel for preset in PRESETS)
        raise ValueError(f"no preset for panel {panel!r}; choose one of {panels}")

    @classmethod
    def default(cls) -> Setting:
        """The setting of :data:`DEFAULT_PRESET`."""
        return cls.of(preset_by_name(DEFAULT_PRESET))


@dataclass(frozen=True)
class StatsOptions:
    """What :func:`compute_stats` computes.

    Attributes:
        strategy: one of :data:`STRATEGIES`.
        setting: the transport setting of the ``uot`` strategy (ignored by ``coco-eval``).
        compare: a second transport setting; adds ``plan_difference``.
        iou: the IoU threshold of ``coco-eval`` (a detection matches at IoU >= ``iou``).
        cost: the cost and the predictions kept, as in the app (anchors are not supported).
        device: where the transport problems are solved.
        shard: ``(k, n)``: only every n-th image from the k-th, in the unsharded order.
        batch_size: images per solver call.
    """

    strategy: str = "uot"
    setting: Setting = field(default_factory=Setting.default)
    compare: Setting | None = None
    iou: float = 0.5
    cost: CostSettings = field(default_factory=CostSettings)
    device: str = "cpu"
    shard: tuple[int, int] = (0, 1)
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if not 0 < self.iou <= 1:
            raise ValueError(f"iou must be in (0, 1], got {self.iou}")
        if self.cost.anchors is not None:
            raise ValueError("statistics are computed on predictions, not on anchors")
        k, n = self.shard
        if not 0 <= k < n:
            raise ValueError(f"shard must be K/N with 0 <= K < N, got {k}/{n}")


@dataclass(frozen=True)
class ImageMatching:
    """One image's matching problem with what the statistics and COCOeval need.

    Attributes:
        image_index: position in the annotations' ``images`` list.
        image_id, file_name: as in the annotations.
        problem: the app's matching problem (cost ``(N, M+1)``, rows and columns).
        labels: ``(N,)`` int64 category ids of the rows' predictions.
        boxes: ``(N, 4)`` float32 xyxy boxes of the rows' predictions, as loaded.
        scores: ``(N,)`` float32 scores of the rows' predictions.
        annotation_ids: ``(M,)`` int64 annotation ids of the columns' ground truths.
    """

    image_index: int
    image_id: int
    file_name: str
    problem: MatchingProblem
    labels: Tensor
    boxes: Tensor
    scores: Tensor
    annotation_ids: Tensor


# ----------------------------------------------------------------------------- which images


def images_with_predictions(dataset: Dataset) -> list[tuple[int, int]]:
    """``(image_index, image_id)`` of every image with at least one prediction in the file, in
    the annotations' order."""
    predictions = dataset.predictions or {}
    return [
        (position, image_id)
        for position, image_id in enumerate(dataset.image_ids())
        if len(predictions.get(image_id, ())) > 0
    ]


def shard(items: Sequence, k: int, n: int) -> list:
    """Every ``n``-th item from the ``k``-th: item ``r`` goes to shard ``r % n``, at position
    ``r // n``, so the shards 0..n-1 interleaved round-robin give ``items`` back."""
    if not 0 <= k < n:
        raise ValueError(f"shard must be K/N with 0 <= K < N, got {k}/{n}")
    return list(items[k::n])


def image_matching(scene: Scene, problem: MatchingProblem, image_index: int = 0) -> ImageMatching:
    """One image's :class:`ImageMatching`: ``problem`` built from ``scene`` (its predictions,
    not anchors or simulated ones, since its rows index ``scene.predictions``)."""
    predictions = scene.predictions
    if predictions is None or bool((problem.pred_index < 0).any()):
        raise ValueError("the matching problem's rows are not the scene's predictions")
    rows = problem.pred_index
    return ImageMatching(
        image_index=image_index,
        image_id=scene.image_id,
        file_name=scene.file_name,
        problem=problem,
        labels=predictions.labels[rows],
        boxes=predictions.boxes[rows],
        scores=predictions.scores[rows],
        annotation_ids=scene.ground_truths.annotation_ids[problem.gt_index],
    )


def image_matchings(
    dataset: Dataset, images: Sequence[tuple[int, int]], cost: CostSettings
) -> list[ImageMatching]:
    """The matching problem of each ``(image_index, image_id)`` under ``cost``."""
    matchings = []
    for image_index, image_id in images:
        scene = dataset.scene(image_id)
        problem = build_matching_problem(scene, cost)
        matchings.append(image_matching(scene, problem, image_index))
    return matchings


# ----------------------------------------------------------------------------- plans


def transport_plans(
    costs: Sequence[Tensor],
    setting: Setting,
    *,
    device: str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[Tensor]:
    """Each cost's plan ``(N_i, M_i + 1)`` (float64, CPU, units of one prediction), solved in
    padded batches on ``device``; each is :func:`uotviz.transport.solve`'s plan for that image
    (within its ``tol`` for the iterative settings), as in the app."""
    plans: list[Tensor | None] = [None] * len(costs)
    for batch in padded_batches(costs, batch_size=batch_size, device=device):
        solved = solve_batch(batch, setting.eps, setting.tau1, setting.tau2)
        for index, plan in zip(batch.indices, batch.unpad(solved), strict=True):
            plans[index] = plan.to(torch.float64)
    return plans  # type: ignore[return-value]


def _coco_evaluator(
    index: CocoIndex, detections: list[dict], image_ids: list[int], iou: float
) -> COCOeval:
    """pycocotools' evaluator of ``detections`` on ``image_ids``, run with IoU threshold ``iou``,
    area range "all" and its largest ``maxDets`` (100) only: the matches at that threshold are
    those of a full evaluation, which repeats them for the other thresholds and areas."""
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        results = index.coco.loadRes(detections)
        evaluator = COCOeval(index.coco, results, "bbox")
        params = evaluator.params
        params.imgIds = image_ids
        params.iouThrs = np.array([iou], dtype=np.float64)
        everything = params.areaRngLbl.index("all")
        params.areaRng = [params.areaRng[everything]]
        params.areaRngLbl = ["all"]
        params.maxDets = [params.maxDets[-1]]
        evaluator.evaluate()
    return evaluator


def coco_eval_plans(
    index: CocoIndex, matchings: Sequence[ImageMatching], iou: float
) -> tuple[list[Tensor], list[int]]:
    """pycocotools' evaluation matching of each image as a 0/1 plan ``(N, M + 1)`` (see the
    module docstring), and the number of predictions COCOeval ignores in each image.

    Detections are the rows' predictions (boxes as loaded, xywh for pycocotools), ids
    ``1..D`` in row order, image by image; matches are read from ``gtMatches`` (exact ids) and
    ``dtMatches``/``dtIgnore`` at the one threshold.
    """
    plans = [torch.zeros_like(m.problem.cost) for m in matchings]
    owner: list[tuple[int, int]] = []  # detection id - 1 -> (image position, row)
    detections: list[dict] = []
    for position, matching in enumerate(matchings):
        xywh = box_convert(matching.boxes.double(), "xyxy", "xywh").tolist()
        for row, (box, label, score) in enumerate(
            zip(xywh, matching.labels.tolist(), matching.scores.tolist(), strict=True)
        ):
            detections.append(
                {"image_id": matching.image_id, "category_id": label, "bbox": box, "score": score}
            )
            owner.append((position, row))
    counted = [torch.zeros(m.problem.cost.shape[0], dtype=torch.bool) for m in matchings]
    if detections:
        image_ids = [m.image_id for m in matchings]
        evaluator = _coco_evaluator(index, detections, image_ids, iou)
        columns = [{int(a): j for j, a in enumerate(m.annotation_ids.tolist())} for m in matchings]
        for record in evaluator.evalImgs:
            if record is None:
                continue
            for gt_id, det_id, ignored in zip(
                record["gtIds"], record["gtMatches"][0], record["gtIgnore"], strict=True
            ):
                if det_id > 0 and not ignored:
                    position, row = owner[int(det_id) - 1]
                    plans[position][row, columns[position][int(gt_id)]] = 1.0
            for det_id, matched, ignored in zip(
                record["dtIds"], record["dtMatches"][0], record["dtIgnore"][0], strict=True
            ):
                position, row = owner[int(det_id) - 1]
                if not ignored:
                    counted[position][row] = True
                    if matched == 0:
                        plans[position][row, -1] = 1.0
    ignored_counts = [int((~c).sum()) for c in counted]
    return plans, ignored_counts


# ----------------------------------------------------------------------------- readings


def plan_readings(plan: Tensor) -> dict[str, float | int]:
    """``mass_to_background``, ``unmatched_gt_mass`` and ``gt_multi`` of a plan ``(N, M+1)`` in
    units of one prediction, background last, read with the app's
    :func:`~uotviz.matching.summarise`."""
    summary = summarise(plan, threshold=MULTI_THRESHOLD)
    return {
        "mass_to_background": summary.background_mass,
        "unmatched_gt_mass": float(summary.unmatched_gt_mass.sum()),
        "gt_multi": int((summary.predictions_per_gt >= 2).sum()),
    }


def plan_difference(plan: Tensor, other: Tensor) -> float:
    """``1/2 sum |P - Q|`` over every entry, ∅ included, of two plans of the same shape, in
    units of one prediction (two balanced plans differ by at most N)."""
    return 0.5 * float((plan.double() - other.double()).abs().sum())


# ----------------------------------------------------------------------------- the table


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def compute_stats(
    dataset: Dataset,
    options: StatsOptions,
    progress: Callable[[int], None] | None = None,
    *,
    each_plan: Callable[[ImageMatching, Tensor], None] | None = None,
) -> pd.DataFrame:
    """The statistics table (see the module docstring) of the images of ``options.shard``.

    Args:
        dataset: ground truths with predictions (an image absent from the predictions is left
            out of the table).
        options: strategy, settings, cost, device and shard.
        progress: called with the number of images just finished, as they finish.
        each_plan: called with every image's matching and the plan its row reads (``(N, M+1)``
            on the CPU, units of one prediction), in the table's order.

    Returns:
        One row per image with predictions in the shard, in the annotations' order.
    """
    images = shard(images_with_predictions(dataset), *options.shard)
    rows: list[dict] = []
    for chunk in _chunks(images, IMAGES_PER_CHUNK):
        matchings = image_matchings(dataset, chunk, options.cost)
        costs = [m.problem.cost for m in matchings]
        solver = {"device": options.device, "batch_size": options.batch_size}
        ignored: list[int] | None = None
        if options.strategy == "coco-eval":
            plans, ignored = coco_eval_plans(dataset.index, matchings, options.iou)
        else:
            plans = transport_plans(costs, options.setting, **solver)
        others = None
        if options.compare is not None:
            others = transport_plans(costs, options.compare, **solver)
        for k, (matching, plan) in enumerate(zip(matchings, plans, strict=True)):
            row = {
                "image_id": matching.image_id,
                "file_name": matching.file_name,
                "n_predictions": plan.shape[0],
                "n_ground_truths": plan.shape[1] - 1,
                **plan_readings(plan),
            }
            if others is not None:
                row["plan_difference"] = plan_difference(plan, others[k])
            row["image_index"] = matching.image_index
            if ignored is not None:
                row["ignored_predictions"] = ignored[k]
            rows.append(row)
            if each_plan is not None:
                each_plan(matching, plan)
        if progress is not None:
            progress(len(chunk))
    return _table(rows, options)


def _table(rows: list[dict], options: StatsOptions) -> pd.DataFrame:
    """The rows as a frame with the columns in order and fixed dtypes (also when empty)."""
    columns = [c for c in COLUMNS if c != "plan_difference" or options.compare is not None]
    columns.append("image_index")
    if options.strategy == "coco-eval":
        columns.append("ignored_predictions")
    dtypes = {
        "image_id": "int64",
        "file_name": "str",
        "n_predictions": "int64",
        "n_ground_truths": "int64",
        "mass_to_background": "float64",
        "unmatched_gt_mass": "float64",
        "gt_multi": "int64",
        "plan_difference": "float64",
        "image_index": "int64",
        "ignored_predictions": "int64",
    }
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({c: dtypes[c] for c in columns})
