"""Ground truths from a COCO instances JSON, and the image files they describe.

:func:`load_annotations` validates the file record by record, hands the valid records to
pycocotools (``COCO()``, then ``dataset = ...`` and ``createIndex()``, so that ``COCOeval`` can
use it) and builds a :class:`CocoIndex`: per-image numpy arrays, built once, from which a
:class:`~uotviz.data.types.Scene` is made in microseconds.

Conventions:

- COCO boxes are ``[x, y, width, height]`` in pixels (top-left corner and size); they are
  returned as ``xyxy`` float32, ``(x, y, x + width, y + height)``.
- Image sizes come from the JSON (``width``, ``height`` of each image record); :func:`open_image`
  checks them against the file.
- ``iscrowd`` is kept (:attr:`GroundTruths.iscrowd`); a missing ``iscrowd`` means 0 and a missing
  ``area`` is set to ``width * height`` (``COCOeval`` reads both).

Bad input never raises anything but :class:`~uotviz.data.errors.DataError` (a ``ValueError``):

- a file that cannot be used as a whole (not JSON: the message gives line and column; not COCO:
  ``images``, ``annotations`` or ``categories`` missing or not lists) raises it;
- a bad record (a missing key, a non-integer id, a box with a non-positive, NaN or infinite
  size, an annotation whose image or category is unknown, a duplicate id) is skipped with one
  message naming the file, the record's index and id, and the problem, e.g.
  ``"instances.json: annotations[12] (id 907): bbox width is -3.0, must be > 0"``.
  The :class:`~uotviz.data.types.LoadReport` counts records of all three kinds: ``loaded`` is the
  number of images, categories and annotations kept, ``skipped`` the number left out.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from PIL import Image
from pycocotools.coco import COCO

from uotviz.boxes import box_convert
from uotviz.data.config import resolve_image
from uotviz.data.errors import (
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
from uotviz.data.types import GroundTruths, LoadReport, Predictions, Scene

__all__ = [
    "MAX_IMAGE_PIXELS",
    "ImageMissing",
    "MAX_IMAGE_SIDE",
    "CocoIndex",
    "ImageInfo",
    "OpenedImage",
    "load_annotations",
    "open_image",
]

#: :func:`open_image` downscales images whose longer side is larger than this (pixels).
MAX_IMAGE_SIDE = 2048

#: :func:`open_image` refuses to decode more pixels than this (a 13000 x 13000 PNG of 164 KB
#: would take 0.5 GB); a larger JPEG is decoded at 1/2, 1/4 or 1/8 of its size when that is
#: enough for the picture drawn, and refused only if that is still too large.
MAX_IMAGE_PIXELS = 40_000_000


class ImageMissing(DataError):
    """An image has no picture: no images folder, a file name refused, or no such file. Common
    in a dataset whose pictures are partly there, and no fault of the data: its message does not
    name the server's paths."""


@dataclass(frozen=True)
class ImageInfo:
    """One image record of the annotations file."""

    id: int
    file_name: str
    width: int
    height: int


def _annotation_problem(
    ann: Any, images: Mapping[int, Any], categories: Mapping[int, str], skipped_images: set[int]
) -> tuple[str | None, tuple | None]:
    """(problem, None) for a bad annotation, (None, parsed values) for a good one."""
    if not isinstance(ann, dict):
        return f"is a {type(ann).__name__}, not an object", None
    missing = [key for key in ("id", "image_id", "category_id", "bbox") if key not in ann]
    if missing:
        return "missing " + ", ".join(repr(k) for k in missing), None
    ann_id, image_id, category_id = (
        as_int(ann["id"]),
        as_int(ann["image_id"]),
        as_int(ann["category_id"]),
    )
    if ann_id is None:
        return id_problem("id", ann["id"]), None
    if image_id is None:
        return id_problem("image_id", ann["image_id"]), None
    if category_id is None:
        return id_problem("category_id", ann["category_id"]), None
    if image_id not in images:
        if image_id in skipped_images:
            return f"image_id {image_id} was skipped (see its message)", None
        return f"image_id {image_id} is not in 'images'", None
    if category_id not in categories:
        return f"category_id {category_id} is not in 'categories'", None
    bbox = ann["bbox"]
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(is_number(v) for v in bbox):
        return f"bbox must be a list of 4 numbers [x, y, width, height], got {shown(bbox)}", None
    x, y, w, h = (float(v) for v in bbox)
    problem = bbox_problem(x, y, w, h)
    if problem is not None:
        return problem, None
    iscrowd = ann.get("iscrowd", 0)
    if iscrowd not in (0, 1) or type(iscrowd) not in (int, bool):
        return f"iscrowd must be 0 or 1, got {iscrowd!r}", None
    return None, (ann_id, image_id, category_id, x, y, w, h, bool(iscrowd))


