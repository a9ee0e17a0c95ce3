"""Tests for uotviz.boxes against hand-computed values and pycocotools."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from uotviz.boxes import (
    BOX_FORMATS,
    box_area,
    box_convert,
    box_iou,
    denormalize_cxcywh,
    generalized_box_iou,
    normalize_cxcywh,
    validate_boxes,
)


def random_xyxy(generator, n, *, size=100.0, dtype=torch.float64, min_side=0.0):
    xy = torch.rand(n, 2, generator=generator, dtype=dtype) * size
    wh = torch.rand(n, 2, generator=generator, dtype=dtype) * size / 2 + min_side
    return torch.cat((xy, xy + wh), dim=-1)


def giou_reference(a, b):
    """Scalar GIoU written from the definition, with uotviz's degenerate conventions."""
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    hull = (max(ax2, bx2) - min(ax1, bx1)) * (max(ay2, by2) - min(ay1, by1))
    iou = inter / union if union > 0 else 0.0
    return iou - ((hull - union) / hull if hull > 0 else 0.0)


# --- formats ------------------------------------------------------------------------------------


def test_box_convert_hand_values():
    xyxy = torch.tensor([[10.0, 20.0, 40.0, 60.0]])
    assert torch.equal(box_convert(xyxy, "xyxy", "xywh"), torch.tensor([[10.0, 20.0, 30.0, 40.0]]))
    assert torch.equal(
        box_convert(xyxy, "xyxy", "cxcywh"), torch.tensor([[25.0, 40.0, 30.0, 40.0]])
    )
    assert torch.equal(
        box_convert(torch.tensor([[25.0, 40.0, 30.0, 40.0]]), "cxcywh", "xyxy"), xyxy
    )
    assert torch.equal(box_convert(torch.tensor([[10.0, 20.0, 30.0, 40.0]]), "xywh", "xyxy"), xyxy)


@pytest.mark.parametrize(("in_fmt", "out_fmt"), list(itertools.permutations(BOX_FORMATS, 2)))
def test_box_convert_round_trip(in_fmt, out_fmt):
    generator = torch.Generator().manual_seed(0)
    boxes = box_convert(random_xyxy(generator, 20).reshape(4, 5, 4), "xyxy", in_fmt)
    back = box_convert(box_convert(boxes, in_fmt, out_fmt), out_fmt, in_fmt)
    assert back.shape == (4, 5, 4)
    torch.testing.assert_close(back, boxes, rtol=0, atol=1e-12)


@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_box_convert_same_format_is_a_copy(fmt):
    boxes = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    out = box_convert(boxes, fmt, fmt)
    assert torch.equal(out, boxes)
    out[0, 0] = 99.0
    assert boxes[0, 0] == 1.0


@pytest.mark.parametrize(
    ("in_fmt", "out_fmt"), [("xyxy", "yxyx"), ("XYXY", "xyxy"), ("cxcy", "xywh")]
)
def test_box_convert_rejects_unknown_formats(in_fmt, out_fmt):
    with pytest.raises(ValueError, match="is not a box format"):
        box_convert(torch.zeros(1, 4), in_fmt, out_fmt)


@pytest.mark.parametrize(("in_fmt", "out_fmt"), list(itertools.product(BOX_FORMATS, repeat=2)))
def test_box_convert_empty(in_fmt, out_fmt):
    out = box_convert(torch.zeros(0, 4), in_fmt, out_fmt)
    assert out.shape == (0, 4)
    assert box_convert(torch.zeros(3, 0, 4), in_fmt, out_fmt).shape == (3, 0, 4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float_dtypes_preserved(dtype):
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]], dtype=dtype)
    assert box_convert(boxes, "xyxy", "cxcywh").dtype == dtype
    assert normalize_cxcywh(boxes, (4, 4)).dtype == dtype
    assert denormalize_cxcywh(boxes, (4, 4)).dtype == dtype
    assert box_area(boxes).dtype == dtype
    assert box_iou(boxes, boxes).dtype == dtype
    assert generalized_box_iou(boxes, boxes).dtype == dtype


def test_integer_input_becomes_float32():
    boxes = torch.tensor([[0, 0, 2, 2], [1, 1, 3, 3]])
    assert box_convert(boxes, "xyxy", "cxcywh").dtype == torch.float32
    assert box_area(boxes).dtype == torch.float32
    assert torch.equal(box_area(boxes), torch.tensor([4.0, 4.0]))
    iou = box_iou(boxes, boxes)
    assert iou.dtype == torch.float32
    # (0,0,2,2) vs (1,1,3,3): intersection 1, union 4 + 4 - 1 = 7
    torch.testing.assert_close(iou[0, 1], torch.tensor(1 / 7))


