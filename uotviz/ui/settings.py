"""The cost-settings panel (sidebar) and the simulated-prediction controls.

The weight inputs and the cost preset share session state as the transport parameters do:
choosing a preset fills in the weights, editing a weight names the preset they now match (or
Custom). Entering anchor mode switches to SSD's cost (1 − IoU, c∅ = 0.5); leaving it goes back
to the paper's (1 − GIoU, c∅ = 0.8).
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from uotviz.costs import CostWeights
from uotviz.matching import COST_PRESETS, CostSettings
from uotviz.readout import weights_preset
from uotviz.ui.hidden import drawn_while_open
from uotviz.ui.state import (
    BACKGROUND_RANGE,
    DRAWN_RANGE,
    QUERIES_RANGE,
    SCORE_RANGE,
    SEED_RANGE,
    TOP_K_RANGE,
    WEIGHT_RANGE,
)

__all__ = [
    "ANCHOR_MODES",
    "FIGURE_FORMATS",
    "PICTURE_SETTINGS_OPEN",
    "anchor_mode_changed",
    "apply_cost_preset",
    "cost_settings",
    "init_cost_settings",
    "picture_settings",
    "simulation_settings",
    "weight_edited",
]

CUSTOM = "Custom"
DEFAULT_COST = "1 − GIoU"
ANCHOR_COST = "1 − IoU"
DEFAULT_BACKGROUND = 0.8
ANCHOR_BACKGROUND = 0.5
ANCHOR_MODES = {"None": None, "SSD300": "SSD300 default boxes", "SSD512": "SSD512 default boxes"}
FIGURE_FORMATS = ("PNG", "SVG")
DEFAULT_DRAWN = 40
"""How many predictions the picture draws at most, unless the user chooses otherwise."""
PICTURE_SETTINGS_OPEN = "picture_settings_open"
"""Whether the picture settings' expander is open (its widgets are drawn only then)."""
_PICTURE_WIDGETS = ("max_drawn", "figure_format")
_WEIGHT_KEYS = {
    "giou_weight": ("w_giou", "1 − GIoU"),
    "iou_weight": ("w_iou", "1 − IoU"),
    "l1_weight": ("w_l1", "L1 (normalised cx, cy, w, h)"),
    "class_weight": ("w_class", "class (−p̂)"),
}
COST_SETTINGS_OPEN = "cost_settings_open"
"""Whether the cost settings' expander is open (its widgets are drawn only then)."""
_COST_WIDGETS = (
    "cost_preset",
    *(key for key, _ in _WEIGHT_KEYS.values()),
    "background_cost",
    "anchor_mode",
    "score_threshold",
    "top_k",
)


def _set_weights(weights: CostWeights) -> None:
    for field, (key, _) in _WEIGHT_KEYS.items():
        st.session_state[key] = float(getattr(weights, field))


def apply_cost_preset() -> None:
    weights = COST_PRESETS.get(st.session_state.cost_preset)
    if weights is not None:
        _set_weights(weights)


def weight_edited() -> None:
    st.session_state.cost_preset = weights_preset(_weights()) or CUSTOM


def anchor_mode_changed() -> None:
    anchored = ANCHOR_MODES[st.session_state.anchor_mode] is not None
    st.session_state.cost_preset = ANCHOR_COST if anchored else DEFAULT_COST
    st.session_state.background_cost = ANCHOR_BACKGROUND if anchored else DEFAULT_BACKGROUND
    apply_cost_preset()


def _weights() -> CostWeights:
    return CostWeights(
        **{field: float(st.session_state[key]) for field, (key, _) in _WEIGHT_KEYS.items()}
    )


def init_cost_settings() -> None:
    state = st.session_state
    if "cost_preset" not in state:
        state.cost_preset = DEFAULT_COST
        apply_cost_preset()
        state.background_cost = DEFAULT_BACKGROUND
        state.anchor_mode = "None"
        state.score_threshold = 0.0
        state.top_k = 0


def cost_settings() -> CostSettings:
    """The sidebar's cost expander (its widgets drawn only while it is open,
    :mod:`uotviz.ui.hidden`); returns the settings (plain values)."""
    init_cost_settings()
    drawn = drawn_while_open(COST_SETTINGS_OPEN, _COST_WIDGETS)
    panel = st.sidebar.expander("Cost settings", key=COST_SETTINGS_OPEN, on_change="rerun")
    if drawn:
        _cost_widgets(panel)
    state = st.session_state
    return CostSettings(
        weights=_weights(),
        background_cost=float(state.background_cost),
        anchors=ANCHOR_MODES[state.anchor_mode],
        score_threshold=float(state.score_threshold),
        top_k=int(state.top_k) or None,
    )


