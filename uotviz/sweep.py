"""One transport parameter swept from one limit case to the other, as a scrubbable plan figure.

The paper (De Plaen et al., CVPR 2023, Figures 1, 4 and 7) presents matching strategies as points
of one continuum: with ``tau2`` going from 0 to infinity a plan moves from "every prediction to its
closest ground truth" (Proposition 2) to a balanced matching (Proposition 1). This module solves a
whole sweep of one parameter, ``eps``, ``tau1`` or ``tau2``, with the other two fixed (as one
batched solve, see :func:`sweep_plans`), and draws it as one plan heatmap with one Plotly frame per
value and Plotly's own slider: moving that slider redraws the matrix in the browser, with no round
trip to a server.

Pure functions: a cost (or a :class:`~uotviz.matching.MatchingProblem`) in, tensors and a
:class:`plotly.graph_objects.Figure` out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from torch import Tensor

from uotviz.figure1 import PRESETS, Preset
from uotviz.matching import MatchingProblem
from uotviz.plots.matrices import PLAN_COLORSCALE, fit_matrix_figure, matrix_heatmap, sum_style
from uotviz.readout import MAX_MATRIX_ROWS
from uotviz.sliders import EPS_VALUES, TAU_VALUES, format_value
from uotviz.transport import solve, solve_batch_params

__all__ = [
    "EPS_RANGE",
    "SWEEP_PARAMETERS",
    "TAU_RANGE",
    "preset_plans",
    "sweep_figure",
    "sweep_plans",
    "sweep_rows",
    "sweep_values",
]

SWEEP_PARAMETERS: tuple[str, ...] = ("ε", "τ1", "τ2")
"""The parameters a sweep can move, in the order of ``fixed = (eps, tau1, tau2)``."""

EPS_RANGE = (EPS_VALUES[1], EPS_VALUES[-1])
"""The positive ``eps`` of a sweep (after ``eps = 0``), in cost units: those of the ε slider,
0.001 to 1."""

TAU_RANGE = (TAU_VALUES[1], TAU_VALUES[-2])
"""The finite positive ``tau`` of a sweep (between 0 and inf): those of the τ sliders, 0.01 to
100."""

_MIN_MASS = 1e-3  # a row "carries mass to ground truths" from this much on (as in the main view)


def _index(parameter: str) -> int:
    if parameter not in SWEEP_PARAMETERS:
        raise ValueError(f"unknown parameter {parameter!r}; choose one of {SWEEP_PARAMETERS}")
    return SWEEP_PARAMETERS.index(parameter)


def _log_spaced(low: float, high: float, count: int) -> list[float]:
    """``count`` log-spaced values from ``low`` to ``high``, both exact, rounded to the fewest
    significant digits (at least 2) that keep them strictly increasing: short slider labels."""
    raw = np.geomspace(low, high, count)
    for digits in range(2, 17):
        values = [float(f"{v:.{digits}g}") for v in raw]
        values[0], values[-1] = low, high
        if all(a < b for a, b in zip(values, values[1:], strict=False)):
            return values
    return [float(v) for v in raw]  # pragma: no cover - 17 digits always separate them


def sweep_values(parameter: str, count: int = 25) -> tuple[float, ...]:
    """The values of a sweep of ``parameter``, increasing, from one limit case to the other.

    * ``"ε"``: exactly 0 (no entropy), then ``count - 1`` values log-spaced from 0.001 to 1.
    * ``"τ1"``, ``"τ2"``: exactly 0 (a free marginal), ``count - 2`` values log-spaced from
      0.01 to 100, and ``inf`` (a hard constraint).

    The log-spaced values are rounded to two significant digits (more only where two would
    collide), so the slider labels stay short; the ends of each range are exact.

    >>> sweep_values("τ2", 7)
    (0.0, 0.01, 0.1, 1.0, 10.0, 100.0, inf)

    Raises:
        ValueError: for an unknown parameter or ``count < 4``.
    """
    index = _index(parameter)
    if count < 4:
        raise ValueError(f"a sweep needs at least 4 values, got {count}")
    if index == 0:
        return (0.0, *_log_spaced(*EPS_RANGE, count - 1))
    return (0.0, *_log_spaced(*TAU_RANGE, count - 2), math.inf)


def _parameters(parameter: str, value: float, fixed: Sequence[float]) -> tuple[float, float, float]:
    params = [float(v) for v in fixed]
    if len(params) != 3:
        raise ValueError(f"fixed must be (eps, tau1, tau2), got {tuple(fixed)}")
    params[_index(parameter)] = float(value)
    return params[0], params[1], params[2]


def _batched(eps: float, tau1: float, tau2: float) -> bool:
    """Whether a parameter set goes into the sweep's one batched solve: the solver's iterative
    path (see :func:`sweep_plans`), which :func:`~uotviz.transport.solve_batch_params` takes."""
    return (
        0.0 < tau1 <= math.inf
        and 0.0 < tau2 <= math.inf
        and 0.0 <= eps < math.inf
        and not (eps == 0.0 and tau1 == math.inf and tau2 == math.inf)
    )


def sweep_plans(
    cost: Tensor,
    parameter: str,
    values: Sequence[float],
    fixed: Sequence[float],
    *,
    tol: float = 1e-6,
) -> list[Tensor]:
    """The plans ``N · P̂`` of ``cost`` at every value of ``parameter``, the others fixed.

    The sweep is computed as one batched solve: the cost is stacked once per value that needs
    the iterative solver, into a ``(K, N, M + 1)`` batch, and those K problems, each with its own
    ``(eps, tau1, tau2)``, are solved together by one call of
    :func:`~uotviz.transport.solve_batch_params` (one Newton loop over the whole batch). Those
    values are every value whose ``(eps, tau1, tau2)`` has ``tau1 > 0`` and ``tau2 > 0``
    (finite or inf), except ``eps = 0`` with ``tau1 = tau2 = inf``; ``eps = 0`` with a finite
    ``tau`` is solved in the batch at the same stand-in eps as :func:`~uotviz.transport.solve`
    uses (``1e-4 * max|C|``).

    The other values are solved one by one with :func:`~uotviz.transport.solve`, as they have
    closed forms:

    * ``tau1 = 0`` or ``tau2 = 0`` (a free marginal), with ``eps > 0``, or with ``eps = 0`` when
      the other ``tau`` is finite and positive (then at the stand-in eps): one scaling update, a
      row or column softmin (``exp(-C / eps)`` when both are 0);
    * ``eps = 0`` with ``tau1`` and ``tau2`` both in ``{0, inf}``: the exact corners (Hungarian
      matching, row or column argmin, the zero plan).

    For example, at Figure 1(g)'s ``(eps, tau1, tau2) = (0.05, inf, inf)``, 24 of the 25 values
    of :func:`sweep_values` go into the batch for every parameter; only ``eps = 0`` or
    ``tau = 0`` is solved on its own. Every plan equals an independent
    :func:`~uotviz.transport.solve` at its value to within the tolerance; a value that does not
    reach the tolerance still gives the plan found.

    Args:
        cost: ``(N, M + 1)`` cost, background last.
        parameter: one of :data:`SWEEP_PARAMETERS`.
        values: the values of ``parameter``, e.g. :func:`sweep_values`.
        fixed: ``(eps, tau1, tau2)``; the entry of ``parameter`` is ignored.
        tol: the solver's tolerance.

    Returns:
        One ``(N, M + 1)`` plan per value, in the order of ``values``, in the cost's dtype and
        device.

    Raises:
        ValueError: an unknown parameter, a bad ``fixed``, or what :func:`~uotviz.transport.solve`
            refuses (negative or NaN values, non-finite costs, bad shapes).
    """
    if cost.dim() != 2:
        raise ValueError(f"cost must be (N, M + 1), got shape {tuple(cost.shape)}")
    settings = [_parameters(parameter, value, fixed) for value in values]
    batch = [k for k, params in enumerate(settings) if _batched(*params)]
    plans = {
        k: solve(cost, *params, tol=tol).plan
        for k, params in enumerate(settings)
        if not _batched(*params)
    }
    if batch:
        eps, tau1, tau2 = ([settings[k][i] for k in batch] for i in range(3))
        stacked = cost.unsqueeze(0).expand(len(batch), *cost.shape)
        result = solve_batch_params(stacked, eps, tau1, tau2, tol=tol)
        plans.update(zip(batch, result.plan, strict=True))
    return [plans[k] for k in range(len(settings))]


def preset_plans(cost: Tensor, presets: Sequence[Preset] = PRESETS) -> dict[str, Tensor]:
    """The plan of every preset of the paper's Figure 1 (panels (c)–(h)), by preset name."""
    return {
        preset.name: solve(cost, preset.eps, preset.tau1, preset.tau2).plan for preset in presets
    }


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
    rows = np.flatnonzero(to_gt >= _MIN_MASS)
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
    index = _index(parameter)
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
