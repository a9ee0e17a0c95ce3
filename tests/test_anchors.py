"""Tests for uotviz.anchors: the SSD300 and SSD512 default boxes."""

import math

import pytest
import torch

from uotviz.anchors import ssd300_anchors, ssd512_anchors


def test_counts_match_the_ssd_paper():
    # boxes per cell: 2 squares + 2 per aspect ratio
    ssd300 = sum(f * f * b for f, b in zip((38, 19, 10, 5, 3, 1), (4, 6, 6, 6, 4, 4), strict=True))
    ssd512 = sum(
        f * f * b for f, b in zip((64, 32, 16, 8, 4, 2, 1), (4, 6, 6, 6, 6, 4, 4), strict=True)
    )
    assert ssd300 == 8732 and ssd512 == 24564
    assert ssd300_anchors().shape == (8732, 4)
    assert ssd512_anchors().shape == (24564, 4)


@pytest.mark.parametrize(
    ("anchors", "size"),
    [
        (ssd300_anchors(), (300, 300)),
        (ssd512_anchors(), (512, 512)),
        (ssd300_anchors((640, 480)), (640, 480)),
    ],
)
def test_anchors_are_valid_and_inside_the_image(anchors, size):
    width, height = size
    assert anchors.dtype == torch.float32
    assert torch.isfinite(anchors).all()
    assert (anchors[:, 2] > anchors[:, 0]).all() and (anchors[:, 3] > anchors[:, 1]).all()
    assert (anchors >= 0).all()
    assert (anchors[:, [0, 2]] <= width).all() and (anchors[:, [1, 3]] <= height).all()
    # the coarsest maps reach the borders
    assert anchors[:, 0].min() == 0 and anchors[:, 2].max() == width


def test_ssd300_hand_values():
    anchors = ssd300_anchors().double()
    s2 = math.sqrt(2)
    # first cell of the 38 x 38 map: centre (4, 4), a 30 x 30 square, clipped at 0
    torch.testing.assert_close(anchors[0], torch.tensor([0.0, 0.0, 19.0, 19.0]).double())
    # cell (row 10, column 20) of that map: centre (20.5 * 8, 10.5 * 8) = (164, 84)
    cell = anchors[(10 * 38 + 20) * 4 : (10 * 38 + 21) * 4]
    side = math.sqrt(30 * 60)
    expected = torch.tensor(
        [
            [164 - 15, 84 - 15, 164 + 15, 84 + 15],
            [164 - side / 2, 84 - side / 2, 164 + side / 2, 84 + side / 2],
            [164 - 15 * s2, 84 - 15 / s2, 164 + 15 * s2, 84 + 15 / s2],  # ratio 2: wide
            [164 - 15 / s2, 84 - 15 * s2, 164 + 15 / s2, 84 + 15 * s2],  # ratio 2: tall
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(cell, expected, rtol=0, atol=1e-4)
    # the 19 x 19 map starts at 38 * 38 * 4 = 5776: centre (8, 8), a 60 x 60 square, clipped
    torch.testing.assert_close(anchors[5776], torch.tensor([0.0, 0.0, 38.0, 38.0]).double())
    # the 1 x 1 map: the last 4 boxes, centred on (150, 150); sizes 264 and sqrt(264 * 315)
    half = math.sqrt(264 * 315) / 2
    expected = torch.tensor(
        [
            [18, 18, 282, 282],
            [150 - half, 150 - half, 150 + half, 150 + half],
            [0, 150 - 132 / s2, 300, 150 + 132 / s2],  # 373 px wide: clipped to the image
            [150 - 132 / s2, 0, 150 + 132 / s2, 300],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(anchors[-4:], expected, rtol=0, atol=1e-4)


def test_ssd512_hand_values():
    anchors = ssd512_anchors().double()
    # the 32 x 32 map (step 16, size 51.2, max size 133.12, ratios 2 and 3) starts at
    # 64 * 64 * 4 = 16384; cell (16, 16) is centred on (16.5 * 16, 16.5 * 16) = (264, 264)
    start = 16384 + (16 * 32 + 16) * 6
    cell = anchors[start : start + 6]
    s = 51.2
    sizes = [
        (s, s),
        (math.sqrt(s * 133.12),) * 2,
        (s * math.sqrt(2), s / math.sqrt(2)),
        (s / math.sqrt(2), s * math.sqrt(2)),
        (s * math.sqrt(3), s / math.sqrt(3)),
        (s / math.sqrt(3), s * math.sqrt(3)),
    ]
    expected = torch.tensor(
        [[264 - w / 2, 264 - h / 2, 264 + w / 2, 264 + h / 2] for w, h in sizes],
        dtype=torch.float64,
    )
    torch.testing.assert_close(cell, expected, rtol=0, atol=1e-4)
    # the 1 x 1 map: the last 4 boxes, centred on (256, 256), sizes 460.8 and sqrt(460.8 * 542.72)
    half = math.sqrt(460.8 * 542.72) / 2
    torch.testing.assert_close(
        anchors[-4], torch.tensor([25.6, 25.6, 486.4, 486.4]).double(), rtol=0, atol=1e-4
    )
    torch.testing.assert_close(
        anchors[-3],
        torch.tensor([256 - half, 256 - half, 256 + half, 256 + half]).double(),
        rtol=0,
        atol=1e-4,
    )


def test_centres_of_unclipped_anchors_lie_on_the_grid():
    anchors = ssd300_anchors(dtype=torch.float64)[: 38 * 38 * 4]
    inside = (anchors > 0).all(dim=1) & (anchors < 300).all(dim=1)
    centres = (anchors[inside, :2] + anchors[inside, 2:]) / 2
    cells = centres / 8 - 0.5
    torch.testing.assert_close(cells, cells.round(), rtol=0, atol=1e-9)
    assert inside.sum() > 4000


def test_scaling_to_another_image_size():
    base = ssd300_anchors(dtype=torch.float64)
    scaled = ssd300_anchors((600, 150), dtype=torch.float64)
    torch.testing.assert_close(scaled[:, [0, 2]], 2 * base[:, [0, 2]], rtol=0, atol=1e-9)
    torch.testing.assert_close(scaled[:, [1, 3]], base[:, [1, 3]] / 2, rtol=0, atol=1e-9)
    base512 = ssd512_anchors(dtype=torch.float64)
    torch.testing.assert_close(
        ssd512_anchors((1024, 1024), dtype=torch.float64), 2 * base512, rtol=0, atol=1e-9
    )


def test_dtype_and_bad_image_size():
    assert ssd300_anchors(dtype=torch.float64).dtype == torch.float64
    with pytest.raises(ValueError, match="positive"):
        ssd300_anchors((0, 300))
    with pytest.raises(ValueError, match="positive"):
        ssd512_anchors((512, -1))