def test_normalize_cxcywh_hand_values():
    # a 640 x 480 image; box (64, 48)-(320, 240): centre (192, 144), size 256 x 192
    boxes = torch.tensor([[64.0, 48.0, 320.0, 240.0]], dtype=torch.float64)
    out = normalize_cxcywh(boxes, (640, 480))
    torch.testing.assert_close(out, torch.tensor([[0.3, 0.3, 0.4, 0.4]], dtype=torch.float64))
    whole = normalize_cxcywh(torch.tensor([[0.0, 0.0, 640.0, 480.0]]), (640, 480))
    assert torch.equal(whole, torch.tensor([[0.5, 0.5, 1.0, 1.0]]))


def test_normalize_round_trip_and_per_image_sizes():
    generator = torch.Generator().manual_seed(1)
    boxes = random_xyxy(generator, 12).reshape(3, 4, 4)
    back = denormalize_cxcywh(normalize_cxcywh(boxes, (200, 100)), (200, 100))
    torch.testing.assert_close(back, boxes, rtol=0, atol=1e-12)

    sizes = torch.tensor([[200.0, 100.0], [50.0, 400.0], [300.0, 300.0]], dtype=torch.float64)
    per_image = normalize_cxcywh(boxes, sizes)
    for b in range(3):
        expected = normalize_cxcywh(boxes[b], tuple(sizes[b].tolist()))
        torch.testing.assert_close(per_image[b], expected, rtol=0, atol=0)
    torch.testing.assert_close(denormalize_cxcywh(per_image, sizes), boxes, rtol=0, atol=1e-12)


def test_normalize_empty_and_bad_image_size():
    assert normalize_cxcywh(torch.zeros(0, 4), (10, 10)).shape == (0, 4)
    assert denormalize_cxcywh(torch.zeros(2, 0, 4), (10, 10)).shape == (2, 0, 4)
    with pytest.raises(ValueError, match="positive"):
        normalize_cxcywh(torch.zeros(1, 4), (0, 10))
    with pytest.raises(ValueError, match=r"positive \(width, height\), got \(10, 10, 3\)"):
        normalize_cxcywh(torch.zeros(1, 4), (10, 10, 3))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\), got shape \(3, 3\)"):
        normalize_cxcywh(torch.zeros(3, 1, 4), torch.ones(3, 3))


# --- areas and IoU ------------------------------------------------------------------------------


def test_box_area_hand_values_and_shapes():
    boxes = torch.tensor([[0.0, 0.0, 3.0, 2.0], [1.0, 1.0, 1.0, 5.0], [2.0, 2.0, 4.5, 4.0]])
    assert torch.equal(box_area(boxes), torch.tensor([6.0, 0.0, 5.0]))
    assert box_area(boxes.expand(2, 3, 3, 4)).shape == (2, 3, 3)
    assert box_area(torch.zeros(0, 4)).shape == (0,)


def test_iou_and_giou_hand_values():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    # identical boxes: IoU = GIoU = 1
    assert box_iou(a, a).item() == 1.0
    assert generalized_box_iou(a, a).item() == 1.0
    # (0,0,2,2) vs (1,1,3,3): intersection 1, union 7, enclosing (0,0,3,3) area 9
    # IoU = 1/7, GIoU = 1/7 - (9 - 7)/9 = 1/7 - 2/9 = -5/63
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0]])
    assert box_iou(a, b).item() == pytest.approx(1 / 7)
    assert generalized_box_iou(a, b).item() == pytest.approx(-5 / 63)
    # disjoint (0,0,1,1) vs (2,0,3,1): IoU 0, union 2, enclosing (0,0,3,1) area 3
    # GIoU = 0 - (3 - 2)/3 = -1/3
    c, d = torch.tensor([[0.0, 0.0, 1.0, 1.0]]), torch.tensor([[2.0, 0.0, 3.0, 1.0]])
    assert box_iou(c, d).item() == 0.0
    assert generalized_box_iou(c, d).item() == pytest.approx(-1 / 3)
    # a box inside another: (0,0,4,4) contains (1,1,3,3): IoU = 4/16, enclosing = union, GIoU = IoU
    e, f = torch.tensor([[0.0, 0.0, 4.0, 4.0]]), torch.tensor([[1.0, 1.0, 3.0, 3.0]])
    assert box_iou(e, f).item() == 0.25
    assert generalized_box_iou(e, f).item() == 0.25
    # far apart: (0,0,1,1) vs (99,99,100,100): GIoU = 0 - (10000 - 2)/10000
    g = torch.tensor([[99.0, 99.0, 100.0, 100.0]], dtype=torch.float64)
    assert generalized_box_iou(c.double(), g).item() == pytest.approx(-9998 / 10000)


