"""Bounding boxes: formats, areas, IoU and generalised IoU.

Every function takes a tensor of shape ``(..., 4)`` (any leading batch dimensions, including the
empty shape ``(0, 4)``) in one of the formats of :data:`BOX_FORMATS`:

- ``"xyxy"``: ``(x1, y1, x2, y2)``, top-left and bottom-right corners, in pixels;
- ``"xywh"``: ``(x, y, w, h)``, top-left corner and size, in pixels (the COCO format);
- ``"cxcywh"``: ``(cx, cy, w, h)``, centre and size, in any unit (DETR uses units of the image
  size, see :func:`normalize_cxcywh`).

Floating dtypes are preserved; integer (and boolean) input is converted to ``torch.float32``.

Degenerate boxes (zero width or height) are valid. They give finite values everywhere:

- IoU is 0 when the union has zero area (two identical points, for instance);
- in GIoU, the enclosing-area penalty is 0 when the enclosing box has zero area, so two identical
  points have GIoU 0 (and a matching cost 1 - GIoU of 1), while two distinct points have GIoU -1.

The IoU functions do no data-dependent checks (they would force a device sync); call
:func:`validate_boxes` once, where boxes enter the program.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "BOX_FORMATS",
    "box_area",
    "box_convert",
    "box_iou",
    "denormalize_cxcywh",
    "generalized_box_iou",
    "normalize_cxcywh",
    "validate_boxes",
]

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def _as_float(boxes: Tensor) -> Tensor:
    return boxes if boxes.is_floating_point() else boxes.to(torch.float32)


def _check_format(fmt: str, arg: str) -> None:
    if fmt not in BOX_FORMATS:
        raise ValueError(f"{arg}={fmt!r} is not a box format; expected one of {BOX_FORMATS}")


def _to_xyxy(boxes: Tensor, fmt: str) -> Tensor:
    if fmt == "xyxy":
        return boxes
    a, b, w, h = boxes.unbind(-1)
    if fmt == "xywh":
        return torch.stack((a, b, a + w, b + h), dim=-1)
    # cxcywh
    return torch.stack((a - 0.5 * w, b - 0.5 * h, a + 0.5 * w, b + 0.5 * h), dim=-1)


def _from_xyxy(boxes: Tensor, fmt: str) -> Tensor:
    if fmt == "xyxy":
        return boxes
    x1, y1, x2, y2 = boxes.unbind(-1)
    w, h = x2 - x1, y2 - y1
    if fmt == "xywh":
        return torch.stack((x1, y1, w, h), dim=-1)
    # cxcywh
    return torch.stack((x1 + 0.5 * w, y1 + 0.5 * h, w, h), dim=-1)


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert boxes from one format to another.

    Args:
        boxes (Tensor[..., 4]): boxes in ``in_fmt``.
        in_fmt (str): one of ``"xyxy"``, ``"xywh"``, ``"cxcywh"``.
        out_fmt (str): one of ``"xyxy"``, ``"xywh"``, ``"cxcywh"``.

    Returns:
        Tensor[..., 4]: the boxes in ``out_fmt``, same leading shape.

    Raises:
        ValueError: if a format is not one of :data:`BOX_FORMATS`.
    """
    _check_format(in_fmt, "in_fmt")
    _check_format(out_fmt, "out_fmt")
    boxes = _as_float(boxes)
    if in_fmt == out_fmt:
        return boxes.clone()
    return _from_xyxy(_to_xyxy(boxes, in_fmt), out_fmt)


def _image_scale(image_size: Sequence[float] | Tensor, boxes: Tensor) -> Tensor:
    """``(w, h, w, h)``, shape ``[4]``, or ``[..., 1, 4]`` for one image size per image."""
    if not isinstance(image_size, Tensor):
        # a plain (width, height) is checked here, before it reaches the device
        size = tuple(image_size)
        if len(size) != 2 or not all(v > 0 for v in size):
            raise ValueError(f"image_size must be a positive (width, height), got {size}")
    size = torch.as_tensor(image_size, dtype=boxes.dtype, device=boxes.device)
    if size.dim() == 0 or size.shape[-1] != 2:
        raise ValueError(
            f"image_size must be (width, height) or a tensor of shape (..., 2), "
            f"got shape {tuple(size.shape)}"
        )
    scale = torch.cat((size, size), dim=-1)  # [..., 4]
    if scale.dim() > 1:
        # one size per image: broadcast over the boxes of that image
        scale = scale.unsqueeze(-2)  # [..., 1, 4]
    return scale


