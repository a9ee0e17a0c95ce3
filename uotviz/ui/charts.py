"""Plotly charts that the browser draws once per slider step, at the width of their column.

Streamlit gives a chart a new element, and so mounts it anew, whenever its figure changes: on
every slider step for the scene and the plan. While it mounts one it hands the figure to
``Plotly.react`` two or three times: before it knows the element's width (the chart hidden),
with the width, and again after it has re-read the figure from JSON and laid its theme over it.
plotly.js redraws the chart from scratch at each pass where anything it compares has changed,
which doubled the drawing of a step. :func:`show_chart` sends figures where nothing has:

* the width in pixels: ``layout.width``, the column's as measured in the browser by
  :func:`width_probe` (while no width is known, Streamlit's own stretching is kept, with its
  two draws);
* ``clickmode``, ``hovermode`` and ``dragmode`` as Streamlit sets them on a selectable chart;
* no Streamlit theme (``theme=None`` and ``template=False``): the theme builds a new template
  object and bolds the title once more at each pass. What it gave (Streamlit's text colour,
  white hover labels, bold titles) is written into the figure instead, with a system font
  (:data:`FONT`);
* ``layout.datarevision``, a digest of the traces: arrays re-read from JSON are new objects,
  which plotly.js takes as new data unless the data revision is the same;
* no trace ``meta`` (the package's figures name the role of each trace there, for the tests
  and for Python readers; it is sent as null): plotly.js compares it by identity and redraws
  everything when it differs.

The figures must hold plain lists, not NumPy arrays: plotly.py sends those as typed arrays,
which plotly.js compares as changed whatever the revision (``tests/test_charts.py`` checks
the app's figures for them).
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections.abc import Callable, Mapping

import plotly.graph_objects as go
import streamlit as st

__all__ = [
    "FONT",
    "TEXT_COLOR",
    "column_width",
    "prepare_figure",
    "show_chart",
    "valid_width",
    "width_probe",
]

FONT = 'Arial, "Liberation Sans", "Helvetica Neue", Helvetica, sans-serif'
"""The charts' font: one installed on the system, not Streamlit's web font. Plotly's PNG and
SVG export draws the chart as an SVG image, which cannot load web fonts: with Streamlit's
"Source Sans" the exported text fell back to a wider font and legends were cut off at the
right edge."""
TEXT_COLOR = "#31333F"
"""Streamlit's text colour (light theme)."""

_SELECTABLE = {"clickmode": "event+select", "hovermode": "closest", "dragmode": "pan"}
"""What Streamlit sets on a chart with ``selection_mode="points"`` when the figure does not."""

# The width probe: an empty element that reports its own width (the column's) to the app, once
# when it appears and again 150 ms after the column stops resizing. `reported` outlives the
# element (it is the module's), so a width is sent only when it changes.
_WIDTH_JS = """
const reported = new Map();
export default function ({ data, parentElement, setStateValue }) {
    const name = data.name;
    let timer = null;
    const report = () => {
        const width = Math.floor(parentElement.getBoundingClientRect().width);
        if (width <= 0 || reported.get(name) === width) return;
        reported.set(name, width);
        setStateValue("width", width);
    };
    const observer = new ResizeObserver(() => {
        clearTimeout(timer);
        timer = setTimeout(report, reported.has(name) ? 150 : 0);
    });
    observer.observe(parentElement);
    return () => {
        observer.disconnect();
        clearTimeout(timer);
    };
}
"""

_width_probe = st.components.v2.component("uotviz_width_probe", js=_WIDTH_JS, isolate_styles=False)

_MIN_WIDTH_PX = 150  # narrower than this Streamlit draws a chart at 150 px anyway
_MAX_WIDTH_PX = 10_000


def _probe_key(name: str) -> str:
    return f"{name}_width_probe"


