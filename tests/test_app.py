"""The Streamlit app, run headless with AppTest: the demo, the presets' plans, image browsing,
anchor mode, and datasets configured through the environment."""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from uotviz.data.demo import FIGURE1_IMAGE_ID
from uotviz.figure1 import PRESETS
from uotviz.plots.scene import scene_height
from uotviz.readout import MAX_DRAWN_ROWS
from uotviz.sliders import (
    CUSTOM,
    EPS_VALUES,
    SCALES,
    TAU_VALUES,
    positions_key,
    preset_names,
)
from uotviz.ui.params import PLAY_OPEN
from uotviz.ui.picker import FILTERS_OPEN
from uotviz.ui.settings import COST_SETTINGS_OPEN, PICTURE_SETTINGS_OPEN
from uotviz.ui.view import HIGHLIGHT_OPEN

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


COST, PLAN, SCENE = "cost_chart", "plan_chart", "scene_chart"


def _charts(at: AppTest) -> list[tuple[str, dict, dict]]:
    """(element id, figure JSON, plotly.js config) of every chart: the live charts of the view
    (``uotviz.ui.charts.live_chart``: components whose data carry the figure) and the
    ``st.plotly_chart`` ones (the extras)."""
    charts = []
    for element in at.get("bidi_component"):
        data = json.loads(element.proto.json)
        if "figure" in data:
            charts.append((element.proto.id, json.loads(data["figure"]), data["config"]))
    for element in at.get("plotly_chart"):
        charts.append(
            (element.proto.id, json.loads(element.proto.spec), json.loads(element.proto.config))
        )
    return charts


def _chart(at: AppTest, key: str) -> dict:
    """The figure JSON of the chart with this key."""
    for element_id, figure, _ in _charts(at):
        if element_id.endswith("-" + key):
            return figure
    raise AssertionError(f"no chart with key {key!r}")


def _matrix(at: AppTest, key: str) -> np.ndarray:
    """The ``z`` of the heatmap of the cost or plan chart."""
    return _decode(_chart(at, key)["data"][0]["z"])


def _diagnostics(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("method"))


def _texts(at: AppTest) -> list[str]:
    """Every piece of text the page shows: markdown, captions, alerts, chart titles, annotations."""
    texts = [element.value for element in at.markdown]
    texts += [element.value for element in at.caption]
    texts += [element.value for element in at.info]
    for _, figure, _ in _charts(at):
        layout = figure["layout"]
        texts.append(layout["title"]["text"])
        texts += [annotation["text"] for annotation in layout.get("annotations", [])]
    return texts


def _shown(markdown: str) -> str:
    """What a message written as escaped Markdown shows (``uotviz.readout.escape_markdown``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _preset_shown(at: AppTest) -> str:
    """The preset the parameters match (or Custom): what the sliders' element's selector shows,
    the links' ``preset``."""
    return at.session_state["preset"]


def _choose_preset(at: AppTest, name: str) -> AppTest:
    """Choose a preset in the sliders' element as the browser does (it does not run under
    AppTest): the three sliders go to the positions the app sent for it, Custom moves none."""
    (entry,) = [e for e in _sliders_data(at)["presets"]["entries"] if e["name"] == name]
    if entry["positions"] is not None:
        _move(at, **{slider: SCALES[slider][i] for slider, i in entry["positions"].items()})
    return at


def _params(at: AppTest) -> tuple[float, float, float]:
    """(ε, τ1, τ2) as the sliders hold them."""
    return tuple(at.session_state[name] for name in ("eps", "tau1", "tau2"))


def _move(at: AppTest, **values: float) -> AppTest:
    """Move sliders as the browser's slider element does (it does not run under AppTest):
    the values go to the session state, and the preset shown follows them."""
    for name, value in values.items():
        at.session_state[name] = value
    return at


def _new_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def app() -> AppTest:
    return _new_app()


def test_app_renders_controls_and_both_matrices(app: AppTest) -> None:
    assert _params(app) == (0.05, INF, INF)  # the sliders' values (OT (g), the default)
    presets = _sliders_data(app)["presets"]
    assert presets["label"] == "Preset (panel of Figure 1)"
    assert [entry["name"] for entry in presets["entries"]] == list(preset_names())
    assert len(_charts(app)) == 3
    np.testing.assert_allclose(_matrix(app, COST), FIGURE1_COST, atol=5e-5)
    assert _matrix(app, PLAN).shape == (5, 3)
    assert _diagnostics(app).startswith("method")
    assert not app.error


def test_the_demo_opens_on_the_figure1_scene(app: AppTest) -> None:
    assert app.radio(key="source_kind").value == "Demo"
    assert app.selectbox(key="image_id").value == FIGURE1_IMAGE_ID
    scene = _chart(app, SCENE)
    assert "figure1_coffee.jpg" in scene["layout"]["title"]["text"]
    (picture,) = scene["layout"]["images"]
    assert "/media/" in picture["source"] and picture["source"].endswith(".jpg")
    # the five numbered predictions and the two lettered ground truths are drawn
    labels = {a["text"] for a in scene["layout"]["annotations"]}
    assert {"<b>A</b>", "<b>B</b>"} <= labels
    summary = " ".join(element.value for element in app.markdown)
    assert "unmatched ground-truth mass" in summary and "mass to ∅" in summary


