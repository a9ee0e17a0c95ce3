"""Tests for uotviz.costs against the paper's Figure 1 table, pycocotools and hand computations."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from pycocotools import mask as coco_mask

from uotviz.anchors import ssd300_anchors
from uotviz.costs import (
    DEFORMABLE_DETR_WEIGHTS,
    DETR_WEIGHTS,
    FIGURE1_WEIGHTS,
    SSD_WEIGHTS,
    CostWeights,
    anchor_cost,
    class_cost_from_detections,
    class_cost_from_logits,
    class_cost_from_probs,
    giou_cost,
    iou_cost,
    l1_cost,
    matching_cost,
    normalise_cost,
    pad_ground_truths,
)

# The paper's Figure 1 (MATH.md §3): boxes in xyxy pixels and the published 1 - GIoU table.
FIGURE1_PREDICTIONS = torch.tensor(
    [
        [25, 12, 242, 215],
        [362, 126, 469, 425],
        [87, 241, 221, 343],
        [41, 52, 353, 283],
        [287, 76, 439, 388],
    ],
    dtype=torch.float64,
)
FIGURE1_GROUND_TRUTHS = torch.tensor([[52, 22, 308, 328], [26, 106, 456, 394]], dtype=torch.float64)
FIGURE1_COST = torch.tensor(
    [
        [0.6137, 0.9602, 0.8],
        [1.3435, 0.8827, 0.8],
        [0.8772, 0.8896, 0.8],
        [0.3961, 0.6508, 0.8],
        [1.1056, 0.7272, 0.8],
    ],
    dtype=torch.float64,
)


def random_xyxy(generator, *shape, size=100.0):
    xy = torch.rand(*shape, 2, generator=generator, dtype=torch.float64) * size
    wh = torch.rand(*shape, 2, generator=generator, dtype=torch.float64) * size / 2 + 1
    return torch.cat((xy, xy + wh), dim=-1)


def coco_iou(boxes1, boxes2):
    """IoU from pycocotools on xywh boxes (an independent implementation)."""
    xywh1 = torch.cat((boxes1[:, :2], boxes1[:, 2:] - boxes1[:, :2]), dim=-1).numpy()
    xywh2 = torch.cat((boxes2[:, :2], boxes2[:, 2:] - boxes2[:, :2]), dim=-1).numpy()
    return torch.from_numpy(coco_mask.iou(xywh1, xywh2, np.zeros(len(xywh2), dtype=np.uint8)))


# --- Figure 1 -----------------------------------------------------------------------------------


def test_figure1_cost_table():
    cost = matching_cost(FIGURE1_PREDICTIONS, FIGURE1_GROUND_TRUTHS)
    assert cost.shape == (5, 3)
    assert cost.dtype == torch.float64
    torch.testing.assert_close(cost, FIGURE1_COST, rtol=0, atol=1e-4)


def test_figure1_cost_table_float32():
    cost = matching_cost(FIGURE1_PREDICTIONS.float(), FIGURE1_GROUND_TRUTHS.float())
    assert cost.dtype == torch.float32
    torch.testing.assert_close(cost, FIGURE1_COST.float(), rtol=0, atol=1e-4)


def test_figure1_giou_cost_alone():
    cost = giou_cost(FIGURE1_PREDICTIONS, FIGURE1_GROUND_TRUTHS)
    torch.testing.assert_close(cost, FIGURE1_COST[:, :2], rtol=0, atol=1e-4)


# --- localisation terms -------------------------------------------------------------------------


def test_giou_cost_range_and_hand_values():
    generator = torch.Generator().manual_seed(0)
    cost = giou_cost(random_xyxy(generator, 50), random_xyxy(generator, 40))
    assert ((cost >= 0) & (cost <= 2)).all()
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    # identical: 0; disjoint (0,0,1,1) vs (2,0,3,1): GIoU -1/3 -> cost 4/3
    assert giou_cost(a, a).item() == 0.0
    assert giou_cost(a, torch.tensor([[2.0, 0.0, 3.0, 1.0]])).item() == pytest.approx(4 / 3)


def test_iou_cost_matches_pycocotools():
    generator = torch.Generator().manual_seed(1)
    boxes1, boxes2 = random_xyxy(generator, 30), random_xyxy(generator, 20)
    torch.testing.assert_close(
        iou_cost(boxes1, boxes2), 1 - coco_iou(boxes1, boxes2), rtol=0, atol=1e-12
    )


def test_l1_cost_hand_and_cdist():
    pred = torch.tensor([[0.5, 0.5, 0.2, 0.2]])
    gt = torch.tensor([[0.4, 0.7, 0.2, 0.1], [0.5, 0.5, 0.2, 0.2]])
    # |0.1| + |-0.2| + 0 + |0.1| = 0.4, and 0
    torch.testing.assert_close(l1_cost(pred, gt), torch.tensor([[0.4, 0.0]]))

    generator = torch.Generator().manual_seed(2)
    pred = torch.rand(3, 7, 4, generator=generator, dtype=torch.float64)
    gt = torch.rand(3, 5, 4, generator=generator, dtype=torch.float64)
    cost = l1_cost(pred, gt)
    assert cost.shape == (3, 7, 5)
    torch.testing.assert_close(cost, torch.cdist(pred, gt, p=1), rtol=0, atol=1e-12)
    # a shared set of ground truths broadcasts against a batch of predictions
    torch.testing.assert_close(l1_cost(pred, gt[0]), torch.cdist(pred, gt[0].expand(3, 5, 4), p=1))
    assert l1_cost(pred, gt[:, :0]).shape == (3, 7, 0)


# --- classification terms -----------------------------------------------------------------------


def test_class_cost_from_probs_hand_values():
    # 2 predictions, K = 2 classes + "no object"
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    gt_labels = torch.tensor([1, 0, 1])
    expected = -torch.tensor([[0.2, 0.7, 0.2], [0.3, 0.1, 0.3]])
    torch.testing.assert_close(class_cost_from_probs(probs, gt_labels), expected)
    assert class_cost_from_probs(probs, gt_labels[:0]).shape == (2, 0)


def test_class_cost_from_probs_batched_equals_looped():
    generator = torch.Generator().manual_seed(3)
    probs = torch.rand(4, 6, 5, generator=generator).softmax(-1)
    labels = torch.randint(0, 4, (4, 3), generator=generator)
    batched = class_cost_from_probs(probs, labels)
    assert batched.shape == (4, 6, 3)
    for b in range(4):
        torch.testing.assert_close(batched[b], class_cost_from_probs(probs[b], labels[b]))
    # one set of probabilities, a batch of label sets
    assert class_cost_from_probs(probs[0], labels).shape == (4, 6, 3)


def test_class_cost_from_logits_softmax_by_hand():
    logits = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64)
    denominator = 1 + math.e + math.e**2
    cost = class_cost_from_logits(logits, torch.tensor([2, 0]))
    expected = torch.tensor([[-(math.e**2) / denominator, -1 / denominator]], dtype=torch.float64)
    torch.testing.assert_close(cost, expected)


def test_class_cost_from_detections():
    pred_labels = torch.tensor([3, 1, 3])
    pred_scores = torch.tensor([0.9, 0.6, 0.25])
    gt_labels = torch.tensor([1, 3, 7])
    # p(c) = score when the category matches, 0 otherwise; cost = -p(c)
    expected = torch.tensor([[0.0, -0.9, 0.0], [-0.6, 0.0, 0.0], [0.0, -0.25, 0.0]])
    cost = class_cost_from_detections(pred_labels, pred_scores, gt_labels)
    assert torch.equal(cost, expected)
    assert class_cost_from_detections(pred_labels, pred_scores, gt_labels[:0]).shape == (3, 0)
    batched = class_cost_from_detections(
        pred_labels.expand(2, 3), pred_scores.double().expand(2, 3), gt_labels.expand(2, 3)
    )
    assert batched.dtype == torch.float64
    assert torch.equal(batched[1], expected.double())
    with pytest.raises(ValueError, match="same shape"):
        class_cost_from_detections(pred_labels, pred_scores[:2], gt_labels)


# --- weights ------------------------------------------------------------------------------------


def test_weight_presets():
    assert dataclasses.astuple(DETR_WEIGHTS) == (2.0, 5.0, 2.0, 0.0)
    assert dataclasses.astuple(DEFORMABLE_DETR_WEIGHTS) == (5.0, 5.0, 2.0, 0.0)
    assert dataclasses.astuple(FIGURE1_WEIGHTS) == (0.0, 0.0, 1.0, 0.0)
    assert dataclasses.astuple(SSD_WEIGHTS) == (0.0, 0.0, 0.0, 1.0)
    assert [f.name for f in dataclasses.fields(CostWeights)] == [
        "class_weight",
        "l1_weight",
        "giou_weight",
        "iou_weight",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DETR_WEIGHTS.class_weight = 1.0


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_weights_must_be_finite_and_non_negative(value):
    with pytest.raises(ValueError, match="l1_weight must be finite and non-negative"):
        CostWeights(l1_weight=value)


# --- matching_cost ------------------------------------------------------------------------------


def test_matching_cost_detr_weights_by_hand():
    generator = torch.Generator().manual_seed(4)
    pred, gt = random_xyxy(generator, 6, size=300), random_xyxy(generator, 3, size=300)
    width, height = 400.0, 320.0
    probs = torch.rand(6, 4, generator=generator, dtype=torch.float64).softmax(-1)
    labels = torch.tensor([2, 0, 2])
    class_cost = class_cost_from_probs(probs, labels)
    cost = matching_cost(
        pred,
        gt,
        background_cost=1.5,
        weights=DETR_WEIGHTS,
        image_size=(width, height),
        class_cost=class_cost,
    )
    assert cost.shape == (6, 4)

    def cxcywh_norm(box):
        x1, y1, x2, y2 = box
        return [
            (x1 + x2) / 2 / width,
            (y1 + y2) / 2 / height,
            (x2 - x1) / width,
            (y2 - y1) / height,
        ]

    giou = 1 - giou_cost(pred, gt)
    for i, p in enumerate(pred.tolist()):
        for j, g in enumerate(gt.tolist()):
            l1 = sum(abs(a - b) for a, b in zip(cxcywh_norm(p), cxcywh_norm(g), strict=True))
            expected = -2 * probs[i, labels[j]].item() + 5 * l1 + 2 * (1 - giou[i, j].item())
            assert cost[i, j].item() == pytest.approx(expected, abs=1e-12)
    assert torch.equal(cost[:, -1], torch.full((6,), 1.5, dtype=torch.float64))


def test_matching_cost_ssd_weights_match_pycocotools():
    generator = torch.Generator().manual_seed(5)
    pred, gt = random_xyxy(generator, 8), random_xyxy(generator, 4)
    cost = matching_cost(pred, gt, weights=SSD_WEIGHTS, background_cost=0.5)
    torch.testing.assert_close(cost[:, :-1], 1 - coco_iou(pred, gt), rtol=0, atol=1e-12)
    assert (cost[:, -1] == 0.5).all()


def test_matching_cost_weights_add_up():
    generator = torch.Generator().manual_seed(6)
    pred, gt = random_xyxy(generator, 5), random_xyxy(generator, 3)
    both = matching_cost(pred, gt, weights=CostWeights(giou_weight=3.0, iou_weight=0.5))
    torch.testing.assert_close(
        both[:, :-1], 3 * giou_cost(pred, gt) + 0.5 * (1 - coco_iou(pred, gt)), rtol=0, atol=1e-12
    )
    zero = matching_cost(pred, gt, weights=CostWeights(), background_cost=0.3)
    assert torch.equal(zero[:, :-1], torch.zeros(5, 3, dtype=torch.float64))


def test_matching_cost_per_prediction_background():
    background = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5], dtype=torch.float64)
    cost = matching_cost(FIGURE1_PREDICTIONS, FIGURE1_GROUND_TRUTHS, background_cost=background)
    assert torch.equal(cost[:, -1], background)
    torch.testing.assert_close(cost[:, :-1], FIGURE1_COST[:, :-1], rtol=0, atol=1e-4)


def test_matching_cost_without_ground_truths():
    cost = matching_cost(FIGURE1_PREDICTIONS, torch.zeros(0, 4))
    assert cost.shape == (5, 1)
    assert (cost == 0.8).all()
    batched = matching_cost(
        FIGURE1_PREDICTIONS.expand(2, 5, 4),
        torch.zeros(2, 0, 4),
        weights=DETR_WEIGHTS,
        image_size=(500, 500),
        class_cost=torch.zeros(2, 5, 0),
    )
    assert batched.shape == (2, 5, 1)
    assert (batched == 0.8).all()


def test_matching_cost_without_predictions():
    cost = matching_cost(torch.zeros(0, 4), FIGURE1_GROUND_TRUTHS)
    assert cost.shape == (0, 3)
    assert matching_cost(torch.zeros(0, 4), torch.zeros(0, 4)).shape == (0, 1)


def test_matching_cost_batched_equals_looped():
    generator = torch.Generator().manual_seed(7)
    pred, gt = random_xyxy(generator, 3, 6, size=300), random_xyxy(generator, 3, 2, size=300)
    logits = torch.randn(3, 6, 5, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 4, (3, 2), generator=generator)
    sizes = torch.tensor([[400.0, 300.0], [320.0, 320.0], [640.0, 480.0]], dtype=torch.float64)
    background = torch.rand(3, 6, generator=generator, dtype=torch.float64)
    batched = matching_cost(
        pred,
        gt,
        background_cost=background,
        weights=DEFORMABLE_DETR_WEIGHTS,
        image_size=sizes,
        class_cost=class_cost_from_logits(logits, labels),
    )
    assert batched.shape == (3, 6, 3)
    for b in range(3):
        single = matching_cost(
            pred[b],
            gt[b],
            background_cost=background[b],
            weights=DEFORMABLE_DETR_WEIGHTS,
            image_size=tuple(sizes[b].tolist()),
            class_cost=class_cost_from_logits(logits[b], labels[b]),
        )
        torch.testing.assert_close(batched[b], single, rtol=0, atol=1e-12)


def test_matching_cost_mask_anywhere_and_padded_columns_zero():
    generator = torch.Generator().manual_seed(8)
    pred = random_xyxy(generator, 4)
    real = random_xyxy(generator, 2)
    # padded columns at positions 0 and 2, holding NaN to show their content is never used
    gt = torch.stack((torch.full((4,), float("nan")), real[0], torch.zeros(4), real[1]))
    mask = torch.tensor([False, True, False, True])
    cost = matching_cost(pred, gt, gt_mask=mask)
    assert cost.shape == (4, 5)
    assert torch.equal(cost[:, [0, 2]], torch.zeros(4, 2, dtype=torch.float64))
    torch.testing.assert_close(cost[:, [1, 3, 4]], matching_cost(pred, real), rtol=0, atol=0)


def test_matching_cost_on_padded_batch():
    generator = torch.Generator().manual_seed(9)
    gts = [random_xyxy(generator, 3), random_xyxy(generator, 0), random_xyxy(generator, 1)]
    pred = random_xyxy(generator, 3, 5)
    boxes, _, mask = pad_ground_truths(gts)
    cost = matching_cost(pred, boxes, gt_mask=mask, background_cost=0.6)
    assert cost.shape == (3, 5, 4)
    for b, gt in enumerate(gts):
        m = len(gt)
        expected = matching_cost(pred[b], gt, background_cost=0.6)
        torch.testing.assert_close(cost[b, :, :m], expected[:, :m], rtol=0, atol=0)
        assert (cost[b, :, m:-1] == 0).all()
        assert (cost[b, :, -1] == 0.6).all()


def test_matching_cost_errors():
    pred, gt = FIGURE1_PREDICTIONS, FIGURE1_GROUND_TRUTHS
    with pytest.raises(ValueError, match="l1_weight > 0 needs image_size"):
        matching_cost(pred, gt, weights=CostWeights(l1_weight=1.0))
    with pytest.raises(ValueError, match="class_weight > 0 needs class_cost"):
        matching_cost(pred, gt, weights=CostWeights(class_weight=1.0))
    with pytest.raises(ValueError, match=r"pred_boxes_xyxy must have shape \(\.\.\., N, 4\)"):
        matching_cost(pred[:, :3], gt)
    with pytest.raises(ValueError, match=r"gt_boxes_xyxy must have shape \(\.\.\., M, 4\)"):
        matching_cost(pred, gt[0])
    with pytest.raises(ValueError, match=r"class_cost must have shape \(\.\.\., N, M\)"):
        matching_cost(pred, gt, class_cost=torch.zeros(5, 3))
    with pytest.raises(ValueError, match="gt_mask must be a bool tensor"):
        matching_cost(pred, gt, gt_mask=torch.ones(2))
    with pytest.raises(ValueError, match="gt_mask must be a bool tensor"):
        matching_cost(pred, gt, gt_mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="background_cost must be a float or a tensor"):
        matching_cost(pred, gt, background_cost=torch.ones(4))
    with pytest.raises(ValueError, match="batch dimensions do not broadcast"):
        matching_cost(pred.expand(2, 5, 4), gt.expand(3, 2, 4))


# --- anchors ------------------------------------------------------------------------------------


def test_anchor_cost_ssd300():
    anchors = ssd300_anchors()
    gt = torch.tensor([[50.0, 60.0, 150.0, 200.0], [10.0, 10.0, 290.0, 290.0]])
    cost = anchor_cost(anchors, gt)
    assert cost.shape == (8732, 3)
    assert cost.dtype == torch.float32
    assert (cost[:, -1] == 0.5).all()
    expected = 1 - coco_iou(anchors.double(), gt.double())
    torch.testing.assert_close(cost[:, :-1].double(), expected, rtol=0, atol=1e-6)
    # some anchors overlap each ground truth by more than 0.5, so they beat the background
    assert ((cost[:, :-1] < 0.5).sum(dim=0) > 0).all()


def test_anchor_cost_batched_with_mask_and_empty():
    anchors = ssd300_anchors()[:100]
    gt, _, mask = pad_ground_truths([torch.tensor([[0.0, 0.0, 30.0, 30.0]]), torch.zeros(0, 4)])
    cost = anchor_cost(anchors, gt, gt_mask=mask)
    assert cost.shape == (2, 100, 2)
    torch.testing.assert_close(cost[0], anchor_cost(anchors, gt[0]))
    assert (cost[1, :, 0] == 0).all()
    assert anchor_cost(anchors, torch.zeros(0, 4), 0.4).shape == (100, 1)


# --- padding ------------------------------------------------------------------------------------


def test_pad_ground_truths():
    boxes_list = [
        torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]]),
        torch.zeros(0, 4),
        torch.tensor([]),  # an empty annotation list, as loaders often give it
        torch.tensor([[5.0, 5.0, 6.0, 6.0]]),
    ]
    labels_list = [
        torch.tensor([3, 1]),
        torch.zeros(0, dtype=torch.long),
        torch.tensor([], dtype=torch.long),
        torch.tensor([7]),
    ]
    boxes, labels, mask = pad_ground_truths(boxes_list, labels_list)
    assert boxes.shape == (4, 2, 4)
    assert boxes.dtype == torch.float32
    assert labels.dtype == torch.long
    assert torch.equal(
        mask, torch.tensor([[True, True], [False, False], [False, False], [True, False]])
    )
    assert torch.equal(boxes[0], boxes_list[0])
    assert torch.equal(boxes[3, 0], boxes_list[3][0])
    assert torch.equal(labels[mask], torch.tensor([3, 1, 7]))
    assert torch.equal(boxes[~mask], torch.zeros(5, 4))


def test_pad_ground_truths_edge_cases():
    boxes, labels, mask = pad_ground_truths([torch.zeros(0, 4), torch.zeros(0, 4)])
    assert boxes.shape == (2, 0, 4)
    assert labels is None
    assert mask.shape == (2, 0)
    assert mask.dtype == torch.bool

    boxes, labels, mask = pad_ground_truths([], [])
    assert boxes.shape == (0, 0, 4) and labels.shape == (0, 0) and mask.shape == (0, 0)

    boxes, _, _ = pad_ground_truths([torch.tensor([[0, 0, 1, 1]]), torch.ones(1, 4).double()])
    assert boxes.dtype == torch.float64

    with pytest.raises(ValueError, match=r"boxes_list\[1\] must have shape \(M, 4\)"):
        pad_ground_truths([torch.zeros(1, 4), torch.zeros(2, 5)])
    with pytest.raises(ValueError, match="labels_list has 1 entries but boxes_list has 2"):
        pad_ground_truths([torch.zeros(1, 4), torch.zeros(2, 4)], [torch.zeros(1)])
    with pytest.raises(ValueError, match=r"labels_list\[0\] must have shape \(1,\)"):
        pad_ground_truths([torch.zeros(1, 4)], [torch.zeros(2)])


# --- normalisation ------------------------------------------------------------------------------


def test_normalise_cost_divides_by_the_real_maximum():
    cost = matching_cost(FIGURE1_PREDICTIONS, FIGURE1_GROUND_TRUTHS)
    normalised = normalise_cost(cost)
    torch.testing.assert_close(normalised, FIGURE1_COST / 1.3435, rtol=0, atol=1e-4)
    assert normalised.max().item() == pytest.approx(1.0)


def test_normalise_cost_ignores_padded_columns_per_image():
    cost = torch.tensor(
        [
            [[1.0, 100.0, 0.5], [2.0, 100.0, 0.5]],  # image 0: column 1 is padding
            [[0.2, 0.4, 0.8], [0.1, 0.3, 0.8]],  # image 1: both real; ∅ is the max
        ]
    )
    mask = torch.tensor([[True, False], [True, True]])
    out = normalise_cost(cost, mask)
    torch.testing.assert_close(out[0, :, [0, 2]], torch.tensor([[0.5, 0.25], [1.0, 0.25]]))
    torch.testing.assert_close(out[1], cost[1] / 0.8)


def test_normalise_cost_leaves_non_positive_maxima_alone():
    zeros = torch.zeros(2, 3, 4)
    assert torch.equal(normalise_cost(zeros), zeros)
    negative = -torch.rand(3, 4) - 0.1
    assert torch.equal(normalise_cost(negative), negative)
    assert normalise_cost(torch.zeros(0, 3)).shape == (0, 3)
    with pytest.raises(ValueError, match="gt_mask must have shape"):
        normalise_cost(zeros, torch.ones(2, 2, dtype=torch.bool))
