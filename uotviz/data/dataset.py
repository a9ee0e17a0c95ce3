"""A dataset: COCO ground truths joined with a detector's predictions, one scene per image.

Built once (for instance under ``st.cache_resource``) and read-only afterwards: every per-image
structure is prepared by the loaders, so :meth:`Dataset.scene` only slices arrays and builds
small tensors (tens of microseconds at COCO val2017 scale, see ``bench/bench_data.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from uotviz.data.coco import CocoIndex, load_annotations
from uotviz.data.config import DataConfig
from uotviz.data.errors import DataError
from uotviz.data.predictions import load_predictions
from uotviz.data.types import LoadReport, Predictions, Scene

__all__ = ["Dataset", "load_dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Ground truths and (optionally) predictions, per image.

    Attributes:
        index: the COCO ground truths (and the images folder).
        predictions: image id -> predictions, or None when no predictions were given. An image
            absent from a given mapping has no predictions: its scene gets an empty
            :class:`Predictions` (N = 0) rather than None.
        source: the predictions' file name, given to the empty ones (default: the ``source``
            of the first predictions).

    Scenes get fresh ground-truth tensors, but their predictions are the dataset's own (views
    into one array per field, as loaded): treat them as read-only, and use
    :func:`uotviz.data.predictions.select` (which returns new tensors) to subset them.
    """

    index: CocoIndex
    predictions: Mapping[int, Predictions] | None = None
    source: str = ""
    _empty: Predictions = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.predictions is not None and not isinstance(self.predictions, MappingProxyType):
            object.__setattr__(self, "predictions", MappingProxyType(dict(self.predictions)))
        if not self.source and self.predictions:
            object.__setattr__(self, "source", next(iter(self.predictions.values())).source)
        object.__setattr__(self, "_empty", Predictions(source=self.source))

    def __len__(self) -> int:
        return len(self.index)

    def image_ids(self) -> tuple[int, ...]:
        """Every image id, in the annotations' order."""
        return self.index.image_ids()

    def scene(self, image_id: int) -> Scene:
        """The image's ground truths with its predictions (None when the dataset has none).

        Raises:
            KeyError: if the image id is not in the annotations.
        """
        predictions = None
        if self.predictions is not None:
            predictions = self.predictions.get(image_id, self._empty)
        return self.index.scene(image_id, predictions)


def load_dataset(config: DataConfig) -> tuple[Dataset, LoadReport]:
    """Load the annotations, images folder and predictions named by a :class:`DataConfig`.

    Returns:
        (Dataset, LoadReport): the dataset and the merged report of both files (annotations
        first).

    Raises:
        DataError: if no annotations file is configured, or it cannot be used as a whole. A
            predictions file that cannot be used is refused in the report
            (``LoadReport.refused``), and the annotations load without predictions.
    """
    if config.annotations is None:
        raise DataError("no annotations file: give --annotations or set UOTVIZ_ANNOTATIONS")
    index, report = load_annotations(config.annotations, images_dir=config.images)
    predictions = None
    source = ""
    if config.predictions is not None:
        try:
            predictions, prediction_report = load_predictions(config.predictions, index)
        except DataError as error:  # the annotations stay usable without them
            report.refused.append(str(error))
        else:
            source = Path(config.predictions).name
            report.merge(prediction_report)
    return Dataset(index, predictions, source), report