def normalize_cxcywh(boxes_xyxy: Tensor, image_size: Sequence[float] | Tensor) -> Tensor:
    """Pixel ``xyxy`` boxes to ``cxcywh`` in units of the image size (DETR's box format).

    Args:
        boxes_xyxy (Tensor[..., 4]): boxes in pixels.
        image_size: ``(width, height)`` in pixels, or a tensor of shape ``(2,)``, or ``(B, 2)``
            for boxes of shape ``(B, N, 4)`` (one size per image; any leading dims likewise).

    Returns:
        Tensor[..., 4]: ``(cx / width, cy / height, w / width, h / height)``; boxes inside the image
        have all four values in ``[0, 1]``.
    """
    boxes = box_convert(boxes_xyxy, "xyxy", "cxcywh")
    return boxes / _image_scale(image_size, boxes)


def denormalize_cxcywh(boxes_cxcywh_norm: Tensor, image_size: Sequence[float] | Tensor) -> Tensor:
    """Inverse of :func:`normalize_cxcywh`: normalised ``cxcywh`` to pixel ``xyxy`` boxes.

    Args:
        boxes_cxcywh_norm (Tensor[..., 4]): boxes in units of the image size.
        image_size: as in :func:`normalize_cxcywh`.

    Returns:
        Tensor[..., 4]: ``xyxy`` boxes in pixels.
    """
    boxes = _as_float(boxes_cxcywh_norm)
    return box_convert(boxes * _image_scale(image_size, boxes), "cxcywh", "xyxy")


