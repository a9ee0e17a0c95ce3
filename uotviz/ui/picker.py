"""The image picker: filters (sidebar), a selectbox by id (each image with its file name, its
objects, its predictions and whether its picture is there), previous / next / random.

The chosen image id lives in ``st.session_state.image_id``; it is reset to the source's default
image whenever the data source changes: the demo's Figure 1 scene, else the first image whose
picture is there.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import streamlit as st

from uotviz.browse import (
    filter_images,
    first_pictured,
    image_label,
    random_image,
    step_image,
)
from uotviz.data.demo import FIGURE1_IMAGE_ID
from uotviz.sources import DEMO, DataSource
from uotviz.ui.hidden import drawn_while_open
from uotviz.ui.presentation import presentation_toggle
from uotviz.ui.state import requested_image

__all__ = ["open_image", "pick_image"]

FILTERS_OPEN = "image_filters_open"
"""Whether the image filters' expander is open (its widgets are drawn only then)."""


def _reset_for(source: DataSource) -> None:
    """A new source: forget the image and the filters chosen for the previous one."""
    state = st.session_state
    if state.get("picker_source") == source.key:
        return
    state.picker_source = source.key
    ids = sorted(source.dataset.image_ids())
    default = FIGURE1_IMAGE_ID if source.kind == DEMO and FIGURE1_IMAGE_ID in ids else None
    if default is None:
        default = first_pictured(ids, source.pictured)
    requested = requested_image(ids, source.kind)  # a shared URL's image, on the first run
    state.image_id = requested if requested is not None else default
    state.min_objects = 0
    state.categories = []


def open_image(source: DataSource, image_id: int) -> None:
    """Make ``image_id`` of ``source`` the picker's choice for its next run, with the filters
    cleared so that the image is among those listed (another page opening an image)."""
    state = st.session_state
    state.picker_source = source.key  # the picker does not reset to the default image
    state.image_id = image_id
    state.min_objects = 0
    state.categories = []


def _step(ids: Sequence[int], delta: int) -> None:
    st.session_state.image_id = step_image(ids, st.session_state.get("image_id"), delta)


def _random(ids: Sequence[int]) -> None:
    rng = st.session_state.setdefault("picker_rng", random.Random(0))
    st.session_state.image_id = random_image(ids, st.session_state.get("image_id"), rng)


def pick_image(source: DataSource) -> int | None:
    """The picker's widgets; returns the chosen image id (None when the dataset has no image)."""
    _reset_for(source)
    index = source.dataset.index
    all_ids = list(source.dataset.image_ids())
    if not all_ids:
        st.warning(f"{source.kind}: the annotations hold no usable image.")
        return None

    state = st.session_state
    drawn = drawn_while_open(FILTERS_OPEN, ("min_objects", "categories"))
    filters = st.sidebar.expander("Image filters", key=FILTERS_OPEN, on_change="rerun")
    if drawn:  # its widgets only while it is open (uotviz.ui.hidden)
        filters.number_input("Minimum number of objects", min_value=0, step=1, key="min_objects")
        categories = dict(index.categories)
        filters.multiselect(
            "Categories (images with any of them)",
            list(categories),
            format_func=lambda cat_id: categories.get(cat_id, str(cat_id)),
            key="categories",
        )
    ids = filter_images(index, min_objects=state.min_objects, categories=state.categories)
    if not ids:
        st.warning("No image matches the filters; showing every image.")
        ids = all_ids
    if state.get("image_id") not in ids:
        state.image_id = ids[0]

    pick_col, prev_col, next_col, random_col, present_col = st.columns(
        [2.3, 1.35, 1.15, 1.2, 1.8], vertical_alignment="bottom"
    )
    pick_col.selectbox(
        f"Image ({len(ids):,} of {len(all_ids):,})",
        ids,
        format_func=lambda image_id: image_label(
            index,
            image_id,
            predictions=source.predictions_count(image_id),
            pictured=image_id in source.pictured,
        ),
        key="image_id",
    )
    prev_col.button("◀ previous image", on_click=_step, args=(ids, -1), width="stretch")
    next_col.button("next image ▶", on_click=_step, args=(ids, 1), width="stretch")
    random_col.button("random image", on_click=_random, args=(ids,), width="stretch")
    with present_col:
        presentation_toggle()
    return state.image_id