def test_the_ground_truth_table_says_what_each_one_received_and_from_whom(app: AppTest) -> None:
    (table,) = [
        json.loads(element.proto.json)
        for element in app.get("bidi_component")
        if element.proto.id.endswith("-gt_table")
    ]
    names = [column["name"] for column in table["columns"]]
    assert names == ["GT", "received", "from", "preds ≥ 0.5", "unmatched"]
    frame = {name: [row[k] for row in table["rows"]] for k, name in enumerate(names)}
    assert [gt[:2] for gt in frame["GT"]] == ["A ", "B "]
    # the default preset, OT (g): A receives 0.748 from prediction 4 and 0.250 from 1
    assert frame["from"][0] == "4:\u00a00.748, 1:\u00a00.250"
    assert frame["received"] == pytest.approx([1.0, 1.0], abs=1e-3)
    assert [column["digits"] for column in table["columns"]] == [None, 3, None, 0, 3]


@pytest.mark.parametrize("preset", PRESETS, ids=lambda preset: preset.panel)
def test_preset_shows_the_published_plan(app: AppTest, preset) -> None:
    _choose_preset(app, preset.name).run()
    assert not app.exception
    assert _params(app) == (preset.eps, preset.tau1, preset.tau2)

    plan = _matrix(app, PLAN)
    if preset.panel in EXACT_PLANS:
        np.testing.assert_allclose(plan, EXACT_PLANS[preset.panel], rtol=0, atol=1e-12)
    else:
        np.testing.assert_allclose(plan, PUBLISHED_PLANS[preset.panel], rtol=0, atol=0.005)
    assert "converged: yes" in _diagnostics(app)


def test_plan_figure_writes_row_and_column_sums(app: AppTest) -> None:
    plan = _matrix(app, PLAN)
    traces = {trace.get("name"): trace for trace in _chart(app, PLAN)["data"]}
    rows, cols = plan.shape
    # text traces just outside the matrix: rows on its right, columns below it
    row_sums, col_sums = traces["row sums"], traces["column sums"]
    assert row_sums["text"] == [f"{total:.3f}" for total in plan.sum(axis=1)]
    assert col_sums["text"] == [f"{total:.3f}" for total in plan.sum(axis=0)]
    assert _decode(row_sums["x"]).tolist() == [cols - 0.5] * rows
    assert _decode(row_sums["y"]).tolist() == list(range(rows))
    assert _decode(col_sums["y"]).tolist() == [rows - 0.5] * cols
    assert row_sums["textposition"] == "middle right"
    assert col_sums["textposition"] == "bottom center"
    # the default preset is balanced OT (g): every row sums to one
    np.testing.assert_allclose(plan.sum(axis=1), 1.0, atol=1e-6)


def test_moving_a_slider_shows_custom_and_back(app: AppTest) -> None:
    assert _preset_shown(app) == "OT (g)"
    _move(app, eps=0.1).run()
    assert _preset_shown(app) == CUSTOM
    assert "ε = 0.1," in _chart(app, PLAN)["layout"]["title"]["text"]
    _move(app, eps=0.05).run()
    assert _preset_shown(app) == "OT (g)"


def test_extreme_slider_values_raise_nothing_and_show_no_nan(app: AppTest) -> None:
    epsilons = (0.0, EPS_VALUES[1], EPS_VALUES[-1])
    taus = (0.0, TAU_VALUES[1], TAU_VALUES[-2], INF)
    for eps, tau1, tau2 in itertools.product(epsilons, taus, taus):
        _move(app, eps=eps)
        _move(app, tau1=tau1)
        _move(app, tau2=tau2).run()
        where = f"eps={eps}, tau1={tau1}, tau2={tau2}"
        assert not app.exception, where
        plan = _matrix(app, PLAN)
        assert np.isfinite(plan).all() and (plan >= 0).all(), where
        assert not any("nan" in text.lower() for text in _texts(app)), where
        if eps == 0 and tau1 == INF and tau2 == INF:
            np.testing.assert_allclose(plan, EXACT_PLANS["d"], atol=1e-12, err_msg=where)
        if eps == 0 and tau1 == 0 and tau2 == 0:
            assert (plan == 0).all(), where


# ------------------------------------------------------------------------------ browsing


def _image_id(at: AppTest) -> int:
    return at.selectbox(key="image_id").value


def _open(at: AppTest, key: str) -> AppTest:
    """Open the expander or popover ``key`` (its widgets are drawn only while it is open), as
    a click on it does."""
    at.session_state[key] = True
    return at.run()


def _button(at: AppTest, label: str):
    return next(button for button in at.button if button.label.startswith(label))


def test_next_previous_and_random_change_the_image(app: AppTest) -> None:
    ids = list(app.selectbox(key="image_id").options)
    assert len(ids) == 7
    _button(app, "next image").click().run()
    assert not app.exception
    assert _image_id(app) == 2
    _button(app, "◀ previous image").click().run()
    assert _image_id(app) == FIGURE1_IMAGE_ID
    _button(app, "◀ previous image").click().run()  # wraps around to the last image
    assert _image_id(app) == 7
    seen = set()
    for _ in range(6):
        before = _image_id(app)
        _button(app, "random image").click().run()
        assert not app.exception
        assert _image_id(app) != before
        seen.add(_image_id(app))
        assert _chart(app, SCENE)["data"], "the scene is drawn"
    assert len(seen) > 1


def test_every_demo_image_renders(app: AppTest) -> None:
    for _ in range(7):
        _button(app, "next image").click().run()
        assert not app.exception, _image_id(app)
        assert not app.error, [e.value for e in app.error]
        plan = _matrix(app, PLAN)
        assert np.isfinite(plan).all()


