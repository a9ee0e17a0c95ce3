"""Plotly charts in the app: live charts for what changes at every slider step, and
``st.plotly_chart`` for the rest, both drawn once per change at the width of their column.

:func:`live_chart` (the scene and the matrices) keeps one chart mounted in a small
``st.components.v2`` element and redraws it in place with ``Plotly.react``. ``st.plotly_chart``
(:func:`show_chart`: the gallery, and the fallback where Streamlit has no media
endpoint to serve plotly.js from) mounts a chart anew whenever its figure changes, and while it
mounts one it hands the figure to ``Plotly.react`` two or three times: before it knows the
element's width (the chart hidden), with the width, and again after it has re-read the figure
from JSON and laid its theme over it. plotly.js redraws the chart from scratch at each pass
where anything it compares has changed. :func:`prepare_figure` sends figures where nothing has:

* for live charts, the width in pixels: ``layout.width``, the column's as the chart measured
  it (while no width is known, and for ``st.plotly_chart``, Streamlit stretches the chart, with
  its two draws);
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

A live chart is redrawn cheaply only when its traces are the same as before: any change of a
trace's data makes plotly.js compute and draw the whole figure again (about as long as a new
chart), while layout shapes and annotations that changed are redrawn one by one. The scene
(:mod:`uotviz.plots.scene`) draws what a slider step changes with shapes, and its hover texts,
which change at every step, are sent beside the figure (:func:`step_texts`) and shown by the
chart's own tooltip. Each chart also sits in a box of its figure's size with layout
containment, so that drawing it does not make the browser lay out the rest of the page.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

# pandas is imported here, whole, before any session runs: Streamlit imports it lazily in a
# session's thread (to serialise the data of the app's small elements), and plotly.py's JSON
# writer reads whatever sys.modules holds, so a session writing a figure while another was still
# importing pandas met a partially initialised module ("module 'pandas' has no attribute
# 'Series'"), on a fresh server opened by several people at once.
import pandas  # noqa: F401
import plotly.graph_objects as go
import streamlit as st
from plotly.io.json import to_json_plotly
from streamlit.runtime import Runtime

from uotviz.ui.js import asset_text

__all__ = [
    "FONT",
    "FrameSet",
    "TEXT_COLOR",
    "clicked_point",
    "figure_dict",
    "column_width",
    "chart_title",
    "live_chart",
    "media_url",
    "plotly_js_url",
    "preload_plotly",
    "prepare_figure",
    "show_chart",
    "step_texts",
    "valid_width",
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

_MIN_WIDTH_PX = 150  # narrower than this Streamlit draws a chart at 150 px anyway
_MAX_WIDTH_PX = 10_000


def column_width(name: str) -> int | None:
    """The width, in CSS pixels, of the column of the live chart ``name`` (:func:`live_chart`),
    as the browser last reported it; None before it has (the first run of a session, or where
    no browser runs, as under AppTest)."""
    state = st.session_state.get(name)
    return valid_width(state.get("width") if isinstance(state, Mapping) else None)


def valid_width(value: object) -> int | None:
    """``value`` (as reported by a browser) as a chart width in whole pixels, or None when it is
    not a finite number from 150 to 10,000: the browser's report is input like any other."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not _MIN_WIDTH_PX <= value <= _MAX_WIDTH_PX:
        return None
    return int(value)


def figure_dict(fig: go.Figure) -> dict:
    """``{"data": [...], "layout": {...}}``: the figure's own traces and layout, as plotly.py
    holds them (its ``_data`` and ``_layout``), not the deep copy that ``fig.to_dict()`` and
    ``plotly.io.to_json`` make first (half the time of writing a step's figures as JSON). Read
    it, do not change it."""
    return {"data": fig._data, "layout": fig._layout}


def _data_revision(traces: Sequence[Mapping]) -> str:
    """A digest of a figure's traces: equal traces, equal revision."""
    return hashlib.blake2b(pickle.dumps(traces), digest_size=8).hexdigest()


