"""The transport parameters: a preset of the paper's Figure 1 and the ε, τ1, τ2 sliders.

The parameters live in the session state (``eps``, ``tau1``, ``tau2``). The preset selector and
the sliders are one small element (``uotviz/ui/js/sliders.js``): choosing a preset moves the
three sliders, which send their positions as one step; the preset (``preset``, a plain value,
which links and downloads carry) is always the one the parameters match, or Custom, and the
selector shows the same (a link's ``preset``, or a click on a gallery panel, moves the
parameters to it: :func:`apply_preset`).

The sliders' element also asks for the frames of a
slider's every position when the pointer rests on it, and has the charts draw them while the
mouse drags it, so that the picture follows the drag. Play (a popover beside them) walks the
sliders from one preset to another by themselves (:func:`uotviz.sliders.walk`);
:func:`frames_path` says which points a run sends the frames of.
"""

from __future__ import annotations

import functools
import uuid
from typing import NamedTuple

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from uotviz.figure1 import PRESETS
from uotviz.sliders import (
    DEFAULT_PLAY,
    DEFAULT_PRESET,
    PARAMETER_LABELS,
    PLAY,
    SCALES,
    Parameters,
    format_value,
    matching_preset,
    play_label,
    point_at,
    positions,
    positions_key,
    positions_sent,
    preset_by_name,
    preset_names,
    preset_values,
    slider_walk,
    snap,
    walk,
)
from uotviz.ui.hidden import drawn_while_open
from uotviz.ui.js import asset_text

__all__ = [
    "FRAMES_FOR",
    "FramesPath",
    "SLIDER_STEP",
    "apply_preset",
    "frames_path",
    "init_params",
    "slider_moved",
    "transport_controls",
]

SLIDER_STEP = "slider_step"
"""The session key of the number of the last slider step the app took from the browser."""
FRAMES_FOR = "slider_frames"
"""The session key of the slider whose drag frames the next run sends (``"eps"``, ...), or
:data:`uotviz.sliders.PLAY` for a Play's walk; None when none (read once, by
:func:`frames_path`)."""

PRESET_LABEL = "Preset (panel of Figure 1)"
"""The label of the preset selector (in the sliders' element)."""
_SLIDERS_KEY = "transport_sliders"
_SESSION_KEY = "slider_session"  # an id of the session, for the sliders to see a new one
_PLAY_KEY = "slider_play"  # the last walk asked for: {name, path: [positions per point], id}
_PLAY_ENDS = ("play_from", "play_to")  # the keys of the selectors of the walk's two ends
PLAY_OPEN = "play_popover"  # whether Play's popover is open (closed by its button)
_PLAY_WIDTH_PX = 230  # a selector of one end: the longest preset name and the arrow
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
    values, step, frames = positions_sent(sent.get("positions") if hasattr(sent, "get") else None)
    for name, value in values.items():
        state[name] = value
    if step is not None:
        state[SLIDER_STEP] = step
    state[FRAMES_FOR] = frames
    slider_moved()


def transport_controls() -> tuple[float, float, float]:
    """The preset selector and the three sliders (one element), and Play, in one row; returns
    (ε, τ1, τ2)."""
    init_params()
    state = st.session_state
    slider_moved()  # the preset shown is the one the parameters match (set from anywhere)
    # A horizontal container, not columns: fewer elements to send and draw at every step.
    row = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
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
                "presets": _presets_data(),
                "step": state.get(SLIDER_STEP, 0),
                "session": state.setdefault(_SESSION_KEY, uuid.uuid4().hex),
                "play": state.get(_PLAY_KEY) if state.get(FRAMES_FOR) == PLAY else None,
            },
            default={"positions": None},
            on_positions_change=_sliders_moved,
        )
    # After the sliders, which stretch over the rest of the row. Its widgets are drawn only
    # while it is open (uotviz.ui.hidden); Play closes it.
    drawn = drawn_while_open(PLAY_OPEN, _PLAY_ENDS)
    play = row.popover(
        "▶ Play",
        help="Play the picture from one limit case to another",
        key=PLAY_OPEN,
        on_change="rerun",
    )
    if drawn:
        _play_controls(play)
    return state.eps, state.tau1, state.tau2