def column_width(name: str) -> int | None:
    """The width, in CSS pixels, of the column of the probe ``name`` (see :func:`width_probe`),
    as the browser last reported it; None before it has (the first run of a session, or where
    no browser runs, as under AppTest)."""
    state = st.session_state.get(_probe_key(name))
    return valid_width(state.get("width") if isinstance(state, Mapping) else None)


def valid_width(value: object) -> int | None:
    """``value`` (as reported by a browser) as a chart width in whole pixels, or None when it is
    not a finite number from 150 to 10,000: the browser's report is input like any other."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not _MIN_WIDTH_PX <= value <= _MAX_WIDTH_PX:
        return None
    return int(value)


def width_probe(name: str) -> None:
    """An empty element that reports its width, the column's, to :func:`column_width`: once when
    it appears and again when the column is resized, which reruns the script or fragment.

    Mount it last in its column: the gap Streamlit leaves after it is then at the column's end.
    """
    _width_probe(
        key=_probe_key(name),
        data={"name": name},
        default={"width": None},
        on_width_change=lambda: None,
    )


def _data_revision(fig: go.Figure) -> str:
    """A digest of the figure's traces: equal traces, equal revision."""
    traces = pickle.dumps([trace.to_plotly_json() for trace in fig.data])
    return hashlib.blake2b(traces, digest_size=8).hexdigest()


def prepare_figure(fig: go.Figure, width_px: int | None, *, selectable: bool) -> go.Figure:
    """``fig`` laid out so that Streamlit's passes while mounting it change nothing plotly.js
    compares (see the module's docstring).

    Args:
        fig: the figure. One built with :func:`uotviz.figures.unvalidated_figure` is changed
            in place and returned; of any other (plotly.py refuses ``template=False`` there),
            an unvalidated copy is.
        width_px: the chart's width in pixels, or None to let Streamlit stretch it.
        selectable: whether the chart is shown with ``selection_mode="points"``.
    """
    try:
        fig.layout.template = False
    except ValueError:
        fig = go.Figure(fig.to_dict(), _validate=False)
    for trace in fig.data:
        trace.meta = None
    layout = fig.layout
    title = layout.title.text if layout.title is not None else None
    updates: dict = {
        "template": False,
        "datarevision": _data_revision(fig),
        "font": {"family": FONT, "color": TEXT_COLOR, **(layout.font.to_plotly_json())},
        "hoverlabel": {
            "bgcolor": "white",
            "bordercolor": "rgba(49, 51, 63, 0.2)",
            "font": {"family": FONT, "color": TEXT_COLOR},
            **layout.hoverlabel.to_plotly_json(),
        },
    }
    if title and not title.startswith("<b>"):
        updates["title"] = {"text": f"<b>{title}</b>"}
    if width_px is not None:
        updates["width"] = width_px
    if selectable:
        for name, value in _SELECTABLE.items():
            if layout[name] is None:
                updates[name] = value
    fig.update_layout(updates)
    return fig


def show_chart(
    fig: go.Figure,
    *,
    key: str,
    fit_column: bool = False,
    on_select: Callable[[], None] | None = None,
    config: dict | None = None,
) -> None:
    """``st.plotly_chart`` of ``fig`` prepared by :func:`prepare_figure`.

    Args:
        fig: the figure (changed in place).
        key: the chart's widget key.
        fit_column: draw it at the width of its column, measured by a probe mounted after it
            (see :func:`width_probe`), instead of letting Streamlit stretch it.
        on_select: called when points are selected (clicked); None: not selectable.
        config: plotly.js's config (mode bar buttons, export options).
    """
    width_px = column_width(key) if fit_column else None
    fig = prepare_figure(fig, width_px, selectable=on_select is not None)
    st.plotly_chart(
        fig,
        key=key,
        theme=None,
        width="content" if width_px is not None else "stretch",
        on_select=on_select if on_select is not None else "ignore",
        selection_mode="points" if on_select is not None else ("points", "box", "lasso"),
        config=config or {},
    )
    if fit_column:
        width_probe(key)
