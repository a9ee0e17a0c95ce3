"""The transport parameters: a preset of the paper's Figure 1 and the ε, τ1, τ2 sliders.

The preset selector and the sliders share session state: choosing a preset moves the sliders,
moving a slider names the preset the parameters now match (or Custom).
"""

from __future__ import annotations

import streamlit as st

from uotviz.sliders import (
    EPS_VALUES,
    TAU_VALUES,
    format_value,
    matching_preset,
    preset_by_name,
    preset_names,
)

__all__ = ["DEFAULT_PRESET", "init_params", "transport_controls"]

DEFAULT_PRESET = "OT (g)"
_PRESET_WIDTH_PX = 280  # the longest preset name, "Closest ground truth (c)", and the arrow


def apply_preset() -> None:
    """Preset chosen: move the three sliders to its parameters (Custom leaves them alone)."""
    preset = preset_by_name(st.session_state.preset)
    if preset is not None:
        st.session_state.eps = preset.eps
        st.session_state.tau1 = preset.tau1
        st.session_state.tau2 = preset.tau2


def slider_moved() -> None:
    """A slider moved: name the preset the parameters now match, or Custom."""
    state = st.session_state
    state.preset = matching_preset(state.eps, state.tau1, state.tau2)


def init_params() -> None:
    """First run of a session: the default preset and its parameters."""
    if "preset" not in st.session_state:
        st.session_state.preset = DEFAULT_PRESET
        apply_preset()


def transport_controls() -> tuple[float, float, float]:
    """The preset selector and the three sliders in one row; returns (ε, τ1, τ2)."""
    init_params()
    # A horizontal container, not columns: four elements fewer to send and draw at every step.
    row = st.container(horizontal=True, gap="medium")
    row.selectbox(
        "Preset (panel of Figure 1)",
        preset_names(),
        key="preset",
        on_change=apply_preset,
        width=_PRESET_WIDTH_PX,
    )
    row.select_slider(
        "ε",
        EPS_VALUES,
        format_func=format_value,
        key="eps",
        on_change=slider_moved,
        help="Entropic regularisation, in cost units. 0: no entropy (exact solution).",
    )
    row.select_slider(
        "τ1",
        TAU_VALUES,
        format_func=format_value,
        key="tau1",
        on_change=slider_moved,
        help="Penalty on the predictions' marginal (row sums). ∞: every prediction sends "
        "exactly one unit; 0: free.",
    )
    row.select_slider(
        "τ2",
        TAU_VALUES,
        format_func=format_value,
        key="tau2",
        on_change=slider_moved,
        help="Penalty on the ground truths' marginal (column sums, ∅ included). ∞: every "
        "ground truth receives exactly one unit; 0: free.",
    )
    state = st.session_state
    return state.eps, state.tau1, state.tau2
