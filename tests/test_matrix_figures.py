"""The matrix figures: colour scales that follow the values shown, and Figure 1's matrices."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from plotly.io.json import to_json_plotly

from tests.plotly_checks import assert_validation_changes_nothing
from uotviz import figure1
from uotviz.costs import CostWeights, matching_cost
from uotviz.plots.matrices import (
    PLAN_SCALE_FLOOR,
    app_matrix_figure,
    clicked_panel,
    cost_figure,
    cost_scale,
    figure1_matrices,
    fit_matrix_figure,
    plan_figure,
    plan_scale,
    unvalidated_figure,
)
from uotviz.transport import solve
from uotviz.ui.charts import figure_dict

ROWS, COLS = ["1", "2", "3", "4", "5"], ["A", "B", "∅"]


def _figure1_cost(weights: CostWeights | None = None) -> np.ndarray:
    """The cost of the paper's Figure 1 scene (5 x 3, background 0.8; 1 − GIoU by default)."""
    return matching_cost(
        torch.tensor(figure1.PREDICTIONS_XYXY, dtype=torch.float64),
        torch.tensor(figure1.GROUND_TRUTHS_XYXY, dtype=torch.float64),
        background_cost=figure1.BACKGROUND_COST,
        **({} if weights is None else {"weights": weights}),
    ).numpy()


def test_the_cost_scale_spans_the_values_of_a_1_minus_iou_matrix() -> None:
    cost = _figure1_cost(CostWeights(iou_weight=1.0))
    assert 0.0 <= cost.min() and cost.max() <= 1.0  # 1 − IoU: far from the old 0–2 scale
    heatmap = cost_figure(cost, ROWS, COLS).data[0]
    assert (heatmap.zmin, heatmap.zmax) == pytest.approx((cost.min(), cost.max()), abs=1e-12)
    # the colour bar names both ends and the middle; the hover label names the ends
    ends = f"{cost.min():.3f}", f"{(cost.min() + cost.max()) / 2:.3f}", f"{cost.max():.3f}"
    assert list(heatmap.colorbar.ticktext) == list(ends)
    assert f"colours {ends[0]} (light) – {ends[2]} (dark)" in heatmap.hovertemplate


def test_the_app_scales_the_cost_on_the_rows_it_shows() -> None:
    cost = _figure1_cost()
    fig = app_matrix_figure("cost", cost, ROWS, COLS, [1, 4], title="t")
    heatmap = fig.data[0]
    shown = cost[[1, 4]]
    assert (heatmap.zmin, heatmap.zmax) == pytest.approx((shown.min(), shown.max()), abs=1e-12)
    (cells,) = [trace for trace in fig.data if trace.name == "cells"]
    assert f"(light) – {shown.max():.3f} (dark)" in cells.hovertemplate


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        (np.full((4, 3), 0.8), (0.3, 1.3)),  # constant: the middle colour
        (np.zeros((0, 3)), (0.0, 1.0)),  # no rows
        (np.zeros((2, 0)), (0.0, 1.0)),  # no columns
        (np.full((2, 2), np.nan), (0.0, 1.0)),
        ([[0.2, np.inf], [np.nan, 1.4]], (0.2, 1.4)),  # only finite values count
        ([[-0.5, 2.0]], (-0.5, 2.0)),
    ],
)
def test_the_cost_scale_of_special_matrices(values, scale) -> None:
    assert cost_scale(values) == pytest.approx(scale)


def test_constant_and_empty_cost_matrices_are_drawn() -> None:
    constant = cost_figure(np.full((5, 1), 0.8), ROWS, ["∅"]).data[0]
    assert (constant.zmin, constant.zmax) == pytest.approx((0.3, 1.3))
    empty = cost_figure(np.zeros((0, 3)), [], COLS).data[0]
    assert (empty.zmin, empty.zmax) == (0.0, 1.0)
    assert list(empty.z) == []


def test_the_plan_scale_runs_from_zero_to_the_heaviest_entry() -> None:
    plan = solve(torch.from_numpy(_figure1_cost()), 0.05, math.inf, math.inf).plan.numpy()
    heatmap = plan_figure(plan, ROWS, COLS).data[0]
    assert (heatmap.zmin, heatmap.zmax) == pytest.approx((0.0, plan.max()), abs=1e-12)
    assert plan.max() < 1.0  # the heaviest cell is the darkest, not a 0–1 scale
    assert f"colours 0.000 (light) – {plan.max():.3f} (dark)" in heatmap.hovertemplate
    # masses above one (a soft marginal) widen it; tiny or no masses stay pale
    assert plan_scale([[1.7, 0.2]]) == (0.0, 1.7)
    assert plan_scale([[1e-4, 0.0]]) == (0.0, PLAN_SCALE_FLOOR)
    assert plan_scale(np.zeros((0, 3))) == (0.0, PLAN_SCALE_FLOOR)
    assert plan_figure(np.zeros((5, 3)), ROWS, COLS).data[0].zmax == PLAN_SCALE_FLOOR


