"""The shareable URL: widget values read from ``st.query_params`` on a session's first run, and
written back on every run.

A full run writes them with ``st.query_params`` (:func:`write_url`). A slider step (a run of the
matching view's fragment) writes them in the browser instead (:func:`sync_url`), with
``history.replaceState``: through ``st.query_params`` every step would send a page-info message
that makes the browser render the whole app again and push a history entry (about a tenth of a
step's time, and Back stepping through every slider move). Both write the same values.

The parsing and validation are :mod:`uotviz.urlstate`'s; this module only moves values between
the query and ``st.session_state``. Values are applied before any widget is created, through the
widgets' own callbacks (a cost preset fills in its weights, a transport preset moves the sliders,
explicit weights or ε, τ1, τ2 then override and the preset shown is the one they match). The image
id waits until the data source is known (:func:`requested_image`).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from uotviz.readout import escape_markdown
from uotviz.ui import params, settings
from uotviz.ui.js import asset_text
from uotviz.urlstate import PARAMETERS, WEIGHT_KEYS, decode, encode

__all__ = [
    "note_url_problem",
    "requested_image",
    "restore_from_url",
    "show_url_notice",
    "sync_url",
    "write_url",
]

_RESTORED = "url_restored"
_PROBLEMS = "url_problems"  # what the link asked for and did not get, shown once
_PENDING_IMAGE = "url_image_id"
_PLAIN_KEYS = (
    "background_cost",
    "score_threshold",
    "top_k",
    "sim_seed",
    "sim_queries",
    "max_drawn",
    "present",
)


def restore_from_url() -> None:
    """First run of a session: apply the URL's valid values to the session state (call it before
    any widget is created) and warn about the rejected ones."""
    state = st.session_state
    if state.get(_RESTORED):
        return
    state[_RESTORED] = True
    values, messages = decode(st.query_params.to_dict())
    for message in messages:
        note_url_problem(message)

    if "source_kind" in values:
        state.source_kind = values["source_kind"]
    if "image_id" in values:
        state[_PENDING_IMAGE] = values["image_id"]

    settings.init_cost_settings()
    if "anchor_mode" in values:  # first, since a mode brings its own cost and c∅
        state.anchor_mode = values["anchor_mode"]
        settings.anchor_mode_changed()
    if "cost_preset" in values:
        state.cost_preset = values["cost_preset"]
        settings.apply_cost_preset()
    if any(key in values for key in WEIGHT_KEYS):
        for key in WEIGHT_KEYS:
            if key in values:
                state[key] = float(values[key])  # type: ignore[arg-type]
        settings.weight_edited()
    for key in _PLAIN_KEYS:
        if key in values:
            state[key] = values[key]

    params.init_params()
    if "preset" in values:
        state.preset = values["preset"]
        params.apply_preset()
    if any(key in values for key in ("eps", "tau1", "tau2")):
        for key in ("eps", "tau1", "tau2"):
            if key in values:
                state[key] = values[key]
        params.slider_moved()


def requested_image(ids: Sequence[int], source_kind: str) -> int | None:
    """The image id the URL asked for, once (None when it asked for none). An id the source does
    not have gives a warning and None (the caller's default image)."""
    requested = st.session_state.pop(_PENDING_IMAGE, None)
    if requested is None:
        return None
    if requested not in ids:
        note_url_problem(
            f"URL parameter image={requested}: {source_kind} has no such image; showing the "
            "default image."
        )
        return None
    return requested


def note_url_problem(message: str) -> None:
    """Keep ``message`` (plain text, which may quote the URL) for :func:`show_url_notice`."""
    st.session_state.setdefault(_PROBLEMS, []).append(message)


def show_url_notice() -> None:
    """What the link asked for and did not get, in one notice that stays until it is closed
    (a toast: it does not push the picture down); once."""
    problems = st.session_state.pop(_PROBLEMS, None)
    if not problems:
        return
    lines = "\n".join(f"- {escape_markdown(problem)}" for problem in problems)  # shown as text
    st.toast(
        f"**Some of this link's values were not used:**\n\n{lines}", icon="⚠️", duration="infinite"
    )


def write_url() -> None:
    """Write the current values to the URL, touching only the parameters that changed."""
    current = _current_query()
    query = st.query_params
    for name, text in current.items():
        if query.get(name) != text:
            query[name] = text
    for name in PARAMETERS:
        if name not in current and name in query:
            del query[name]


_url_element = st.components.v2.component(
    "uotviz_url", js=asset_text("url_sync.js"), isolate_styles=False
)


def _current_query() -> dict[str, str]:
    state = st.session_state
    return encode({key: state.get(key) for key in set(PARAMETERS.values())})


def sync_url() -> None:
    """Write the current values into the browser's address bar, in place (see the module's
    docstring); an element that shows nothing."""
    current = _current_query()
    _url_element(
        key="url_sync",
        data={
            "params": {name: current.get(name) for name in PARAMETERS},
            "settled": st.session_state.get(params.SLIDER_STEP, 0),
        },
    )