def test_crowded_coins_image_and_anchor_mode(app: AppTest) -> None:
    app.selectbox(key="image_id").set_value(7).run()  # coins.jpg: 24 ground truths
    assert not app.exception
    assert _matrix(app, PLAN).shape[1] == 25
    for eps in (0.0, 0.05, 1.0):
        _move(app, eps=eps).run()
        assert not app.exception, eps
    _open(app, COST_SETTINGS_OPEN)
    app.selectbox(key="anchor_mode").set_value("SSD300").run()
    assert not app.exception
    # anchor mode switches to SSD's cost: 1 - IoU with c∅ = 0.5
    assert app.selectbox(key="cost_preset").value == "1 − IoU"
    assert app.slider(key="background_cost").value == 0.5
    _move(app, eps=0.01).run()
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    captions = " ".join(c.value for c in app.caption)
    plan = _matrix(app, PLAN)
    # every row sending a ground truth at least 0.001 is drawn (74 anchors here), and offered
    # for highlighting
    drawn = plan.shape[0]
    assert f"8,732 anchors: the matrices show the {drawn} sending at least 0.001" in captions
    assert 60 < drawn < MAX_DRAWN_ROWS and plan.shape[1] == 25
    assert (plan[:, :-1].sum(axis=1) >= 0.001 - 1e-8).all()
    _open(app, HIGHLIGHT_OPEN)
    assert len(app.selectbox(key="highlight_pred").options) == drawn + 1  # and "none"
    _move(app, eps=0.05).run()  # 707 anchors send mass: the heaviest, and the caption says so
    assert _matrix(app, PLAN).shape == (MAX_DRAWN_ROWS, 25)
    captions = " ".join(c.value for c in app.caption)
    assert "8,732 anchors, 707 of them sending at least 0.001 to a ground truth" in captions
    assert f"show the {MAX_DRAWN_ROWS} heaviest of those" in captions
    assert "converged: yes" in _diagnostics(app)
    _button(app, "next image").click().run()  # wraps to image 1, still in anchor mode
    assert not app.exception
    _button(app, "random image").click().run()
    assert not app.exception


def test_the_drawn_predictions_slider_limits_the_picture(app: AppTest) -> None:
    app.selectbox(key="image_id").set_value(7).run()  # coins.jpg: 27 predictions
    assert not [slider for slider in app.slider if slider.key == "max_drawn"]  # closed
    _open(app, PICTURE_SETTINGS_OPEN)
    app.slider(key="max_drawn").set_value(5).run()
    assert not app.exception
    annotations = " ".join(a.get("text", "") for a in _chart(app, SCENE)["layout"]["annotations"])
    assert "22 of 27 predictions not drawn" in annotations
    # closed again, the expander draws no widget, and the picture keeps the choice
    app.session_state[PICTURE_SETTINGS_OPEN] = False
    app.run()
    assert not [slider for slider in app.slider if slider.key == "max_drawn"]
    annotations = " ".join(a.get("text", "") for a in _chart(app, SCENE)["layout"]["annotations"])
    assert "22 of 27 predictions not drawn" in annotations


def test_cost_settings_and_highlights_raise_nothing(app: AppTest) -> None:
    _open(app, COST_SETTINGS_OPEN)
    for preset in ("1 − IoU", "L1", "DETR (class 2, L1 5, GIoU 2)", "1 − GIoU"):
        app.selectbox(key="cost_preset").set_value(preset).run()
        assert not app.exception, preset
    app.number_input(key="w_l1").set_value(2.0).run()
    assert app.selectbox(key="cost_preset").value == "Custom"
    app.slider(key="background_cost").set_value(2.0).run()
    app.slider(key="score_threshold").set_value(0.99).run()  # leaves no prediction
    assert not app.exception
    app.slider(key="score_threshold").set_value(0.0).run()
    app.number_input(key="top_k").set_value(2).run()
    assert _matrix(app, PLAN).shape[0] == 2
    # closed, the expander draws no widget, and the settings stay
    app.session_state[COST_SETTINGS_OPEN] = False
    app.run()
    assert not [box for box in app.number_input if box.key == "top_k"]
    _button(app, "next image").click().run()
    _button(app, "◀ previous image").click().run()
    assert _matrix(app, PLAN).shape[0] == 2
    _open(app, COST_SETTINGS_OPEN)
    assert app.number_input(key="top_k").value == 2
    assert app.selectbox(key="cost_preset").value == "Custom"
    assert not [box for box in app.selectbox if box.key == "highlight_pred"]  # closed
    assert not _chart(app, PLAN)["layout"].get("shapes")
    _open(app, HIGHLIGHT_OPEN)
    app.selectbox(key="highlight_pred").set_value(0).run()
    app.selectbox(key="highlight_gt").set_value(1).run()
    assert len(_chart(app, PLAN)["layout"]["shapes"]) == 2  # the row and the column outlined
    assert not app.exception
    _button(app, "next image").click().run()  # a new image clears the highlights
    assert app.selectbox(key="highlight_pred").value == -1  # none


def test_filters_narrow_the_image_list(app: AppTest) -> None:
    _open(app, FILTERS_OPEN)
    app.number_input(key="min_objects").set_value(10).run()
    assert not app.exception
    options = list(app.selectbox(key="image_id").options)
    assert options == ["7 · coins.jpg · 24 objects · 27 predictions"]
    assert _image_id(app) == 7
    app.number_input(key="min_objects").set_value(0).run()
    app.multiselect(key="categories").set_value([17]).run()  # cat
    options = list(app.selectbox(key="image_id").options)
    assert options == ["3 · chelsea.jpg · 5 objects · 3 predictions"]


# ------------------------------------------------------------------------------ configured data


