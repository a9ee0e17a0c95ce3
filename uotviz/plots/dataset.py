"""Plotly histograms of a dataset's matching statistics (the Dataset page).

Pure functions: arrays in, a :class:`plotly.graph_objects.Figure` out. Bars are counted here
with numpy (not by plotly.js), so that a figure says exactly what it counts: integer readings get
one bar per value (0, 1, 2, ...), masses one bar per bin of equal width. Masses are in units of
one prediction, as in :mod:`uotviz.stats`.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike

__all__ = [
    "BINS",
    "background_mass_figure",
    "count_histogram",
    "plan_difference_figure",
    "predictions_per_gt_figure",
    "value_histogram",
]

BINS = 20
"""Bins of a histogram of masses."""

_BAR_COLOUR = "#4c78a8"
_HEIGHT_PX = 320


def _layout(title: str, x_title: str, y_title: str) -> dict:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "bargap": 0.05,
        "height": _HEIGHT_PX,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "showlegend": False,
    }


def _empty_note(figure: go.Figure, values: np.ndarray) -> go.Figure:
    """Say so on a figure that has nothing to count."""
    if values.size == 0:
        figure.add_annotation(
            text="nothing to count", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )
    return figure


def count_histogram(counts: ArrayLike, *, title: str, x_title: str, y_title: str) -> go.Figure:
    """One bar per integer value ``0 .. max(counts)``: how many of ``counts`` have that value.

    Args:
        counts: non-negative integers, any shape (flattened).
        title, x_title, y_title: the figure's and the axes' titles.
    """
    values = np.asarray(counts, dtype=np.int64).ravel()
    heights = np.bincount(values) if values.size else np.zeros(0, dtype=np.int64)
    figure = go.Figure(
        go.Bar(
            x=np.arange(heights.size),
            y=heights,
            marker_color=_BAR_COLOUR,
            hovertemplate=f"{x_title}: %{{x}}<br>{y_title}: %{{y}}<extra></extra>",
        ),
        layout=_layout(title, x_title, y_title),
    )
    figure.update_xaxes(dtick=1)
    return _empty_note(figure, values)


def value_histogram(
    values: ArrayLike,
    *,
    title: str,
    x_title: str,
    y_title: str,
    low: float = 0.0,
    high: float | None = None,
    bins: int = BINS,
) -> go.Figure:
    """``bins`` bars of equal width over ``[low, high]`` (``high``: the largest value, at least
    ``low + 1``): how many of ``values`` fall in each (the last bin includes ``high``).

    Args:
        values: finite numbers, any shape (flattened); those outside ``[low, high]`` are not
            counted.
        title, x_title, y_title: the figure's and the axes' titles.
    """
    numbers = np.asarray(values, dtype=np.float64).ravel()
    top = float(numbers.max()) if numbers.size else low
    high = max(top, low + 1.0) if high is None else high
    heights, edges = np.histogram(numbers, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    ranges = [f"{a:.3g} to {b:.3g}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    figure = go.Figure(
        go.Bar(
            x=centres,
            y=heights,
            width=np.diff(edges),
            customdata=ranges,
            marker_color=_BAR_COLOUR,
            hovertemplate=f"{x_title}: %{{customdata}}<br>{y_title}: %{{y}}<extra></extra>",
        ),
        layout=_layout(title, x_title, y_title),
    )
    figure.update_xaxes(range=[low, high])
    return _empty_note(figure, numbers)


def predictions_per_gt_figure(counts: ArrayLike) -> go.Figure:
    """How many ground truths receive at least 0.5 from 0, 1, 2, ... predictions."""
    return count_histogram(
        counts,
        title="Predictions per ground truth (each sending it ≥ 0.5)",
        x_title="predictions",
        y_title="ground truths",
    )


def background_mass_figure(masses: ArrayLike) -> go.Figure:
    """How many predictions send each amount of mass to ∅ (units of one prediction)."""
    return value_histogram(
        masses,
        title="Mass to ∅ per prediction",
        x_title="mass to ∅",
        y_title="predictions",
    )


def plan_difference_figure(differences: ArrayLike) -> go.Figure:
    """How many images have each ``plan_difference`` (½ Σ|P − Q|, units of one prediction)."""
    numbers = np.asarray(differences, dtype=np.float64).ravel()
    high = max(float(numbers.max()), 1e-3) if numbers.size else 1.0
    return value_histogram(
        numbers,
        title="Plan difference per image (½ Σ|P − Q|)",
        x_title="plan difference",
        y_title="images",
        high=high,
    )