def test_cell_text_takes_plotlys_contrasting_colour() -> None:
    """No fixed text colour: plotly.js writes dark text on light cells and light text on dark
    ones, wherever the scale's ends are."""
    for fig in (plan_figure(np.eye(5, 3), ROWS, COLS), cost_figure(_figure1_cost(), ROWS, COLS)):
        heatmap = fig.data[0]
        assert heatmap.texttemplate and heatmap.textfont.color in (None, "auto")


def test_a_tall_matrix_keeps_a_screen_high_colour_bar_at_its_top() -> None:
    rows = 300  # a tall heatmap: the app shows it in a scrolling box
    values = np.linspace(0, 1, rows * 3).reshape(rows, 3)
    labels = [str(i + 1) for i in range(rows)]
    fig = app_matrix_figure("plan", values, labels, COLS, range(rows), title="t")
    assert fig.layout.height > 5000
    bar = fig.data[0].colorbar
    assert (bar.lenmode, bar.len, bar.y, bar.yanchor) == ("pixels", 360, 1, "top")


def test_plotly_accepts_the_matrix_figures_as_built() -> None:
    """The figures are built unvalidated: plotly.py's validation must accept them unchanged."""

    plan = solve(torch.from_numpy(_figure1_cost()), 0.05, math.inf, math.inf).plan.numpy()
    figures = [
        app_matrix_figure("plan", plan, ROWS, COLS, range(5), title="t", outlined=(1, 0)),
        app_matrix_figure("cost", _figure1_cost(), ROWS, COLS, [0, 3], title="t"),
        app_matrix_figure("plan", plan, ROWS, COLS, range(5), title="t", cell_targets=False),
        app_matrix_figure(
            "cost", np.tile(_figure1_cost(), (40, 1)), [str(i) for i in range(200)], COLS,
            range(200), title="t",
        ),
        figure1_matrices(_figure1_cost(), _figure1_plans(), ROWS, COLS, title="t"),
        figure1_matrices(
            np.zeros((80, 3)), {"p": np.zeros((80, 3))}, [str(i) for i in range(80)], COLS
        ),
    ]  # fmt: skip
    for fig in figures:
        assert_validation_changes_nothing(fig)


def _figure1_plans() -> dict[str, np.ndarray]:
    """The six presets' plans of the Figure 1 scene, by preset name."""
    cost = torch.from_numpy(_figure1_cost())
    return {
        preset.name: solve(cost, preset.eps, preset.tau1, preset.tau2).plan.numpy()
        for preset in figure1.PRESETS
    }


def test_an_unvalidated_figure_keeps_its_lists_and_writes_what_plotly_writes() -> None:
    """plotly.py deep-copies what a figure is made of; the lists of an unvalidated figure are
    not copied again, and the figure writes the same JSON as one made of plain lists."""
    z = [[0.1, 0.2], [0.3, 0.4]]
    data = [{"type": "heatmap", "z": z, "customdata": [[[0, 0], [0, 1]], [[1, 0], [1, 1]]]}]
    layout = {"shapes": [{"type": "rect", "x0": 0, "x1": 1, "y0": 0, "y1": 1}], "height": 300}
    fig = unvalidated_figure(data, layout)
    kept = fig._data[0]["z"]
    assert copy.deepcopy(kept) is kept and kept == z
    assert copy.deepcopy(fig._layout["shapes"]) is fig._layout["shapes"]
    plain = go.Figure(data=data, layout={"template": {}, **layout}, _validate=False)
    assert to_json_plotly(figure_dict(fig)) == to_json_plotly(figure_dict(plain))
    fig.update_layout(height=400)  # plotly.py replaces values; what was given stays
    fig.data[0].z = [[1.0]]
    assert layout["height"] == 300 and data[0]["z"] is z and z == [[0.1, 0.2], [0.3, 0.4]]


