"""A dataset's statistics read as a whole: the headline, the row filters and the distributions
of the Dataset page.

The table is :func:`uotviz.stats.compute_stats`'s (its columns are :data:`uotviz.stats.COLUMNS`);
masses are in units of one prediction, as there. The distributions are read from the same plans
the table reads (:func:`uotviz.stats.compute_stats`'s ``each_plan``), with the same threshold
(:data:`uotviz.stats.MULTI_THRESHOLD`) for "a prediction counts for a ground truth".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from torch import Tensor

from uotviz.stats import COLUMNS, MULTI_THRESHOLD, ImageMatching

__all__ = [
    "DIFFERENCE_TOLERANCE",
    "NUMERIC_COLUMNS",
    "Headline",
    "PlanDistributions",
    "differing",
    "filter_rows",
    "headline",
]

DIFFERENCE_TOLERANCE = 1e-3
"""An image's two plans differ when ``plan_difference`` exceeds this (units of one prediction):
plans solved iteratively agree within the solver's tolerance (1e-6 per entry), never exactly."""

NUMERIC_COLUMNS = (*COLUMNS[2:], "ignored_predictions")  # all but image_id and file_name
"""The columns a row filter may set a minimum on (those of the table that are counts or
masses), in the table's order."""


@dataclass(frozen=True)
class Headline:
    """A table's totals.

    Attributes:
        images, predictions, ground_truths: numbers of rows, and sums of ``n_predictions`` and
            ``n_ground_truths``.
        mass_to_background: sum of ``mass_to_background``.
        images_with_multi: rows with ``gt_multi >= 1``.
        images_differing: rows whose plans differ (:func:`differing`); None without a
            ``plan_difference`` column.
        most_different: up to ``most`` ``(image_id, file_name, plan_difference)`` of differing
            rows, largest difference first (ties by table order).
    """

    images: int
    predictions: int
    ground_truths: int
    mass_to_background: float
    images_with_multi: int
    images_differing: int | None = None
    most_different: tuple[tuple[int, str, float], ...] = ()


def differing(frame: pd.DataFrame) -> pd.Series:
    """Whether each row's two plans differ (``plan_difference >`` :data:`DIFFERENCE_TOLERANCE`);
    all False without a ``plan_difference`` column."""
    if "plan_difference" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["plan_difference"] > DIFFERENCE_TOLERANCE


def headline(frame: pd.DataFrame, most: int = 5) -> Headline:
    """The totals of a :func:`~uotviz.stats.compute_stats` table (see :class:`Headline`)."""
    compared = "plan_difference" in frame
    differs = differing(frame)
    most_different = ()
    if compared:
        top = frame[differs].sort_values("plan_difference", ascending=False, kind="stable")
        most_different = tuple(
            (int(row.image_id), str(row.file_name), float(row.plan_difference))
            for row in top.head(most).itertuples()
        )
    return Headline(
        images=len(frame),
        predictions=int(frame["n_predictions"].sum()),
        ground_truths=int(frame["n_ground_truths"].sum()),
        mass_to_background=float(frame["mass_to_background"].sum()),
        images_with_multi=int((frame["gt_multi"] >= 1).sum()),
        images_differing=int(differs.sum()) if compared else None,
        most_different=most_different,
    )


def filter_rows(
    frame: pd.DataFrame,
    *,
    multi: bool = False,
    differ: bool = False,
    column: str | None = None,
    minimum: float | None = None,
) -> pd.DataFrame:
    """The rows of ``frame`` that pass every filter asked for, in their order.

    Args:
        frame: a :func:`~uotviz.stats.compute_stats` table.
        multi: keep rows with ``gt_multi >= 1``.
        differ: keep rows whose plans differ (:func:`differing`; none without a comparison).
        column, minimum: keep rows with ``frame[column] >= minimum``; ignored when either is
            None or the table has no such column.
    """
    keep = pd.Series(True, index=frame.index)
    if multi:
        keep &= frame["gt_multi"] >= 1
    if differ:
        keep &= differing(frame)
    if column is not None and minimum is not None and column in frame:
        keep &= frame[column] >= minimum
    return frame[keep]


@dataclass
class PlanDistributions:
    """What the plans of a table hold entry by entry, gathered image by image (pass
    :meth:`add` as :func:`~uotviz.stats.compute_stats`'s ``each_plan``).

    Attributes:
        predictions_per_gt: for every ground truth of every image, how many predictions send it
            at least :data:`~uotviz.stats.MULTI_THRESHOLD`.
        background_per_prediction: for every prediction of every image, the mass it sends to
            ∅ (its plan row's last entry).
    """

    predictions_per_gt: list[int] = field(default_factory=list)
    background_per_prediction: list[float] = field(default_factory=list)

    def add(self, matching: ImageMatching, plan: Tensor) -> None:
        """Take the entries of one image's plan ``(N, M+1)``, ∅ last."""
        values = plan.double().cpu().numpy()
        counts = (values[:, :-1] >= MULTI_THRESHOLD).sum(axis=0)
        self.predictions_per_gt.extend(int(c) for c in counts)
        self.background_per_prediction.extend(float(v) for v in values[:, -1])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(predictions_per_gt, background_per_prediction)`` as int64 and float64 arrays."""
        return (
            np.asarray(self.predictions_per_gt, dtype=np.int64),
            np.asarray(self.background_per_prediction, dtype=np.float64),
        )