@functools.cache
def _presets_data() -> dict:
    """The preset selector of the sliders' element: its label, and its entries (every preset
    of the paper's Figure 1 with the sliders' positions at its parameters, then
    :data:`~uotviz.sliders.CUSTOM`, which names any other positions and moves nothing). A
    preset chosen there moves the three sliders, and they send their positions as one step;
    the selector shows the preset the positions match, as :func:`slider_moved` names it."""
    return {
        "label": PRESET_LABEL,
        "help": "The parameters of a panel of the paper's Figure 1, (c)–(h)",
        "entries": [
            {
                "name": name,
                "positions": None if preset is None else positions(preset_values(preset)),
            }
            for name, preset in ((name, preset_by_name(name)) for name in preset_names())
        ],
    }


def _play_controls(place: DeltaGenerator) -> None:
    """In ``place`` (a popover beside the sliders: nothing pushes the picture down), the two
    ends of a walk among the presets of the paper's Figure 1, what it moves, and a button that
    plays it on the picture (disabled when the two ends are the same)."""
    names = [preset.name for preset in PRESETS]
    place.caption(
        "The picture and the plan drawn at every slider position on the way from one panel of "
        "the paper's Figure 1 to another, one parameter at a time."
    )
    row = place.container(horizontal=True, gap="small")
    ends = [
        row.selectbox(
            label,
            names,
            index=names.index(default),
            key=key,
            width=_PLAY_WIDTH_PX,
        )
        for label, default, key in zip(("From", "To"), DEFAULT_PLAY, _PLAY_ENDS, strict=True)
    ]
    start, end = (preset_by_name(name) for name in ends)
    place.markdown(play_label(start, end))
    place.button(
        "▶ Play",
        on_click=_play_clicked,
        key="play_button",
        type="primary",
        disabled=start == end,
    )


def _play_clicked() -> None:
    """Play: the parameters of the walk's start, and the sliders told to walk to its end
    (uotviz/ui/js/sliders.js), drawing the frames this run sends with its figures."""
    state = st.session_state
    start, end = (
        preset_by_name(state.get(key, name))
        for key, name in zip(_PLAY_ENDS, DEFAULT_PLAY, strict=True)
    )
    if start is None or end is None or start == end:
        return
    state.eps, state.tau1, state.tau2 = preset_values(start)
    slider_moved()
    state[FRAMES_FOR] = PLAY  # this run sends the walk's frames
    state[PLAY_OPEN] = False  # closed: it would cover the picture being played
    previous = state.get(_PLAY_KEY) or {}
    state[_PLAY_KEY] = {
        "name": PLAY,
        "path": [positions(point) for point in walk(preset_values(start), preset_values(end))],
        "id": int(previous.get("id", 0)) + 1,
    }


class FramesPath(NamedTuple):
    """The points a run sends the frames of (see :func:`frames_path`)."""

    name: str  # what the sliders announce and the live charts match: a slider's name, or PLAY
    points: tuple[Parameters, ...]  # (ε, τ1, τ2) per frame
    at: str  # the positions they depend on (uotviz.sliders.positions_key, the slider's "*")


def frames_path(params: Parameters) -> FramesPath | None:
    """The frames this run sends, as the sliders asked for them (once: the request is taken
    from the session): every position of the slider named, the others at ``params`` (``(ε, τ1,
    τ2)``), named after it; or the points of a Play's walk, named
    :data:`~uotviz.sliders.PLAY`; None when none were asked for."""
    state = st.session_state
    wanted = state.pop(FRAMES_FOR, None)
    if wanted in SCALES:
        return FramesPath(wanted, slider_walk(params, wanted), positions_key(params, wanted))
    play = state.get(_PLAY_KEY)
    if wanted != PLAY or not play:
        return None
    points = tuple(point_at(point) for point in play["path"])
    return FramesPath(PLAY, points, positions_key(params))