def _configured_unavailable(at: AppTest, reason: str) -> None:
    """The configured dataset cannot be used: the reason in place of the picture, still the
    chosen source, no chart, and a button to the demo."""
    assert any(reason in _shown(error.value) for error in at.error), [e.value for e in at.error]
    source = at.radio(key="source_kind")
    assert "Configured dataset" in source.options and source.value == "Configured dataset"
    assert _charts(at) == []
    assert _button(at, "Show the demo meanwhile")


def test_a_bad_configured_dataset_shows_an_error_in_place_and_offers_the_demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"images": [', encoding="utf-8")
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(bad))
    at = _new_app()
    _configured_unavailable(at, "broken.json")
    _button(at, "Show the demo meanwhile").click().run()
    assert not at.exception
    assert at.radio(key="source_kind").value == "Demo"
    assert _image_id(at) == FIGURE1_IMAGE_ID
    np.testing.assert_allclose(_matrix(at, COST), FIGURE1_COST, atol=5e-5)
    _button(at, "next image").click().run()
    assert not at.exception


def test_a_missing_configured_file_shows_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(tmp_path / "nowhere.json"))
    at = _new_app()
    _configured_unavailable(at, "not found")


def _tiny_dataset(folder: Path, *, bad_record: bool = False) -> tuple[Path, Path]:
    images = folder / "images"
    images.mkdir()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(images / "tiny.png")
    annotations = [
        {"id": 1, "image_id": 5, "category_id": 3, "bbox": [4, 4, 30, 20]},
        {"id": 2, "image_id": 5, "category_id": 3, "bbox": [30, 20, 20, 20]},
    ]
    if bad_record:
        annotations.append({"id": 3, "image_id": 5, "category_id": 3, "bbox": [1, 1, -5, 2]})
    coco = {
        "images": [{"id": 5, "file_name": "tiny.png", "width": 64, "height": 48}],
        "categories": [{"id": 3, "name": "box"}],
        "annotations": annotations,
    }
    path = folder / "tiny.json"
    path.write_text(json.dumps(coco), encoding="utf-8")
    return path, images


def test_a_configured_dataset_is_offered_and_its_image_renders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    annotations, images = _tiny_dataset(tmp_path, bad_record=True)
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(annotations))
    monkeypatch.setenv("UOTVIZ_IMAGES", str(images))
    at = _new_app()
    assert not at.error, [e.value for e in at.error]
    source = at.radio(key="source_kind")
    assert list(source.options) == ["Demo", "Configured dataset", "Upload"]
    assert source.value == "Configured dataset"
    assert _image_id(at) == 5
    # one bad record: counted in a warning, listed in an expander
    assert any("1 record(s) skipped" in warning.value for warning in at.warning)
    scene = _chart(at, SCENE)
    assert "tiny.png" in scene["layout"]["title"]["text"]
    (picture,) = scene["layout"]["images"]
    assert "/media/" in picture["source"] and picture["source"].endswith(".jpg")
    # no predictions file: simulated predictions, said so, with their controls
    assert any("simulated" in info.value for info in at.info)
    assert "100 predictions" in " ".join(c.value for c in at.caption)
    assert _matrix(at, PLAN).shape[1] == 3  # rows: only those carrying mass (N = 100 > 60)
    at.number_input(key="sim_queries").set_value(10).run()
    assert not at.exception
    assert "10 predictions" in " ".join(c.value for c in at.caption)
    at.number_input(key="sim_seed").set_value(3).run()
    assert not at.exception
    source.set_value("Demo").run()
    assert _image_id(at) == FIGURE1_IMAGE_ID


def test_a_configured_dataset_that_goes_away_keeps_its_place_in_the_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The annotations file disappears while a session shows it: the error is shown in place,
    the URL keeps naming the dataset and the image (the session does not move to the demo), and
    once the file is back the same image is shown again."""
    annotations, images = _tiny_dataset(tmp_path)
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(annotations))
    monkeypatch.setenv("UOTVIZ_IMAGES", str(images))
    at = _new_app()
    assert _image_id(at) == 5
    assert (at.query_params["source"], at.query_params["image"]) == ("configured", "5")
    kept = annotations.read_bytes()
    annotations.unlink()
    at.run()
    assert not at.exception
    _configured_unavailable(at, "tiny.json")
    assert (at.query_params["source"], at.query_params["image"]) == ("configured", "5")
    annotations.write_bytes(kept)
    at.run()
    assert not at.exception and not at.error
    assert _image_id(at) == 5
    assert "tiny.png" in _chart(at, SCENE)["layout"]["title"]["text"]


def test_the_picker_sorts_by_id_says_what_each_image_has_and_opens_one_with_its_picture(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Images listed in the file as 9, 5, 2, of which only 5 has its picture: the picker lists
    2, 5, 9 with their objects and whether the picture is there, and opens 5."""
    annotations, images = _tiny_dataset(tmp_path)
    coco = json.loads(annotations.read_text(encoding="utf-8"))
    tiny = coco["images"][0]
    coco["images"] = [
        {**tiny, "id": 9, "file_name": "gone.png"},
        tiny,
        {**tiny, "id": 2, "file_name": "missing.png"},
    ]
    annotations.write_text(json.dumps(coco), encoding="utf-8")
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(annotations))
    monkeypatch.setenv("UOTVIZ_IMAGES", str(images))
    at = _new_app()
    assert list(at.selectbox(key="image_id").options) == [
        "2 · missing.png · 0 objects · no picture",
        "5 · tiny.png · 2 objects",
        "9 · gone.png · 0 objects · no picture",
    ]
    assert _image_id(at) == 5 and not at.error
    _button(at, "next image").click().run()
    assert _image_id(at) == 9 and not at.error  # a quiet notice, not an error
    assert any("gone.png): file not found" in _shown(c.value) for c in at.caption)


