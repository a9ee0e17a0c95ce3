"""Plotly figures of cost matrices and transport plans.

Pure functions: arrays and labels in, a :class:`plotly.graph_objects.Figure` out. Matrices are
drawn as tables are read: predictions are rows from top to bottom, ground truths are columns from
left to right with the background ``∅`` last, each cell carries its value, and the row and column
sums are written beside the matrix (a balanced plan's rows sum to 1, and so does each ground
truth's column, in units of one prediction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from numpy.typing import ArrayLike

__all__ = [
    "COST_COLORSCALE",
    "PLAN_COLORSCALE",
    "PLAN_SCALE_FLOOR",
    "add_cell_targets",
    "app_matrix_figure",
    "clicked_panel",
    "cost_figure",
    "cost_scale",
    "figure1_matrices",
    "fit_matrix_figure",
    "matrix_heatmap",
    "outline_cells",
    "plan_figure",
    "plan_scale",
    "plan_update",
    "unvalidated_figure",
]

COST_COLORSCALE = "Oranges"
PLAN_COLORSCALE = "Blues"

PLAN_SCALE_FLOOR = 0.1
"""The plan's colour scale runs from 0 to its heaviest entry, but never to less than this: a plan
whose masses are all tiny stays pale instead of showing them in full colour."""

_SUM_FONT = {"size": 13, "color": "#444"}
_HEIGHT = 420


class _Shared(list):
    """A list that ``copy.deepcopy`` returns as it is."""

    def __deepcopy__(self, memo: dict) -> _Shared:
        return self


def _shared(value: object) -> object:
    """``value`` with its lists, and those of its dicts at any depth, made :class:`_Shared`."""
    if type(value) is list:
        return _Shared(value)
    if type(value) is dict:
        return {name: _shared(item) for name, item in value.items()}
    return value


def unvalidated_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure made of plain dicts that plotly.py does not validate, nor does it validate what
    is later added to it. The dicts become the figure's: do not change them afterwards.

    plotly.py checks every property against its schema and copies every array element by
    element; for the figures of one slider step that took longer than the solve and the drawing
    together. Even unvalidated, it deep-copies what it is given: the figure's lists are
    therefore ones that a deep copy leaves as they are (for the coins' scene and plan, that
    copy was 40% of building the figures). plotly.py replaces a list when it changes a
    property; it does not change one in place. The figures of this package are built from
    dicts whose property names the tests check, by validating each kind of figure with
    ``go.Figure(fig.to_dict())``. Their template is empty: plotly.py's default one adds 7 kB to
    every figure sent, and Streamlit lays its own theme over the figure anyway.
    """
    return go.Figure(
        data=[_shared(trace) for trace in data],
        layout=_shared({"template": {}, **layout}),
        _validate=False,
    )


_DIGITS = 8
"""Decimals kept in the numbers a matrix sends to the browser: it shows 2 or 3 (cells, hover), and
17-digit floats would double the JSON of a large matrix and the time to write it."""


def _rounded(values: np.ndarray) -> list:
    """``values`` as nested lists of floats rounded to :data:`_DIGITS` decimals."""
    return np.round(np.asarray(values, dtype=np.float64), _DIGITS).tolist()


def cost_scale(values: ArrayLike) -> tuple[float, float]:
    """The ends of the cost's colour scale: the smallest and the largest finite value shown.

    A constant matrix ``c`` gets ``(c − 0.5, c + 0.5)``: its cells take the scale's middle
    colour, there being nothing to tell apart. A matrix with no finite value (empty, say) gets
    ``(0, 1)``.
    """
    z = np.asarray(values, dtype=np.float64)
    finite = z[np.isfinite(z)]
    if not finite.size:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        return low - 0.5, high + 0.5
    return low, high


def plan_scale(values: ArrayLike) -> tuple[float, float]:
    """The ends of the plan's colour scale: 0 and the heaviest finite entry shown, at least
    :data:`PLAN_SCALE_FLOOR` (masses are in units of one prediction, in ``[0, ~2]``)."""
    z = np.asarray(values, dtype=np.float64)
    finite = z[np.isfinite(z)]
    top = float(finite.max()) if finite.size else 0.0
    return 0.0, max(top, PLAN_SCALE_FLOOR)


def _scale_note(zmin: float, zmax: float, number: str) -> str:
    """What the hover label says of the colour scale: ``"colours 0.000 (light) – 0.748 (dark)"``."""
    return f"colours {zmin:{number}} (light) – {zmax:{number}} (dark)"


