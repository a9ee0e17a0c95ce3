"""The Image page: the picker, then one image's matching drawn on the picture and as matrices.

The data source and the cost settings are the app's (chosen in the sidebar before any page,
:mod:`app`); this page adds its own sidebar controls (the predictions drawn, the figures'
format, the image filters) and everything in the main area.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from uotviz.matching import CostSettings
from uotviz.readout import escape_markdown, image_caption
from uotviz.sources import DataSource
from uotviz.ui.hidden import keep_values
from uotviz.ui.picker import pick_image
from uotviz.ui.presentation import PRESENT_KEY, hide_chrome, presenting
from uotviz.ui.settings import picture_settings, simulation_settings
from uotviz.ui.state import IMAGE_PAGE, show_url_notice, write_url
from uotviz.ui.view import load_image, matching_problem, matching_view, needs_simulation

__all__ = ["IMAGE_PAGE_KEYS", "PAPER_URL", "image_page", "keep_image_page_state"]

PAPER_URL = "https://arxiv.org/abs/2307.02402"

IMAGE_PAGE_KEYS = (
    "image_id",
    "min_objects",
    "categories",
    "max_drawn",
    "figure_format",
    "sim_seed",
    "sim_queries",
    PRESENT_KEY,
    "show_gallery",
)
"""The session keys of this page's widgets whose values outlive a visit to another page."""


def keep_image_page_state() -> None:
    """Keep this page's widget values while another page is shown (call it there, before any
    widget): Streamlit forgets a widget's value in a run that does not draw the widget, unless
    the value is set again from the script."""
    keep_values(IMAGE_PAGE_KEYS)


def image_page(
    header: DeltaGenerator, source: DataSource, settings: CostSettings, plotly_url: str
) -> None:
    """The page, for ``source`` under ``settings``; the title and introduction go to
    ``header`` (above the data source's messages)."""
    if presenting():
        with header:
            hide_chrome()
    else:
        header.title("uotviz: detection matching as unbalanced optimal transport")
        header.markdown(
            f"De Plaen et al., [*Unbalanced Optimal Transport: A Unified Framework for Object "
            f"Detection*]({PAPER_URL}) (CVPR 2023): predictions are matched to ground truths "
            "(lettered) or to the background ∅. A prediction's badge says where its mass goes "
            "(4→A), and its outline takes that ground truth's colour. τ1 penalises the "
            "predictions' marginal, τ2 the ground truths' (∅ included): τ = ∞ makes it a hard "
            "constraint, τ = 0 leaves it free; ε is the entropy. The demo's image 1 is the scene "
            "of the paper's Figure 1."
        )

    max_drawn = picture_settings()
    image_id = pick_image(source)
    # What the link asked for and did not get: the source, the image, values. In presentation
    # mode in the page, not as a toast, which would cover the sliders (top right).
    show_url_notice(inline=presenting())
    if image_id is None:
        st.stop()

    scene = source.dataset.scene(image_id)
    simulation = None
    if needs_simulation(scene, settings):
        st.info(
            f"{source.kind} has no predictions for this image: the predictions shown are "
            "simulated (a seeded DETR-like query set: copies of the ground truths, duplicates, "
            "misses and background junk)."
        )
        simulation = simulation_settings()

    try:
        problem = matching_problem(source, image_id, settings, simulation)
    except ValueError as error:
        st.error(f"The matching problem cannot be built: {escape_markdown(str(error))}")
        st.stop()

    image = load_image(source, image_id)
    if not presenting():
        st.caption(image_caption(scene, problem, "anchors" if settings.anchors else "predictions"))
    problem_key = f"{source.key}|{image_id}|{settings}|{simulation}"
    matching_view(source, image_id, settings, problem, image, problem_key, max_drawn, plotly_url)
    # After the view, whose widgets may have changed values (a step writes its own).
    write_url(IMAGE_PAGE)
