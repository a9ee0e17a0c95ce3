"""uotviz, first version: the scene of the paper's Figure 1, matched live.

De Plaen et al., "Unbalanced Optimal Transport: A Unified Framework for Object Detection",
CVPR 2023, Figure 1: five predictions (1-5) and two ground truths (A, B), matched with the cost
1 - GIoU and a background cost c∅ = 0.8. Pick one of the figure's panels (c)-(h) or move ε, τ1
and τ2, and the transport plan N·P̂ is solved again. Viewing COCO images and detections comes in a
later version.

Run with ``streamlit run app.py``. This file only wires widgets to :mod:`uotviz`.
"""

from __future__ import annotations

import math

import streamlit as st
import torch

from uotviz import figure1
from uotviz.costs import matching_cost
from uotviz.figures import cost_figure, plan_figure
from uotviz.sliders import (
    EPS_VALUES,
    TAU_VALUES,
    format_value,
    matching_preset,
    preset_by_name,
    preset_names,
)
from uotviz.transport import TransportResult, solve

PAPER_URL = "https://arxiv.org/abs/2307.02402"
DEFAULT_PRESET = "OT (g)"
ROW_LABELS = figure1.PREDICTION_LABELS
COLUMN_LABELS = (*figure1.GROUND_TRUTH_LABELS, "∅")

st.set_page_config(page_title="uotviz", layout="wide")


@st.cache_resource
def figure1_cost() -> torch.Tensor:
    """The 5 x 3 cost of Figure 1(b), computed once per server process (read-only)."""
    return matching_cost(
        torch.tensor(figure1.PREDICTIONS_XYXY, dtype=torch.float64),
        torch.tensor(figure1.GROUND_TRUTHS_XYXY, dtype=torch.float64),
        background_cost=figure1.BACKGROUND_COST,
    )


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


def diagnostics(result: TransportResult, eps: float) -> str:
    """One line about the solve: method, iterations, convergence, time, marginal residuals."""
    parts = [
        f"method **{result.method}**",
        f"{result.iterations} iterations",
        f"converged: {'yes' if result.converged else '**no**'}",
        f"{result.seconds * 1e3:.1f} ms",
        f"marginal residuals: rows {result.row_error:.1e}, columns {result.col_error:.1e}",
    ]
    if result.eps != eps:
        parts.append(f"solved at ε = {result.eps:.2g} (the ε → 0 continuation)")
    return " · ".join(parts)


if "preset" not in st.session_state:
    st.session_state.preset = DEFAULT_PRESET
    apply_preset()

st.title("uotviz: detection matching as unbalanced optimal transport")
st.markdown(
    f"The scene of Figure 1 of De Plaen et al., [*Unbalanced Optimal Transport: A Unified "
    f"Framework for Object Detection*]({PAPER_URL}) (CVPR 2023): five predictions **1–5**, two "
    f"ground truths **A**, **B**, cost 1 − GIoU and background cost "
    f"c∅ = {figure1.BACKGROUND_COST}. τ1 penalises the predictions' marginal, τ2 the ground "
    "truths' (∅ included): τ = ∞ makes it a hard constraint, τ = 0 leaves it free."
)


@st.fragment
def matching_view() -> None:
    """The controls and the two matrices; a slider move reruns only this."""
    preset_col, eps_col, tau1_col, tau2_col = st.columns([1.6, 1, 1, 1], gap="medium")
    preset_col.selectbox(
        "Preset (panel of Figure 1)", preset_names(), key="preset", on_change=apply_preset
    )
    eps_col.select_slider(
        "ε",
        EPS_VALUES,
        format_func=format_value,
        key="eps",
        on_change=slider_moved,
        help="Entropic regularisation, in cost units. 0: no entropy (exact solution).",
    )
    tau1_col.select_slider(
        "τ1",
        TAU_VALUES,
        format_func=format_value,
        key="tau1",
        on_change=slider_moved,
        help="Penalty on the predictions' marginal (row sums). ∞: every prediction sends "
        "exactly one unit; 0: free.",
    )
    tau2_col.select_slider(
        "τ2",
        TAU_VALUES,
        format_func=format_value,
        key="tau2",
        on_change=slider_moved,
        help="Penalty on the ground truths' marginal (column sums, ∅ included). ∞: every "
        "ground truth receives exactly one unit; 0: free.",
    )
    eps, tau1, tau2 = st.session_state.eps, st.session_state.tau1, st.session_state.tau2

    cost = figure1_cost()
    result = solve(cost, eps, tau1, tau2)
    plan = result.plan.cpu().numpy()

    cost_col, plan_col = st.columns(2, gap="large")
    cost_col.plotly_chart(
        cost_figure(
            cost.cpu().numpy(),
            ROW_LABELS,
            COLUMN_LABELS,
            title=f"Cost C = 1 − GIoU, c∅ = {figure1.BACKGROUND_COST}",
        ),
        key="cost_chart",
    )
    plan_col.plotly_chart(
        plan_figure(
            plan,
            ROW_LABELS,
            COLUMN_LABELS,
            title=(
                f"Plan N·P̂ at ε = {format_value(eps)}, τ1 = {format_value(tau1)}, "
                f"τ2 = {format_value(tau2)}"
            ),
        ),
        key="plan_chart",
    )
    st.caption(diagnostics(result, eps))
    if eps == 0 and tau1 == 0 and tau2 == math.inf:
        st.info(
            "At ε = 0, τ1 = 0, τ2 = ∞ the background mass is not unique: uotviz spreads it "
            "evenly over all predictions (the ε → 0 limit at τ1 = 0 exactly, 0.6 per row here). "
            "The published panel (e) draws it only on the predictions that took no ground truth."
        )
    elif eps == 0 and tau1 == 0 and tau2 == 0:
        st.info("Both marginals free and no entropy: sending nothing costs least, the plan is 0.")


matching_view()