def test_upload_without_files_keeps_the_demo(app: AppTest) -> None:
    app.radio(key="source_kind").set_value("Upload").run()
    assert not app.exception
    assert any("Upload a COCO annotations file" in info.value for info in app.info)
    # the demo shown meanwhile does not report its records under the upload widgets
    assert not [c.value for c in app.sidebar.caption if "records loaded" in c.value]
    assert _image_id(app) == FIGURE1_IMAGE_ID
    np.testing.assert_allclose(_matrix(app, COST), FIGURE1_COST, atol=5e-5)


# ------------------------------------------------------------------------------ sharing, export


def _app_at(query: dict[str, str]) -> AppTest:
    """The app opened on a URL carrying ``query``."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(query)
    at.run()
    assert not at.exception
    return at


def test_the_url_sets_the_widgets_and_follows_them() -> None:
    at = _app_at({"image": "7", "eps": "0.01", "preset": "h", "cost": "iou", "drawn": "25"})
    assert not at.warning, [w.value for w in at.warning]
    assert _image_id(at) == 7
    # the preset moves the sliders, then the explicit ε overrides it: the preset shown is Custom
    assert at.session_state["eps"] == 0.01
    assert (at.session_state["tau1"], at.session_state["tau2"]) == (0.01, 100)
    assert _preset_shown(at) == CUSTOM
    _open(at, COST_SETTINGS_OPEN)
    assert at.selectbox(key="cost_preset").value == "1 − IoU"
    _open(at, PICTURE_SETTINGS_OPEN)
    assert at.slider(key="max_drawn").value == 25
    assert "ε = 0.01," in _chart(at, PLAN)["layout"]["title"]["text"]
    assert at.query_params["image"] == "7" and at.query_params["eps"] == "0.01"
    assert at.query_params["preset"] == "custom" and at.query_params["tau2"] == "100"
    _move(at, tau2=INF).run()
    assert at.query_params["tau2"] == "inf"
    _choose_preset(at, "Hungarian (d)").run()
    assert (at.query_params["preset"], at.query_params["eps"]) == ("d", "0")
    _button(at, "next image").click().run()
    assert at.query_params["image"] == "1"


def _synced_url(at: AppTest) -> dict[str, str | None]:
    """The parameters the view's URL element writes into the address bar at a slider step
    (``uotviz.ui.state.sync_url``; None: removed)."""
    (element,) = [
        element
        for element in at.get("bidi_component")
        if "params" in json.loads(element.proto.json)
    ]
    return json.loads(element.proto.json)["params"]


def test_a_slider_step_writes_the_same_url_in_the_browser() -> None:
    """A run of the view alone writes the URL in the browser, not through st.query_params; it
    must say what a full run would write, and remove what a full run would leave out."""
    at = _app_at({"image": "7", "cost": "iou"})
    _move(at, eps=0.2).run()
    synced = _synced_url(at)
    assert {name: text for name, text in synced.items() if text is not None} == dict(
        at.query_params
    )
    assert synced["eps"] == "0.2" and synced["w_l1"] is None  # a named cost: no weights
    _open(at, COST_SETTINGS_OPEN)
    at.selectbox(key="cost_preset").set_value(CUSTOM).run()
    assert _synced_url(at)["w_l1"] == at.query_params["w_l1"]


def test_a_preset_in_the_url_moves_the_sliders() -> None:
    at = _app_at({"preset": "f"})
    assert _preset_shown(at) == "Unbalanced OT (f)"
    assert _params(at) == (0.05, 100.0, 0.01)
    np.testing.assert_allclose(_matrix(at, PLAN), PUBLISHED_PLANS["f"], atol=0.005)


def test_the_default_view_writes_every_parameter_and_reopens_the_same() -> None:
    first = _new_app()
    query = dict(first.query_params)
    assert query["image"] == str(FIGURE1_IMAGE_ID) and query["tau1"] == "inf"
    assert query["source"] == "demo" and query["cost"] == "giou"
    again = _app_at({**query, "w_l1": "3"})  # weights override the named cost: Custom
    _open(again, COST_SETTINGS_OPEN)
    assert again.selectbox(key="cost_preset").value == CUSTOM
    assert again.query_params["w_l1"] == "3.0" and "cost" in again.query_params


def test_bad_url_values_warn_and_the_app_still_renders() -> None:
    at = _app_at({"eps": "-0.03", "image": "99", "tau1": "inf", "source": "nowhere"})
    # one notice for them all, which stays until it is closed
    (notice,) = at.toast
    warnings = _shown(notice.value)
    assert "eps='-0.03'" in warnings and "0.001" in warnings
    assert "source='nowhere'" in warnings
    assert "image=99" in warnings
    assert not at.warning
    at.run()
    assert not at.toast  # once
    assert _image_id(at) == FIGURE1_IMAGE_ID  # the default image
    assert at.session_state["eps"] == 0.05  # the default
    assert at.session_state["tau1"] == INF
    np.testing.assert_allclose(_matrix(at, COST), FIGURE1_COST, atol=5e-5)
    assert at.query_params["eps"] == "0.05"  # the URL now says what is shown


def test_in_presentation_mode_bad_url_values_are_said_in_the_page_not_over_the_sliders() -> None:
    """A toast sits top right, over the sliders of presentation mode: the notice is a line of
    small text in the page there, above the sliders, once."""
    at = _app_at({"present": "1", "eps": "abc"})
    assert not at.toast

    def notices() -> list[str]:
        return [c.value for c in at.caption if c.value.startswith("⚠️ Not used from this link")]

    (notice,) = notices()
    assert "eps='abc' is not a finite number ≥ 0" in _shown(notice)
    assert at.session_state["eps"] == 0.05  # the default
    at.run()
    assert not notices()  # once


def test_a_url_asking_for_an_unconfigured_dataset_warns_and_shows_the_demo() -> None:
    at = _app_at({"source": "configured", "image": "3"})
    assert "not available" in _shown(at.toast[0].value)
    assert at.radio(key="source_kind").value == "Demo"
    assert _image_id(at) == 3


def test_download_buttons_and_the_device_are_shown(app: AppTest) -> None:
    labels = [button.proto.label for button in app.get("download_button")]
    assert labels == ["Plan as CSV", "Plan as JSON"]
    assert " on cpu" in _diagnostics(app)
    _open(app, PICTURE_SETTINGS_OPEN)
    assert app.selectbox(key="figure_format").value == "PNG"
    app.selectbox(key="figure_format").set_value("SVG").run()
    assert not app.exception


def test_charts_save_in_the_chosen_format(app: AppTest) -> None:
    def configs() -> dict[str, dict]:
        return {
            key: config
            for element_id, _, config in _charts(app)
            for key in (COST, PLAN, SCENE)
            if element_id.endswith("-" + key)
        }

    for key, config in configs().items():
        assert config["toImageButtonOptions"]["format"] == "png", key
        assert config["displaylogo"] is False
    assert configs()[SCENE]["toImageButtonOptions"]["filename"] == "figure1_coffee_scene"
    _open(app, PICTURE_SETTINGS_OPEN)
    app.selectbox(key="figure_format").set_value("SVG").run()
    assert {c["toImageButtonOptions"]["format"] for c in configs().values()} == {"svg"}
    app.session_state[PICTURE_SETTINGS_OPEN] = False  # closed: the format stays
    app.run()
    assert {c["toImageButtonOptions"]["format"] for c in configs().values()} == {"svg"}


def test_the_gallery_appears_when_switched_on(app: AppTest) -> None:
    assert len(_charts(app)) == 3  # scene, cost, plan: the extras cost nothing when off
    app.toggle(key="show_gallery").set_value(True).run()
    assert not app.exception
    specs = [figure for _, figure, _ in _charts(app)]
    assert len(specs) == 4
    # the gallery: Figure 1 (b)-(h), the cost and the six plans as matrices
    (matrices,) = [spec for spec in specs if "xaxis7" in spec["layout"]]
    heatmaps = [trace for trace in matrices["data"] if trace["type"] == "heatmap"]
    assert len(heatmaps) == 7
    np.testing.assert_allclose(_decode(heatmaps[0]["z"]), FIGURE1_COST, atol=5e-5)
    np.testing.assert_allclose(_decode(heatmaps[5]["z"]), PUBLISHED_PLANS["g"], atol=0.005)
    # the small scenes on request
    app.toggle(key="extras_gallery_scenes").set_value(True).run()
    assert not app.exception
    specs = [figure for _, figure, _ in _charts(app)]
    assert len(specs) == 5
    assert len([s for s in specs if "xaxis6" in s["layout"] and "xaxis7" not in s["layout"]]) == 1
    assert "show_sweep" not in [toggle.key for toggle in app.toggle]


def test_a_click_on_a_figure1_plan_chooses_its_preset() -> None:
    """What the gallery does with a click on a plan panel (the browser's selection, which
    AppTest cannot make): the preset and the sliders move, as the preset selector moves them."""

    def clicked() -> None:
        import streamlit as st

        from uotviz.ui.extras import _use_clicked_preset
        from uotviz.ui.params import init_params

        init_params()
        point = {"customdata": ["Hungarian (d)", 1.0]}
        st.session_state["chart"] = {"selection": {"points": [point]}}
        _use_clicked_preset("chart", "clicks")

    at = AppTest.from_function(clicked).run()
    assert not at.exception
    state = at.session_state
    assert state["preset"] == "Hungarian (d)" and state["clicks"] == 1
    assert (state["eps"], state["tau1"], state["tau2"]) == (0.0, INF, INF)


def test_charts_take_the_width_the_browser_reports(app: AppTest) -> None:
    """The live charts' width reports (browser input) size the charts; nonsense is ignored."""
    assert _chart(app, SCENE)["layout"].get("width") is None  # not measured yet
    app.session_state["scene_chart"] = {"width": 500}
    app.session_state["plan_chart"] = {"width": "wide"}
    app.session_state["cost_chart"] = {"width": float("nan")}
    app.run()
    assert not app.exception
    scene = _chart(app, SCENE)["layout"]
    assert scene["width"] == 500
    # the Figure 1 photograph is 480 x 430: as tall as it is drawn 500 px wide, plus the title
    # and the legend
    assert scene["height"] == scene_height(500, 480, 430)
    assert int(500 * 430 / 480) < scene["height"] < int(500 * 430 / 480) + 200
    assert _chart(app, PLAN)["layout"].get("width") is None
    assert _chart(app, COST)["layout"].get("width") is None