def _hover(row_title: str, value: str, scale_note: str) -> str:
    """A cell's hover template: ``"prediction 1 → A: 0.250"`` and the scale below it;
    ``value`` is the template of the value, e.g. ``"%{z:.3f}"``."""
    return f"{row_title} %{{y}} → %{{x}}: {value}<br>{scale_note}<extra></extra>"


def matrix_heatmap(
    values: ArrayLike,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str,
    colorscale: str,
    zmin: float,
    zmax: float,
    colorbar_title: str,
    row_title: str = "prediction",
    col_title: str = "ground truth (∅ = background)",
    decimals: int = 3,
    show_sums: bool = True,
    fitted: bool = False,
) -> go.Figure:
    """A heatmap of an ``(N, K)`` matrix with every value written in its cell.

    Args:
        values: ``(N, K)`` numbers; row ``i`` is drawn at the top for ``i = 0``.
        row_labels: ``N`` labels, e.g. ``("1", ..., "5")``; always a categorical axis.
        col_labels: ``K`` labels, e.g. ``("A", "B", "∅")``; drawn above the matrix.
        title: the figure title.
        colorscale: a plotly.py colour scale name (e.g. ``"Blues"``), written into the figure
            as its list of colours: plotly.js knows some names with other colours.
        zmin, zmax: the values mapped to the ends of the colour scale (e.g. :func:`cost_scale`,
            :func:`plan_scale`); the colour bar labels both ends and the middle, and each cell's
            hover label says them too. The cell text is dark on light cells and light on dark
            ones, wherever the ends are (plotly.js's ``auto`` text colour).
        colorbar_title: what the colours measure.
        row_title, col_title: axis titles.
        decimals: digits after the point in the cells and the sums.
        show_sums: write each row's sum to its right and each column's sum below it.
        fitted: sized for its cells as :func:`fit_matrix_figure` sizes it.

    Returns:
        The figure; its single trace is the heatmap, whose ``z`` is ``values``.

    Raises:
        ValueError: if ``values`` is not 2-D or the labels do not match its shape.
    """
    z = np.asarray(values, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"values must be a 2-D matrix, got shape {z.shape}")
    if z.shape != (len(row_labels), len(col_labels)):
        raise ValueError(
            f"values has shape {z.shape} but there are {len(row_labels)} row labels and "
            f"{len(col_labels)} column labels"
        )
    rows, cols = list(row_labels), list(col_labels)
    number = f".{decimals}f"
    scale = _scale_attributes(zmin, zmax, number, row_title)
    heatmap = {
        "type": "heatmap",
        "z": _rounded(z),
        "x": cols,
        "y": rows,
        "zmin": zmin,
        "zmax": zmax,
        "colorscale": plotly.colors.get_colorscale(colorscale),
        "texttemplate": f"%{{z:{number}}}",
        "textfont": {"size": 15},
        "xgap": 2,
        "ygap": 2,
        "colorbar": {
            "title": {"text": colorbar_title, "side": "right"},
            "x": 1.16,
            "thickness": 14,
            "tickmode": "array",
            "tickvals": scale["colorbar.tickvals"],
            "ticktext": scale["colorbar.ticktext"],
        },
        "hovertemplate": scale["hovertemplate"],
    }
    layout = {
        "title": {
            "text": title,
            "x": 0.0,
            "xanchor": "left",
            "y": 1.0,  # at the top whatever the height: a tall matrix's title stays above it
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 13},
            "font": {"size": 16},
        },
        "height": _HEIGHT,
        "margin": {"l": 70, "r": 40, "t": 105, "b": 50},
        "plot_bgcolor": "white",
        "xaxis": {
            "type": "category",
            "side": "top",
            "title": {"text": col_title, "standoff": 6},
            "tickfont": {"size": 15},
            "tickangle": 0,  # column letters upright: turned, crowded ones overlap illegibly
            "showgrid": False,
        },
        "yaxis": {
            "type": "category",
            "autorange": "reversed",
            "title": {"text": row_title},
            "tickfont": {"size": 15},
            "showgrid": False,
        },
    }
    if fitted:
        layout_changes, heatmap_changes = _fit_changes(*z.shape, layout["margin"], show_sums)
        layout, heatmap = _merged(layout, layout_changes), _merged(heatmap, heatmap_changes)
    data = [heatmap]
    if show_sums:
        sums_traces, sums_layout = _sums(z, sum_style(z.shape, number))
        data += sums_traces
        layout.update(sums_layout)
    return unvalidated_figure(data, layout)