def chart_title(text: str) -> str:
    """A chart's title as the charts write it (bold, as Streamlit's theme would)."""
    return f"<b>{text}</b>"


def prepare_figure(fig: go.Figure, width_px: int | None, *, selectable: bool) -> go.Figure:
    """``fig`` laid out so that Streamlit's passes while mounting it change nothing plotly.js
    compares (see the module's docstring).

    Args:
        fig: the figure. One built with :func:`uotviz.plots.matrices.unvalidated_figure` is changed
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
    fig.update_layout(_layout_updates(figure_dict(fig), width_px, selectable=selectable))
    return fig


def _layout_updates(figure: Mapping, width_px: int | None, *, selectable: bool) -> dict:
    """What :func:`prepare_figure` sets in the layout of ``figure`` (:func:`figure_dict`, its
    traces without ``meta``), as ``update_layout``'s argument."""
    layout = figure["layout"]
    title = layout.get("title")
    title = title.get("text") if isinstance(title, Mapping) else title
    updates: dict = {
        "template": False,
        "datarevision": _data_revision(figure["data"]),
        "font": {"family": FONT, "color": TEXT_COLOR, **layout.get("font", {})},
        "hoverlabel": {
            "bgcolor": "white",
            "bordercolor": "rgba(49, 51, 63, 0.2)",
            "font": {"family": FONT, "color": TEXT_COLOR},
            **layout.get("hoverlabel", {}),
        },
    }
    if title and not title.startswith("<b>"):
        updates["title"] = {"text": chart_title(title)}
    if width_px is not None:
        updates["width"] = width_px
    if selectable:
        for name, value in _SELECTABLE.items():
            if layout.get(name) is None:
                updates[name] = value
    return updates


def _prepared_dict(fig: go.Figure, width_px: int | None) -> dict:
    """:func:`figure_dict` of what :func:`prepare_figure` makes of ``fig`` (not selectable),
    built from plain dicts, without plotly.py's ``update_layout`` (a tenth of a coins step's
    run) and without changing ``fig``."""
    given = figure_dict(fig)
    figure = {
        "data": [{name: value for name, value in trace.items()
                  if name != "meta" and value is not None}  # step_texts leaves None
                 for trace in given["data"]],
        "layout": given["layout"],
    }  # fmt: skip
    updates = _layout_updates(figure, width_px, selectable=False)
    layout = {name: value for name, value in figure["layout"].items() if name != "template"}
    if "title" in updates and isinstance(layout.get("title"), Mapping):
        updates["title"] = {**layout["title"], **updates["title"]}
    return {"data": figure["data"], "layout": {**layout, **updates}}


def show_chart(
    fig: go.Figure,
    *,
    key: str,
    on_select: Callable[[], None] | None = None,
    config: dict | None = None,
) -> None:
    """``st.plotly_chart`` of ``fig`` prepared by :func:`prepare_figure`, stretched to its
    column by Streamlit.

    Args:
        fig: the figure (changed in place).
        key: the chart's widget key.
        on_select: called when points are selected (clicked); None: not selectable.
        config: plotly.js's config (mode bar buttons, export options).
    """
    fig = prepare_figure(fig, None, selectable=on_select is not None)
    st.plotly_chart(
        fig,
        key=key,
        theme=None,
        width="stretch",
        on_select=on_select if on_select is not None else "ignore",
        selection_mode="points" if on_select is not None else ("points", "box", "lasso"),
        config=config or {},
    )


# ------------------------------------------------------------------------------ the chart host

_HOST_JS = (
    (asset_text("chart_host.js") + asset_text("frame_painter.js"))
    .replace("__TEXT_COLOR__", TEXT_COLOR)
    .replace("__FONT__", FONT)
)
"""The live chart's module: the host, and the painter of a scene's drag frames that it calls."""

_chart_host = st.components.v2.component("uotviz_chart", js=_HOST_JS, isolate_styles=False)

_LIVE_CONFIG = {
    "displaylogo": False,
    "showSendToCloud": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "sendDataToCloud"],
}
"""The mode bar Streamlit gives its charts: no logo, no cloud, no box or lasso selection."""