def _record_label(kind: str, index: int, record: Any) -> str:
    rid = record.get("id") if isinstance(record, dict) else None
    return f"{kind}[{index}]" + (f" (id {rid!r})" if rid is not None else "")


def _validate(dataset: Any, name: str, writer: ReportWriter) -> tuple[dict, list, dict, list]:
    """Check every record; return images, their order, categories and the kept annotations."""
    if not isinstance(dataset, dict):
        hint = (
            " (a list looks like detection results: load it as predictions)"
            if isinstance(dataset, list)
            else ""
        )
        raise DataError(
            f"{name}: not a COCO annotations file: the top level is a {type(dataset).__name__}, "
            f"expected an object with 'images', 'annotations' and 'categories'{hint}"
        )
    missing = [key for key in ("images", "annotations", "categories") if key not in dataset]
    if missing:
        raise DataError(
            f"{name}: not a COCO annotations file: missing " + ", ".join(repr(k) for k in missing)
        )
    for key in ("images", "annotations", "categories"):
        if not isinstance(dataset[key], list):
            raise DataError(
                f"{name}: not a COCO annotations file: '{key}' is a "
                f"{type(dataset[key]).__name__}, expected a list"
            )

    categories: dict[int, str] = {}
    kept_categories: list[dict] = []
    for index, cat in enumerate(dataset["categories"]):
        where = f"{name}: {_record_label('categories', index, cat)}"
        if not isinstance(cat, dict):
            writer.skip(f"{where}: is a {type(cat).__name__}, not an object")
            continue
        cat_id = as_int(cat.get("id"))
        if cat_id is None:
            writer.skip(f"{where}: id missing, or not a 64-bit integer")
        elif not isinstance(cat.get("name"), str) or not cat["name"]:
            writer.skip(f"{where}: name missing or not a string")
        elif cat_id in categories:
            writer.skip(f"{where}: duplicate category id {cat_id}")
        else:
            categories[cat_id] = cat["name"]
            cat["id"] = cat_id
            kept_categories.append(cat)

    images: dict[int, ImageInfo] = {}
    order: list[int] = []
    kept_images: list[dict] = []
    skipped_images: set[int] = set()
    for index, img in enumerate(dataset["images"]):
        where = f"{name}: {_record_label('images', index, img)}"
        if not isinstance(img, dict):
            writer.skip(f"{where}: is a {type(img).__name__}, not an object")
            continue
        missing = [key for key in ("id", "file_name", "width", "height") if key not in img]
        image_id = as_int(img.get("id"))
        width, height = as_int(img.get("width")), as_int(img.get("height"))
        problem = None
        if missing:
            problem = "missing " + ", ".join(repr(k) for k in missing)
        elif image_id is None:
            problem = id_problem("id", img["id"])
        elif not isinstance(img["file_name"], str) or not img["file_name"]:
            problem = f"file_name must be a non-empty string, got {img['file_name']!r}"
        elif width is None or height is None or width <= 0 or height <= 0:
            problem = (
                f"width and height must be positive integers, "
                f"got {img['width']!r} x {img['height']!r}"
            )
        elif image_id in images:
            problem = f"duplicate image id {image_id}"
        if problem is not None:
            writer.skip(f"{where}: {problem}")
            if image_id is not None and image_id not in images:
                skipped_images.add(image_id)
            continue
        images[image_id] = ImageInfo(image_id, img["file_name"], width, height)
        img.update(id=image_id, width=width, height=height)
        kept_images.append(img)
        order.append(image_id)

    kept: list[tuple] = []
    kept_records: list[dict] = []
    seen_ids: set[int] = set()
    for index, ann in enumerate(dataset["annotations"]):
        problem, values = _annotation_problem(ann, images, categories, skipped_images)
        if problem is None and values[0] in seen_ids:
            problem = f"duplicate annotation id {values[0]}"
        if problem is not None:
            writer.skip(f"{name}: {_record_label('annotations', index, ann)}: {problem}")
            continue
        seen_ids.add(values[0])
        kept.append(values)
        ann_id, image_id, category_id, x, y, w, h, iscrowd = values
        ann.update(id=ann_id, image_id=image_id, category_id=category_id, iscrowd=int(iscrowd))
        if not is_number(ann.get("area")):
            ann["area"] = w * h
        kept_records.append(ann)

    dataset["categories"] = kept_categories
    dataset["images"] = kept_images
    dataset["annotations"] = kept_records
    return images, order, categories, kept


