"""The transport parameters: a preset of the paper's Figure 1 and the ε, τ1, τ2 sliders.

The parameters live in the session state (``eps``, ``tau1``, ``tau2``); the preset selector and
the sliders both write them. Choosing a preset moves the sliders; the preset shown
(``preset``, a plain value) is always the one the parameters match, or Custom.

The sliders are one small element (``uotviz/ui/js/sliders.js``) that reports every position a
mouse drag goes through, not only the last one, so that the picture follows the drag.
"""

from __future__ import annotations

import uuid

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from uotviz.sliders import (
    ANIMATIONS,
    DEFAULT_PRESET,
    PARAMETER_LABELS,
    SCALES,
    format_value,
    matching_preset,
    positions_sent,
    preset_by_name,
    preset_names,
    snap,
)
from uotviz.ui.js import asset_text

__all__ = [
    "DRAGGING",
    "SLIDER_STEP",
    "apply_preset",
    "init_params",
    "slider_moved",
    "transport_controls",
]

SLIDER_STEP = "slider_step"
"""The session key of the number of the last slider step the app took from the browser."""
DRAGGING = "slider_dragging"
"""The session key of the slider the mouse is dragging (``"eps"``, ...), None when none is."""

_PRESET_WIDGET = "preset_choice"  # the selector's key, followed by the preset it shows
_PRESET_WIDTH_PX = 280  # the longest preset name, "Closest ground truth (c)", and the arrow
_SLIDERS_KEY = "transport_sliders"
_SESSION_KEY = "slider_session"  # an id of the session, for the sliders to see a new one
_PLAY_KEY = "slider_play"  # the last animation asked for: {slider, from, to, id}
_PLAY_WIDTH_PX = 420
_HELP = {
    "eps": "Entropic regularisation, in cost units. 0: no entropy (exact solution).",
    "tau1": "Penalty on the predictions' marginal (row sums). ∞: every prediction sends "
    "exactly one unit; 0: free.",
    "tau2": "Penalty on the ground truths' marginal (column sums, ∅ included). ∞: every "
    "ground truth receives exactly one unit; 0: free.",
}

_sliders = st.components.v2.component(
    "uotviz_sliders",
    js=asset_text("sliders.js"),
    css=asset_text("sliders.css"),
    isolate_styles=False,
)


def apply_preset() -> None:
    """Preset chosen: move the three sliders to its parameters (Custom leaves them alone)."""
    preset = preset_by_name(st.session_state.preset)
    if preset is not None:
        st.session_state.eps = preset.eps
        st.session_state.tau1 = preset.tau1
        st.session_state.tau2 = preset.tau2


def _preset_chosen(key: str) -> None:
    """A preset chosen in the selector ``key`` (``preset_choice:<the preset it was drawn
    showing>``): apply it.

    A selector drawn by an earlier run can still be in the browser when the next slider step is
    sent (the browser drops it only when that run's end reaches it), and the browser then sends
    its value back. Streamlit has forgotten that value, so it calls this again, with the preset
    the selector was drawn showing: that is not a choice, and applying it would undo the step.
    """
    chosen = st.session_state[key]
    if chosen == key.partition(":")[2]:
        return  # the selector's own preset sent back, not a choice
    st.session_state.preset = chosen
    apply_preset()


def slider_moved() -> None:
    """A slider moved: name the preset the parameters now match, or Custom."""
    state = st.session_state
    state.preset = matching_preset(state.eps, state.tau1, state.tau2)


def init_params() -> None:
    """First run of a session: the default preset and its parameters."""
    if "preset" not in st.session_state:
        st.session_state.preset = DEFAULT_PRESET
        apply_preset()


def _sliders_moved() -> None:
    """The browser sent slider positions: take the valid ones and the step's number."""
    state = st.session_state
    sent = state.get(_SLIDERS_KEY)
    values, step, dragging = positions_sent(sent.get("positions") if hasattr(sent, "get") else None)
    for name, value in values.items():
        state[name] = value
    if step is not None:
        state[SLIDER_STEP] = step
    state[DRAGGING] = dragging
    slider_moved()


def transport_controls() -> tuple[float, float, float]:
    """The preset selector and the three sliders in one row; returns (ε, τ1, τ2)."""
    init_params()
    state = st.session_state
    slider_moved()  # the preset shown is the one the parameters match (set from anywhere)
    # A horizontal container, not columns: fewer elements to send and draw at every step.
    row = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
    # The selector is keyed by the preset it shows, and its value is never set from here: a
    # widget whose value the app sets can be sent back stale by a browser that has not drawn
    # the new value yet (a key press right after a slider step, on a busy machine), and that
    # stale value read as a choice would undo the step. A selector of an earlier run sent back
    # is told apart in _preset_chosen.
    names = preset_names()
    key = f"{_PRESET_WIDGET}:{state.preset}"
    row.selectbox(
        "Preset (panel of Figure 1)",
        names,
        index=names.index(state.preset),
        key=key,
        on_change=_preset_chosen,
        args=(key,),
        width=_PRESET_WIDTH_PX,
    )
    # Before the sliders, which stretch over the rest of the row.
    _play_controls(row.popover("▶ Play", help="Play the picture from one limit case to another"))
    sliders = [
        {
            "name": name,
            "label": PARAMETER_LABELS[name],
            "help": _HELP[name],
            "values": [format_value(value) for value in scale],
            "position": scale.index(snap(state[name], scale)),
        }
        for name, scale in SCALES.items()
    ]
    with row:
        _sliders(
            key=_SLIDERS_KEY,
            data={
                "sliders": sliders,
                "step": state.get(SLIDER_STEP, 0),
                "session": state.setdefault(_SESSION_KEY, uuid.uuid4().hex),
                "play": state.get(_PLAY_KEY),
            },
            default={"positions": None},
            on_positions_change=_sliders_moved,
        )
    return state.eps, state.tau1, state.tau2


def _play_controls(place: DeltaGenerator) -> None:
    """A choice of :data:`uotviz.sliders.ANIMATIONS` and a button that plays it on the picture,
    in ``place`` (a popover beside the sliders: nothing pushes the picture down)."""
    place.selectbox(
        "Play on the picture",
        range(len(ANIMATIONS)),
        format_func=lambda k: ANIMATIONS[k].label,
        key="play_choice",
        width=_PLAY_WIDTH_PX,
        help="Moves one slider from one limit case of the paper's Figure 1 to another and "
        "draws the picture and the plan at every position on the way.",
    )
    place.button("▶ Play", on_click=_play_clicked, key="play_button", type="primary")


def _play_clicked() -> None:
    """Play: the parameters of the animation's start, and the sliders told to walk its slider
    to the end (uotviz/ui/js/sliders.js), drawing the frames the app sends with them."""
    state = st.session_state
    choice = state.get("play_choice", 0)
    animation = ANIMATIONS[
        choice if isinstance(choice, int) and 0 <= choice < len(ANIMATIONS) else 0
    ]
    start = animation.start
    state.eps, state.tau1, state.tau2 = start.eps, start.tau1, start.tau2
    slider_moved()
    begin, end = animation.positions()
    state[DRAGGING] = animation.slider  # this run sends the slider's frames
    previous = state.get(_PLAY_KEY) or {}
    state[_PLAY_KEY] = {
        "slider": animation.slider,
        "from": begin,
        "to": end,
        "id": int(previous.get("id", 0)) + 1,
    }