_PLOTLY_JS = Path(__file__).parent / "static" / "plotly-cartesian.min.js"
"""plotly.js for the live charts: npm's ``plotly.js-cartesian-dist-min`` (1.5 MB, with the
scatter and heatmap traces, shapes, annotations and layout images), at the version of the
plotly.js that the installed plotly package ships (``tests/test_plotly_bundle.py`` checks
both). The plotly package's full bundle is 4.8 MB, and a first visit spent two to three times
as long running it before the scene could be drawn (``bench/bench_first_visit.py``). How to
update it: ``uotviz/ui/static/README.md``."""


@st.cache_resource(show_spinner=False)
def _plotly_js() -> bytes:
    """The bytes of :data:`_PLOTLY_JS`."""
    return _PLOTLY_JS.read_bytes()


def media_url(data: bytes, mimetype: str, name: str) -> str | None:
    """A URL the browser loads ``data`` from: Streamlit's media endpoint serves it for as long as
    this session's runs keep adding it (fragment runs keep what the full run added). ``name``
    is its place in the session (one file at a time per name). None where there is no media
    endpoint, or it refused the file."""
    if not Runtime.exists():
        return None
    try:
        url = Runtime.instance().media_file_mgr.add(data, mimetype, f"uotviz.{name}")
    except Exception:  # noqa: BLE001 - any failure: the caller falls back
        return None
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{url}" if base else url


def plotly_js_url() -> str | None:
    """The URL of plotly.js for :func:`live_chart`; call it in the full run, outside fragments
    (its 1.5 MB are hashed when added). None where the media endpoint cannot serve it."""
    return media_url(_plotly_js(), "text/javascript", "plotly_js")


def preload_plotly(plotly_url: str | None) -> None:
    """An element that shows nothing and starts loading plotly.js (from :func:`plotly_js_url`)
    as soon as the browser draws it: put it first on the page (in the sidebar, where it leaves
    no gap), and the live charts, which come later in the run, find plotly.js loading or
    loaded."""
    if plotly_url is not None:
        with st.sidebar:
            _chart_host(key="plotly_preload", data={"plotly": plotly_url})


def clicked_point(key: str) -> Mapping | None:
    """The point last clicked on the live chart ``key`` (``customdata``, ``text``, ``hovertext``),
    in its ``on_click`` callback; None when there is none."""
    state = st.session_state.get(key)
    point = state.get("click") if isinstance(state, Mapping) else None
    return point if isinstance(point, Mapping) else None


def step_texts(fig: go.Figure) -> dict[str, list | dict]:
    """Take the hover texts out of the traces of ``fig`` whose ``meta["step_text"]`` is true
    (texts that change at every slider step, on points that do not move) and return them,
    by trace index (a string, as JSON keys are). Those traces are left with no text and
    ``hoverinfo="none"``: plotly.js still reports the point under the pointer, and
    :func:`live_chart`'s tooltip shows its text. A figure whose traces are otherwise the same
    from one step to the next is then redrawn by plotly.js without computing its traces again
    (:mod:`uotviz.plots.scene`).

    A trace whose ``meta["text_key"]`` is ``k`` (many points share a text: a box's edges)
    sends each text once, ``{"key": k, "texts": {id: text}}``, the id being
    ``customdata[point][k]``."""
    texts: dict[str, list | dict] = {}
    for index, trace in enumerate(fig.data):
        meta = trace.meta
        if isinstance(meta, Mapping) and meta.get("step_text") and trace.text is not None:
            key = meta.get("text_key")
            if key is None:
                texts[str(index)] = list(trace.text)
            else:
                by_id = {
                    str(ids[key]): text
                    for ids, text in zip(trace.customdata, trace.text, strict=True)
                }
                texts[str(index)] = {"key": key, "texts": by_id}
            trace.text = None
            trace.hovertemplate = None
            trace.hoverinfo = "none"
    return texts


