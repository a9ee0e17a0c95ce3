"""Tests for uotviz.data.simulate: the DETR-like query simulator and the SSD anchors."""

from __future__ import annotations

import pytest
import torch

from uotviz.anchors import ssd300_anchors, ssd512_anchors
from uotviz.boxes import box_iou
from uotviz.data.simulate import simulate_anchors, simulate_detr
from uotviz.data.types import GroundTruths, Predictions

SIZE = (640, 480)


def grid_scene(rows: int = 4, cols: int = 5, crowd: tuple[int, ...] = ()) -> GroundTruths:
    """``rows · cols`` disjoint 90 × 80 boxes on a 640 × 480 image, labels cycling 1, 2, 3, 18."""
    boxes = [
        [20 + 120 * c, 20 + 110 * r, 110 + 120 * c, 100 + 110 * r]
        for r in range(rows)
        for c in range(cols)
    ]
    m = len(boxes)
    iscrowd = torch.zeros(m, dtype=torch.bool)
    iscrowd[list(crowd)] = True
    return GroundTruths(
        boxes=torch.tensor(boxes, dtype=torch.float32),
        labels=torch.tensor([(1, 2, 3, 18)[i % 4] for i in range(m)], dtype=torch.int64),
        iscrowd=iscrowd,
        annotation_ids=torch.arange(m, dtype=torch.int64),
    )


def many_objects(m: int, seed: int = 1) -> GroundTruths:
    """``m`` random, overlapping boxes with integer corners on a 640 × 480 image."""
    g = torch.Generator().manual_seed(seed)
    xy = (torch.rand((m, 2), generator=g) * torch.tensor([560.0, 400.0])).round()
    wh = (10 + torch.rand((m, 2), generator=g) * 70).round()
    return GroundTruths(
        boxes=torch.cat((xy, xy + wh), dim=1),
        labels=torch.randint(1, 91, (m,), generator=g),
        iscrowd=torch.zeros(m, dtype=torch.bool),
        annotation_ids=torch.arange(m),
    )


def check_predictions(preds: Predictions, n: int, size=SIZE) -> None:
    """Count, shapes, dtypes, boxes inside the image and at least one pixel, probabilities."""
    width, height = size
    k = len(preds.class_ids)
    assert len(preds) == n
    assert preds.boxes.shape == (n, 4) and preds.boxes.dtype == torch.float32
    assert preds.scores.shape == (n,) and preds.scores.dtype == torch.float32
    assert preds.labels.shape == (n,) and preds.labels.dtype == torch.int64
    assert preds.class_probs.shape == (n, k + 1) and preds.class_probs.dtype == torch.float32
    assert preds.class_ids.dtype == torch.int64

    boxes = preds.boxes
    assert torch.isfinite(boxes).all()
    assert (boxes >= 0).all()
    assert (boxes[:, [0, 2]] <= width).all() and (boxes[:, [1, 3]] <= height).all()
    assert (boxes[:, 2] - boxes[:, 0] >= 1).all() and (boxes[:, 3] - boxes[:, 1] >= 1).all()

    probs = preds.class_probs
    assert (probs >= 0).all()
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(n), rtol=0, atol=1e-6)
    if k:
        # labels are the argmax over the real classes, scores its probability
        real = probs[:, :k]
        assert torch.equal(preds.scores, real.max(dim=1).values)
        column = torch.searchsorted(preds.class_ids.sort().values, preds.labels)
        column = preds.class_ids.sort().indices[column]
        assert torch.equal(preds.class_ids[column], preds.labels)
        assert torch.equal(real.gather(1, column[:, None])[:, 0], preds.scores)
    else:
        assert (preds.labels == -1).all() and (preds.scores == 0).all()


def test_count_shapes_dtypes_boxes_and_probabilities():
    gts = grid_scene()
    preds = simulate_detr(gts, SIZE)
    check_predictions(preds, 100)
    assert preds.class_ids.tolist() == [1, 2, 3, 18]  # default: the labels present, sorted
    assert preds.source == "simulated (seed 0)"
    for n in (0, 1, 7, 300):
        check_predictions(simulate_detr(gts, SIZE, num_queries=n), n)