@dataclass(frozen=True, eq=False)
class CocoIndex:
    """COCO ground truths indexed by image: built once by :func:`load_annotations`, then read-only.

    Per-image arrays are sliced out of one sorted array per field, so :meth:`scene` copies only
    that image's rows. The object is immutable and safe to share between sessions (for instance
    with ``st.cache_resource``); it compares and hashes by identity. :meth:`with_images` returns a
    new index sharing the arrays.

    Attributes:
        name: the file name used in messages.
        coco: the pycocotools ``COCO`` object over the valid records (for ``COCOeval``).
        categories: category id -> name (read-only mapping).
        images_dir: the folder image files are looked up in, or None.
    """

    name: str
    coco: COCO = field(repr=False)
    categories: Mapping[int, str]
    images_dir: Path | None
    _images: Mapping[int, ImageInfo] = field(repr=False)
    _ids: tuple[int, ...] = field(repr=False)
    _by_file_name: Mapping[str, int] = field(repr=False)
    _by_base_name: Mapping[str, int] = field(repr=False)  # unambiguous base names only
    _offsets: dict[int, tuple[int, int]] = field(repr=False)
    _boxes: np.ndarray = field(repr=False)  # (A, 4) float32 xyxy, grouped by image
    _labels: np.ndarray = field(repr=False)  # (A,) int64
    _iscrowd: np.ndarray = field(repr=False)  # (A,) bool
    _ann_ids: np.ndarray = field(repr=False)  # (A,) int64
    _counts: np.ndarray = field(repr=False)  # (I,) non-crowd objects per image, in _ids order
    _category_images: Mapping[int, frozenset[int]] = field(repr=False)

    # ----------------------------------------------------------------------------- lookups

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._images

    def image_ids(self) -> tuple[int, ...]:
        """Every image id, in the order of the file's ``images`` list."""
        return self._ids

    def image_info(self, image_id: int) -> ImageInfo:
        """The image record; ``KeyError`` naming the id if it is not in the file."""
        try:
            return self._images[image_id]
        except KeyError:
            raise KeyError(f"image id {image_id} is not in {self.name}") from None

    def file_name(self, image_id: int) -> str:
        """The image's ``file_name`` as written in the annotations."""
        return self.image_info(image_id).file_name

    def image_id_for(self, file_name: str) -> int | None:
        """The id of the image with this ``file_name``, or None.

        An uploaded file knows only its base name: ``"b.jpg"`` finds ``"train/b.jpg"`` when no
        other image has that base name.
        """
        image_id = self._by_file_name.get(file_name)
        if image_id is None:
            image_id = self._by_base_name.get(Path(file_name).name)
        return image_id

    def image_path(self, image_id: int) -> Path | None:
        """The image file inside :attr:`images_dir`, or None without a folder.

        Raises:
            ValueError: if the file name would lead outside the folder (see
                :func:`uotviz.data.config.resolve_image`).
        """
        if self.images_dir is None:
            return None
        return resolve_image(self.images_dir, self.file_name(image_id))

    def with_images(self, images_dir: Path | None) -> CocoIndex:
        """The same index looking up image files in ``images_dir``."""
        return replace(self, images_dir=None if images_dir is None else Path(images_dir))

    # ----------------------------------------------------------------------------- filters

    def object_count(self, image_id: int) -> int:
        """The image's non-crowd objects (those the matching uses)."""
        return self._count_by_id[image_id]

    @cached_property
    def _count_by_id(self) -> dict[int, int]:
        return dict(zip(self._ids, self._counts.tolist(), strict=True))

    def ids_by_object_count(
        self, min_objects: int = 0, max_objects: int | None = None
    ) -> list[int]:
        """Images with between ``min_objects`` and ``max_objects`` (inclusive) non-crowd objects."""
        keep = self._counts >= min_objects
        if max_objects is not None:
            keep &= self._counts <= max_objects
        ids = np.asarray(self._ids, dtype=np.int64)
        return ids[keep].tolist()

    def ids_with_categories(
        self, categories: Iterable[int | str], *, every: bool = False
    ) -> list[int]:
        """Images holding at least one object of any (or, with ``every=True``, each) category.

        Args:
            categories: category ids or names.
            every: require every category instead of any.

        Raises:
            KeyError: for a category id or name not in the file.
        """
        by_name = {cat_name: cat_id for cat_id, cat_name in self.categories.items()}
        sets = []
        for category in categories:
            cat_id = by_name.get(category) if isinstance(category, str) else category
            if cat_id not in self.categories:
                raise KeyError(f"category {category!r} is not in {self.name}")
            sets.append(self._category_images.get(cat_id, frozenset()))
        if not sets:
            return []
        chosen = frozenset.intersection(*sets) if every else frozenset().union(*sets)
        return [image_id for image_id in self._ids if image_id in chosen]

    # ----------------------------------------------------------------------------- scenes

    def ground_truths(self, image_id: int) -> GroundTruths:
        """The annotated objects of one image (fresh tensors; the index is not shared)."""
        self.image_info(image_id)
        start, stop = self._offsets.get(image_id, (0, 0))
        return GroundTruths(
            boxes=torch.from_numpy(self._boxes[start:stop].copy()),
            labels=torch.from_numpy(self._labels[start:stop].copy()),
            iscrowd=torch.from_numpy(self._iscrowd[start:stop].copy()),
            annotation_ids=torch.from_numpy(self._ann_ids[start:stop].copy()),
        )

    def scene(self, image_id: int, predictions: Predictions | None = None) -> Scene:
        """One image with its ground truths and the given predictions.

        ``image_path`` is None when there is no images folder or when the file name is refused
        by :func:`~uotviz.data.config.resolve_image` (:meth:`image_path` says why).
        """
        info = self.image_info(image_id)
        try:
            path = self.image_path(image_id)
        except ValueError:
            path = None
        return Scene(
            image_id=info.id,
            file_name=info.file_name,
            width=info.width,
            height=info.height,
            ground_truths=self.ground_truths(image_id),
            predictions=predictions,
            categories=dict(self.categories),
            image_path=path,
        )