class FrameSet(NamedTuple):
    """A drag's (or a Play's) frames for :func:`live_chart`."""

    slider: str  # the name the sliders announce positions under: a slider's, or "play"
    at: str  # the positions they depend on (uotviz.sliders.positions_key, the slider's "*")
    frames: Sequence[dict]  # an update per position, see live_chart


def _frames_json(frames: FrameSet) -> str:
    """A drag's frames as the chart's JavaScript reads them."""
    return json.dumps(
        {"slider": frames.slider, "at": frames.at, "frames": list(frames.frames)},
        separators=(",", ":"),
    )


def _figure_json(key: str, fig: go.Figure, width_px: int | None) -> tuple[str, dict]:
    """``fig`` prepared at ``width_px`` and written as JSON, and its :func:`step_texts`; kept
    per chart key, so that a figure kept in the session (the cost heatmap) is not prepared and
    written again at every step."""
    sent = st.session_state.setdefault("live_chart_json", {})
    kept = sent.get(key)
    if kept is not None and kept[0] is fig and kept[1] == width_px:
        return kept[2], kept[3]
    hover = step_texts(fig)
    text = to_json_plotly(_prepared_dict(fig, width_px))
    sent[key] = (fig, width_px, text, hover)  # holding the figure keeps `is` from matching
    return text, hover


def live_chart(
    fig: go.Figure,
    *,
    key: str,
    plotly_url: str | None,
    on_click: Callable[[], None] | None = None,
    config: dict | None = None,
    frames: FrameSet | None = None,
    paint_base: str | None = None,
) -> None:
    """``fig`` in a chart kept mounted across reruns and redrawn in place (``Plotly.react``) when
    it changes, at the width of its column; the way to show a chart that changes at every slider
    step.

    ``st.plotly_chart`` mounts a changed chart anew: a step with two such charts took about 1.5x
    the time of a bare page by itself (``bench/bench_browser.py --floor``). Here the element
    stays (its identity is its key) and only its figure is sent again. The browser reports the
    column's width, which :func:`column_width` returns under the same ``key``. Without
    ``plotly_url`` (no media endpoint) the figure is shown with :func:`show_chart` instead.

    Args:
        fig: the figure (sent as :func:`prepare_figure` would make it; its step texts are
            taken out, see :func:`step_texts`).
        key: the element's key.
        plotly_url: where the browser loads plotly.js from (:func:`plotly_js_url`).
        on_click: called when a point is clicked; read it with :func:`clicked_point`.
        config: plotly.js's config (mode bar buttons, export options).
        frames: the frames of a slider's every position, when the sliders asked for them: an
            update per position, each ``{"layout": {...}, "traces": {index: {...}}}`` in
            ``Plotly.update``'s terms (e.g. :func:`uotviz.plots.scene.scene_overlay`,
            :func:`uotviz.plots.matrices.plan_update`). The chart keeps them (with those of
            other sliders sent for the same figure) and draws the frame of each position the
            slider announces while it is dragged, in the browser
            (``uotviz/ui/js/chart_host.js``), until the app sends another figure.
        paint_base: a key of everything in ``fig`` that a plan does not change (None: no
            such promise). When the figure drawn last had the same key, the chart paints the
            new one over it as a drag's frame is painted (the scene's shapes and labels, the
            plan's cells, sums, colour-bar ticks and title), a few milliseconds where
            ``Plotly.react`` takes tens, and plotly.js catches up when the pointer comes onto
            the chart. The key must change with whatever else changes (traces, sizes, images).
    """
    if plotly_url is None:
        show_chart(fig, key=key, on_select=on_click, config=config)
        return
    known = column_width(key)
    figure, hover = _figure_json(key, fig, known)
    _chart_host(
        key=key,
        data={
            "known": known,
            "figure": figure,
            "hover": hover,
            "config": {**_LIVE_CONFIG, **(config or {})},
            "plotly": plotly_url,
            "frames": None if frames is None else _frames_json(frames),
            "paintBase": paint_base,
        },
        default={"width": None},
        on_width_change=lambda: None,
        on_click_change=on_click or (lambda: None),
    )
