"""Presentation mode: the picture, the three sliders and the plan on one projector screen.

A toggle (kept in the URL as ``present=1``) hides the title, the introduction, the sidebar and
Streamlit's toolbar, draws the scene with :data:`uotviz.plots.scene.PRESENTATION` (labels of
at least 16 px, thicker lines, no legend, a shorter picture) and sets the plan beside it.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["PRESENT_KEY", "hide_chrome", "presentation_toggle", "presenting"]

PRESENT_KEY = "present"
"""The toggle's session key (the URL parameter is ``present``: :mod:`uotviz.ui.state`)."""

_CHROME_CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
header[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"] {
    padding-top: 0.6rem !important; padding-bottom: 1rem !important;
}
[data-testid="stSlider"] label p, [data-testid="stSelectbox"] label p { font-size: 1.05rem; }
</style>
"""


def presenting() -> bool:
    """Whether presentation mode is on."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def presentation_toggle() -> bool:
    """The presentation-mode toggle (in the main area, so that it stays reachable when the
    sidebar is hidden); returns whether the mode is on."""
    return st.toggle(
        "Presentation mode",
        key=PRESENT_KEY,
        help="For a projector: hides the title, the introduction and the sidebar, and draws "
        "the picture with larger labels and thicker lines beside the plan. Kept in the URL.",
    )


def hide_chrome() -> None:
    """Hide the sidebar and Streamlit's header and toolbar, and tighten the page's top margin."""
    st.html(_CHROME_CSS)
