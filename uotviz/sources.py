"""Where the app's scenes come from: the embedded demo, a configured dataset, or uploaded files.

A :class:`DataSource` bundles a :class:`~uotviz.data.Dataset` with its load report, a key that
names its content (for caches) and, for uploads, the image files held in memory. Nothing here
opens a path other than the demo's files and the configured ones: uploaded images are matched to
the annotations by file name and kept as bytes; configured images are looked up inside their
folder only (:func:`uotviz.data.resolve_image`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from uotviz.data import (
    DataConfig,
    Dataset,
    LoadReport,
    Scene,
    load_annotations,
    load_dataset,
    load_predictions,
    open_image,
)
from uotviz.data.coco import CocoIndex, ImageMissing, OpenedImage
from uotviz.data.demo import DEMO_ANNOTATIONS, DEMO_IMAGES, DEMO_PREDICTIONS
from uotviz.data.errors import DataError

__all__ = [
    "CONFIGURED",
    "DEMO",
    "UPLOAD",
    "DataSource",
    "UploadedFile",
    "config_key",
    "content_hash",
    "demo_config",
    "load_configured",
    "load_uploads",
    "upload_key",
]

DEMO = "Demo"
CONFIGURED = "Configured dataset"
UPLOAD = "Upload"


@dataclass(frozen=True)
class UploadedFile:
    """A file received from the browser: its base name and content (never written to disk)."""

    name: str
    data: bytes


@dataclass(frozen=True, eq=False)
class DataSource:
    """A dataset ready to browse.

    Attributes:
        kind: :data:`DEMO`, :data:`CONFIGURED` or :data:`UPLOAD`.
        key: names the content (paths and modification times, or content hashes); two sources
            with the same key hold the same data.
        dataset: ground truths and predictions.
        report: what the loaders kept and skipped.
        image_bytes: uploads only: image id -> the uploaded file's content.
    """

    kind: str
    key: str
    dataset: Dataset
    report: LoadReport
    image_bytes: Mapping[int, bytes] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def has_predictions(self) -> bool:
        """Whether the source came with a predictions file."""
        return self.dataset.predictions is not None

    @cached_property
    def pictured(self) -> frozenset[int]:
        """The images whose picture is there: uploaded, or a file in the images folder (looked
        for once per source)."""
        if self.kind == UPLOAD:
            return frozenset(self.image_bytes)
        index = self.dataset.index
        if index.images_dir is None:
            return frozenset()
        return frozenset(image_id for image_id in index.image_ids() if _is_file(index, image_id))

    def predictions_count(self, image_id: int) -> int | None:
        """How many predictions the image has in the predictions file; None without one."""
        predictions = self.dataset.predictions
        if predictions is None:
            return None
        found = predictions.get(image_id)
        return 0 if found is None else len(found)

    def open_image(self, scene: Scene) -> OpenedImage:
        """The scene's picture: from memory for uploads, from the configured folder otherwise.

        Raises:
            DataError: no such file, or it cannot be read as an image.
        """
        if self.kind == UPLOAD:
            data = self.image_bytes.get(scene.image_id)
            if data is None:
                raise ImageMissing(
                    f"image {scene.image_id} ({scene.file_name}): no uploaded image has this "
                    "file name"
                )
            return open_image(scene, data=data)
        return open_image(scene)


def _is_file(index: CocoIndex, image_id: int) -> bool:
    try:
        path = index.image_path(image_id)
    except ValueError:  # a name leading outside the folder
        return False
    return path is not None and path.is_file()


def demo_config() -> DataConfig:
    """The embedded demo's files."""
    return DataConfig(DEMO_ANNOTATIONS, DEMO_IMAGES, DEMO_PREDICTIONS)


def _stamp(path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        return f"{path}@{path.stat().st_mtime_ns}"
    except OSError:
        return f"{path}@missing"


def config_key(kind: str, config: DataConfig) -> str:
    """A cache key for a configured source: its paths and the files' modification times."""
    parts = (kind, _stamp(config.annotations), str(config.images), _stamp(config.predictions))
    return "|".join(parts)


def content_hash(data: bytes) -> str:
    """SHA-256 of an upload's content, in hex."""
    return hashlib.sha256(data).hexdigest()


def load_configured(kind: str, config: DataConfig) -> DataSource:
    """Load the files a :class:`DataConfig` names.

    Raises:
        DataError: a file cannot be used as a whole (see :func:`uotviz.data.load_dataset`).
    """
    dataset, report = load_dataset(config)
    return DataSource(kind=kind, key=config_key(kind, config), dataset=dataset, report=report)


def upload_key(
    annotations: UploadedFile,
    predictions: UploadedFile | None = None,
    images: Sequence[UploadedFile] = (),
) -> str:
    """A cache key for uploaded files: their names and content hashes."""
    files = [annotations, *([predictions] if predictions is not None else []), *images]
    return "|".join([UPLOAD, *(f"{f.name}:{content_hash(f.data)}" for f in files)])


def load_uploads(
    annotations: UploadedFile,
    predictions: UploadedFile | None = None,
    images: Sequence[UploadedFile] = (),
    *,
    key: str | None = None,
) -> DataSource:
    """A source from uploaded files: annotations, optional predictions, images matched by name.

    An image whose name no annotation record carries is reported (and ignored); so is a second
    upload for the same image (the first is kept).

    Args:
        annotations: a COCO instances JSON.
        predictions: detection results JSON or set-prediction ``.npz``, or None.
        images: image files, matched to the annotations' ``file_name`` by base name.
        key: the source's key if already computed (default: :func:`upload_key`).

    Raises:
        DataError: the annotations cannot be used as a whole (predictions that cannot be are
            refused in the report, and the annotations load without them).
    """
    index, report = load_annotations(annotations.data, name=annotations.name)
    prediction_map = None
    source = ""
    if predictions is not None:
        try:
            prediction_map, prediction_report = load_predictions(
                predictions.data, index, name=predictions.name
            )
        except DataError as error:  # the annotations stay usable without them
            report.refused.append(str(error))
        else:
            report.merge(prediction_report)
            source = predictions.name
    image_bytes: dict[int, bytes] = {}
    for upload in images:
        image_id = index.image_id_for(upload.name)
        if image_id is None:
            report.messages.append(
                f"{upload.name}: no image of {annotations.name} has this file name; ignored"
            )
        elif image_id in image_bytes:
            report.messages.append(
                f"{upload.name}: image {image_id} was uploaded twice; kept the first"
            )
        else:
            image_bytes[image_id] = upload.data
    return DataSource(
        kind=UPLOAD,
        key=key if key is not None else upload_key(annotations, predictions, images),
        dataset=Dataset(index, prediction_map, source),
        report=report,
        image_bytes=MappingProxyType(image_bytes),
    )
