"""Figures as the app sends them: nothing that makes plotly.js redraw a chart Streamlit re-hands it.

The browser test ``test_a_slider_step_draws_each_chart_once_at_its_columns_width`` checks the
effect in Chromium; these check the figures themselves.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from PIL import Image
from plotly.io.json import to_json_plotly

from uotviz.matching import CostSettings, build_matching_problem
from uotviz.plots.matrices import app_matrix_figure, unvalidated_figure
from uotviz.plots.scene import scene_figure
from uotviz.readout import plan_title
from uotviz.sources import DEMO, demo_config, load_configured
from uotviz.transport import solve
from uotviz.ui.charts import (
    FONT,
    _prepared_dict,
    figure_dict,
    prepare_figure,
    step_texts,
    valid_width,
)


@pytest.fixture(scope="module")
def demo_figures() -> dict[str, go.Figure]:
    """The scene, plan and cost figures of the demo's Figure 1 image, as the view builds them."""
    source = load_configured(DEMO, demo_config())
    scene = source.dataset.scene(1)
    problem = build_matching_problem(scene, CostSettings())
    plan = solve(problem.cost, 0.05, math.inf, math.inf).plan.numpy()
    image = Image.new("RGB", (scene.width, scene.height), "white")
    shown = list(range(plan.shape[0]))
    labels = (problem.row_labels, problem.col_labels, shown)
    title = plan_title(0.05, math.inf, math.inf)
    return {
        "scene": scene_figure(
            image, scene.width, scene.height, problem, plan, title="t", picture_url="/m.jpg"
        ),
        "plan": app_matrix_figure("plan", plan, *labels, title=title, outlined=(1, 0)),
        "cost": app_matrix_figure(
            "cost", problem.cost.numpy(), *labels, title="Cost", outlined=(None, None)
        ),
    }


def _sent(fig: go.Figure) -> dict:
    """The figure's JSON as Streamlit sends it."""
    return json.loads(pio.to_json(fig, validate=False))


