"""Plotly figures of cost matrices and transport plans.

Pure functions: arrays and labels in, a :class:`plotly.graph_objects.Figure` out. Matrices are
drawn as tables are read: predictions are rows from top to bottom, ground truths are columns from
left to right with the background ``∅`` last, each cell carries its value, and the row and column
sums are written beside the matrix (a balanced plan's rows sum to 1, and so does each ground
truth's column, in units of one prediction).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from numpy.typing import ArrayLike

__all__ = [
    "COST_COLORSCALE",
    "PLAN_COLORSCALE",
    "add_cell_targets",
    "app_matrix_figure",
    "cost_figure",
    "fit_matrix_figure",
    "matrix_heatmap",
    "outline_cells",
    "plan_figure",
    "unvalidated_figure",
]

COST_COLORSCALE = "Oranges"
PLAN_COLORSCALE = "Blues"

_SUM_FONT = {"size": 13, "color": "#444"}
_HEIGHT = 420


def unvalidated_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure made of plain dicts that plotly.py does not validate, nor does it validate what
    is later added to it.

    plotly.py checks every property against its schema and copies every array element by
    element; for the figures of one slider step that took longer than the solve and the drawing
    together. The figures of this package are built from dicts whose property names the tests
    check, by validating each kind of figure with ``go.Figure(fig.to_dict())``. Their template
    is empty: plotly.py's default one adds 7 kB to every figure sent, and Streamlit lays its own
    theme over the figure anyway.
    """
    return go.Figure(data=data, layout={"template": {}, **layout}, _validate=False)


_DIGITS = 8
"""Decimals kept in the numbers a matrix sends to the browser: it shows 2 or 3 (cells, hover), and
17-digit floats would double the JSON of a large matrix and the time to write it."""


def _rounded(values: np.ndarray) -> list:
    """``values`` as nested lists of floats rounded to :data:`_DIGITS` decimals."""
    return np.round(np.asarray(values, dtype=np.float64), _DIGITS).tolist()


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
) -> go.Figure:
    """A heatmap of an ``(N, K)`` matrix with every value written in its cell.

    Args:
        values: ``(N, K)`` numbers; row ``i`` is drawn at the top for ``i = 0``.
        row_labels: ``N`` labels, e.g. ``("1", ..., "5")``; always a categorical axis.
        col_labels: ``K`` labels, e.g. ``("A", "B", "∅")``; drawn above the matrix.
        title: the figure title.
        colorscale: a plotly.py colour scale name (e.g. ``"Blues"``), written into the figure
            as its list of colours: plotly.js knows some names with other colours.
        zmin, zmax: the values mapped to the ends of the colour scale.
        colorbar_title: what the colours measure.
        row_title, col_title: axis titles.
        decimals: digits after the point in the cells and the sums.
        show_sums: write each row's sum to its right and each column's sum below it.

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
        },
        "hovertemplate": f"{row_title} %{{y}} → %{{x}}: %{{z:{number}}}<extra></extra>",
    }
    layout = {
        "title": {
            "text": title,
            "x": 0.0,
            "xanchor": "left",
            "y": 0.97,
            "yref": "container",
            "yanchor": "top",
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
    data = [heatmap]
    if show_sums:
        sums_traces, sums_layout = _sums(z, sum_style(z.shape, number))
        data += sums_traces
        layout.update(sums_layout)
    return unvalidated_figure(data, layout)


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
) -> go.Figure:
    """The cost matrix ``C`` (background column last) on a fixed 0–2 scale, the range of 1 − GIoU.

    Sums are not shown: a sum of costs means nothing.
    """
    z = np.asarray(cost, dtype=np.float64)
    top = max(2.0, float(np.nanmax(z))) if z.size else 2.0
    return matrix_heatmap(
        z,
        row_labels,
        col_labels,
        title=title,
        colorscale=COST_COLORSCALE,
        zmin=0.0,
        zmax=top,
        colorbar_title="cost",
        show_sums=False,
    )


def plan_figure(
    plan: ArrayLike,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str = "Plan N · P̂ (units of one prediction)",
) -> go.Figure:
    """The transport plan ``N · P̂`` with its row and column sums, on a 0–1 scale.

    The scale grows past 1 only when an entry does (possible when a marginal is soft).
    """
    z = np.asarray(plan, dtype=np.float64)
    top = max(1.0, float(np.nanmax(z))) if z.size else 1.0
    return matrix_heatmap(
        z,
        row_labels,
        col_labels,
        title=title,
        colorscale=PLAN_COLORSCALE,
        zmin=0.0,
        zmax=top,
        colorbar_title="mass",
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
    hover = f"{row_title} %{{y}} → %{{x}}: %{{customdata[2]:{number}}}<extra></extra>"
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


def fit_matrix_figure(fig: go.Figure, rows: int, cols: int) -> go.Figure:
    """Size a :func:`matrix_heatmap` for its ``rows`` x ``cols`` cells: taller for many rows,
    smaller text (two decimals past 12 columns) for many cells, values on hover only past
    ``MAX_CELLS_WITH_TEXT`` cells, and a colour bar only then (the values written in the cells
    say what the colours do, and a colour bar is a fifth of the time plotly.js takes to draw
    the plan at every slider step). Returns ``fig``, modified."""
    height = max(_HEIGHT, 160 + (24 if rows <= 30 else 17) * rows)
    size = _cell_text_size(rows, cols)  # the sums were written in the matching size and format
    fig.update_layout(height=height)
    fig.update_traces(textfont={"size": size}, selector={"type": "heatmap"})
    if rows * cols > MAX_CELLS_WITH_TEXT:
        # Hundreds of numbers cannot be read and cost the browser most of its drawing time:
        # the values stay in the hover labels.
        fig.update_traces(texttemplate="", selector={"type": "heatmap"})
    else:
        fig.update_traces(showscale=False, selector={"type": "heatmap"})
        if any(trace.name == "row sums" for trace in fig.data):
            fig.update_layout(margin={"r": 64})  # room for "Σ row", the colour bar's once
        if cols > 12:
            fig.update_traces(texttemplate="%{z:.2f}", selector={"type": "heatmap"})
    tick = min(15, size + 2) if rows <= 30 else 11
    # Every label, even when Plotly would thin them out: a row must be readable by its number.
    labels = {"tickfont": {"size": tick}, "tickmode": "linear", "dtick": 1}
    fig.update_layout(xaxis=labels, yaxis=labels)  # the matrix's axes, not the sums' ones
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
    fig = makers[kind](values, [row_labels[i] for i in rows], list(col_labels), title=title)
    fit_matrix_figure(fig, len(rows), values.shape[1])
    if cell_targets:
        add_cell_targets(fig, rows)
    else:
        cols = range(values.shape[1])
        fig.data[0].customdata = [
            [[row, column, value] for column, value in zip(cols, line, strict=True)]
            for row, line in zip(rows, _rounded(values), strict=True)
        ]
    outline_cells(fig, *outlined)
    return fig
