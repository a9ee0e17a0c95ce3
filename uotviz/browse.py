"""Browsing a dataset's images: filters, labels, and stepping through the filtered list.

Pure functions over a :class:`~uotviz.data.coco.CocoIndex`; the app's picker calls them.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

from uotviz.data import CocoIndex
from uotviz.readout import plural

__all__ = ["filter_images", "first_pictured", "image_label", "random_image", "step_image"]


def filter_images(
    index: CocoIndex, *, min_objects: int = 0, categories: Sequence[int] = ()
) -> list[int]:
    """Image ids, increasing, with at least ``min_objects`` non-crowd objects and, when
    ``categories`` is not empty, at least one object of one of them."""
    ids = index.ids_by_object_count(min_objects=max(0, int(min_objects)))
    if categories:
        chosen = set(index.ids_with_categories(categories))
        ids = [image_id for image_id in ids if image_id in chosen]
    return sorted(ids)


def image_label(
    index: CocoIndex, image_id: int, *, predictions: int | None = None, pictured: bool = True
) -> str:
    """The picker's text for an image: ``"1 · figure1_coffee.jpg · 3 objects · 5 predictions"``,
    and ``" · no picture"`` when its picture is missing.

    Args:
        index: the annotations.
        image_id: the image.
        predictions: how many predictions the image has; None without a predictions file (left
            out of the text).
        pictured: whether its picture can be opened.
    """
    objects = index.object_count(image_id)
    parts = [str(image_id), index.file_name(image_id), f"{objects} object{plural(objects)}"]
    if predictions is not None:
        parts.append(f"{predictions} prediction{plural(predictions)}")
    if not pictured:
        parts.append("no picture")
    return " · ".join(parts)


def first_pictured(ids: Sequence[int], pictured: Collection[int]) -> int | None:
    """The first of ``ids`` whose picture can be opened, else the first; None for no ids."""
    return next((image_id for image_id in ids if image_id in pictured), ids[0] if ids else None)


def step_image(ids: Sequence[int], current: int | None, delta: int) -> int:
    """The image ``delta`` places after ``current`` in ``ids``, wrapping around.

    A ``current`` not in ``ids`` steps from the start (``delta > 0``) or the end.

    Raises:
        ValueError: if ``ids`` is empty.
    """
    if not ids:
        raise ValueError("no image to step to: the filters leave none")
    if current not in ids:
        return ids[0] if delta > 0 else ids[-1]
    return ids[(list(ids).index(current) + delta) % len(ids)]


def random_image(ids: Sequence[int], current: int | None, rng: random.Random) -> int:
    """A random image of ``ids``, other than ``current`` whenever there is another.

    Raises:
        ValueError: if ``ids`` is empty.
    """
    if not ids:
        raise ValueError("no image to choose from: the filters leave none")
    others = [image_id for image_id in ids if image_id != current] or list(ids)
    return rng.choice(others)