def load_annotations(
    path_or_bytes: Source, *, name: str | None = None, images_dir: Path | None = None
) -> tuple[CocoIndex, LoadReport]:
    """Read a COCO instances JSON into a :class:`CocoIndex`.

    Args:
        path_or_bytes: a path, the file's bytes, or an open binary file (an upload).
        name: the name used in messages (default: the file's name).
        images_dir: the folder holding the images (see :meth:`CocoIndex.with_images`).

    Returns:
        (CocoIndex, LoadReport): the index over the valid records, and what was kept and skipped
        (see the module docstring).

    Raises:
        DataError: if the file cannot be read, is not JSON or is not a COCO annotations file.
    """
    name = source_name(path_or_bytes, name)
    dataset = parse_json(read_bytes(path_or_bytes, name), name)
    report = LoadReport()
    writer = ReportWriter(report)
    images, order, categories, kept = _validate(dataset, name, writer)
    report.loaded = len(images) + len(categories) + len(kept)
    if not images:
        writer.note(f"{name}: no usable image records")

    coco = COCO()
    with contextlib.redirect_stdout(io.StringIO()):
        coco.dataset = dataset
        coco.createIndex()

    row_of = {image_id: row for row, image_id in enumerate(order)}
    count = len(kept)
    xywh = np.array([v[3:7] for v in kept], dtype=np.float64).reshape(count, 4)
    image_rows = np.fromiter((row_of[v[1]] for v in kept), dtype=np.int64, count=count)
    labels = np.fromiter((v[2] for v in kept), dtype=np.int64, count=count)
    iscrowd = np.fromiter((v[7] for v in kept), dtype=bool, count=count)
    ann_ids = np.fromiter((v[0] for v in kept), dtype=np.int64, count=count)

    sort = np.argsort(image_rows, kind="stable")
    image_rows, labels, iscrowd, ann_ids = (a[sort] for a in (image_rows, labels, iscrowd, ann_ids))
    boxes = box_convert(torch.from_numpy(xywh[sort]), "xywh", "xyxy").to(torch.float32).numpy()
    starts = np.searchsorted(image_rows, np.arange(len(order) + 1))
    offsets = {
        image_id: (int(starts[row]), int(starts[row + 1]))
        for row, image_id in enumerate(order)
        if starts[row + 1] > starts[row]
    }
    counts = np.bincount(image_rows[~iscrowd], minlength=len(order)).astype(np.int64)
    category_images: dict[int, set[int]] = {}
    for row, label in {(int(r), int(c)) for r, c in zip(image_rows, labels, strict=True)}:
        category_images.setdefault(label, set()).add(order[row])
    for array in (boxes, labels, iscrowd, ann_ids, counts):
        array.flags.writeable = False

    base_names: dict[str, int | None] = {}
    for info in images.values():
        base = Path(info.file_name).name
        base_names[base] = None if base in base_names else info.id

    index = CocoIndex(
        name=name,
        coco=coco,
        categories=MappingProxyType(dict(sorted(categories.items()))),
        images_dir=None if images_dir is None else Path(images_dir),
        _images=MappingProxyType(images),
        _ids=tuple(order),
        _by_file_name=MappingProxyType({info.file_name: info.id for info in images.values()}),
        _by_base_name=MappingProxyType(
            {base: image_id for base, image_id in base_names.items() if image_id is not None}
        ),
        _offsets=offsets,
        _boxes=boxes,
        _labels=labels,
        _iscrowd=iscrowd,
        _ann_ids=ann_ids,
        _counts=counts,
        _category_images=MappingProxyType(
            {cat: frozenset(ids) for cat, ids in category_images.items()}
        ),
    )
    return index, writer.finish(name)