def _scale_attributes(zmin: float, zmax: float, number: str, row_title: str) -> dict:
    """The heatmap attributes that follow its colour scale's ends, by ``Plotly.update`` name:
    the colour bar's ticks (both ends and the middle) and the hover label that names them."""
    ticks = [zmin, (zmin + zmax) / 2, zmax]
    return {
        "colorbar.tickvals": ticks,
        "colorbar.ticktext": [f"{tick:{number}}" for tick in ticks],
        "hovertemplate": _hover(row_title, f"%{{z:{number}}}", _scale_note(zmin, zmax, number)),
    }


def _cell_data(values: np.ndarray, rows: Sequence[int]) -> list:
    """A heatmap's ``customdata``: ``[row, column, value]`` per cell, rows as in the full
    matrix."""
    cols = range(values.shape[1])
    return [
        [[row, column, value] for column, value in zip(cols, line, strict=True)]
        for row, line in zip(rows, _rounded(values), strict=True)
    ]


def plan_update(plan: ArrayLike, shown: Sequence[int], *, title: str, hover: bool = True) -> dict:
    """What another plan changes in :func:`app_matrix_figure` of a plan with the same rows
    ``shown`` (live-chart clicks: ``cell_targets=False``), as ``Plotly.update``'s arguments:
    ``{"layout": {"title.text": title}, "traces": {index: {attribute: value}}}``, the heatmap
    (index 0: its values, colour scale, ticks, hover label and ``customdata``) and the row and
    column sums (1 and 2). The frames of a slider drag are these, ``hover=False``: without what
    only the hover labels read (``customdata``, ``hovertemplate``: most of the update, 150 kB
    of a 300-row plan's), which keep the last figure's until the app sends the next one."""
    rows = [int(i) for i in shown]
    values = np.asarray(plan, dtype=np.float64)[rows]
    zmin, zmax = plan_scale(values)
    number = ".3f"
    heatmap = {
        "z": _rounded(values),
        "zmin": zmin,
        "zmax": zmax,
        **_scale_attributes(zmin, zmax, number, "prediction"),
    }
    if hover:
        heatmap["customdata"] = _cell_data(values, rows)
    else:
        del heatmap["hovertemplate"]
    sum_number, _ = sum_style(values.shape, number)
    return {
        "layout": {"title.text": title},
        "traces": {
            "0": heatmap,
            "1": {"text": [f"{total:{sum_number}}" for total in values.sum(axis=1)]},
            "2": {"text": [f"{total:{sum_number}}" for total in values.sum(axis=0)]},
        },
    }


def _cell_text_size(rows: int, cols: int) -> int:
    """Font size of cell values for a ``rows`` x ``cols`` matrix (see :func:`fit_matrix_figure`)."""
    return 15 if rows <= 12 and cols <= 8 else 12 if cols <= 12 else 10


def sum_style(shape: tuple[int, ...], number: str = ".3f") -> tuple[str, int]:
    """Number format and font size of the sums of a ``shape`` matrix, matching its cells once
    :func:`fit_matrix_figure` has sized them."""
    rows, cols = shape
    size = _cell_text_size(rows, cols)
    return (".2f" if cols > 12 else number), (_SUM_FONT["size"] if size == 15 else size)


