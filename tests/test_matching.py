"""From scenes to matching problems, and plans back to summaries."""

from __future__ import annotations

import math

import pytest
import torch

from uotviz.costs import CostWeights
from uotviz.data.types import GroundTruths, Predictions, Scene
from uotviz.matching import (
    BACKGROUND,
    COST_PRESETS,
    CostSettings,
    build_matching_problem,
    column_letters,
    summarise,
)

PUBLISHED_COST = [
    [0.6137, 0.9602, 0.8],
    [1.3435, 0.8827, 0.8],
    [0.8772, 0.8896, 0.8],
    [0.3961, 0.6508, 0.8],
    [1.1056, 0.7272, 0.8],
]


def scene(gt_boxes, gt_labels, preds=None, iscrowd=None, categories=None, size=(100, 80)):
    m = len(gt_boxes)
    gts = GroundTruths(
        boxes=torch.tensor(gt_boxes, dtype=torch.float32).reshape(m, 4),
        labels=torch.tensor(gt_labels, dtype=torch.int64),
        iscrowd=torch.tensor(iscrowd or [False] * m),
        annotation_ids=torch.arange(m),
    )
    return Scene(
        image_id=1,
        file_name="x.png",
        width=size[0],
        height=size[1],
        ground_truths=gts,
        predictions=preds,
        categories=categories or {1: "cat", 2: "dog"},
    )


def test_column_letters_are_spreadsheet_style():
    letters = column_letters(53)
    assert letters[:3] == ("A", "B", "C")
    assert letters[25:28] == ("Z", "AA", "AB")
    assert letters[51:] == ("AZ", "BA")
    assert column_letters(0) == ()


def test_demo_figure1_scene_gives_the_published_cost():
    from uotviz.data import DataConfig, load_dataset
    from uotviz.data.demo import (
        DEMO_ANNOTATIONS,
        DEMO_IMAGES,
        DEMO_PREDICTIONS,
        FIGURE1_IMAGE_ID,
    )

    dataset, _ = load_dataset(DataConfig(DEMO_ANNOTATIONS, DEMO_IMAGES, DEMO_PREDICTIONS))
    problem = build_matching_problem(dataset.scene(FIGURE1_IMAGE_ID), CostSettings())
    assert torch.allclose(
        problem.cost, torch.tensor(PUBLISHED_COST, dtype=torch.float64), atol=1e-4
    )
    assert problem.row_labels == ("1", "2", "3", "4", "5")
    assert problem.col_labels == ("A", "B", BACKGROUND)


def test_crowd_regions_are_left_out_unless_asked():
    s = scene([[0, 0, 10, 10], [20, 20, 40, 40]], [1, 2], iscrowd=[False, True])
    problem = build_matching_problem(s, CostSettings())
    assert problem.gt_index.tolist() == [0]
    assert problem.cost.shape == (0, 2)
    assert any("crowd" in note for note in problem.notes)
    with_crowd = build_matching_problem(s, CostSettings(include_crowd=True))
    assert with_crowd.gt_index.tolist() == [0, 1]


def test_score_threshold_and_top_k_keep_track_of_indices():
    boxes = torch.tensor(
        [[0, 0, 10, 10], [1, 1, 9, 9], [50, 50, 60, 60], [2, 2, 8, 8]], dtype=torch.float32
    )
    preds = Predictions(
        boxes=boxes,
        scores=torch.tensor([0.9, 0.2, 0.7, 0.8]),
        labels=torch.tensor([1, 1, 2, 1]),
    )
    s = scene([[0, 0, 10, 10]], [1], preds=preds)
    problem = build_matching_problem(s, CostSettings(score_threshold=0.5, top_k=2))
    assert problem.pred_index.tolist() == [0, 3]
    assert torch.equal(problem.pred_boxes, boxes[[0, 3]].double())
    assert problem.pred_names == ("cat", "cat")
    assert any("2 of 4 predictions left out" in note for note in problem.notes)


def test_detr_cost_with_class_distribution_matches_a_hand_computation():
    # One prediction, one ground truth, image 100 x 80.
    pred_box = [10.0, 10.0, 50.0, 40.0]
    gt_box = [20.0, 10.0, 60.0, 40.0]
    probs = torch.tensor([[0.6, 0.1, 0.3]])  # classes (cat, dog), then "no object"
    preds = Predictions(
        boxes=torch.tensor([pred_box]),
        scores=torch.tensor([0.6]),
        labels=torch.tensor([1]),
        class_probs=probs,
        class_ids=torch.tensor([1, 2]),
    )
    s = scene([gt_box], [2], preds=preds)  # the ground truth is a dog
    weights = COST_PRESETS["DETR (class 2, L1 5, GIoU 2)"]
    problem = build_matching_problem(s, CostSettings(weights=weights, background_cost=1.0))
    # Hand computation: intersection 30 x 30 = 900, union 1200 + 1200 - 900 = 1500, IoU 0.6,
    # enclosing box 50 x 30 = 1500, so GIoU = 0.6. Normalised centres differ by 10/100 in x;
    # sizes are equal: L1 = 0.1. Class: -p(dog) = -0.1.
    expected = 2 * (-0.1) + 5 * 0.1 + 2 * (1 - 0.6)
    assert problem.cost[0, 0].item() == pytest.approx(expected, abs=1e-6)
    assert problem.cost[0, 1].item() == 1.0


def test_class_unknown_to_the_model_has_zero_probability():
    preds = Predictions(
        boxes=torch.tensor([[0.0, 0.0, 10.0, 10.0]]),
        scores=torch.tensor([0.9]),
        labels=torch.tensor([1]),
        class_probs=torch.tensor([[0.9, 0.1]]),
        class_ids=torch.tensor([1]),
    )
    s = scene([[0, 0, 10, 10]], [2], preds=preds)
    weights = CostWeights(class_weight=1.0)
    problem = build_matching_problem(s, CostSettings(weights=weights))
    assert problem.cost[0, 0].item() == 0.0


def test_anchor_mode_matches_default_boxes():
    s = scene([[0, 0, 50, 40]], [1], size=(300, 300))
    problem = build_matching_problem(
        s, CostSettings(anchors="SSD300 default boxes", weights=COST_PRESETS["1 − IoU"])
    )
    assert problem.cost.shape == (8732, 2)
    assert (problem.pred_index == -1).all()
    with pytest.raises(ValueError, match="unknown anchor set"):
        build_matching_problem(s, CostSettings(anchors="YOLO"))


def test_no_predictions_gives_an_empty_problem():
    problem = build_matching_problem(scene([[0, 0, 10, 10]], [1]), CostSettings())
    assert problem.cost.shape == (0, 2)


def test_summary_of_a_hand_made_plan():
    plan = torch.tensor(
        [[0.9, 0.0, 0.1], [0.6, 0.0, 0.4], [0.0, 0.0, 1.0], [0.0, 0.3, 0.7]], dtype=torch.float64
    )
    summary = summarise(plan)
    assert summary.predictions_per_gt.tolist() == [2, 0]
    assert torch.allclose(summary.gt_mass, torch.tensor([1.5, 0.3], dtype=torch.float64))
    assert torch.allclose(summary.unmatched_gt_mass, torch.tensor([0.0, 0.7], dtype=torch.float64))
    assert summary.background_mass == pytest.approx(2.2)
    assert summary.unmatched_predictions == 2
    assert math.isfinite(summary.background_mass)
