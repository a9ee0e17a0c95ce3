"""Widgets that a run does not draw: their values kept, and containers whose widgets are drawn
only while they are open.

Streamlit forgets the value of a widget that a run does not draw, unless the script set it:
:func:`keep_values` sets them again, as they are (a page's widgets while another page is shown,
a closed container's).

At every slider step the browser redraws every element of the page, the sidebar's included,
several times (once per batch of messages from the app): the fewer widgets a page holds, the
sooner a step is on screen. The widgets of a closed expander or popover are therefore not drawn
at all (:func:`drawn_while_open`); the container is made with ``key=...`` and
``on_change="rerun"``, so that opening it reruns the app, which then draws them.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st


def keep_values(widget_keys: Iterable[str]) -> None:
    """Keep the values of the widgets ``widget_keys`` through a run that may not draw them (call
    it before any of them is drawn)."""
    state = st.session_state
    for key in widget_keys:
        if key in state:
            state[key] = state[key]


def drawn_while_open(key: str, widget_keys: Iterable[str]) -> bool:
    """Whether the expander or popover ``key`` is open, so that its widgets ``widget_keys`` are
    to be drawn (their values kept either way, :func:`keep_values`); call it before the
    container is made, and before any of the widgets."""
    keep_values(widget_keys)
    return bool(st.session_state.get(key))