def _sums(z: np.ndarray, style: tuple[str, int]) -> tuple[list[dict], dict]:
    """Row sums to the right of the matrix, column sums below it, as two text traces on a second
    pair of axes.

    Text traces are the cheapest text Plotly draws: as the tick labels of second axes, the 52
    sums of a 27 x 25 plan took about 14 ms more of the browser's drawing at every slider step
    (it measures every tick label), as annotations about 25 ms more. The second axes share the
    matrix's cell positions (``-0.5 .. K - 0.5`` and ``N - 0.5 .. -0.5``) and are not shown; the
    traces write just outside them (not clipped). ``style`` is the number format and font size
    (see :func:`sum_style`). Returns the traces and the layout entries to add.
    """
    number, size = style
    rows, cols = z.shape
    font = {**_SUM_FONT, "size": size}
    # Invisible markers: Plotly sets text off a point by the marker's radius, and the sums need
    # a few pixels of room from the cells.
    common = {
        "type": "scatter", "mode": "markers+text", "marker": {"size": 10, "opacity": 0},
        "xaxis": "x2", "yaxis": "y2", "cliponaxis": False, "textfont": font,
        "hoverinfo": "skip", "showlegend": False,
    }  # fmt: skip
    traces = [
        {
            **common, "name": "row sums", "x": [cols - 0.5] * rows, "y": list(range(rows)),
            "text": [f"{total:{number}}" for total in z.sum(axis=1)],
            "textposition": "middle right",
        },
        {
            **common, "name": "column sums", "x": list(range(cols)), "y": [rows - 0.5] * cols,
            "text": [f"{total:{number}}" for total in z.sum(axis=0)],
            "textposition": "bottom center",
        },
    ]  # fmt: skip
    titles = [
        {
            "x": 1.0, "xref": "paper", "xanchor": "left", "xshift": 8,
            "y": 1.0, "yref": "paper", "yanchor": "bottom", "yshift": 4,
            "text": "<b>Σ row</b>", "showarrow": False, "font": _SUM_FONT,
        },
        {
            "x": 0.0, "xref": "paper", "xanchor": "right", "xshift": -8,
            "y": 0.0, "yref": "paper", "yanchor": "top", "yshift": -6,
            "text": "<b>Σ col</b>", "showarrow": False, "font": _SUM_FONT,
        },
    ]  # fmt: skip
    hidden = {"visible": False, "fixedrange": True}
    layout = dict(
        xaxis2={"overlaying": "x", "range": [-0.5, cols - 0.5], **hidden},
        yaxis2={"overlaying": "y", "range": [rows - 0.5, -0.5], **hidden},
        annotations=titles,
    )
    return traces, layout


def cost_figure(
    cost: ArrayLike,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str = "Cost C = 1 − GIoU",
    fitted: bool = False,
) -> go.Figure:
    """The cost matrix ``C`` (background column last), its colour scale from the smallest to
    the largest value shown (:func:`cost_scale`): 1 − IoU (0 to 1) is as legible as
    1 − GIoU (0 to 2) or an L1 cost.

    Sums are not shown: a sum of costs means nothing.
    """
    z = np.asarray(cost, dtype=np.float64)
    low, high = cost_scale(z)
    return matrix_heatmap(
        z,
        row_labels,
        col_labels,
        title=title,
        colorscale=COST_COLORSCALE,
        zmin=low,
        zmax=high,
        colorbar_title="cost",
        show_sums=False,
        fitted=fitted,
    )


def plan_figure(
    plan: ArrayLike,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str = "Plan N · P̂ (units of one prediction)",
    fitted: bool = False,
) -> go.Figure:
    """The transport plan ``N · P̂`` with its row and column sums, its colour scale from 0 to
    the heaviest entry shown (:func:`plan_scale`): the heaviest cell is the darkest, however
    light the plan.
    """
    z = np.asarray(plan, dtype=np.float64)
    _, top = plan_scale(z)
    return matrix_heatmap(
        z,
        row_labels,
        col_labels,
        title=title,
        colorscale=PLAN_COLORSCALE,
        zmin=0.0,
        zmax=top,
        colorbar_title="mass",
        fitted=fitted,
    )


def add_cell_targets(
    fig: go.Figure,
    row_ids: Sequence[int] | None = None,
    *,
    row_title: str = "prediction",
    decimals: int = 3,
) -> go.Figure:
    """Make the cells of a :func:`matrix_heatmap` clickable: one invisible marker per cell.

    Plotly selects points of scatter traces, not heatmap cells, so a click on a cell selects the
    marker at its centre instead. Each marker's ``customdata`` is ``[row, column, value]``, where
    ``row`` is ``row_ids[i]`` for the ``i``-th row drawn (default ``i``: the index in the full
    matrix when only some rows are drawn) and ``column`` the column's index. The heatmap stays
    the first trace and no longer answers hovers itself (the markers show its values). Returns
    ``fig``, modified.
    """
    heatmap = fig.data[0]
    z = np.asarray(heatmap.z, dtype=np.float64)
    rows, cols = list(heatmap.y), list(heatmap.x)
    ids = list(range(len(rows))) if row_ids is None else [int(r) for r in row_ids]
    if len(ids) != len(rows):
        raise ValueError(f"{len(ids)} row ids for {len(rows)} rows")
    row_index, col_index = np.meshgrid(np.arange(len(rows)), np.arange(len(cols)), indexing="ij")
    row_index, col_index = row_index.ravel(), col_index.ravel()
    id_of_row = [ids[i] for i in row_index.tolist()]
    customdata = [
        [row, column, value]
        for row, column, value in zip(
            id_of_row, col_index.tolist(), _rounded(z.ravel()), strict=True
        )
    ]
    number = f".{decimals}f"
    note = _scale_note(heatmap.zmin, heatmap.zmax, number)
    hover = _hover(row_title, f"%{{customdata[2]:{number}}}", note)
    fig.add_trace(
        {
            "type": "scatter",
            "x": [cols[j] for j in col_index],
            "y": [rows[i] for i in row_index],
            "customdata": customdata,
            "mode": "markers",
            "marker": {"size": 28, "symbol": "square", "opacity": 0, "color": "black"},
            "selected": {"marker": {"opacity": 0}},
            "unselected": {"marker": {"opacity": 0}},
            "hovertemplate": hover,
            "showlegend": False,
            "name": "cells",
        }
    )
    # The nearest marker, however far, takes the hover and the click: on a grid of cell centres
    # that is the marker of the cell under the pointer.
    heatmap.hoverinfo = "skip"
    heatmap.hovertemplate = None
    fig.update_layout(hovermode="closest", hoverdistance=-1)
    # The markers would widen the autoranges by their size: keep the axes on the cells.
    fig.update_layout(
        xaxis={"autorange": False, "range": [-0.5, len(cols) - 0.5]},
        yaxis={"autorange": False, "range": [len(rows) - 0.5, -0.5]},  # row 0 at the top
    )
    return fig


