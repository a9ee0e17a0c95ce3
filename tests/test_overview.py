"""A statistics table read as a whole (uotviz.overview) and drawn as histograms
(uotviz.plots.dataset)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from uotviz.overview import (
    DIFFERENCE_TOLERANCE,
    PlanDistributions,
    differing,
    filter_rows,
    headline,
)
from uotviz.plots.dataset import (
    count_histogram,
    plan_difference_figure,
    predictions_per_gt_figure,
    value_histogram,
)


def _frame(compared: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "image_id": [10, 11, 12, 13],
            "file_name": ["a.jpg", "b.jpg", "c.jpg", "d.jpg"],
            "n_predictions": [5, 3, 0, 8],
            "n_ground_truths": [2, 1, 0, 4],
            "mass_to_background": [1.5, 2.0, 0.0, 4.25],
            "unmatched_gt_mass": [0.0, 0.5, 0.0, 1.0],
            "gt_multi": [1, 0, 0, 2],
            "plan_difference": [0.4, DIFFERENCE_TOLERANCE / 2, 0.0, 1.2],
            "image_index": [0, 1, 2, 3],
        }
    )
    return frame if compared else frame.drop(columns="plan_difference")


def test_headline_totals_and_the_images_that_differ_most() -> None:
    summary = headline(_frame(), most=5)
    assert (summary.images, summary.predictions, summary.ground_truths) == (4, 16, 7)
    assert summary.mass_to_background == pytest.approx(7.75)
    assert summary.images_with_multi == 2
    # a difference within the solver's tolerance is not a difference
    assert summary.images_differing == 2
    assert summary.most_different == ((13, "d.jpg", 1.2), (10, "a.jpg", 0.4))
    assert headline(_frame(), most=1).most_different == ((13, "d.jpg", 1.2),)


def test_headline_without_a_comparison_and_of_an_empty_table() -> None:
    summary = headline(_frame(compared=False))
    assert summary.images_differing is None and summary.most_different == ()
    empty = headline(_frame().iloc[:0])
    assert (empty.images, empty.predictions, empty.images_differing) == (0, 0, 0)


def test_filters_combine_and_keep_the_order() -> None:
    frame = _frame()
    assert list(filter_rows(frame)["image_id"]) == [10, 11, 12, 13]
    assert list(filter_rows(frame, multi=True)["image_id"]) == [10, 13]
    assert list(filter_rows(frame, differ=True)["image_id"]) == [10, 13]
    assert list(filter_rows(frame, column="n_predictions", minimum=4)["image_id"]) == [10, 13]
    both = filter_rows(frame, multi=True, column="mass_to_background", minimum=2)
    assert list(both["image_id"]) == [13]
    # without a comparison no image differs; a column the table lacks is no filter
    assert filter_rows(_frame(compared=False), differ=True).empty
    assert len(filter_rows(frame, column="ignored_predictions", minimum=1)) == 4
    assert not differing(_frame(compared=False)).any()


def test_plan_distributions_read_each_ground_truth_and_each_prediction() -> None:
    plan = torch.tensor(
        [
            [0.6, 0.0, 0.4],
            [0.5, 0.2, 0.3],
            [0.0, 0.49, 0.51],
        ],
        dtype=torch.float64,
    )
    distributions = PlanDistributions()
    distributions.add(None, plan)  # type: ignore[arg-type]
    distributions.add(None, torch.zeros(0, 1, dtype=torch.float64))  # type: ignore[arg-type]
    per_gt, per_prediction = distributions.arrays()
    np.testing.assert_array_equal(per_gt, [2, 0])  # A: two predictions ≥ 0.5; B: none
    np.testing.assert_allclose(per_prediction, [0.4, 0.3, 0.51])
    assert per_gt.dtype == np.int64 and per_prediction.dtype == np.float64


def test_count_histogram_has_one_bar_per_value() -> None:
    figure = predictions_per_gt_figure([0, 2, 2, 1, 2])
    (bar,) = figure.data
    assert list(bar.x) == [0, 1, 2] and list(bar.y) == [1, 1, 3]
    assert "ground truth" in figure.layout.title.text
    empty = count_histogram([], title="t", x_title="x", y_title="y")
    assert len(empty.data[0].x) == 0
    assert empty.layout.annotations[0].text == "nothing to count"


def test_value_histogram_counts_every_value_once_over_equal_bins() -> None:
    values = [0.0, 0.05, 0.5, 0.999, 1.0]
    figure = value_histogram(values, title="t", x_title="mass", y_title="n", bins=10)
    (bar,) = figure.data
    assert sum(bar.y) == len(values)
    np.testing.assert_allclose(bar.width, 0.1)
    assert bar.y[0] == 2 and bar.y[-1] == 2  # the last bin includes its right edge
    assert bar.customdata[0] == "0 to 0.1"
    # differences over [0, their maximum]
    differences = plan_difference_figure([0.0, 0.25, 3.0])
    assert sum(differences.data[0].y) == 3
    assert tuple(differences.layout.xaxis.range) == (0.0, 3.0)
