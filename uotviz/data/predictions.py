"""Detector predictions: COCO detection results JSON and raw set-prediction outputs (``.npz``).

Both loaders take the :class:`~uotviz.data.coco.CocoIndex` the predictions refer to (for image
ids, image sizes and category ids) and return ``(predictions, report)``: a dict image id ->
:class:`~uotviz.data.types.Predictions` (``xyxy`` float32 pixel boxes, predictions in file
order; an image of the index with no prediction in the file has no key) and a
:class:`~uotviz.data.types.LoadReport`. :func:`load_predictions` picks the loader from the content.

**COCO detection results** (what detectron2, mmdetection and DETR write for COCO evaluation)::

    [{"image_id": 139, "category_id": 62, "bbox": [x, y, width, height], "score": 0.93}, ...]

``bbox`` in pixels, ``score`` in [0, 1]; other keys (``segmentation``, ...) are ignored.
``labels`` are the category ids and ``class_probs`` is None. Every record is checked here (not by
pycocotools' ``loadRes``, which raises ``IndexError`` on an empty list and ``AssertionError`` on
an unknown image id); a record with a missing key, a non-integer id, an image id or category id
not in the annotations, a box whose width or height is not a finite number > 0, or a score that is
NaN or outside [0, 1] is skipped with a message such as
``"preds.json: record 12 (image_id 7): bbox width is -3.0, must be > 0"``; the rest load.
``report.loaded`` and ``report.skipped`` count records.

**Raw set-prediction outputs** (DETR-style, before post-processing), an ``.npz`` archive with

- ``class_ids``: (K,) integers, the COCO category id of each of the first K logit columns;
- for each image, ``logits_<image_id>``: (N, K + 1) floats, class logits of the N queries, the
  last column being "no object";
- and ``boxes_<image_id>``: (N, 4) floats, normalised ``(cx, cy, w, h)`` in [0, 1] (units of the
  image width and height), as DETR's ``pred_boxes``.

The logits are turned into probabilities with a softmax over all K + 1 columns
(``class_probs``, (N, K + 1) float32); ``labels`` is the category id of the most probable of the K
real classes (the "no object" column is not a label) and ``scores`` its probability; boxes become
``xyxy`` pixels with the image size from the annotations. Queries keep their order. A query whose
logits or box is not finite, or whose box lies outside [0, 1] or has zero size, is skipped;
an image id not in the annotations, a ``logits_`` array without its ``boxes_`` (or the reverse),
or shapes that do not fit skip that image; ``report.loaded`` and ``report.skipped`` count queries.
A ``class_ids`` entry that is not a category of the annotations gets label -1 (with a message).
Writing such a file with numpy (here two images, 100 queries, the 80 COCO categories)::

    import numpy as np
    rng = np.random.default_rng(0)
    arrays = {"class_ids": np.array(coco_category_ids)}  # (K,) = (80,)
    for image_id in (139, 285):
        arrays[f"logits_{image_id}"] = rng.normal(size=(100, 81)).astype(np.float32)
        cxcy, wh = rng.uniform(0.2, 0.8, (100, 2)), rng.uniform(0.05, 0.3, (100, 2))
        arrays[f"boxes_{image_id}"] = np.concatenate([cxcy, wh], axis=1).astype(np.float32)
    np.savez_compressed("outputs.npz", **arrays)

From a DETR model, ``logits_<id>`` is ``outputs["pred_logits"][i]`` and ``boxes_<id>`` is
``outputs["pred_boxes"][i]`` (``.cpu().numpy()``). DETR's logits have 92 columns: 91 indexed by
COCO category id (some ids unused) and "no object", so ``class_ids = np.arange(91)``; the unused
ids get label -1 but keep their probability column.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from uotviz.boxes import box_convert, denormalize_cxcywh
from uotviz.data.coco import CocoIndex
from uotviz.data.errors import (
    MAX_BOX_COORDINATE,
    DataError,
    ReportWriter,
    Source,
    as_int,
    bbox_problem,
    id_problem,
    is_number,
    parse_json,
    read_bytes,
    shown,
    source_name,
)
from uotviz.data.types import LoadReport, Predictions

__all__ = [
    "MAX_NPZ_UNCOMPRESSED_BYTES",
    "load_detection_results",
    "load_predictions",
    "load_set_predictions",
    "select",
    "selected_indices",
    "take",
]

#: An ``.npz`` whose members would take more than this once decompressed is refused, before
#: any is decompressed (the outputs of 300 queries over 91 classes for all 5,000 COCO val2017
#: images take 0.6 GB in float32).
MAX_NPZ_UNCOMPRESSED_BYTES = 1_000_000_000
_NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}

_REQUIRED = ("image_id", "category_id", "bbox", "score")
_ARRAY_NAME = re.compile(r"^(logits|boxes)_(-?\d+)$")


def load_predictions(
    path_or_bytes: Source, index: CocoIndex, *, name: str | None = None
) -> tuple[dict[int, Predictions], LoadReport]:
    """Load a detection results JSON or a set-prediction ``.npz``, recognised by content.

    Raises:
        DataError: if the file cannot be read or is neither format (see the loaders).
    """
    name = source_name(path_or_bytes, name)
    data = read_bytes(path_or_bytes, name)
    if data[:4] == b"PK\x03\x04":
        return load_set_predictions(data, index, name=name)
    return load_detection_results(data, index, name=name)


# ------------------------------------------------------------------------ detection results


def _columns_fast(records: list) -> tuple[np.ndarray, ...] | None:
    """The four columns when every record is well-formed (the common case), else None."""
    try:
        image_ids = [r["image_id"] for r in records]
        category_ids = [r["category_id"] for r in records]
        bboxes = [r["bbox"] for r in records]
        scores = [r["score"] for r in records]
    except (KeyError, TypeError, IndexError):
        return None
    if not {type(v) for v in image_ids} <= {int} or not {type(v) for v in category_ids} <= {int}:
        return None
    if not {type(v) for v in scores} <= {int, float}:
        return None
    if {type(b) for b in bboxes} != {list} or {len(b) for b in bboxes} != {4}:
        return None
    if not {type(v) for b in bboxes for v in b} <= {int, float}:
        return None
    rows = np.arange(len(records), dtype=np.int64)
    try:
        return (
            rows,
            np.array(image_ids, dtype=np.int64),
            np.array(category_ids, dtype=np.int64),
            np.array(bboxes, dtype=np.float64).reshape(-1, 4),
            np.array(scores, dtype=np.float64),
        )
    except OverflowError:  # an id beyond 64 bits, a number beyond a float: checked one by one
        return None


def _record_problem(record: Any) -> tuple[str | None, tuple | None]:
    if not isinstance(record, dict):
        return f"is a {type(record).__name__}, not an object", None
    missing = [key for key in _REQUIRED if key not in record]
    if missing:
        return "missing " + ", ".join(repr(k) for k in missing), None
    image_id, category_id = as_int(record["image_id"]), as_int(record["category_id"])
    if image_id is None:
        return id_problem("image_id", record["image_id"]), None
    if category_id is None:
        return id_problem("category_id", record["category_id"]), None
    bbox = record["bbox"]
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(is_number(v) for v in bbox):
        return f"bbox must be a list of 4 numbers [x, y, width, height], got {shown(bbox)}", None
    if not is_number(record["score"]):
        return f"score must be a number, got {shown(record['score'])}", None
    return None, (image_id, category_id, bbox, float(record["score"]))


def _columns_checked(records: list, name: str, writer: ReportWriter) -> tuple[np.ndarray, ...]:
    """The four columns of the well-formed records; a message for each of the others."""
    rows, values = [], []
    for row, record in enumerate(records):
        problem, parsed = _record_problem(record)
        if problem is None:
            rows.append(row)
            values.append(parsed)
            continue
        image_id = record.get("image_id") if isinstance(record, dict) else None
        label = f" (image_id {image_id!r})" if image_id is not None else ""
        writer.skip(f"{name}: record {row}{label}: {problem}")
    count = len(rows)
    return (
        np.array(rows, dtype=np.int64),
        np.fromiter((v[0] for v in values), dtype=np.int64, count=count),
        np.fromiter((v[1] for v in values), dtype=np.int64, count=count),
        np.array([v[2] for v in values], dtype=np.float64).reshape(count, 4),
        np.fromiter((v[3] for v in values), dtype=np.float64, count=count),
    )


def _value_problem(
    image_id: int, category_id: int, bbox: np.ndarray, score: float, index: CocoIndex
) -> str:
    if image_id not in index:
        return f"image_id {image_id} is not in the annotations ({index.name})"
    if category_id not in index.categories:
        return f"category_id {category_id} is not a category of the annotations ({index.name})"
    problem = bbox_problem(*(float(v) for v in bbox))
    if problem is not None:
        return problem
    return f"score is {score}, must be a number in [0, 1]"


def load_detection_results(
    path_or_bytes: Source, index: CocoIndex, *, name: str | None = None
) -> tuple[dict[int, Predictions], LoadReport]:
    """Load a COCO detection results JSON (see the module docstring).

    Args:
        path_or_bytes: a path, the file's bytes, or an open binary file.
        index: the annotations the results refer to.
        name: the name used in messages (default: the file's name).

    Returns:
        (dict[int, Predictions], LoadReport): per-image predictions (``labels`` are category ids,
        ``class_probs`` None, ``source`` the name) and what was kept and skipped.

    Raises:
        DataError: if the file cannot be read, is not JSON, is empty, is not a list, or is an
            empty list.
    """
    name = source_name(path_or_bytes, name)
    records = parse_json(read_bytes(path_or_bytes, name), name)
    if not isinstance(records, list):
        hint = (
            " (it looks like a COCO annotations file)"
            if isinstance(records, dict) and "annotations" in records
            else ""
        )
        raise DataError(
            f"{name}: not a COCO detection results file: the top level is a "
            f"{type(records).__name__}, expected a list of "
            f"{{image_id, category_id, bbox, score}} records{hint}"
        )
    if not records:
        raise DataError(f"{name}: contains no detections (an empty list)")

    report = LoadReport()
    writer = ReportWriter(report)
    columns = _columns_fast(records)
    if columns is None:
        columns = _columns_checked(records, name, writer)
    rows, image_ids, category_ids, bboxes, scores = columns

    known_images = np.array(index.image_ids(), dtype=np.int64)
    known_categories = np.array(list(index.categories), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        good = (
            np.isin(image_ids, known_images)
            & np.isin(category_ids, known_categories)
            & np.isfinite(bboxes).all(axis=1)
            & (bboxes[:, 2] > 0)
            & (bboxes[:, 3] > 0)
            & (np.abs(bboxes[:, :2]) <= MAX_BOX_COORDINATE).all(axis=1)
            & (np.abs(bboxes[:, :2] + bboxes[:, 2:]) <= MAX_BOX_COORDINATE).all(axis=1)
            & (scores >= 0)
            & (scores <= 1)
        )
    for i in np.flatnonzero(~good):
        problem = _value_problem(
            int(image_ids[i]), int(category_ids[i]), bboxes[i], float(scores[i]), index
        )
        writer.skip(f"{name}: record {rows[i]} (image_id {image_ids[i]}): {problem}")
    image_ids, category_ids, bboxes, scores = (
        a[good] for a in (image_ids, category_ids, bboxes, scores)
    )
    report.loaded = len(image_ids)

    order = np.argsort(image_ids, kind="stable")  # groups by image, file order within each
    image_ids = image_ids[order]
    boxes = box_convert(torch.from_numpy(bboxes[order]), "xywh", "xyxy").to(torch.float32)
    scores_t = torch.from_numpy(scores[order].astype(np.float32))
    labels = torch.from_numpy(category_ids[order])
    groups, starts = np.unique(image_ids, return_index=True)
    sizes = np.diff(np.append(starts, len(image_ids))).tolist()
    result = {
        int(image_id): Predictions(boxes=b, scores=s, labels=lab, source=name)
        for image_id, b, s, lab in zip(
            groups.tolist(),
            torch.split(boxes, sizes),
            torch.split(scores_t, sizes),
            torch.split(labels, sizes),
            strict=True,
        )
    }
    return result, writer.finish(name)


# ------------------------------------------------------------------------ set predictions


def _class_ids(npz: Any, name: str, index: CocoIndex, writer: ReportWriter) -> np.ndarray:
    if "class_ids" not in npz.files:
        raise DataError(f"{name}: no 'class_ids' array (the category id of each logit column)")
    class_ids = npz["class_ids"]
    if class_ids.ndim != 1 or class_ids.dtype.kind not in "iu" or len(class_ids) == 0:
        raise DataError(
            f"{name}: 'class_ids' must be a non-empty 1-D integer array, got dtype "
            f"{class_ids.dtype} and shape {class_ids.shape}"
        )
    if len(np.unique(class_ids)) != len(class_ids):
        raise DataError(f"{name}: 'class_ids' has repeated ids")
    unknown = [int(c) for c in class_ids if int(c) not in index.categories]
    if unknown:
        shown = ", ".join(str(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        writer.note(
            f"{name}: class_ids {shown} are not categories of {index.name}; "
            "predictions of those classes get label -1"
        )
    return class_ids.astype(np.int64)


def _image_arrays(npz: Any, name: str, writer: ReportWriter) -> dict[int, dict[str, str]]:
    """image id -> {"logits": array name, "boxes": array name}."""
    by_image: dict[int, dict[str, str]] = {}
    for key in npz.files:
        if key == "class_ids":
            continue
        match = _ARRAY_NAME.match(key)
        if match is None:
            writer.note(
                f"{name}: array {key!r} ignored (expected logits_<image_id>, boxes_<image_id>)"
            )
            continue
        by_image.setdefault(int(match.group(2)), {})[match.group(1)] = key
    if not by_image:
        raise DataError(f"{name}: no logits_<image_id> / boxes_<image_id> arrays")
    return by_image


def _one_image(
    image_id: int,
    logits: np.ndarray,
    boxes: np.ndarray,
    class_ids: np.ndarray,
    index: CocoIndex,
    name: str,
    writer: ReportWriter,
) -> Predictions | None:
    k = len(class_ids)
    where = f"{name}: image {image_id}"
    rows = logits.shape[0] if logits.ndim >= 1 else 1
    if logits.ndim != 2 or logits.shape[1] != k + 1 or logits.dtype.kind not in "fiu":
        writer.skip(
            f"{where}: logits_{image_id} must be a (N, {k + 1}) float array (K = {k} classes "
            f"+ no object), got {logits.dtype} {logits.shape}",
            max(rows, 1),
        )
        return None
    if boxes.shape != (logits.shape[0], 4) or boxes.dtype.kind not in "fiu":
        writer.skip(
            f"{where}: boxes_{image_id} must be a ({logits.shape[0]}, 4) float array "
            f"(normalised cx, cy, w, h), got {boxes.dtype} {boxes.shape}",
            max(rows, 1),
        )
        return None
    logits = logits.astype(np.float64)
    boxes = boxes.astype(np.float64)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(logits).all(axis=1) & np.isfinite(boxes).all(axis=1)
        inside = ((boxes >= 0) & (boxes <= 1)).all(axis=1)
        sized = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    good = finite & inside & sized
    if not good.all():
        for what, mask in (
            ("logits or box not finite", ~finite),
            ("box values outside [0, 1]", finite & ~inside),
            ("box width or height is 0", finite & inside & ~sized),
        ):
            bad = np.flatnonzero(mask)
            if len(bad):
                shown = ", ".join(str(q) for q in bad[:10]) + (" ..." if len(bad) > 10 else "")
                writer.skip(f"{where}: queries {shown} skipped: {what}", len(bad))
    info = index.image_info(image_id)
    probs = torch.softmax(torch.from_numpy(logits[good]), dim=-1)  # [N, K + 1]
    scores, columns = probs[:, :k].max(dim=-1)
    known = torch.tensor([int(c) in index.categories for c in class_ids])
    labels = torch.where(known, torch.from_numpy(class_ids), -1)[columns]
    pixel_boxes = denormalize_cxcywh(torch.from_numpy(boxes[good]), (info.width, info.height))
    writer.report.loaded += int(good.sum())
    return Predictions(
        boxes=pixel_boxes.to(torch.float32),
        scores=scores.to(torch.float32),
        labels=labels,
        class_probs=probs.to(torch.float32),
        class_ids=torch.from_numpy(class_ids.copy()),
        source=name,
    )


def _check_npz_sizes(npz: Any, name: str) -> None:
    """Refuse an ``.npz`` before anything is allocated when its members would take more than
    :data:`MAX_NPZ_UNCOMPRESSED_BYTES` once decompressed, or when an array's header claims more
    values than its member holds (a header can claim any shape: NumPy would allocate it whole
    before reading a byte).

    Raises:
        DataError: naming the limit, or the member and the shape it claims.
    """
    members = npz.zip.infolist()
    total = sum(info.file_size for info in members)
    if total > MAX_NPZ_UNCOMPRESSED_BYTES:
        raise DataError(
            f"{name}: {total / 1e6:,.0f} MB once decompressed, over the "
            f"{MAX_NPZ_UNCOMPRESSED_BYTES / 1e6:,.0f} MB limit on .npz files"
        )
    for info in members:
        if not info.filename.endswith(".npy"):
            continue
        array = info.filename[: -len(".npy")]
        with npz.zip.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in _NPY_HEADER_READERS:
                raise DataError(f"{name}: array {array!r} has an unsupported .npy version")
            shape, _, dtype = _NPY_HEADER_READERS[version](member)
            header_bytes = member.tell()
        claimed = math.prod(shape) * dtype.itemsize
        if header_bytes + claimed > info.file_size:
            raise DataError(
                f"{name}: array {array!r} claims the shape {shown(shape)} ({claimed:,} bytes of "
                f"{dtype}) but holds only {info.file_size:,} bytes"
            )


def load_set_predictions(
    path_or_bytes: Source, index: CocoIndex, *, name: str | None = None
) -> tuple[dict[int, Predictions], LoadReport]:
    """Load raw set-prediction outputs from an ``.npz`` (layout in the module docstring).

    Args:
        path_or_bytes: a path, the file's bytes, or an open binary file.
        index: the annotations the outputs refer to (image sizes, category ids).
        name: the name used in messages (default: the file's name).

    Returns:
        (dict[int, Predictions], LoadReport): per-image predictions with ``class_probs``
        (N, K + 1) and ``class_ids`` (K,) set, and what was kept and skipped (counted in queries).

    Raises:
        DataError: if the file is not a readable ``.npz`` (or holds pickled objects), too large
            once decompressed, has no valid ``class_ids`` or no per-image arrays.
    """
    name = source_name(path_or_bytes, name)
    data = read_bytes(path_or_bytes, name)
    if not data:
        raise DataError(f"{name}: the file is empty")
    report = LoadReport()
    writer = ReportWriter(report)
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{name}: not a readable .npz archive: {error}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{name}: a single .npy array, expected an .npz archive of arrays")
    result: dict[int, Predictions] = {}
    try:
        _check_npz_sizes(npz, name)
        class_ids = _class_ids(npz, name, index, writer)
        for image_id, keys in sorted(_image_arrays(npz, name, writer).items()):
            where = f"{name}: image {image_id}"
            if "logits" not in keys or "boxes" not in keys:
                have, lack = ("logits", "boxes") if "logits" in keys else ("boxes", "logits")
                writer.skip(f"{where}: {have}_{image_id} has no matching {lack}_{image_id}")
                continue
            logits, boxes = npz[keys["logits"]], npz[keys["boxes"]]
            if image_id not in index:
                writer.skip(
                    f"{where}: image id not in the annotations ({index.name})",
                    max(logits.shape[0] if logits.ndim else 1, 1),
                )
                continue
            predictions = _one_image(image_id, logits, boxes, class_ids, index, name, writer)
            if predictions is not None:
                result[image_id] = predictions
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"{name}: cannot read an array of the .npz: {error}") from None
    finally:
        npz.close()
    return result, writer.finish(name)


# ------------------------------------------------------------------------ selection


def selected_indices(
    predictions: Predictions, *, score_threshold: float = 0.0, top_k: int | None = None
) -> torch.Tensor:
    """Indices (int64, increasing) of the predictions :func:`select` keeps; same arguments."""
    if math.isnan(score_threshold):
        raise ValueError("score_threshold is NaN")
    if top_k is not None and top_k < 0:
        raise ValueError(f"top_k must be >= 0 or None, got {top_k}")
    keep = torch.nonzero(predictions.scores >= score_threshold).squeeze(1)  # [n]
    if top_k is not None and len(keep) > top_k:
        best = torch.argsort(predictions.scores[keep], descending=True, stable=True)[:top_k]
        keep = keep[best].sort().values
    return keep


def select(
    predictions: Predictions, *, score_threshold: float = 0.0, top_k: int | None = None
) -> Predictions:
    """Keep the predictions scoring at least ``score_threshold``, then at most the ``top_k`` best.

    Kept predictions stay in their original order (so a DETR query keeps its rank among the
    others); ties for the last of the ``top_k`` places go to the earlier prediction. Every per-
    prediction field is indexed alike, ``class_probs`` rows included; ``class_ids`` and ``source``
    are kept.

    Args:
        predictions: N predictions.
        score_threshold: the lowest score kept (inclusive).
        top_k: how many to keep at most, or None for no limit.

    Returns:
        Predictions: a new object with the kept predictions, in their original order.

    Raises:
        ValueError: if ``score_threshold`` is NaN or ``top_k`` negative.
    """
    keep = selected_indices(predictions, score_threshold=score_threshold, top_k=top_k)
    return take(predictions, keep)


def take(predictions: Predictions, indices: torch.Tensor) -> Predictions:
    """The predictions at ``indices`` (int64), every per-prediction field indexed alike."""
    return replace(
        predictions,
        boxes=predictions.boxes[indices],
        scores=predictions.scores[indices],
        labels=predictions.labels[indices],
        class_probs=None if predictions.class_probs is None else predictions.class_probs[indices],
    )