def _cost_widgets(panel: DeltaGenerator) -> None:
    """The cost settings' widgets, in ``panel``."""
    with panel:
        st.selectbox(
            "Cost",
            [*COST_PRESETS, CUSTOM],
            key="cost_preset",
            on_change=apply_cost_preset,
            help="The paper's Figure 1 uses 1 − GIoU; SSD matches anchors with 1 − IoU.",
        )
        left, right = st.columns(2)
        for number, (_, (key, label)) in enumerate(_WEIGHT_KEYS.items()):
            (left if number % 2 == 0 else right).number_input(
                label,
                min_value=float(WEIGHT_RANGE.low),
                max_value=float(WEIGHT_RANGE.high),
                step=0.5,
                key=key,
                on_change=weight_edited,
            )
        st.slider(
            "c∅ (background cost)",
            min_value=float(BACKGROUND_RANGE.low),
            max_value=float(BACKGROUND_RANGE.high),
            step=0.05,
            key="background_cost",
            help="The cost of sending a prediction to the background ∅.",
        )
        st.selectbox(
            "Anchor mode",
            list(ANCHOR_MODES),
            key="anchor_mode",
            on_change=anchor_mode_changed,
            help="Match SSD's default boxes (scaled to the image) instead of the predictions; "
            "switches to SSD's cost, 1 − IoU with c∅ = 0.5.",
        )
        st.slider(
            "Score threshold",
            min_value=float(SCORE_RANGE.low),
            max_value=float(SCORE_RANGE.high),
            step=0.01,
            key="score_threshold",
            help="Predictions scoring below it are left out.",
        )
        st.number_input(
            "Top-k predictions (0: all)",
            min_value=int(TOP_K_RANGE.low),
            max_value=int(TOP_K_RANGE.high),
            step=1,
            key="top_k",
            help="Keep at most this many predictions, highest scores first.",
        )


def simulation_settings() -> tuple[int, int]:
    """Seed and number of queries of the simulated predictions; returns (seed, num_queries)."""
    # Defaults through session state rather than ``value=``, so a shared URL may set them.
    st.session_state.setdefault("sim_seed", 0)
    st.session_state.setdefault("sim_queries", 100)
    seed_col, queries_col, _ = st.columns([1, 1, 3])
    seed = seed_col.number_input(
        "Simulation seed",
        min_value=int(SEED_RANGE.low),
        max_value=int(SEED_RANGE.high),
        step=1,
        key="sim_seed",
    )
    queries = queries_col.number_input(
        "Queries (N)",
        min_value=int(QUERIES_RANGE.low),
        max_value=int(QUERIES_RANGE.high),
        step=10,
        key="sim_queries",
    )
    return int(seed), int(queries)


def picture_settings() -> int:
    """The sidebar's picture expander (its widgets drawn only while it is open,
    :mod:`uotviz.ui.hidden`): how many predictions (or anchors) the picture draws, and the file
    format of Plotly's camera button (``figure_format``: ``"PNG"`` or ``"SVG"``); returns the
    number drawn."""
    state = st.session_state
    # Defaults through session state rather than ``value=``, so a shared URL may set them.
    state.setdefault("max_drawn", DEFAULT_DRAWN)
    state.setdefault("figure_format", FIGURE_FORMATS[0])
    drawn = drawn_while_open(PICTURE_SETTINGS_OPEN, _PICTURE_WIDGETS)
    panel = st.sidebar.expander("Picture settings", key=PICTURE_SETTINGS_OPEN, on_change="rerun")
    if drawn:
        panel.slider(
            "Predictions drawn on the image",
            min_value=int(DRAWN_RANGE.low),
            max_value=int(DRAWN_RANGE.high),
            step=int(DRAWN_RANGE.step or 1),
            key="max_drawn",
            help=(
                "The predictions sending the most mass to ground truths are drawn first; the "
                "others are counted in a note above the picture."
            ),
        )
        panel.selectbox(
            "Figure download format",
            FIGURE_FORMATS,
            key="figure_format",
            help="What the camera button of each figure saves: PNG (pixels) or SVG (vector).",
        )
    return int(state.max_drawn)
