"""A floor for ``bench/bench_browser.py --floor``: the bare page plus two trivial Plotly charts.

The same ``st.select_slider("ε", ...)`` as ``bench/bare_slider_app.py`` in a fragment, the value
written, and two three-point line charts whose data and title follow ε, shown as the app shows
its scene and plan (:func:`uotviz.ui.charts.live_chart`, at their columns' widths, and
:func:`uotviz.ui.heap.settle_heap` after each run). Any page that redraws two Plotly charts per
step this way pays at least this. Run with
``streamlit run bench/two_charts_app.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from uotviz.plots.matrices import unvalidated_figure  # noqa: E402
from uotviz.sliders import EPS_VALUES, format_value  # noqa: E402
from uotviz.ui.charts import live_chart, plotly_js_url  # noqa: E402
from uotviz.ui.heap import settle_heap  # noqa: E402


@st.fragment
def view(plotly_url: str | None) -> None:
    eps = st.select_slider("ε", EPS_VALUES, value=0.05, format_func=format_value, key="eps")
    st.write(f"ε = {format_value(eps)}")
    for column, name in zip(st.columns(2), ("left", "right"), strict=True):
        with column:
            figure = unvalidated_figure(
                [{"type": "scatter", "x": [0, 1, 2], "y": [0, float(eps), 0]}],
                {"title": {"text": f"{name} at ε = {format_value(eps)}"}},
            )
            live_chart(figure, key=f"{name}_chart", plotly_url=plotly_url)
    settle_heap("floor")  # as the app does: Streamlit's collection after each run stays short


view(plotly_js_url())