def test_boxes_stay_valid_at_the_edges_and_with_strong_jitter():
    # objects on the border, a degenerate one, one partly outside, a tiny image
    gts = GroundTruths(
        boxes=torch.tensor(
            [[0, 0, 3, 2], [630, 470, 640, 480], [50, 50, 50, 90], [-20, 400, 60, 520.5]]
        ).float(),
        labels=torch.tensor([1, 1, 2, 3]),
        iscrowd=torch.zeros(4, dtype=torch.bool),
        annotation_ids=torch.arange(4),
    )
    for seed in range(5):
        preds = simulate_detr(gts, SIZE, seed=seed, jitter=2.0, duplicate_prob=1.0, miss_rate=0)
        check_predictions(preds, 100)
    check_predictions(simulate_detr(gts, (1, 1), num_queries=20), 20, size=(1, 1))
    check_predictions(simulate_detr(gts, (2.5, 7.3), num_queries=20), 20, size=(2.5, 7.3))


def test_same_seed_gives_identical_tensors_and_another_seed_differs():
    gts = grid_scene()
    a, b = simulate_detr(gts, SIZE, seed=3), simulate_detr(gts, SIZE, seed=3)
    for name in ("boxes", "scores", "labels", "class_probs", "class_ids"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    c = simulate_detr(gts, SIZE, seed=4)
    assert not torch.equal(a.boxes, c.boxes)
    assert not torch.equal(a.class_probs, c.class_probs)


def test_global_random_state_is_neither_used_nor_changed():
    gts = grid_scene()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = simulate_detr(gts, SIZE)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(999)
    assert torch.equal(simulate_detr(gts, SIZE).boxes, a.boxes)


def matches(preds: Predictions, gts: GroundTruths) -> torch.Tensor:
    """IoU > 0.5, shape (N, M)."""
    return box_iou(preds.boxes, gts.boxes) > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duplicates_misses_and_junk_exist_at_default_settings(seed):
    gts = grid_scene()  # 20 objects
    preds = simulate_detr(gts, SIZE, seed=seed)
    hits = matches(preds, gts).sum(dim=0)  # predictions per ground truth
    assert (hits >= 2).any(), "no duplicates"
    assert (hits == 0).any(), "no misses"
    junk = (box_iou(preds.boxes, gts.boxes) < 0.1).all(dim=1)
    assert junk.sum() >= 10, "no background junk"
    # junk is unsure, first copies are confident
    assert preds.scores[junk].mean() < 0.3
    assert preds.scores[~junk].max() > 0.6


def test_knobs_act_as_documented():
    gts = grid_scene()
    exact = simulate_detr(
        gts, SIZE, miss_rate=0.0, duplicate_prob=0.0, jitter=0.0, confusion=0.0, junk_fraction=0
    )
    iou = box_iou(exact.boxes, gts.boxes)
    # no miss, no duplicate, no jitter: every object appears once, exactly
    assert ((iou == 1).sum(dim=0) == 1).all()
    assert (iou == 1).sum() == 20
    hit = (iou == 1).any(dim=1)
    truth = gts.labels[(iou == 1).float().argmax(dim=1)]
    assert torch.equal(exact.labels[hit & (exact.scores > 0.5)], truth[hit & (exact.scores > 0.5)])

    # miss_rate 1: nothing is copied; duplicate_prob 1: every object has max_copies copies
    assert not matches(simulate_detr(gts, SIZE, miss_rate=1.0), gts).any()
    full = simulate_detr(gts, SIZE, miss_rate=0.0, duplicate_prob=1.0, max_copies=3, jitter=0.0)
    assert ((box_iou(full.boxes, gts.boxes) == 1).sum(dim=0) == 3).all()

    # exactly round(0.15 · 20) = 3 objects missed
    for seed in range(4):
        preds = simulate_detr(gts, SIZE, seed=seed, jitter=0.0)
        assert ((box_iou(preds.boxes, gts.boxes) == 1).sum(dim=0) == 0).sum() == 3


def test_class_ids_set_the_columns_in_the_given_order():
    gts = grid_scene()
    ids = [18, 5, 3, 2, 1]
    preds = simulate_detr(
        gts,
        SIZE,
        class_ids=ids,
        jitter=0.0,
        confusion=0.0,
        confidence=0.9,
        duplicate_confidence=0.9,
    )
    check_predictions(preds, 100)
    assert preds.class_ids.tolist() == ids
    iou = box_iou(preds.boxes, gts.boxes)
    copy = (iou == 1).any(dim=1)
    truth = gts.labels[iou.argmax(dim=1)]
    assert copy.sum() >= 17
    assert torch.equal(preds.labels[copy], truth[copy])

    with pytest.raises(ValueError, match="missing"):
        simulate_detr(gts, SIZE, class_ids=[1, 2, 3])
    with pytest.raises(ValueError, match="distinct"):
        simulate_detr(gts, SIZE, class_ids=[1, 2, 3, 18, 1])


def test_no_ground_truth_gives_only_junk():
    empty = GroundTruths()
    preds = simulate_detr(empty, SIZE, num_queries=50)
    check_predictions(preds, 50)
    assert preds.class_probs.shape == (50, 1)  # no class: "no object" only
    preds = simulate_detr(empty, SIZE, num_queries=50, class_ids=[1, 62])
    check_predictions(preds, 50)
    assert preds.class_probs.shape == (50, 3)
    assert preds.scores.max() < 0.5  # junk only


def test_more_ground_truths_than_queries():
    gts = many_objects(150)
    preds = simulate_detr(gts, SIZE, num_queries=100, miss_rate=0.0, jitter=0.0)
    check_predictions(preds, 100)
    exact = box_iou(preds.boxes, gts.boxes) == 1  # [N, M]: at jitter 0, copies are exact
    # junk_fraction 0.1 keeps 10 queries for junk; the 90 others are first copies of 90 objects
    assert exact.any(dim=1).sum() == 90
    assert exact.any(dim=0).sum() == 90
    preds = simulate_detr(gts, SIZE, num_queries=10, junk_fraction=0.0, jitter=0.0)
    check_predictions(preds, 10)
    exact = box_iou(preds.boxes, gts.boxes) == 1
    assert exact.any(dim=1).all() and exact.any(dim=0).sum() == 10


def test_crowd_ground_truths_are_not_copied():
    crowd = (0, 7, 13)
    gts = grid_scene(crowd=crowd)
    for seed in range(5):
        preds = simulate_detr(gts, SIZE, seed=seed, miss_rate=0.0, duplicate_prob=1.0)
        hits = matches(preds, gts).sum(dim=0)
        assert (hits[list(crowd)] == 0).all()
        assert (hits[[i for i in range(20) if i not in crowd]] >= 1).all()
    # a crowd region's label is not required among the classes
    only_crowd = GroundTruths(
        boxes=torch.tensor([[10.0, 10.0, 200.0, 200.0]]),
        labels=torch.tensor([1]),
        iscrowd=torch.tensor([True]),
        annotation_ids=torch.tensor([0]),
    )
    preds = simulate_detr(only_crowd, SIZE, num_queries=30)
    check_predictions(preds, 30)
    assert not matches(preds, only_crowd).any()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_queries": -1},
        {"seed": -1},
        {"max_copies": 0},
        {"jitter": -0.1},
        {"miss_rate": 1.5},
        {"confidence": 1.0},
        {"junk_confidence": 0.0},
    ],
)
def test_bad_knobs_raise(kwargs):
    with pytest.raises(ValueError):
        simulate_detr(grid_scene(), SIZE, **kwargs)