MAX_CELLS_WITH_TEXT = 300
"""Past this many cells a matrix shows its values on hover only."""

_COLORBAR_PX = 360  # the longest colour bar, at the top of a tall matrix


def _fit_changes(
    rows: int, cols: int, margin: Mapping[str, float], with_sums: bool
) -> tuple[dict, dict]:
    """What :func:`fit_matrix_figure` changes in a ``rows`` x ``cols`` :func:`matrix_heatmap`
    whose layout has ``margin`` (``t`` and ``b`` in pixels) and which writes its sums
    (``with_sums``): the layout's and the heatmap's attributes, as nested dicts to merge."""
    height = max(_HEIGHT, 160 + (24 if rows <= 30 else 17) * rows)
    size = _cell_text_size(rows, cols)  # the sums were written in the matching size and format
    layout: dict = {"height": height}
    heatmap: dict = {"textfont": {"size": size}}
    if rows * cols > MAX_CELLS_WITH_TEXT:
        # Hundreds of numbers cannot be read and cost the browser most of its drawing time:
        # the values stay in the hover labels. The colour bar keeps a screen's height at the
        # top of a tall matrix, which the app shows in a scrolling box.
        plot_px = height - (margin.get("t") or 0) - (margin.get("b") or 0)
        bar = {"lenmode": "pixels", "len": min(plot_px, _COLORBAR_PX), "y": 1, "yanchor": "top"}
        heatmap.update(texttemplate="", colorbar=bar)
    else:
        heatmap["showscale"] = False
        if with_sums:
            layout["margin"] = {"r": 64}  # room for "Σ row", the colour bar's once
        if cols > 12:
            heatmap["texttemplate"] = "%{z:.2f}"
    tick = min(15, size + 2) if rows <= 30 else 11
    # Every label, even when Plotly would thin them out: a row must be readable by its number.
    labels = {"tickfont": {"size": tick}, "tickmode": "linear", "dtick": 1}
    layout.update(xaxis=labels, yaxis=labels)  # the matrix's axes, not the sums' ones
    return layout, heatmap


def _merged(base: dict, changes: Mapping) -> dict:
    """``base`` with ``changes`` merged in at every depth (a new dict; ``base`` is unchanged)."""
    merged = dict(base)
    for name, value in changes.items():
        old = merged.get(name)
        both = isinstance(old, dict) and isinstance(value, Mapping)
        merged[name] = _merged(old, value) if both else value
    return merged


def fit_matrix_figure(fig: go.Figure, rows: int, cols: int) -> go.Figure:
    """Size a :func:`matrix_heatmap` for its ``rows`` x ``cols`` cells: taller for many rows,
    smaller text (two decimals past 12 columns) for many cells, values on hover only past
    ``MAX_CELLS_WITH_TEXT`` cells, and a colour bar only then (the values written in the cells
    say what the colours do, and a colour bar is a fifth of the time plotly.js takes to draw
    the plan at every slider step). Returns ``fig``, modified. (``matrix_heatmap(...,
    fitted=True)`` makes the same figure fitted from the start, sparing plotly.py's checks of
    the changes: about 4 ms of each slider step for the coins' plan.)"""
    margin = {"t": fig.layout.margin.t, "b": fig.layout.margin.b}
    with_sums = any(trace.name == "row sums" for trace in fig.data)
    layout, heatmap = _fit_changes(rows, cols, margin, with_sums)
    fig.update_layout(layout)
    fig.update_traces(heatmap, selector={"type": "heatmap"})
    return fig


