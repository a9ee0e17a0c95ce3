"""SSD default boxes (anchors).

W. Liu, D. Anguelov, D. Erhan, C. Szegedy, S. Reed, C.-Y. Fu, A. C. Berg, "SSD: Single Shot
MultiBox Detector", ECCV 2016, Section 2.2 ("Choosing scales and aspect ratios for default
boxes"), with the sizes of the authors' Caffe configurations for SSD300 and SSD512.

At every cell ``(i, j)`` of a feature map with step ``s`` (pixels of the base image per cell), the
default boxes are centred on ``((j + 0.5) s, (i + 0.5) s)`` and have, in this order:

1. a square of side ``min_size``;
2. a square of side ``sqrt(min_size · max_size)``;
3. for each aspect ratio ``r`` of the map, a box ``min_size · (sqrt(r), 1 / sqrt(r))`` (width,
   height) followed by its transpose ``min_size · (1 / sqrt(r), sqrt(r))``.

Boxes are ordered by feature map (finest first), then by row ``i``, column ``j``, and box index
at that cell, which is the order of SSD's prediction heads. They are clipped to the image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from uotviz.boxes import box_convert

__all__ = ["ssd300_anchors", "ssd512_anchors"]


def _default_boxes(
    base_size: float,
    image_size: Sequence[float],
    feature_maps: Sequence[int],
    steps: Sequence[float],
    sizes: Sequence[float],
    aspect_ratios: Sequence[Sequence[float]],
    dtype: torch.dtype,
    device: torch.device | str | None,
) -> Tensor:
    width, height = (float(v) for v in image_size)
    if not (width > 0 and height > 0):
        raise ValueError(f"image_size must be a positive (width, height), got {image_size!r}")

    per_map = []
    for k, (cells, step) in enumerate(zip(feature_maps, steps, strict=True)):
        small, large = sizes[k], sizes[k + 1]
        shapes = [(small, small), (math.sqrt(small * large),) * 2]
        for ratio in aspect_ratios[k]:
            root = math.sqrt(ratio)
            shapes += [(small * root, small / root), (small / root, small * root)]
        wh = torch.tensor(shapes, dtype=torch.float64)  # [K, 2]

        centres_1d = (torch.arange(cells, dtype=torch.float64) + 0.5) * step
        cy, cx = torch.meshgrid(centres_1d, centres_1d, indexing="ij")
        centres = torch.stack((cx.reshape(-1), cy.reshape(-1)), dim=-1)  # [F*F, 2]

        boxes = torch.cat(
            (
                centres[:, None, :].expand(-1, len(shapes), 2),  # [F*F, K, 2]
                wh[None, :, :].expand(len(centres), -1, 2),  # [F*F, K, 2]
            ),
            dim=-1,
        )
        per_map.append(boxes.reshape(-1, 4))

    boxes = box_convert(torch.cat(per_map), "cxcywh", "xyxy")  # base-image pixels
    scale = torch.tensor([width / base_size, height / base_size] * 2, dtype=torch.float64)
    bounds = torch.tensor([width, height] * 2, dtype=torch.float64)
    boxes = torch.minimum((boxes * scale).clamp(min=0), bounds)
    return boxes.to(dtype=dtype, device=device)


def ssd300_anchors(
    image_size: Sequence[float] = (300, 300),
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """The 8 732 default boxes of SSD300 (Liu et al., ECCV 2016).

    Feature maps 38, 19, 10, 5, 3, 1 with steps 8, 16, 32, 64, 100, 300 pixels; box sizes
    30, 60, 111, 162, 213, 264 (max sizes 60, ..., 315); aspect ratios {2}, {2, 3}, {2, 3},
    {2, 3}, {2}, {2}, so 4, 6, 6, 6, 4, 4 boxes per cell.

    Args:
        image_size: ``(width, height)`` in pixels; the boxes are laid out on the 300 × 300 input
            and scaled by ``width / 300`` in x and ``height / 300`` in y.
        dtype: dtype of the result.
        device: device of the result.

    Returns:
        Tensor[8732, 4]: anchors in ``xyxy`` pixels of ``image_size``, clipped to the image.
    """
    return _default_boxes(
        300,
        image_size,
        feature_maps=(38, 19, 10, 5, 3, 1),
        steps=(8, 16, 32, 64, 100, 300),
        sizes=(30, 60, 111, 162, 213, 264, 315),
        aspect_ratios=((2,), (2, 3), (2, 3), (2, 3), (2,), (2,)),
        dtype=dtype,
        device=device,
    )


def ssd512_anchors(
    image_size: Sequence[float] = (512, 512),
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """The 24 564 default boxes of SSD512 (Liu et al., ECCV 2016).

    Feature maps 64, 32, 16, 8, 4, 2, 1 with steps 8, 16, 32, 64, 128, 256, 512 pixels; box sizes
    20.48, 51.2, 133.12, 215.04, 296.96, 378.88, 460.8 (max size: the next one, up to 542.72);
    aspect ratios {2}, {2, 3}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}, so 4, 6, 6, 6, 6, 4, 4 boxes per
    cell.

    Args:
        image_size: ``(width, height)`` in pixels; the boxes are laid out on the 512 × 512 input
            and scaled by ``width / 512`` in x and ``height / 512`` in y.
        dtype: dtype of the result.
        device: device of the result.

    Returns:
        Tensor[24564, 4]: anchors in ``xyxy`` pixels of ``image_size``, clipped to the image.
    """
    return _default_boxes(
        512,
        image_size,
        feature_maps=(64, 32, 16, 8, 4, 2, 1),
        steps=(8, 16, 32, 64, 128, 256, 512),
        sizes=(20.48, 51.2, 133.12, 215.04, 296.96, 378.88, 460.8, 542.72),
        aspect_ratios=((2,), (2, 3), (2, 3), (2, 3), (2, 3), (2,), (2,)),
        dtype=dtype,
        device=device,
    )