def _frames(at: AppTest, key: str) -> dict | None:
    """The drag frames the live chart ``key`` was sent in the last run, if any."""
    for element in at.get("bidi_component"):
        if element.proto.id.endswith("-" + key):
            data = json.loads(element.proto.json)
            return json.loads(data["frames"]) if data.get("frames") else None
    raise AssertionError(f"no chart with key {key!r}")


@pytest.mark.parametrize("image_id, anchors", [(1, None), (7, None), (7, "SSD300")])
def test_a_drag_sends_a_frame_per_position_of_its_slider(image_id, anchors) -> None:
    """When the sliders ask for a slider's frames, the scene and the plan carry a frame for
    every position of that slider, computed at the current positions of the others; the next
    run, asked for nothing, carries none."""
    at = _app_at({"image": str(image_id), **({"anchors": anchors.lower()} if anchors else {})})
    assert not at.exception
    for name, scale in (("eps", EPS_VALUES), ("tau1", TAU_VALUES), ("tau2", TAU_VALUES)):
        at.session_state["slider_frames"] = name
        at.run()
        assert not at.exception, (image_id, name)
        scene, plan = _frames(at, SCENE), _frames(at, PLAN)
        assert scene["slider"] == plan["slider"] == name
        assert scene["at"] == plan["at"] == positions_key(_params(at), name)
        assert len(scene["frames"]) == len(plan["frames"]) == len(scale)
        assert all("shapes" in frame["layout"] for frame in scene["frames"])
        titles = [frame["layout"]["title.text"] for frame in plan["frames"]]
        assert len(set(titles)) == len(scale)  # each names its own position
        at.run()
        assert _frames(at, SCENE) is None and _frames(at, PLAN) is None