def outline_cells(fig: go.Figure, row: int | None = None, column: int | None = None) -> go.Figure:
    """Outline a row and / or a column of a :func:`matrix_heatmap` (indices as drawn), e.g. the
    highlighted prediction and ground truth. Returns ``fig``, modified."""
    style = {"line": {"color": "#111", "width": 2.5}, "fillcolor": "rgba(0,0,0,0)"}
    if row is not None:
        fig.add_shape(
            type="rect", xref="x domain", x0=0, x1=1, yref="y", y0=row - 0.5, y1=row + 0.5,
            **style,
        )  # fmt: skip
    if column is not None:
        fig.add_shape(
            type="rect", xref="x", x0=column - 0.5, x1=column + 0.5, yref="y domain", y0=0, y1=1,
            **style,
        )  # fmt: skip
    return fig


def app_matrix_figure(
    kind: str,
    matrix: ArrayLike,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    shown: Sequence[int],
    *,
    title: str,
    outlined: tuple[int | None, int | None] = (None, None),
    cell_targets: bool = True,
) -> go.Figure:
    """A cost or plan matrix as the app draws it: the ``shown`` rows of the full ``(N, K)``
    ``matrix`` (indices, in order), sized by :func:`fit_matrix_figure`, cells whose
    ``customdata`` is ``[row, column, value]`` with full-matrix row indices, and ``outlined``
    (a row index as drawn, a column index; None for neither) outlined.

    Args:
        kind: ``"plan"`` (:func:`plan_figure`) or ``"cost"`` (:func:`cost_figure`).
        row_labels: the ``N`` labels of the full matrix's rows.
        cell_targets: put the ``customdata`` on invisible markers, one per cell
            (:func:`add_cell_targets`), for ``st.plotly_chart``, which selects markers but not
            heatmap cells; False puts it on the heatmap itself, whose clicks a live chart reports
            (``uotviz.ui.charts.live_chart``), and spares the browser drawing the markers (about
            15 ms of each step for a 27 x 25 plan).
    """
    makers = {"plan": plan_figure, "cost": cost_figure}
    if kind not in makers:
        raise ValueError(f"kind must be 'plan' or 'cost', got {kind!r}")
    rows = [int(i) for i in shown]
    values = np.asarray(matrix, dtype=np.float64)[rows]
    row_names = [row_labels[i] for i in rows]
    fig = makers[kind](values, row_names, list(col_labels), title=title, fitted=True)
    if cell_targets:
        add_cell_targets(fig, rows)
    else:
        fig.data[0].customdata = _cell_data(values, rows)
    outline_cells(fig, *outlined)
    return fig


# ------------------------------------------------------------------------------ Figure 1 (b)–(h)

_PANEL_TEXT_CELLS = 48
"""A Figure 1 panel writes its values in its cells up to this many cells (and 4 columns); past
that its cells are too small for them."""
_PANEL_TOP_PX = 64  # above each panel: its two-line title and the column labels
_PANEL_GAP = 0.035  # between two panels of a row, as a fraction of the figure's width
_PANEL_NUMBER = ".3f"  # the values in the panels, as the paper writes them