def box_area(boxes: Tensor) -> Tensor:
    """Area of ``xyxy`` boxes.

    Args:
        boxes (Tensor[..., 4]): boxes in ``xyxy`` format.

    Returns:
        Tensor[...]: the area of each box.
    """
    boxes = _as_float(boxes)
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _safe_divide(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` where ``den > 0``, else 0; the gradient stays finite too."""
    positive = den > 0
    return torch.where(positive, num / torch.where(positive, den, torch.ones_like(den)), 0.0)


def _box_inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    """Pairwise intersection and union areas, each ``[..., N, M]``."""
    area1 = box_area(boxes1)  # [..., N]
    area2 = box_area(boxes2)  # [..., M]

    lt = torch.maximum(boxes1[..., :, None, :2], boxes2[..., None, :, :2])  # [..., N, M, 2]
    rb = torch.minimum(boxes1[..., :, None, 2:], boxes2[..., None, :, 2:])  # [..., N, M, 2]
    wh = (rb - lt).clamp(min=0)  # [..., N, M, 2]
    inter = wh[..., 0] * wh[..., 1]  # [..., N, M]
    union = area1[..., :, None] + area2[..., None, :] - inter  # [..., N, M]
    return inter, union


def _promote(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    dtype = torch.promote_types(_as_float(boxes1).dtype, _as_float(boxes2).dtype)
    return boxes1.to(dtype), boxes2.to(dtype)


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Intersection over union of every pair of ``xyxy`` boxes.

    Leading dimensions broadcast, so ``(B, N, 4)`` against ``(M, 4)`` gives ``(B, N, M)``.
    The IoU is defined as 0 when the union has zero area (both boxes degenerate).

    Args:
        boxes1 (Tensor[..., N, 4]): boxes in ``xyxy`` format.
        boxes2 (Tensor[..., M, 4]): boxes in ``xyxy`` format.

    Returns:
        Tensor[..., N, M]: ``iou[..., i, j]`` is the IoU of ``boxes1[..., i, :]`` and
        ``boxes2[..., j, :]``, in ``[0, 1]``.
    """
    boxes1, boxes2 = _promote(boxes1, boxes2)
    inter, union = _box_inter_union(boxes1, boxes2)
    return _safe_divide(inter, union)


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Generalised IoU (Rezatofighi et al., CVPR 2019) of every pair of ``xyxy`` boxes.

    ``GIoU = IoU - (|C| - |A ∪ B|) / |C|`` with ``C`` the smallest box enclosing both. The penalty
    term is defined as 0 when ``|C| = 0`` (both boxes are points or lie on one line), so two
    identical points have GIoU 0, whereas two distinct points have GIoU -1.

    Example: ``(0, 0, 1, 1)`` and ``(2, 0, 3, 1)`` are disjoint (IoU 0), their union has area 2
    and the enclosing box ``(0, 0, 3, 1)`` area 3, so GIoU = 0 - (3 - 2) / 3 = -1/3.

    Args:
        boxes1 (Tensor[..., N, 4]): boxes in ``xyxy`` format.
        boxes2 (Tensor[..., M, 4]): boxes in ``xyxy`` format.

    Returns:
        Tensor[..., N, M]: GIoU of each pair, in ``[-1, 1]``; leading dimensions broadcast.
    """
    boxes1, boxes2 = _promote(boxes1, boxes2)
    inter, union = _box_inter_union(boxes1, boxes2)
    iou = _safe_divide(inter, union)

    lt = torch.minimum(boxes1[..., :, None, :2], boxes2[..., None, :, :2])  # [..., N, M, 2]
    rb = torch.maximum(boxes1[..., :, None, 2:], boxes2[..., None, :, 2:])  # [..., N, M, 2]
    wh = (rb - lt).clamp(min=0)  # [..., N, M, 2]
    enclosing = wh[..., 0] * wh[..., 1]  # [..., N, M]
    return iou - _safe_divide(enclosing - union, enclosing)


def _index_text(index: Sequence[int]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def validate_boxes(boxes: Tensor, fmt: str, *, name: str = "boxes") -> None:
    """Check boxes where they enter the program; raise a readable error for the first bad one.

    A box is bad when a coordinate is NaN or infinite, or when its width or height is negative
    (``x2 < x1`` or ``y2 < y1`` in ``xyxy``; ``w < 0`` or ``h < 0`` otherwise). Zero-area boxes are
    valid. An empty tensor of shape ``(0, 4)`` is valid.

    Args:
        boxes (Tensor[..., 4]): the boxes to check.
        fmt (str): their format, one of :data:`BOX_FORMATS`.
        name (str): what to call them in the error message.

    Raises:
        TypeError: if ``boxes`` is not a tensor.
        ValueError: if the format is unknown, the last dimension is not 4, or a box is bad; the
            message names the index of the first bad box, e.g. ``boxes[3]`` or ``boxes[1, 2]``,
            its values and what is wrong.
    """
    _check_format(fmt, "fmt")
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(boxes).__name__}")
    if boxes.dim() == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4), got {tuple(boxes.shape)}")
    if boxes.numel() == 0:
        return
    boxes = _as_float(boxes.detach())

    nan = torch.isnan(boxes).any(dim=-1)  # [...]
    inf = torch.isinf(boxes).any(dim=-1)  # [...]
    if fmt == "xyxy":
        width, height = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    else:
        width, height = boxes[..., 2], boxes[..., 3]
    # comparisons with NaN are False, so a NaN box is reported only as NaN
    negative_width = width < 0
    negative_height = height < 0
    bad = nan | inf | negative_width | negative_height
    if not bool(bad.any()):
        return

    bad_indices = torch.nonzero(bad)
    index = tuple(bad_indices[0].tolist())
    problems = []
    if nan[index]:
        problems.append("contains NaN")
    if inf[index]:
        problems.append("contains inf")
    if negative_width[index]:
        problems.append(f"has negative width {width[index].item():g}")
    if negative_height[index]:
        problems.append(f"has negative height {height[index].item():g}")
    values = ", ".join(f"{v:g}" for v in boxes[index].tolist())
    more = len(bad_indices) - 1
    suffix = f" ({more} more bad box{'es' if more > 1 else ''})" if more else ""
    raise ValueError(
        f"{name}{_index_text(index)} = ({values}) in {fmt!r} format "
        f"{' and '.join(problems)}{suffix}"
    )