def test_iou_matches_pycocotools():
    generator = torch.Generator().manual_seed(2)
    boxes1 = random_xyxy(generator, 40, min_side=0.5)
    boxes2 = random_xyxy(generator, 30, min_side=0.5)
    xywh1 = box_convert(boxes1, "xyxy", "xywh").numpy()
    xywh2 = box_convert(boxes2, "xyxy", "xywh").numpy()
    expected = coco_mask.iou(xywh1, xywh2, np.zeros(len(xywh2), dtype=np.uint8))
    iou = box_iou(boxes1, boxes2)
    assert iou.shape == (40, 30)
    assert (iou > 0).sum() > 20  # the random boxes do overlap
    np.testing.assert_allclose(iou.numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        box_iou(boxes1.float(), boxes2.float()).numpy(), expected, rtol=0, atol=1e-5
    )


def test_giou_matches_scalar_definition():
    generator = torch.Generator().manual_seed(3)
    boxes1 = random_xyxy(generator, 15)
    boxes2 = random_xyxy(generator, 10)
    expected = torch.tensor(
        [[giou_reference(a, b) for b in boxes2.tolist()] for a in boxes1.tolist()],
        dtype=torch.float64,
    )
    torch.testing.assert_close(generalized_box_iou(boxes1, boxes2), expected, rtol=0, atol=1e-12)


def test_batched_equals_looped_and_broadcasts():
    generator = torch.Generator().manual_seed(4)
    boxes1 = random_xyxy(generator, 2 * 3 * 5).reshape(2, 3, 5, 4)
    boxes2 = random_xyxy(generator, 3 * 4).reshape(3, 4, 4)
    for fn in (box_iou, generalized_box_iou):
        batched = fn(boxes1, boxes2)  # [2, 3, 5, 4] with [3, 4, 4] -> [2, 3, 5, 4]
        assert batched.shape == (2, 3, 5, 4)
        for i in range(2):
            for j in range(3):
                torch.testing.assert_close(batched[i, j], fn(boxes1[i, j], boxes2[j]))
        # one set of boxes against a batch
        shared = fn(boxes1[0, 0], boxes2)
        assert shared.shape == (3, 5, 4)
        torch.testing.assert_close(shared[1], fn(boxes1[0, 0], boxes2[1]))


def test_empty_inputs():
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 3)
    for fn in (box_iou, generalized_box_iou):
        assert fn(boxes, torch.zeros(0, 4)).shape == (3, 0)
        assert fn(torch.zeros(0, 4), boxes).shape == (0, 3)
        assert fn(torch.zeros(0, 4), torch.zeros(0, 4)).shape == (0, 0)
        assert fn(torch.zeros(2, 0, 4), torch.zeros(2, 7, 4)).shape == (2, 0, 7)


def test_degenerate_boxes_are_finite_with_documented_values():
    point = torch.tensor([[5.0, 5.0, 5.0, 5.0]])
    other_point = torch.tensor([[6.0, 7.0, 6.0, 7.0]])
    segment = torch.tensor([[0.0, 5.0, 10.0, 5.0]])  # horizontal line through the point
    square = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    # identical points: union 0 -> IoU 0; enclosing area 0 -> GIoU 0
    assert box_iou(point, point).item() == 0.0
    assert generalized_box_iou(point, point).item() == 0.0
    # distinct points: union 0, enclosing (5,5,6,7) area 2 -> GIoU = 0 - (2 - 0)/2 = -1
    assert generalized_box_iou(point, other_point).item() == -1.0
    # point on a segment: enclosing box is the segment, area 0 -> GIoU 0
    assert generalized_box_iou(point, segment).item() == 0.0
    # point inside a square: IoU 0, union 100 = enclosing -> GIoU 0
    assert box_iou(point, square).item() == 0.0
    assert generalized_box_iou(point, square).item() == 0.0

    everything = torch.cat((point, other_point, segment, square))
    for fn in (box_iou, generalized_box_iou):
        assert torch.isfinite(fn(everything, everything)).all()


def test_degenerate_boxes_have_finite_gradients():
    boxes = torch.tensor(
        [[5.0, 5.0, 5.0, 5.0], [0.0, 5.0, 10.0, 5.0], [0.0, 0.0, 10.0, 10.0]],
        requires_grad=True,
    )
    for fn in (box_iou, generalized_box_iou):
        (grad,) = torch.autograd.grad(fn(boxes, boxes).sum(), boxes)
        assert torch.isfinite(grad).all()


