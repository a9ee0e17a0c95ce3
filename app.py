"""uotviz: object-detection matching as unbalanced optimal transport, on images.

De Plaen et al., "Unbalanced Optimal Transport: A Unified Framework for Object Detection",
CVPR 2023. Pick an image (the embedded demo, a configured COCO dataset or uploaded files), a cost
and the transport parameters ε, τ1, τ2, and see the plan drawn on the image and as matrices.

Run with ``streamlit run app.py`` (the demo) or
``streamlit run app.py -- --annotations A.json --images DIR [--predictions P]``.
This file only wires widgets (:mod:`uotviz.ui`) to the core.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from uotviz.readout import escape_markdown, image_caption
from uotviz.ui.charts import plotly_js_url, preload_plotly
from uotviz.ui.picker import pick_image
from uotviz.ui.presentation import hide_chrome, presenting
from uotviz.ui.settings import cost_settings, drawn_predictions, figure_format, simulation_settings
from uotviz.ui.sources import choose_source
from uotviz.ui.urlstate import restore_from_url, show_url_notice, write_url
from uotviz.ui.view import load_image, matching_problem, matching_view, needs_simulation

PAPER_URL = "https://arxiv.org/abs/2307.02402"

st.set_page_config(page_title="uotviz", layout="wide")
plotly_url = plotly_js_url()
preload_plotly(plotly_url)  # first: the browser fetches plotly.js while the run goes on
restore_from_url()  # a shared URL's values, before any widget is created
if presenting():
    hide_chrome()
else:
    st.title("uotviz: detection matching as unbalanced optimal transport")
    st.markdown(
        f"De Plaen et al., [*Unbalanced Optimal Transport: A Unified Framework for Object "
        f"Detection*]({PAPER_URL}) (CVPR 2023): predictions are matched to ground truths "
        "(lettered) or to the background ∅. A prediction's badge says where its mass goes "
        "(4→A), and its outline takes that ground truth's colour. τ1 penalises the "
        "predictions' marginal, τ2 the ground truths' (∅ included): τ = ∞ makes it a hard "
        "constraint, τ = 0 leaves it free; ε is the entropy. The demo's image 1 is the scene "
        "of the paper's Figure 1."
    )

# `streamlit run app.py -- ARGS` makes sys.argv ["app.py", *ARGS]; a program that runs this file
# in its own process (a test harness) has arguments of its own, which are not the app's.
script_args = sys.argv[1:] if Path(sys.argv[0]).name == Path(__file__).name else []
source = choose_source(script_args, os.environ)
settings = cost_settings()
max_drawn = drawn_predictions()
figure_format()
image_id = pick_image(source)
show_url_notice()  # what the link asked for and did not get: the source, the image, values
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
write_url()  # after the view, whose widgets may have changed values (a slider step writes its own)