def _sliders_data(at: AppTest) -> dict:
    """What the sliders' element (uotviz/ui/js/sliders.js) was sent in the last run."""
    (data,) = [
        data
        for data in (json.loads(element.proto.json) for element in at.get("bidi_component"))
        if "sliders" in data
    ]
    return data


def test_play_sets_the_start_and_sends_the_walk_to_the_sliders_and_its_frames() -> None:
    """Play from (c) to (h): the parameters of (c), the sliders told to walk every point of the
    way to (h) (positions of the three sliders, one position of one slider per point), and the
    scene and the plan carrying a frame per point, named "play"; when the walk has ended (the
    sliders send its last point, dragging nothing), neither is sent again."""
    at = _app_at({"image": "1"})
    c, h = (next(p for p in PRESETS if p.panel == panel) for panel in "ch")
    _open(at, PLAY_OPEN)
    at.selectbox(key="play_from").set_value(c.name)
    at.selectbox(key="play_to").set_value(h.name).run()
    assert not at.exception
    assert "ε from 0 to 0.05, then τ2 from 0 to 100, then τ1 from ∞ to 0.01" in [
        markdown.value.split(": ", 1)[-1] for markdown in at.markdown
    ]
    assert _sliders_data(at)["play"] is None  # nothing asked for yet
    at.button(key="play_button").click().run()
    assert not at.exception
    assert _params(at) == (0.0, INF, 0.0) and _preset_shown(at) == c.name
    play = _sliders_data(at)["play"]
    path = play["path"]
    assert play["name"] == "play" and len(path) == 101
    assert path[0] == {"eps": 0, "tau1": len(TAU_VALUES) - 1, "tau2": 0}
    assert path[-1] == {
        "eps": EPS_VALUES.index(0.05),
        "tau1": TAU_VALUES.index(0.01),
        "tau2": TAU_VALUES.index(100.0),
    }
    for a, b in itertools.pairwise(path):
        assert sorted(abs(b[name] - a[name]) for name in a) == [0, 0, 1]
    scene, plan = _frames(at, SCENE), _frames(at, PLAN)
    assert scene["slider"] == plan["slider"] == "play"
    assert len(scene["frames"]) == len(plan["frames"]) == 101
    titles = [frame["layout"]["title.text"] for frame in plan["frames"]]
    assert "ε = 0, τ1 = ∞, τ2 = 0" in titles[0] and "ε = 0.05, τ1 = 0.01, τ2 = 100" in titles[-1]
    assert len(set(titles)) == 101
    # the walk's end: the sliders send its last point as a step
    _move(at, eps=0.05, tau1=0.01, tau2=100.0).run()
    assert not at.exception
    assert _sliders_data(at)["play"] is None
    assert _frames(at, SCENE) is None and _frames(at, PLAN) is None
    assert _preset_shown(at) == h.name
    # a second Play is a new one (the sliders play a walk once per id); Play closed the popover,
    # and the ends chosen stayed while it was closed
    assert not at.session_state[PLAY_OPEN]
    assert not [box for box in at.selectbox if box.key == "play_from"]
    _open(at, PLAY_OPEN)
    assert at.selectbox(key="play_from").value == c.name
    at.button(key="play_button").click().run()
    assert _sliders_data(at)["play"]["id"] == play["id"] + 1


def test_play_between_a_preset_and_itself_has_nothing_to_play(app: AppTest) -> None:
    _open(app, PLAY_OPEN)
    default = app.button(key="play_button")
    assert not default.disabled  # (c) -> (d) by default
    app.selectbox(key="play_to").set_value(app.selectbox(key="play_from").value).run()
    assert app.button(key="play_button").disabled
    assert any("nothing to play" in markdown.value for markdown in app.markdown)


INJECTED = "![i](http://127.0.0.1:9/b.png) ## Expired: **log in** [here](http://127.0.0.1:9/)"
"""Markdown that would show an external image, a heading, bold text and a link."""


def test_url_values_are_shown_as_text_not_markdown() -> None:
    at = _app_at({"eps": INJECTED, "tau1": "x\n# heading"})
    (notice,) = at.toast
    warnings = notice.value.split("\n- ")[1:]
    assert len(warnings) == 2
    for value in warnings:
        # every Markdown character of the quoted value is escaped, and no line starts a heading
        assert re.search(r"(?<!\\)[\[\]()!*#]", value.split("URL parameter", 1)[1]) is None, value
        assert "\n" not in value
    assert "![i](http" in _shown(warnings[0])  # what is shown is the text itself, cut to 40


