"""The Streamlit app, run headless with AppTest: what the figures show for every preset."""

from __future__ import annotations

import base64
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from uotviz.figure1 import PRESETS
from uotviz.sliders import CUSTOM, EPS_VALUES, TAU_VALUES, preset_names

INF = math.inf
APP = Path(__file__).resolve().parent.parent / "app.py"

# MATH.md §3: the cost of panel (b) and the plans (x N) of panels (c)-(h), rows 1..5, cols A, B, ∅.
FIGURE1_COST = np.array(
    [
        [0.6137, 0.9602, 0.8],
        [1.3435, 0.8827, 0.8],
        [0.8772, 0.8896, 0.8],
        [0.3961, 0.6508, 0.8],
        [1.1056, 0.7272, 0.8],
    ]
)
EXACT_PLANS = {
    "c": [[1, 0, 0], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]],
    "d": [[0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]],
    # uotviz's convention at eps = 0, tau1 = 0: the background mass spread over every prediction
    "e": [[0, 0, 0.6], [0, 0, 0.6], [0, 0, 0.6], [1, 1, 0.6], [0, 0, 0.6]],
}
PUBLISHED_PLANS = {
    "f": [
        [0.964, 0.001, 0.030],
        [0.000, 0.145, 0.848],
        [0.126, 0.113, 0.754],
        [0.989, 0.007, 0.000],
        [0.000, 0.788, 0.205],
    ],
    "g": [
        [0.250, 0.012, 0.738],
        [0.000, 0.071, 0.929],
        [0.002, 0.062, 0.936],
        [0.748, 0.224, 0.028],
        [0.000, 0.631, 0.369],
    ],
    "h": [
        [0.016, 0.002, 0.628],
        [0.000, 0.010, 0.630],
        [0.000, 0.008, 0.630],
        [0.981, 0.769, 0.490],
        [0.000, 0.205, 0.601],
    ],
}


def _decode(array) -> np.ndarray:
    """A numeric array from Plotly's JSON: a plain list, or ``{"dtype", "bdata", "shape"}``."""
    if isinstance(array, dict):
        values = np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
        if "shape" in array:
            shape = tuple(int(n) for n in str(array["shape"]).split(","))
            values = values.reshape(shape)
        return values.astype(np.float64)
    return np.asarray(array, dtype=np.float64)


def _chart(at: AppTest, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def _matrix(at: AppTest, index: int) -> np.ndarray:
    """The ``z`` of the heatmap in chart ``index`` (0: cost, 1: plan)."""
    return _decode(_chart(at, index)["data"][0]["z"])


def _texts(at: AppTest) -> list[str]:
    """Every piece of text the page shows: markdown, captions, alerts, chart titles, annotations."""
    texts = [element.value for element in at.markdown]
    texts += [element.value for element in at.caption]
    texts += [element.value for element in at.info]
    for index in range(len(at.get("plotly_chart"))):
        layout = _chart(at, index)["layout"]
        texts.append(layout["title"]["text"])
        texts += [annotation["text"] for annotation in layout.get("annotations", [])]
    return texts


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_app_renders_controls_and_both_matrices(app: AppTest) -> None:
    assert [slider.label for slider in app.select_slider] == ["ε", "τ1", "τ2"]
    assert list(app.selectbox(key="preset").options) == list(preset_names())
    assert len(app.get("plotly_chart")) == 2
    np.testing.assert_allclose(_matrix(app, 0), FIGURE1_COST, atol=5e-5)
    assert _matrix(app, 1).shape == (5, 3)
    assert app.caption[0].value.startswith("method")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda preset: preset.panel)
def test_preset_shows_the_published_plan(app: AppTest, preset) -> None:
    app.selectbox(key="preset").set_value(preset.name).run()
    assert not app.exception
    sliders = (app.select_slider(key="eps"), app.select_slider(key="tau1"))
    assert (sliders[0].value, sliders[1].value) == (preset.eps, preset.tau1)
    assert app.select_slider(key="tau2").value == preset.tau2

    plan = _matrix(app, 1)
    if preset.panel in EXACT_PLANS:
        np.testing.assert_allclose(plan, EXACT_PLANS[preset.panel], rtol=0, atol=1e-12)
    else:
        np.testing.assert_allclose(plan, PUBLISHED_PLANS[preset.panel], rtol=0, atol=0.005)
    assert "converged: yes" in app.caption[0].value


def test_plan_figure_writes_row_and_column_sums(app: AppTest) -> None:
    plan = _matrix(app, 1)
    shown = {annotation["text"] for annotation in _chart(app, 1)["layout"]["annotations"]}
    for total in (*plan.sum(axis=1), *plan.sum(axis=0)):
        assert f"{total:.3f}" in shown
    # the default preset is balanced OT (g): every row sums to one
    np.testing.assert_allclose(plan.sum(axis=1), 1.0, atol=1e-6)


def test_moving_a_slider_shows_custom_and_back(app: AppTest) -> None:
    assert app.selectbox(key="preset").value == "OT (g)"
    app.select_slider(key="eps").set_value(0.1).run()
    assert app.selectbox(key="preset").value == CUSTOM
    assert "ε = 0.1," in _chart(app, 1)["layout"]["title"]["text"]
    app.select_slider(key="eps").set_value(0.05).run()
    assert app.selectbox(key="preset").value == "OT (g)"


def test_choosing_custom_keeps_the_sliders(app: AppTest) -> None:
    app.selectbox(key="preset").set_value("Unbalanced OT (h)").run()
    app.selectbox(key="preset").set_value(CUSTOM).run()
    assert not app.exception
    assert [slider.value for slider in app.select_slider] == [0.05, 0.01, 100.0]


def test_slider_scales_include_their_end_points(app: AppTest) -> None:
    assert app.select_slider(key="eps").options[0] == "0"
    assert app.select_slider(key="tau1").options[0] == "0"
    assert app.select_slider(key="tau1").options[-1] == "∞"
    assert app.select_slider(key="tau2").options[-1] == "∞"


def test_extreme_slider_values_raise_nothing_and_show_no_nan(app: AppTest) -> None:
    epsilons = (0.0, EPS_VALUES[1], EPS_VALUES[-1])
    taus = (0.0, TAU_VALUES[1], TAU_VALUES[-2], INF)
    for eps, tau1, tau2 in itertools.product(epsilons, taus, taus):
        app.select_slider(key="eps").set_value(eps)
        app.select_slider(key="tau1").set_value(tau1)
        app.select_slider(key="tau2").set_value(tau2).run()
        where = f"eps={eps}, tau1={tau1}, tau2={tau2}"
        assert not app.exception, where
        plan = _matrix(app, 1)
        assert np.isfinite(plan).all() and (plan >= 0).all(), where
        assert not any("nan" in text.lower() for text in _texts(app)), where
        if eps == 0 and tau1 == INF and tau2 == INF:
            np.testing.assert_allclose(plan, EXACT_PLANS["d"], atol=1e-12, err_msg=where)
        if eps == 0 and tau1 == 0 and tau2 == 0:
            assert (plan == 0).all(), where
