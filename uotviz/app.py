"""uotviz: object-detection matching as unbalanced optimal transport, on images.

De Plaen et al., "Unbalanced Optimal Transport: A Unified Framework for Object Detection",
CVPR 2023. Pick an image (the embedded demo, a configured COCO dataset or uploaded files), a cost
and the transport parameters ε, τ1, τ2, and see the plan drawn on the image and as matrices
(the Image page), or the matching statistics of every image of the dataset (the Dataset page).

Run with ``uotviz`` once installed, or ``streamlit run app.py`` from a checkout (the demo), with
``-- --annotations A.json --images DIR [--predictions P]`` for a dataset (``uotviz --annotations
...``). This file only wires widgets (:mod:`uotviz.ui`) to the core: the sidebar that both pages
share (the data source and the cost settings), then the page shown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import streamlit as st
import torch

from uotviz.ui.charts import plotly_js_url, preload_plotly
from uotviz.ui.dataset_page import dataset_page
from uotviz.ui.image_page import image_page
from uotviz.ui.settings import cost_settings
from uotviz.ui.sources import choose_source
from uotviz.ui.state import restore_from_url

SOLVER_THREADS = 1
"""torch's CPU threads for the app's solves. A slider step solves one small problem (at most a
few hundred predictions by a few dozen ground truths; a drag, a few dozen of them at once), and
sessions solve side by side: with torch's default of one thread per core, each tensor operation
paid the threads' synchronisation whenever another process kept a core busy: a drag's solve
was 1.2-4x slower on 2 cores beside one busy process, and a 27 x 25 solve up to 50x slower
with both cores busy (``python bench/bench_solver.py --app-threads --busy 1``; idle, the two
are equal)."""


def run(script_args: Sequence[str]) -> None:
    """One run of the app, with the app's own arguments (``--annotations`` ...)."""
    torch.set_num_threads(SOLVER_THREADS)
    st.set_page_config(page_title="uotviz", layout="wide")
    plotly_url = plotly_js_url()
    preload_plotly(plotly_url)  # first: the browser fetches plotly.js while the run goes on
    restore_from_url()  # a shared URL's values, before any widget is created

    def show_image_page() -> None:
        image_page(header, source, settings, plotly_url)

    def show_dataset_page() -> None:
        dataset_page(header, source, settings, image)

    image = st.Page(
        show_image_page, title="Image", icon=":material/image:", url_path="image", default=True
    )
    dataset = st.Page(
        show_dataset_page, title="Dataset", icon=":material/table_chart:", url_path="dataset"
    )
    page = st.navigation([image, dataset])
    # The source and cost widgets are drawn here, outside the pages, so that both pages share
    # them (a widget drawn by a page is that page's own, and an upload would not follow a page
    # switch).
    header = st.container()  # the page's title, above what the source has to say
    source = choose_source(script_args, os.environ)
    settings = cost_settings()
    page.run()


def script_args(script: str) -> list[str]:
    """The app's arguments when Streamlit runs ``script``: ``streamlit run app.py -- ARGS`` makes
    ``sys.argv`` ``["app.py", *ARGS]``. A program that runs the script in its own process (a test
    harness) has arguments of its own, which are not the app's: none then."""
    return sys.argv[1:] if Path(sys.argv[0]).name == Path(script).name else []


if __name__ == "__main__":  # as Streamlit runs it (the ``uotviz`` command)
    run(script_args(__file__))
