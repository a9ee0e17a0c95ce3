"""The frames of a slider drag and of a Play: what the browser draws at each position without
the app.

Each frame must be exactly what the app would draw at that position: the scene's layout equals
the whole scene figure's, the plan's update turns the figure at one position into the figure at
another, and the plans are those :func:`uotviz.transport.solve` finds there (to 0.01 per entry,
as drawn; far closer in fact), for every position of a dragged slider and every point of a walk
from one preset to another.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from tests.test_scene import make_problem
from uotviz import figure1
from uotviz.plots.matrices import app_matrix_figure, plan_update
from uotviz.plots.scene import PRESENTATION, scene_figure, scene_overlay
from uotviz.readout import plan_title
from uotviz.sliders import SCALES, preset_values, slider_walk, walk
from uotviz.sweep import SWEEP_PARAMETERS, sweep_plans
from uotviz.transport import solve

PANEL = {preset.panel: preset for preset in figure1.PRESETS}

WIDTH, HEIGHT = 480, 430


@pytest.fixture(scope="module")
def problem():
    return make_problem(figure1.PREDICTIONS_XYXY, figure1.GROUND_TRUTHS_XYXY)


@pytest.mark.parametrize("name", list(SCALES))
def test_the_frames_plans_are_the_solvers_at_every_position(problem, name):
    fixed = (0.05, math.inf, math.inf)
    index = list(SCALES).index(name)
    plans = sweep_plans(problem.cost, SWEEP_PARAMETERS[index], SCALES[name], fixed)
    assert len(plans) == len(SCALES[name])
    for value, plan in zip(SCALES[name], plans, strict=True):
        at = list(fixed)
        at[index] = value
        expected = solve(problem.cost, *at).plan
        np.testing.assert_allclose(plan.numpy(), expected.numpy(), atol=0.01, rtol=0)


@pytest.mark.parametrize("which", ["c -> h", "h -> c", "e -> f", "c -> e", "drag tau1 at (f)"])
def test_the_frames_of_a_walk_are_the_solvers_plans_at_its_points(problem, which):
    """The app's frames (uotviz.ui.view._path_frames, which a drag and a Play share): frame k
    is drawn from the plan :func:`solve` finds at the k-th point of the walk, and the plan's
    update is told that point (it titles the plan)."""
    from uotviz.ui.view import _path_frames

    if which.startswith("drag"):
        points = slider_walk(preset_values(PANEL["f"]), "tau1")
    else:
        start, end = which.split(" -> ")
        points = walk(preset_values(PANEL[start]), preset_values(PANEL[end]))
    scenes, plans = _path_frames(
        problem, points, lambda plan: {"plan": plan}, lambda plan, at: {"plan": plan, "at": at}
    )
    assert len(scenes) == len(plans) == len(points) > 1
    for point, scene, update in zip(points, scenes, plans, strict=True):
        expected = solve(problem.cost, *point).plan.numpy()
        assert update["at"] == point
        assert scene["traces"] == {}
        np.testing.assert_allclose(scene["layout"]["plan"], expected, atol=0.01, rtol=0)
        np.testing.assert_allclose(update["plan"], expected, atol=0.01, rtol=0)
    scenes, plans = _path_frames(problem, points[:3], lambda plan: {}, None)
    assert len(scenes) == 3 and plans is None  # no plan drawn: no plan frames


@pytest.mark.parametrize("style", [None, PRESENTATION])
@pytest.mark.parametrize("highlight", [(None, None), (3, None), (None, 1)])
def test_the_scene_overlay_is_the_whole_figures_layout(problem, style, highlight):
    options = dict(
        highlight_pred=highlight[0], highlight_gt=highlight[1], figure_width_px=532,
        **({} if style is None else {"style": style}),
    )  # fmt: skip
    for eps in (0.0, 0.05, 1.0):
        plan = solve(problem.cost, eps, math.inf, math.inf).plan.numpy()
        whole = scene_figure(None, WIDTH, HEIGHT, problem, plan, **options).to_plotly_json()
        overlay = scene_overlay(False, WIDTH, HEIGHT, problem, plan, **options)
        assert overlay["shapes"] == whole["layout"]["shapes"]
        assert overlay["annotations"] == whole["layout"]["annotations"]


def _apply(figure: dict, update: dict) -> dict:
    """``figure`` (plotly JSON) with a ``Plotly.update``-style update applied, as the live
    chart applies it (dotted names are nested attributes)."""

    def set_path(target: dict, path: str, value) -> None:
        *parents, last = path.split(".")
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value

    for path, value in update["layout"].items():
        set_path(figure["layout"], path, value)
    for index, attributes in update["traces"].items():
        for path, value in attributes.items():
            set_path(figure["data"][int(index)], path, value)
    return figure


@pytest.mark.parametrize("rows", [5, 40])
def test_a_plan_update_turns_one_plan_figure_into_another(rows):
    rng = np.random.default_rng(rows)
    xy = rng.uniform(0, 400, size=(rows, 2))
    problem = make_problem(np.concatenate([xy, xy + 50], axis=1), figure1.GROUND_TRUTHS_XYXY)
    shown = list(range(rows))[::-1] if rows == 5 else list(range(0, rows, 2))

    def figure(eps: float) -> dict:
        plan = solve(problem.cost, eps, math.inf, math.inf).plan.numpy()
        fig = app_matrix_figure(
            "plan", plan, problem.row_labels, problem.col_labels, shown,
            title=plan_title(eps, math.inf, math.inf), cell_targets=False,
        )  # fmt: skip
        return fig.to_plotly_json(), plan

    before, _ = figure(0.05)
    after, plan = figure(0.5)
    update = plan_update(plan, shown, title=plan_title(0.5, math.inf, math.inf))
    assert _apply(before, update) == after
    # A drag's frame: the same but what only the hover labels read, which stay the last figure's.
    before, _ = figure(0.05)
    frame = plan_update(plan, shown, title=plan_title(0.5, math.inf, math.inf), hover=False)
    drawn = _apply(copy.deepcopy(before), frame)
    for key in ("customdata", "hovertemplate"):
        assert drawn["data"][0][key] == before["data"][0][key] != after["data"][0][key]
        drawn["data"][0][key] = after["data"][0][key]
    assert drawn == after