def _typed_arrays(value, path: str = "") -> list[str]:
    """Paths of the typed arrays (``{"dtype", "bdata"}``) in a figure's JSON."""
    if isinstance(value, dict):
        if "bdata" in value:
            return [path]
        return [p for key, item in value.items() for p in _typed_arrays(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _typed_arrays(item, f"{path}[{i}]")]
    return []


def test_the_views_figures_send_plain_lists_not_typed_arrays(demo_figures) -> None:
    for name, fig in demo_figures.items():
        assert _typed_arrays(_sent(fig)) == [], name


def test_prepared_figures_carry_width_revision_and_streamlits_selection_modes(
    demo_figures,
) -> None:
    plan = go.Figure(demo_figures["plan"].to_dict(), _validate=False)
    prepared = _sent(prepare_figure(plan, 438, selectable=True))
    layout = prepared["layout"]
    assert layout["template"] is False
    assert layout["width"] == 438
    assert (layout["clickmode"], layout["hovermode"], layout["dragmode"]) == (
        "event+select",
        "closest",
        "pan",
    )
    assert layout["title"]["text"] == f"<b>{plan_title(0.05, math.inf, math.inf)}</b>"
    assert layout["font"]["family"] == FONT
    assert layout["hoverlabel"]["bgcolor"] == "white"
    assert isinstance(layout["datarevision"], str) and layout["datarevision"]
    assert all(trace.get("meta") is None for trace in prepared["data"])
    # the figure's own choices are kept: the scene pans and picks the closest point
    scene = go.Figure(demo_figures["scene"].to_dict(), _validate=False)
    assert any(trace.meta for trace in scene.data)  # the roles, for Python readers
    scene.update_layout(hovermode="x", font={"size": 13})
    sent = _sent(prepare_figure(scene, None, selectable=True))
    assert all(trace.get("meta") is None for trace in sent["data"])
    layout = sent["layout"]
    assert layout["hovermode"] == "x" and layout["font"] == {
        "family": FONT,
        "color": "#31333F",
        "size": 13,
    }
    assert "width" not in layout  # no width known: Streamlit stretches the chart


def test_preparing_twice_sends_the_same_figure(demo_figures) -> None:
    """Streamlit keys a chart by its figure: a figure kept in the session (the cost heatmap)
    and prepared at every run must not change, or it is mounted and drawn again."""
    fig = go.Figure(demo_figures["cost"].to_dict(), _validate=False)
    once = pio.to_json(prepare_figure(fig, 400, selectable=True), validate=False)
    twice = pio.to_json(prepare_figure(fig, 400, selectable=True), validate=False)
    assert once == twice


def test_a_figure_is_written_as_plotly_writes_it(demo_figures) -> None:
    """The live charts write a figure from plotly.py's own data and layout (no deep copy):
    the same JSON as plotly.io.to_json, and the figure left as it was."""
    for name, fig in demo_figures.items():
        fig = prepare_figure(go.Figure(fig.to_dict(), _validate=False), 500, selectable=False)
        before = pio.to_json(fig, validate=False)
        assert to_json_plotly(figure_dict(fig)) == before, name
        assert pio.to_json(fig, validate=False) == before, name


def test_a_live_chart_writes_what_prepare_figure_makes(demo_figures) -> None:
    """A live chart writes its figure from plain dicts (no plotly.py update_layout): the same
    figure as :func:`prepare_figure` makes (keys aside, in any order), with the same data
    revision, and the figure given left as it was."""
    for name, fig in demo_figures.items():
        given = pio.to_json(fig, validate=False)
        live = json.loads(to_json_plotly(_prepared_dict(fig, 500)))
        assert pio.to_json(fig, validate=False) == given, name
        copy = go.Figure(fig.to_dict(), _validate=False)
        prepared = json.loads(pio.to_json(prepare_figure(copy, 500, selectable=False)))
        for k, trace in enumerate(prepared["data"]):  # plotly.py writes removed values as null
            prepared["data"][k] = {key: value for key, value in trace.items() if value is not None}
        revisions = (live["layout"].pop("datarevision"), prepared["layout"].pop("datarevision"))
        assert live == prepared, name
        assert all(isinstance(revision, str) and revision for revision in revisions), name
        again = json.loads(to_json_plotly(_prepared_dict(fig, 300)))
        assert again["layout"]["datarevision"] == revisions[0], name  # the traces, not the width
        assert live["layout"]["title"]["text"].startswith("<b>"), name


def test_the_data_revision_follows_the_traces(demo_figures) -> None:
    def revision(fig: go.Figure) -> str:
        return prepare_figure(fig, None, selectable=False).layout.datarevision

    plan = demo_figures["plan"].to_dict()
    same = revision(go.Figure(plan, _validate=False))
    assert revision(go.Figure(plan, _validate=False)) == same
    changed = go.Figure(plan, _validate=False)
    z = [list(row) for row in changed.data[0].z]
    z[0][0] += 0.25
    changed.data[0].z = z
    assert revision(changed) != same
    # the layout alone (a title) is no new data
    retitled = go.Figure(plan, _validate=False)
    retitled.update_layout(title={"text": "another"})
    assert revision(retitled) == same


def test_a_validated_figure_is_prepared_as_an_unvalidated_copy() -> None:
    validated = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={"title": {"text": "v"}})
    prepared = prepare_figure(validated, 300, selectable=False)
    assert prepared is not validated
    layout = _sent(prepared)["layout"]
    assert layout["template"] is False and layout["width"] == 300
    assert layout["title"]["text"] == "<b>v</b>"
    assert "clickmode" not in layout  # not selectable: Streamlit's defaults are not written
    bare = unvalidated_figure([{"type": "scatter", "x": [1]}], {})
    assert prepare_figure(bare, None, selectable=False) is bare


@pytest.mark.parametrize(
    ("reported", "width"),
    [
        (532, 532),
        (437.9, 437),
        (150, 150),
        (149, None),
        (10_001, None),
        (float("nan"), None),
        (float("inf"), None),
        (True, None),
        ("532", None),
        (None, None),
        ([532], None),
    ],
)
def test_a_reported_width_is_checked_like_any_input(reported, width) -> None:
    assert valid_width(reported) == width


def _live_scene(problem, scene, plan, **options) -> tuple[dict, dict]:
    """A scene as a live chart sends it: (figure JSON without its step texts, the texts)."""
    fig = scene_figure(
        None, scene.width, scene.height, problem, plan, title="t", picture_url="/m.jpg", **options
    )
    texts = step_texts(fig)
    return _sent(prepare_figure(fig, 532, selectable=False)), texts


