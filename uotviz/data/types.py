"""The interchange types: an image with its ground truths and predictions, and a load report.

Conventions: boxes are ``xyxy`` pixels of the image as stored (float32 tensors, shape (K, 4),
(0, 4) when empty); category ids are COCO's (any positive integers), ``-1`` where unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor


def _empty_boxes() -> Tensor:
    return torch.zeros((0, 4), dtype=torch.float32)


@dataclass(frozen=True)
class GroundTruths:
    """The annotated objects of one image.

    Attributes:
        boxes: (M, 4) xyxy pixels, float32.
        labels: (M,) int64 COCO category ids.
        iscrowd: (M,) bool; crowd regions are drawn but, as in COCO evaluation, left out of
            matching by default.
        annotation_ids: (M,) int64 ids of the annotations in their file (-1 when there is none).
    """

    boxes: Tensor = field(default_factory=_empty_boxes)
    labels: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.int64))
    iscrowd: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool))
    annotation_ids: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.int64))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


@dataclass(frozen=True)
class Predictions:
    """A detector's output for one image, in the form the cost builder takes directly.

    Attributes:
        boxes: (N, 4) xyxy pixels, float32.
        scores: (N,) float32 confidence of the predicted class, in [0, 1].
        labels: (N,) int64 predicted COCO category id (-1 for "no object" or unknown).
        class_probs: (N, K + 1) float32 class probabilities when the file carried the full
            distribution (raw set-prediction outputs, last column "no object"), else None.
        class_ids: (K,) int64 COCO category id of each of the first K columns of ``class_probs``,
            or None.
        source: where the predictions came from (a file name, "simulated (seed 0)", ...).
    """

    boxes: Tensor = field(default_factory=_empty_boxes)
    scores: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.float32))
    labels: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.int64))
    class_probs: Tensor | None = None
    class_ids: Tensor | None = None
    source: str = ""

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


@dataclass(frozen=True)
class Scene:
    """One image with its ground truths and predictions: what every view and cost works on.

    Attributes:
        image_id: COCO image id.
        file_name: the image's file name as written in the annotations.
        width, height: image size in pixels, from the annotations (checked against the file).
        ground_truths: the annotated objects.
        predictions: the detector's (or the simulator's) boxes, or None when there are none.
        categories: COCO category id -> name, for every id used above.
        image_path: the image file on disk, or None (no file, or an upload held in memory).
    """

    image_id: int
    file_name: str
    width: int
    height: int
    ground_truths: GroundTruths
    predictions: Predictions | None = None
    categories: dict[int, str] = field(default_factory=dict)
    image_path: Path | None = None


@dataclass
class LoadReport:
    """What a loader kept and what it skipped, with one message per problem.

    Every message names the file, the record (index or id) and what is wrong, e.g.
    ``"preds.json: record 12 (image_id 7): bbox width is -3, must be > 0"``.
    """

    loaded: int = 0
    skipped: int = 0
    messages: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Files refused as a whole while the rest loaded (a predictions file that cannot be used:
    the annotations are kept), one message each."""

    def skip(self, message: str) -> None:
        """Count one skipped record and keep its message."""
        self.skipped += 1
        self.messages.append(message)

    def merge(self, other: LoadReport) -> None:
        """Add another report's counts and messages to this one."""
        self.loaded += other.loaded
        self.skipped += other.skipped
        self.messages.extend(other.messages)
        self.refused.extend(other.refused)
