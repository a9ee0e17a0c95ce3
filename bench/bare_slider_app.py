"""A bare one-slider Streamlit page: the baseline of ``bench/bench_browser.py``.

One ``st.select_slider("ε", ...)`` over the same values (and labels) as uotviz's ε slider,
starting where the app starts (0.05), and a ``st.write`` of the chosen value. Run with
``streamlit run bench/bare_slider_app.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from uotviz.sliders import EPS_VALUES, format_value  # noqa: E402

eps = st.select_slider("ε", EPS_VALUES, value=0.05, format_func=format_value, key="eps")
st.write(f"ε = {format_value(eps)}")