def test_a_new_plan_changes_the_scenes_shapes_and_hover_texts_not_its_traces() -> None:
    """What lets plotly.js redraw the scene at a slider step without computing it again: with
    the hover texts sent apart, the traces and their data revision are the same for another
    plan, and what the plan changes is in the layout shapes."""
    source = load_configured(DEMO, demo_config())
    scene = source.dataset.scene(1)
    problem = build_matching_problem(scene, CostSettings())
    plans = [solve(problem.cost, eps, math.inf, math.inf).plan.numpy() for eps in (0.05, 0.1)]
    (before, texts_before), (after, texts_after) = (
        _live_scene(problem, scene, plan) for plan in plans
    )
    assert before["data"] == after["data"]
    assert before["layout"]["datarevision"] == after["layout"]["datarevision"]
    assert before["layout"]["shapes"] != after["layout"]["shapes"]
    assert texts_before != texts_after
    # the texts are those of the hover points, one per point or one per id (a box's edges:
    # customdata[key] of each point), and the points show no label of plotly.js's own (the
    # live chart's tooltip shows the text)
    for index, texts in texts_after.items():
        trace = after["data"][int(index)]
        assert trace["hoverinfo"] == "none" and trace.get("text") is None
        if isinstance(texts, dict):
            ids = {str(point[texts["key"]]) for point in trace["customdata"]}
            assert ids == set(texts["texts"])
        else:
            assert len(texts) == len(trace["x"])
    names = {after["data"][int(index)]["name"]: texts for index, texts in texts_after.items()}
    assert set(names) == {"line middles", "ground-truth edges", "prediction edges"}
    assert set(names["prediction edges"]["texts"]) == {str(i) for i in range(len(plans[1]))}
    # a highlight that fades a ground truth changes the traces (their opacities): plotly.js
    # computes the figure again
    highlighted, _ = _live_scene(problem, scene, plans[1], highlight_gt=1)
    assert highlighted["data"] != after["data"]


def test_step_texts_leave_other_traces_alone() -> None:
    fig = unvalidated_figure(
        [
            {
                "type": "scatter",
                "x": [0, 1],
                "y": [0, 1],
                "text": ["a", "b"],
                "hovertemplate": "%{text}",
                "meta": {"step_text": True},
            },
            {"type": "scatter", "x": [0], "y": [0], "text": ["c"], "meta": {"role": "x"}},
            {"type": "scatter", "x": [0], "y": [0], "text": ["d"]},
        ],  # fmt: skip
        {},
    )
    assert step_texts(fig) == {"0": ["a", "b"]}
    first, second, third = fig.data
    assert first.text is None and first.hovertemplate is None and first.hoverinfo == "none"
    assert list(second.text) == ["c"] and list(third.text) == ["d"]
    assert step_texts(fig) == {}  # taken once


def test_step_texts_by_id_send_each_text_once() -> None:
    edges = {
        "type": "scatter", "x": [0, 1, 2, 3], "y": [0, 1, 2, 3],
        "customdata": [[4, -1], [4, -1], [7, -1], [7, -1]],
        "text": ["four", "four", "seven", "seven"],
        "meta": {"step_text": True, "text_key": 0},
    }  # fmt: skip
    fig = unvalidated_figure([edges], {})
    assert step_texts(fig) == {"0": {"key": 0, "texts": {"4": "four", "7": "seven"}}}
    assert fig.data[0].text is None and fig.data[0].hoverinfo == "none"


def test_pandas_is_whole_before_any_session_writes_a_figure() -> None:
    """A fresh process that imports the live charts' module has pandas fully imported: plotly's
    JSON writer reads pandas from ``sys.modules`` without importing it, and sessions that
    started together on a fresh server met a half-imported one (Streamlit imports it lazily in
    a session's thread)."""
    probe = (
        "import sys; import uotviz.ui.charts; "
        "pandas = sys.modules.get('pandas'); "
        "print(pandas is not None and hasattr(pandas, 'Series') and hasattr(pandas, 'DataFrame'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "True", done.stdout + done.stderr