@st.composite
def xyxy_boxes(draw, max_count=6):
    count = draw(st.integers(min_value=0, max_value=max_count))
    coords = st.floats(min_value=-100, max_value=100, allow_nan=False, width=64)
    sizes = st.floats(min_value=0, max_value=100, allow_nan=False, width=64)
    rows = [
        (x, y, x + w, y + h)
        for x, y, w, h in draw(
            st.lists(st.tuples(coords, coords, sizes, sizes), min_size=count, max_size=count)
        )
    ]
    return torch.tensor(rows, dtype=torch.float64).reshape(count, 4)


@settings(max_examples=60, deadline=None)
@given(xyxy_boxes(), xyxy_boxes())
def test_iou_giou_ranges_and_symmetry(boxes1, boxes2):
    iou = box_iou(boxes1, boxes2)
    giou = generalized_box_iou(boxes1, boxes2)
    assert iou.shape == giou.shape == (len(boxes1), len(boxes2))
    assert torch.isfinite(giou).all()
    assert ((iou >= 0) & (iou <= 1 + 1e-12)).all()
    assert ((giou >= -1 - 1e-12) & (giou <= 1 + 1e-12)).all()
    assert (giou <= iou + 1e-12).all()
    torch.testing.assert_close(box_iou(boxes2, boxes1), iou.T, rtol=0, atol=1e-12)
    torch.testing.assert_close(generalized_box_iou(boxes2, boxes1), giou.T, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(xyxy_boxes(max_count=4))
def test_self_iou_is_one_exactly_when_the_box_has_area(boxes):
    # any positive area, however small, gives self-IoU 1; zero area gives 0 by convention
    has_area = box_area(boxes) > 0
    diagonal = box_iou(boxes, boxes).diagonal()
    assert torch.equal(diagonal, has_area.to(boxes.dtype))


# --- validation ---------------------------------------------------------------------------------


def test_validate_accepts_good_and_degenerate_boxes():
    for fmt in BOX_FORMATS:
        validate_boxes(torch.zeros(0, 4), fmt)
        validate_boxes(torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 5.0, 0.0]]), fmt)
        validate_boxes(torch.tensor([[[0, 0, 3, 3]]]), fmt)
    # xyxy allows negative coordinates, as long as x2 >= x1 and y2 >= y1
    assert validate_boxes(torch.tensor([[-5.0, -5.0, -1.0, 0.0]]), "xyxy") is None


def test_validate_reports_nan_with_index():
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, float("nan"), 1, 1]])
    with pytest.raises(
        ValueError, match=r"^preds\[2\] = \(0, nan, 1, 1\) in 'xyxy' format contains NaN$"
    ):
        validate_boxes(boxes, "xyxy", name="preds")


def test_validate_reports_inf_and_counts_the_rest():
    boxes = torch.tensor([[0.0, 0.0, float("inf"), 1.0], [float("-inf"), 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"boxes\[0\] .* contains inf \(1 more bad box\)"):
        validate_boxes(boxes, "xywh")


def test_validate_reports_negative_sizes():
    xyxy = torch.tensor([[0.0, 0.0, 1.0, 1.0], [5.0, 0.0, 3.0, 1.0]])
    with pytest.raises(ValueError, match=r"gt\[1\] = \(5, 0, 3, 1\) .* has negative width -2"):
        validate_boxes(xyxy, "xyxy", name="gt")
    xywh = torch.tensor([[0.0, 0.0, 1.0, -4.0]])
    with pytest.raises(ValueError, match=r"boxes\[0\] .* has negative height -4$"):
        validate_boxes(xywh, "xywh")
    both = torch.tensor([[0.0, 0.0, -1.0, -2.0]])
    with pytest.raises(ValueError, match="has negative width -1 and has negative height -2"):
        validate_boxes(both, "cxcywh")


def test_validate_batched_index():
    boxes = torch.zeros(2, 3, 4)
    boxes[1, 2] = torch.tensor([0.0, 0.0, 1.0, float("nan")])
    with pytest.raises(ValueError, match=r"boxes\[1, 2\]"):
        validate_boxes(boxes, "xyxy")


def test_validate_shape_type_and_format():
    with pytest.raises(ValueError, match=r"must have shape \(\.\.\., 4\), got \(3, 5\)"):
        validate_boxes(torch.zeros(3, 5), "xyxy")
    with pytest.raises(ValueError, match=r"must have shape \(\.\.\., 4\), got \(\)"):
        validate_boxes(torch.tensor(1.0), "xyxy")
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        validate_boxes([[0, 0, 1, 1]], "xyxy")
    with pytest.raises(ValueError, match="fmt='xyxyx' is not a box format"):
        validate_boxes(torch.zeros(1, 4), "xyxyx")