def test_file_names_and_load_errors_are_shown_as_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    annotations, images = _tiny_dataset(tmp_path)
    coco = json.loads(annotations.read_text(encoding="utf-8"))
    coco["images"][0]["file_name"] = "[x](http:127.0.0.1:9) *tiny*.png"
    annotations.write_text(json.dumps(coco), encoding="utf-8")
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(annotations))
    monkeypatch.setenv("UOTVIZ_IMAGES", str(images))
    at = _new_app()
    captions = [c.value for c in at.caption if c.value.startswith("Image 5")]
    caption = captions[0].replace("\u2060", "")  # the invisible joiner that stops autolinks
    assert "\\[x\\]\\(http\\:127\\.0\\.0\\.1\\:9\\) \\*tiny\\*" in caption
    # the picture is missing: a quiet notice, not an error, that names the file, escaped too,
    # and not the server's path
    assert not at.error, [e.value for e in at.error]
    (notice,) = [c.value for c in at.caption if "file not found" in c.value]
    assert re.search(r"(?<!\\)[\[\]*]", notice) is None, notice
    assert str(tmp_path) not in notice and "blank canvas" in notice


def test_a_picture_whose_size_differs_from_the_annotations_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    annotations, images = _tiny_dataset(tmp_path)
    Image.new("RGB", (80, 60), (200, 120, 40)).save(images / "tiny.png")  # JSON says 64 x 48
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(annotations))
    monkeypatch.setenv("UOTVIZ_IMAGES", str(images))
    at = _new_app()
    warnings = [_shown(w.value) for w in at.warning]
    assert any("80 x 60 pixels but the annotations say 64 x 48" in w for w in warnings), warnings
    assert not at.exception and len(_charts(at)) == 3  # still drawn, stretched


@pytest.mark.parametrize(
    ("content", "suffix", "reason"),
    [("[]", "json", "contains no detections"), ("not json at all", "json", "not valid JSON")],
)
def test_refused_predictions_keep_the_annotations(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str, suffix: str, reason: str
) -> None:
    """A predictions file that cannot be used is refused alone: the configured annotations stay,
    with simulated predictions, and an error says why the file was refused."""
    annotations, images = _tiny_dataset(tmp_path)
    predictions = tmp_path / f"preds.{suffix}"
    predictions.write_text(content, encoding="utf-8")
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(annotations))
    monkeypatch.setenv("UOTVIZ_IMAGES", str(images))
    monkeypatch.setenv("UOTVIZ_PREDICTIONS", str(predictions))
    at = _new_app()
    assert not at.exception
    assert at.radio(key="source_kind").value == "Configured dataset"
    assert _image_id(at) == 5
    errors = [_shown(e.value) for e in at.error]
    assert any(reason in e and "preds" in e and "without them" in e for e in errors), errors
    assert any("simulated" in info.value for info in at.info)


def _pycocotools_counts(image_id: int, iou: float) -> tuple[int, int, int]:
    """(matched, false positives, missed ground truths) of pycocotools' own evaluation of one
    demo image at one IoU threshold, area "all", 100 detections."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from uotviz.data.demo import DEMO_ANNOTATIONS, DEMO_PREDICTIONS

    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(DEMO_ANNOTATIONS))
        detections = truth.loadRes(json.loads(DEMO_PREDICTIONS.read_text(encoding="utf-8")))
        evaluator = COCOeval(truth, detections, "bbox")
        evaluator.params.imgIds = [image_id]
        evaluator.params.iouThrs = np.array([iou])
        evaluator.params.areaRng = [evaluator.params.areaRng[0]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.evaluate()
    matched = false_positives = missed = 0
    for record in filter(None, evaluator.evalImgs):
        counted_dt = ~np.asarray(record["dtIgnore"][0], dtype=bool)
        dt_matched = np.asarray(record["dtMatches"][0]) > 0
        matched += int((dt_matched & counted_dt).sum())
        false_positives += int((~dt_matched & counted_dt).sum())
        counted_gt = ~np.asarray(record["gtIgnore"], dtype=bool)
        missed += int(((np.asarray(record["gtMatches"][0]) == 0) & counted_gt).sum())
    return matched, false_positives, missed


@pytest.mark.parametrize(("image_id", "iou"), [(7, 0.5), (7, 0.9), (2, 0.5)])
def test_coco_eval_matching_is_drawn_beside_the_plan(image_id: int, iou: float) -> None:
    """The toggle draws COCOeval's 0/1 plan beside the transport plan, and its counts are
    pycocotools' own."""
    at = _app_at({"image": str(image_id)})
    at.toggle(key="show_coco_eval").set_value(True).run()
    at.number_input(key="extras_coco_iou").set_value(iou).run()
    assert not at.exception
    (caption,) = [c.value for c in at.caption if c.value.startswith("COCOeval")]
    matched, false_positives, missed = _pycocotools_counts(image_id, iou)
    assert f"IoU ≥ {iou:g}" in caption
    assert f" {matched} matched, {false_positives} false positive" in caption, caption
    assert f", {missed} ground truth" in caption, caption
    coco = _matrix(at, "extras_coco_coco_chart")
    assert set(np.unique(coco)) <= {0.0, 1.0} and coco.sum() == matched + false_positives
    np.testing.assert_allclose(_matrix(at, "extras_coco_plan_chart"), _matrix(at, PLAN))


def test_coco_eval_matching_needs_the_datasets_own_predictions() -> None:
    at = _app_at({"image": "1", "anchors": "ssd300"})
    at.toggle(key="show_coco_eval").set_value(True).run()
    assert not at.exception
    assert any("needs the dataset's own predictions" in info.value for info in at.info)