def figure1_matrices(
    cost: ArrayLike,
    plans: Mapping[str, ArrayLike],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    panel_ids: Sequence[str] | None = None,
    cost_title: str = "Cost C (b)",
    title: str = "",
    columns: int = 3,
) -> go.Figure:
    """The paper's Figure 1 (b)–(h) as matrices: the cost (b) at the top left, then one plan
    per panel in rows of ``columns`` (the six presets of :data:`uotviz.figure1.PRESETS`: (c),
    (d), (e) at ε = 0 above, (f), (g), (h) at ε = 0.05 below, as in the paper).

    Args:
        cost: the ``(N, K)`` cost (background column last), on its own colour scale
            (:func:`cost_scale`).
        plans: panel title -> ``(N, K)`` plan (units of one prediction), in the order drawn. The
            plans share one colour scale from 0 to 1 (or to their heaviest entry, if above), so
            that a colour means the same mass in every panel, as the paper's grey levels do.
        row_labels, col_labels: the ``N`` and ``K`` labels.
        panel_ids: what a click on each plan panel reports (e.g. the preset names), one per
            plan; default the titles. See :func:`clicked_panel`.
        cost_title, title: the cost panel's and the figure's titles.
        columns: plan panels per row.

    Returns:
        The figure. Traces: the cost heatmap, the plan heatmaps (``z`` = the inputs, rows top
        to bottom), then one trace of invisible markers per plan panel, one at each cell's
        centre, with ``customdata = [panel id, value]``: a click on a plan panel selects one
        (``st.plotly_chart`` selects markers, not heatmap cells). The values are written in
        the cells when they fit (:data:`_PANEL_TEXT_CELLS`), and the plans' colour bar is
        shown only when they are not.

    Raises:
        ValueError: if a matrix is not ``(N, K)`` or there are not as many ids as plans.
    """
    rows, cols = list(row_labels), list(col_labels)
    titles = list(plans)
    matrices = [np.asarray(m, dtype=np.float64) for m in (cost, *plans.values())]
    if any(m.shape != (len(rows), len(cols)) for m in matrices):
        shapes = [m.shape for m in matrices]
        raise ValueError(f"matrices of shapes {shapes}, expected {(len(rows), len(cols))}")
    ids = titles if panel_ids is None else [str(i) for i in panel_ids]
    if len(ids) != len(titles):
        raise ValueError(f"{len(ids)} panel ids for {len(titles)} plans")
    columns = max(1, min(columns, len(titles) or 1))
    grid = _PanelGrid(len(rows), columns, -(-len(titles) // columns) or 1, bool(title))
    written = len(rows) * len(cols) <= _PANEL_TEXT_CELLS and len(cols) <= 4
    costs = cost_scale(matrices[0])
    top = max([1.0] + [float(np.nanmax(m)) for m in matrices[1:] if m.size])
    layout = grid.layout(title)
    bar_px = grid.panel_px
    layout["coloraxis"] = _color_axis(PLAN_COLORSCALE, (0.0, top), "mass", bar_px, not written)
    layout["coloraxis2"] = _color_axis(COST_COLORSCALE, costs, "cost", bar_px, False)
    data, targets = [], []
    places = [(0, 0)] + [(i // columns, 1 + i % columns) for i in range(len(titles))]
    for index, (place, values) in enumerate(zip(places, matrices, strict=True)):
        suffix = "" if index == 0 else str(index + 1)
        is_cost = index == 0
        note = _scale_note(*(costs if is_cost else (0.0, top)), _PANEL_NUMBER)
        heatmap = _panel_heatmap(values, rows, cols, suffix, note, written)
        heatmap["coloraxis"] = "coloraxis2" if is_cost else "coloraxis"
        if not is_cost:  # the markers answer the hovers
            heatmap.update(hoverinfo="skip", hovertemplate=None)
            targets.append(_panel_targets(values, rows, cols, suffix, ids[index - 1], note))
        data.append(heatmap)
        grid.add_panel(layout, suffix, place, cost_title if is_cost else titles[index - 1], cols)
    return unvalidated_figure(data + targets, layout)


class _PanelGrid:
    """The layout of :func:`figure1_matrices`: ``grid_rows`` rows of ``columns + 1`` panels of
    ``rows`` matrix rows each, the cost's column first."""

    def __init__(self, rows: int, columns: int, grid_rows: int, titled: bool) -> None:
        self.rows, self.columns = rows, columns
        self.panel_px = min(max(24 * rows, 110), 360)  # 24 px a row, within 110–360 px
        # On the left, room for the cost panel's row labels (the others' sit in the gaps).
        self.margin = {"l": 36, "r": 10, "t": 60 if titled else 10, "b": 10}
        self.height = 30 + grid_rows * (_PANEL_TOP_PX + self.panel_px)
        self.height += self.margin["t"] + self.margin["b"]
        self.width = (1.0 - _PANEL_GAP * columns) / (columns + 1)

    def layout(self, title: str) -> dict:
        """The figure's layout, before its panels' axes and titles."""
        layout: dict = {
            "height": self.height, "margin": self.margin, "plot_bgcolor": "white",
            "hovermode": "closest", "hoverdistance": -1, "showlegend": False,
            "annotations": [],
        }  # fmt: skip
        if title:
            layout["title"] = {"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}}
        return layout

    def add_panel(
        self, layout: dict, suffix: str, place: tuple[int, int], title: str, cols: list[str]
    ) -> None:
        """Add the axes ``x{suffix}``, ``y{suffix}`` of the panel at ``place`` (grid row,
        column) and its title to ``layout``. The axes span the cells exactly (the click
        targets' markers would widen autoranges), row 0 at the top."""
        grid_row, grid_column = place
        plot_px = self.height - self.margin["t"] - self.margin["b"]
        x0 = grid_column * (self.width + _PANEL_GAP)
        top = 1.0 - (grid_row * (_PANEL_TOP_PX + self.panel_px) + _PANEL_TOP_PX) / plot_px
        every = {"tickmode": "linear", "dtick": 1}
        layout[f"xaxis{suffix}"] = {
            "domain": [x0, x0 + self.width], "anchor": f"y{suffix}", "type": "category",
            "side": "top", "tickfont": {"size": 11}, "showgrid": False, "fixedrange": True,
            "range": [-0.5, len(cols) - 0.5], **(every if len(cols) <= 12 else {}),
        }  # fmt: skip
        layout[f"yaxis{suffix}"] = {
            "domain": [max(top - self.panel_px / plot_px, 0.0), top], "anchor": f"x{suffix}",
            "type": "category", "range": [self.rows - 0.5, -0.5], "tickfont": {"size": 11},
            "showgrid": False, "fixedrange": True, **(every if self.rows <= 16 else {}),
        }  # fmt: skip
        layout["annotations"].append(
            {
                "text": title, "x": x0 + self.width / 2, "xref": "paper", "xanchor": "center",
                "y": top, "yref": "paper", "yanchor": "bottom", "yshift": 20,
                "showarrow": False, "font": {"size": 13},
            }
        )  # fmt: skip


def _color_axis(
    scale: str, ends: tuple[float, float], label: str, length_px: int, shown: bool
) -> dict:
    """A shared colour axis from ``ends[0]`` to ``ends[1]``; its colour bar (titled ``label``),
    when ``shown``, ``length_px`` long at the top right."""
    bar = {
        "title": {"text": label, "side": "right"}, "thickness": 12, "lenmode": "pixels",
        "len": min(length_px, _COLORBAR_PX), "y": 1.0, "yanchor": "top",
    }  # fmt: skip
    return {
        "colorscale": plotly.colors.get_colorscale(scale),
        "cmin": ends[0], "cmax": ends[1], "showscale": shown, "colorbar": bar,
    }  # fmt: skip


def _panel_heatmap(
    values: np.ndarray, rows: list[str], cols: list[str], suffix: str, note: str, written: bool
) -> dict:
    """A Figure 1 panel's heatmap on the axes ``x{suffix}``, ``y{suffix}``; its values in its
    cells when ``written``; ``note`` says the colour scale in the hover label."""
    heatmap = {
        "type": "heatmap", "z": _rounded(values), "x": cols, "y": rows,
        "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "xgap": 1, "ygap": 1,
        "hovertemplate": _hover("prediction", f"%{{z:{_PANEL_NUMBER}}}", note),
    }  # fmt: skip
    if written:
        heatmap["texttemplate"] = f"%{{z:{_PANEL_NUMBER}}}"
        heatmap["textfont"] = {"size": 11}
    return heatmap


def _panel_targets(
    values: np.ndarray, rows: list[str], cols: list[str], suffix: str, panel_id: str, note: str
) -> dict:
    """Invisible markers at the centres of a Figure 1 panel's cells (axes ``x{suffix}``,
    ``y{suffix}``), each with ``customdata = [panel_id, value]``."""
    row_index, col_index = np.meshgrid(np.arange(len(rows)), np.arange(len(cols)), indexing="ij")
    value = f"%{{customdata[1]:{_PANEL_NUMBER}}}"
    hover = _hover("prediction", value, f"{note}<br>click: use these parameters")
    return {
        "type": "scatter", "mode": "markers", "name": f"panel {panel_id}",
        "x": [cols[j] for j in col_index.ravel().tolist()],
        "y": [rows[i] for i in row_index.ravel().tolist()],
        "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
        "customdata": [[panel_id, v] for v in _rounded(values.ravel())],
        "marker": {"size": 18, "symbol": "square", "opacity": 0, "color": "black"},
        "selected": {"marker": {"opacity": 0}}, "unselected": {"marker": {"opacity": 0}},
        "hovertemplate": hover, "showlegend": False,
    }  # fmt: skip


def clicked_panel(point: Mapping[str, Any] | None) -> str | None:
    """The id of the :func:`figure1_matrices` panel a clicked (selected) point belongs to: the
    first entry of its ``customdata``, or None for a point that is not a panel's marker (the
    cost panel's cells, nothing)."""
    data = None if point is None else point.get("customdata")
    if isinstance(data, Sequence) and not isinstance(data, str) and data:
        return data[0] if isinstance(data[0], str) else None
    return None