@pytest.mark.parametrize("size", [(0, 10), (10, -1), (10,), (float("nan"), 5)])
def test_bad_image_size_raises(size):
    with pytest.raises(ValueError, match="image_size"):
        simulate_detr(grid_scene(), size)


@pytest.mark.parametrize(
    ("kind", "count", "make"), [("ssd300", 8732, ssd300_anchors), ("ssd512", 24564, ssd512_anchors)]
)
def test_anchors_are_the_ssd_default_boxes_scaled_to_the_image(kind, count, make):
    preds = simulate_anchors(SIZE, kind=kind)
    assert len(preds) == count
    assert preds.boxes.shape == (count, 4) and preds.boxes.dtype == torch.float32
    assert torch.equal(preds.boxes, make(SIZE))
    assert torch.equal(preds.scores, torch.ones(count))
    assert preds.labels.dtype == torch.int64 and (preds.labels == -1).all()
    assert preds.class_probs is None and preds.class_ids is None
    assert kind.upper() in preds.source and str(count) in preds.source
    # scaled: they reach the borders of a 640 × 480 image, not of SSD's square input
    assert preds.boxes[:, 2].max() == 640 and preds.boxes[:, 3].max() == 480
    base = 300 if kind == "ssd300" else 512
    native = simulate_anchors((base, base), kind=kind).boxes
    inside = (native > 0).all(dim=1) & (native[:, 2:] < base).all(dim=1)  # unclipped anchors
    scale = torch.tensor([640 / base, 480 / base] * 2)
    torch.testing.assert_close(preds.boxes[inside], native[inside] * scale)


def test_unknown_anchor_kind_raises():
    with pytest.raises(ValueError, match="anchor set"):
        simulate_anchors(SIZE, kind="yolo")
