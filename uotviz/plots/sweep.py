"""A sweep of one transport parameter drawn as one scrubbable plan figure.

:func:`sweep_figure` draws the plans of :func:`uotviz.sweep.sweep_plans` as one plan heatmap with
one Plotly frame per value and Plotly's own slider: moving that slider redraws the matrix in the
browser, with no round trip to a server.

Pure functions: plans in, a :class:`plotly.graph_objects.Figure` out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from torch import Tensor

from uotviz.matching import MatchingProblem
from uotviz.plots.matrices import PLAN_COLORSCALE, fit_matrix_figure, matrix_heatmap, sum_style
from uotviz.readout import MAX_MATRIX_ROWS, ROW_MIN_MASS
from uotviz.sliders import format_value
from uotviz.sweep import SWEEP_PARAMETERS, parameter_index

__all__ = ["sweep_figure", "sweep_rows"]


def _numpy(plans: Sequence[Tensor | np.ndarray]) -> np.ndarray:
    """``(F, N, K)`` float64 stack of the plans."""
    arrays = [p.detach().cpu().numpy() if isinstance(p, Tensor) else np.asarray(p) for p in plans]
    return np.stack([a.astype(np.float64) for a in arrays]) if arrays else np.zeros((0, 0, 0))


def sweep_rows(
    plans: Sequence[Tensor | np.ndarray], *, limit: int = MAX_MATRIX_ROWS
) -> np.ndarray | None:
    """The rows a sweep figure draws, or None to draw them all.

    With at most ``limit`` rows, all. Otherwise the rows sending at least 0.001 to the ground
    truths (the background, last, does not count) in at least one frame, the ``limit`` heaviest
    of them (by their largest mass to ground truths over the frames), in row order; possibly none.
    """
    stack = _numpy(plans)
    if stack.ndim != 3 or stack.shape[1] <= limit:
        return None
    to_gt = stack[:, :, :-1].sum(axis=2).max(axis=0)
    rows = np.flatnonzero(to_gt >= ROW_MIN_MASS)
    if rows.size > limit:
        heaviest = np.argsort(-to_gt[rows], kind="stable")[:limit]
        rows = np.sort(rows[heaviest])
    return rows


def _sum_trace(text: list[str], font: dict, *, rows: list[str] | None, cols: list[str] | None):
    """A text-only scatter writing sums: beside the rows (``rows`` given) or below the columns.

    The sums are traces, not annotations, so that every frame can rewrite them cheaply."""
    if rows is not None:
        place = {"x": [0.08] * len(rows), "y": rows, "xaxis": "x2", "yaxis": "y"}
        position = "middle right"
    else:
        place = {"x": cols, "y": [0.5] * len(cols or []), "xaxis": "x", "yaxis": "y2"}
        position = "middle center"
    return go.Scatter(
        **place,
        mode="text",
        text=text,
        textposition=position,
        textfont=font,
        hoverinfo="skip",
        showlegend=False,
        name="row sums" if rows is not None else "column sums",
    )


def sweep_figure(
    problem: MatchingProblem,
    plans: Sequence[Tensor | np.ndarray],
    values: Sequence[float],
    parameter: str,
    fixed: Sequence[float],
) -> go.Figure:
    """The plan heatmap of a sweep, one Plotly frame per value, scrubbed with Plotly's slider.

    It looks like :func:`uotviz.plots.matrices.plan_figure` (rows = predictions, columns = ground
    truths then ``∅``, values in the cells, row and column sums beside the matrix), on one colour
    range for all frames: 0 to the largest entry of any frame (at least 1). The layout's
    ``sliders[0]`` has one step per value, labelled with :func:`~uotviz.sliders.format_value`,
    and ``updatemenus[0]`` play and pause buttons; both animate the figure's ``frames`` (named
    ``"0"``, ``"1"``, ...) in the browser, with no server round trip. The figure starts at the
    first value.

    Traces: 0 the heatmap (``z`` = the plan, rows drawn top to bottom), 1 the row sums, 2 the
    column sums (text-only scatters); each frame sets all three.

    With more than :data:`~uotviz.readout.MAX_MATRIX_ROWS` rows only those of
    :func:`sweep_rows` are drawn, and the title says so.

    Args:
        problem: labels (``row_labels``, ``col_labels``) of the plans' rows and columns.
        plans: ``(N, M + 1)`` plans, one per value (:func:`sweep_plans`).
        values: the values of ``parameter``, increasing.
        parameter: the swept parameter, one of :data:`SWEEP_PARAMETERS`.
        fixed: ``(eps, tau1, tau2)``; the entry of ``parameter`` is ignored.

    Raises:
        ValueError: no plans, not one plan per value, plans not ``(N, M + 1)``, or an unknown
            parameter.
    """
    index = parameter_index(parameter)
    if len(plans) != len(values) or not len(plans):
        raise ValueError(f"{len(plans)} plans for {len(values)} values: need one per value")
    stack = _numpy(plans)
    row_labels, col_labels = list(problem.row_labels), list(problem.col_labels)
    if stack.ndim != 3 or stack.shape[1:] != (len(row_labels), len(col_labels)):
        raise ValueError(
            f"plans have shape {stack.shape[1:]}, expected (N, M + 1) = "
            f"({len(row_labels)}, {len(col_labels)})"
        )
    n = stack.shape[1]
    rows = sweep_rows(stack)
    note = ""
    if rows is not None:
        if rows.size:
            note = (
                f"{rows.size} of {n} rows shown: those sending mass to a ground truth at some "
                f"{parameter}"
            )
        else:  # nothing ever reaches a ground truth: the first rows rather than nothing
            rows = np.arange(MAX_MATRIX_ROWS)
            note = f"first {MAX_MATRIX_ROWS} of {n} rows; no row ever sends mass to a ground truth"
        stack = stack[:, rows]
        row_labels = [row_labels[i] for i in rows.tolist()]
    frames_z = np.round(stack, 6)  # a lighter page; the cells show 2 or 3 decimals
    top = max(1.0, float(np.nanmax(frames_z))) if frames_z.size else 1.0

    others = ", ".join(
        f"{SWEEP_PARAMETERS[k]} = {format_value(float(fixed[k]))}" for k in range(3) if k != index
    )
    title = (
        f"Plan N·P̂ as {parameter} goes from {format_value(values[0])} to "
        f"{format_value(values[-1])}, at {others}"
    )
    if note:
        title += f"<br><sup>{note}</sup>"

    r, k = len(row_labels), len(col_labels)
    number, sum_size = sum_style((r, k))
    fig = matrix_heatmap(
        frames_z[0],
        row_labels,
        col_labels,
        title=title,
        colorscale=PLAN_COLORSCALE,
        zmin=0.0,
        zmax=top,
        colorbar_title="mass",
        decimals=int(number[1]),
        show_sums=False,
    )
    fit_matrix_figure(fig, r, k)
    sum_font = {"size": sum_size, "color": "#444"}

    def sums(z: np.ndarray) -> tuple[list[str], list[str]]:
        return (
            [f"{v:{number}}" for v in z.sum(axis=1)],
            [f"{v:{number}}" for v in z.sum(axis=0)],
        )

    row_sums, col_sums = sums(frames_z[0])
    fig.add_trace(_sum_trace(row_sums, sum_font, rows=row_labels, cols=None))
    fig.add_trace(_sum_trace(col_sums, sum_font, rows=None, cols=col_labels))

    # Geometry: the matrix, a strip on its right for the row sums, one below for the column sums.
    margin_t, margin_b = fig.layout.margin.t + (14 if note else 0), 150
    height = fig.layout.height + 110
    plot_px = height - margin_t - margin_b
    strip = min(0.2, 26 / max(plot_px, 1))  # the column sums' row, about 26 px
    side = 0.07 if k <= 12 else 0.05  # the row sums' column
    fig.update_layout(
        height=height,
        margin={"l": fig.layout.margin.l, "r": 30, "t": margin_t, "b": margin_b},
        xaxis={"domain": [0.0, 1.0 - side], "range": [-0.5, k - 0.5], "autorange": False},
        yaxis={"domain": [strip, 1.0], "range": [r - 0.5, -0.5], "autorange": False},
        xaxis2={"domain": [1.0 - side, 1.0], "range": [0, 1], "visible": False, "anchor": "y"},
        yaxis2={"domain": [0.0, strip], "range": [0, 1], "visible": False, "anchor": "x"},
        annotations=[
            {
                "x": 1.0 - side,
                "xref": "paper",
                "xanchor": "left",
                "xshift": 2,
                "y": 1.0,
                "yref": "paper",
                "yanchor": "bottom",
                "yshift": 4,
                "text": "<b>Σ row</b>",
                "showarrow": False,
                "font": sum_font,
            },
            {
                "x": 0.0,
                "xref": "paper",
                "xanchor": "right",
                "xshift": -8,
                "y": strip / 2,
                "yref": "paper",
                "yanchor": "middle",
                "text": "<b>Σ col</b>",
                "showarrow": False,
                "font": sum_font,
            },
        ],  # fmt: skip
    )
    fig.update_traces(colorbar={"x": 1.02, "xanchor": "left"}, selector={"type": "heatmap"})

    frames = []
    for f, z in enumerate(frames_z):
        row_sums, col_sums = sums(z)
        frames.append(
            go.Frame(
                name=str(f),
                data=[
                    go.Heatmap(z=z),
                    go.Scatter(text=row_sums),
                    go.Scatter(text=col_sums),
                ],
                traces=[0, 1, 2],
            )
        )
    fig.frames = frames

    def animate(frame_names: list[str] | None, duration: int) -> list:
        return [
            frame_names,
            {
                "mode": "immediate",
                "frame": {"duration": duration, "redraw": True},
                "transition": {"duration": 0},
                "fromcurrent": True,
            },
        ]

    steps = [
        {"label": format_value(v), "method": "animate", "args": animate([str(f)], 0)}
        for f, v in enumerate(values)
    ]
    fig.update_layout(
        sliders=[
            {
                "active": 0,
                "steps": steps,
                "x": 0.0,
                "len": 1.0,
                "xanchor": "left",
                "y": 0.0,
                "yanchor": "top",
                "pad": {"t": 30, "b": 0, "l": 100},
                "currentvalue": {
                    "prefix": f"{parameter} = ",
                    "font": {"size": 16},
                    "xanchor": "left",
                },
                "font": {"size": 11},
                "ticklen": 4,
                "minorticklen": 2,
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": 0.0,
                "xanchor": "left",
                "y": 0.0,
                "yanchor": "top",
                "pad": {"t": 62, "r": 0},
                "buttons": [
                    {"label": "▶ play", "method": "animate", "args": animate(None, 400)},
                    {
                        "label": "❚❚",
                        "method": "animate",
                        "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}],
                    },
                ],
            }
        ],
    )
    return fig