def test_figure1_matrices_draws_the_cost_and_six_plans_as_heatmaps() -> None:
    cost, plans = _figure1_cost(), _figure1_plans()
    fig = figure1_matrices(cost, plans, ROWS, COLS, title="Figure 1")
    heatmaps = [trace for trace in fig.data if trace.type == "heatmap"]
    assert len(heatmaps) == 7
    for heatmap, values in zip(heatmaps, [cost, *plans.values()], strict=True):
        np.testing.assert_allclose(heatmap.z, values, rtol=0, atol=5e-9)
        assert list(heatmap.x) == COLS and list(heatmap.y) == ROWS
        assert heatmap.texttemplate == "%{z:.3f}"  # 5 x 3 cells: the values fit
    # each panel on its own axes, titled with its preset's name, the cost on its own scale
    assert len({(h.xaxis, h.yaxis) for h in heatmaps}) == 7
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["Cost C (b)", *plans]
    assert heatmaps[0].coloraxis == "coloraxis2"
    assert {h.coloraxis for h in heatmaps[1:]} == {"coloraxis"}
    plans_axis = fig.layout.coloraxis
    assert (plans_axis.cmin, plans_axis.cmax) == (0.0, 1.0)  # one 0–1 scale for every plan
    assert (fig.layout.coloraxis2.cmin, fig.layout.coloraxis2.cmax) == cost_scale(cost)
    # the paper's grid: (b) then (c)–(e) in the top row, (f)–(h) below
    tops = [fig.layout[f"yaxis{'' if i == 0 else i + 1}"].domain[1] for i in range(7)]
    assert tops[0] == tops[1] == tops[2] == tops[3] > tops[4] == tops[5] == tops[6]


def test_a_click_on_a_plan_panel_names_that_panel() -> None:
    plans = _figure1_plans()
    ids = [f"id {i}" for i in range(6)]
    fig = figure1_matrices(_figure1_cost(), plans, ROWS, COLS, panel_ids=ids)
    targets = [trace for trace in fig.data if trace.type == "scatter"]
    assert len(targets) == 6
    heatmaps = [trace for trace in fig.data if trace.type == "heatmap"]
    for panel_id, target, heatmap in zip(ids, targets, heatmaps[1:], strict=True):
        assert (target.xaxis, target.yaxis) == (heatmap.xaxis, heatmap.yaxis)
        assert len(target.customdata) == 15  # one marker per cell
        assert {clicked_panel({"customdata": data}) for data in target.customdata} == {panel_id}
        assert heatmap.hoverinfo == "skip"  # the markers answer
    # the cost panel's cells, and points that are no panel's, name nothing
    assert clicked_panel({"x": "A", "y": "1", "z": 0.6}) is None
    assert clicked_panel({"customdata": [3, 0, 0.5]}) is None
    assert clicked_panel(None) is None


def test_large_figure1_panels_leave_their_values_to_the_hover_labels() -> None:
    rows = [str(i + 1) for i in range(30)]
    cols = [*"ABCDEFGHIJ", "∅"]
    cost = np.linspace(0.0, 2.0, 30 * 11).reshape(30, 11)
    plan = np.full((30, 11), 0.2)
    plan[3, 2] = 1.4  # an entry above one widens the plans' shared scale
    fig = figure1_matrices(cost, {"p": plan, "q": plan / 2}, rows, cols, columns=2)
    heatmaps = [trace for trace in fig.data if trace.type == "heatmap"]
    assert len(heatmaps) == 3 and not any(h.texttemplate for h in heatmaps)
    assert fig.layout.coloraxis.showscale and fig.layout.coloraxis.cmax == 1.4
    with pytest.raises(ValueError, match="shapes"):
        figure1_matrices(cost, {"p": plan[:5]}, rows, cols)
    with pytest.raises(ValueError, match="panel ids"):
        figure1_matrices(cost, {"p": plan}, rows, cols, panel_ids=["a", "b"])


@pytest.mark.parametrize("shape", [(5, 3), (27, 25), (40, 8), (300, 24)])
@pytest.mark.parametrize("make", [plan_figure, cost_figure])
def test_a_matrix_made_fitted_is_the_matrix_fitted_afterwards(make, shape) -> None:
    """``fitted=True`` (the app's path, built as plain dicts) draws exactly what
    ``fit_matrix_figure`` makes of the unfitted figure through plotly.py, whichever way the
    fit goes: few cells (no colour bar, sums' margin), more than 12 columns (two decimals),
    more than 30 rows (small ticks), past the cells with text (colour bar, no values)."""
    rows, cols = shape
    values = np.random.default_rng(rows * cols).uniform(0, 1, shape)
    row_labels, col_labels = [str(i) for i in range(rows)], [f"c{j}" for j in range(cols)]
    fitted = make(values, row_labels, col_labels, fitted=True)
    afterwards = fit_matrix_figure(make(values, row_labels, col_labels), rows, cols)
    assert json.loads(to_json_plotly(fitted)) == json.loads(to_json_plotly(afterwards))
    assert fitted.layout.height == afterwards.layout.height > 0