# --------------------------------------------------------------------------------- image files


@dataclass(frozen=True)
class OpenedImage:
    """An image ready to draw, with the factor that maps annotation pixels onto it.

    Attributes:
        image: RGB, of size ``(round(width * scale), round(height * scale))`` where ``width`` and
            ``height`` are the sizes in the annotations (not necessarily the file's).
        scale: multiply ``xyxy`` boxes (ground truths and predictions) by this to draw them on
            ``image``; 1.0 unless the image was downscaled.
        messages: problems that did not stop the image from opening (a size that differs from
            the annotations: the file was stretched to the annotated size, boxes may not match).
    """

    image: Image.Image
    scale: float
    messages: tuple[str, ...] = ()


def open_image(
    scene: Scene, *, max_side: int = MAX_IMAGE_SIDE, data: bytes | None = None
) -> OpenedImage:
    """Open a scene's image file, check its size and downscale it if it is much larger.

    The image is read as stored: EXIF orientation is not applied, as in COCO, whose boxes refer
    to the stored pixels. When the longer annotated side exceeds ``max_side`` the image is
    downscaled to ``scale = max_side / max(width, height)``, and boxes must be multiplied by
    ``scale`` to match (``boxes * scale``, all four coordinates). A file larger than the picture
    drawn is decoded at a reduced size where its format allows it (JPEG), and no more than
    :data:`MAX_IMAGE_PIXELS` are decoded.

    Args:
        scene: the image's scene (``image_path``, ``width``, ``height``, ``file_name``).
        max_side: the largest side to return, in pixels.
        data: the file's bytes (an upload) instead of ``scene.image_path``.

    Returns:
        OpenedImage: the RGB image, the scale and any size-mismatch message.

    Raises:
        ImageMissing: when there is no file (no images folder, a refused name, no such file).
        DataError: when it is unreadable, not an image or too large to decode
            (:data:`MAX_IMAGE_PIXELS`). Messages name the image id and file.
    """
    where = f"image {scene.image_id} ({scene.file_name})"
    if data is None and scene.image_path is None:
        raise ImageMissing(
            f"{where}: no image file (no images folder, or its file name was refused)"
        )
    source: Any = io.BytesIO(data) if data is not None else scene.image_path
    try:
        with Image.open(source) as image:
            file_size = image.size
            scale = min(1.0, max_side / max(scene.width, scene.height))
            target = (max(1, round(scene.width * scale)), max(1, round(scene.height * scale)))
            if image.width > target[0] and image.height > target[1]:
                image.draft("RGB", target)  # JPEG: decode at a reduced size, much faster
            pixels = image.width * image.height  # what will be decoded
            if pixels > MAX_IMAGE_PIXELS:
                raise DataError(
                    f"{where}: {image.width} x {image.height} pixels ({pixels / 1e6:.0f} "
                    f"megapixels) to decode, over the {MAX_IMAGE_PIXELS / 1e6:.0f} megapixel "
                    "limit on pictures"
                )
            rgb = image.convert("RGB")
    except FileNotFoundError:
        raise ImageMissing(f"{where}: file not found in the images folder") from None
    except DataError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"{where}: cannot read the image: {error}") from None
    messages: tuple[str, ...] = ()
    if file_size != (scene.width, scene.height):
        messages = (
            f"{where}: the file is {file_size[0]} x {file_size[1]} pixels but the annotations say "
            f"{scene.width} x {scene.height}; it was stretched to the annotated size, so boxes may "
            "not match the picture",
        )
    if rgb.size != target:
        resample = Image.Resampling.LANCZOS if scale < 1.0 else Image.Resampling.BILINEAR
        rgb = rgb.resize(target, resample)
    return OpenedImage(image=rgb, scale=scale, messages=messages)
