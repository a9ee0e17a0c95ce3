"""The Dataset page, run headless with AppTest: the demo's table, headline, histograms and
download; a comparison; COCOeval's matching; a row opening its image on the Image page; datasets
the statistics cannot use."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

import uotviz.ui.dataset_page as dataset_page
from uotviz.data.dataset import load_dataset
from uotviz.sources import demo_config
from uotviz.stats import COLUMNS, Setting, StatsOptions, compute_stats
from uotviz.ui.settings import COST_SETTINGS_OPEN, PICTURE_SETTINGS_OPEN
from uotviz.ui.state import NO_COMPARISON

APP = Path(__file__).resolve().parent.parent / "app.py"
IMAGE_TITLE = "uotviz: detection matching as unbalanced optimal transport"
DATASET_TITLE = "Dataset: the matching of every image"
UOT_COLUMNS = [c for c in COLUMNS if c != "plan_difference"] + ["image_index"]


def _open(at: AppTest, url_path: str) -> AppTest:
    """Show the page at ``url_path``, as its link in the navigation does.

    ``AppTest.switch_page`` finds pages by their file, and the app's pages are functions: the
    page is named by the hash Streamlit gives it, that of its URL path (``st.Page._script_hash``).
    """
    at._page_hash = calc_hash(url_path)
    at.run()
    assert not at.exception, at.exception
    return at


def _dataset_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    return _open(at, "dataset")


def _title(at: AppTest) -> str:
    (title,) = at.title
    return title.value


def _shown(markdown: str) -> str:
    """What a message written as escaped Markdown shows."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _table(at: AppTest) -> pd.DataFrame:
    (table,) = at.dataframe
    return table.value


def _decode(array) -> np.ndarray:
    """A numeric array from Plotly's JSON: a plain list, or ``{"dtype", "bdata"}``."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def _figure_titles(at: AppTest) -> list[str]:
    return [figure["layout"]["title"]["text"] for figure in _figures(at)]


def _demo_stats(**options) -> pd.DataFrame:
    dataset = load_dataset(demo_config())[0]
    return compute_stats(dataset, StatsOptions(**options))


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test computes its own tables (the cache lives in this process)."""
    st.cache_data.clear()


def test_the_dataset_page_shows_the_demo_table_headline_histograms_and_download() -> None:
    at = _dataset_app()
    assert _title(at) == DATASET_TITLE
    assert not at.error and not at.warning, [e.value for e in at.error]
    table = _table(at)
    assert list(table.columns) == UOT_COLUMNS
    assert len(table) == 7
    expected = _demo_stats()  # the app's default setting, OT (g), and cost
    pd.testing.assert_frame_equal(table, expected, check_dtype=False, atol=1e-6)
    metrics = _metrics(at)
    assert metrics["Images"] == "7"
    assert metrics["Predictions"] == f"{expected['n_predictions'].sum():,}"
    assert metrics["Ground truths"] == f"{expected['n_ground_truths'].sum():,}"
    assert metrics["Mass to ∅"] == f"{expected['mass_to_background'].sum():,.2f}"
    assert metrics["Images with gt_multi ≥ 1"] == f"{(expected['gt_multi'] >= 1).sum()}"
    assert "Images that differ" not in metrics  # no comparison
    assert _figure_titles(at) == [
        "Predictions per ground truth (each sending it ≥ 0.5)",
        "Mass to ∅ per prediction",
    ]
    # every ground truth and every prediction counted once in the histograms
    per_gt, per_prediction = (_decode(figure["data"][0]["y"]).sum() for figure in _figures(at))
    assert per_gt == expected["n_ground_truths"].sum()
    assert per_prediction == expected["n_predictions"].sum()
    (download,) = at.get("download_button")
    assert "CSV" in download.proto.label
    # the settings it was computed with are said
    assert any("ε = 0.05, τ1 = ∞, τ2 = ∞" in c.value for c in at.caption)


def test_a_comparison_adds_plan_difference_its_histogram_and_the_images_that_differ() -> None:
    at = _dataset_app()
    at.selectbox(key="dataset_compare").set_value("Hungarian (d)").run()
    assert not at.exception
    table = _table(at)
    assert "plan_difference" in table.columns
    expected = _demo_stats(compare=Setting.from_panel("d"))
    pd.testing.assert_series_equal(
        table["plan_difference"], expected["plan_difference"], check_dtype=False, atol=1e-6
    )
    assert _figure_titles(at)[-1].startswith("Plan difference per image")
    differing = expected[expected["plan_difference"] > 1e-3]
    assert _metrics(at)["Images that differ"] == str(len(differing))
    most = differing.sort_values("plan_difference", ascending=False).iloc[0]
    (line,) = [m.value for m in at.markdown if m.value.startswith("**Images that differ most")]
    assert line.split(":** ")[1].startswith(f"{most.image_id} · ")
    # the filter "plans differ" keeps those rows
    at.checkbox(key="dataset_only_differ").check().run()
    assert sorted(_table(at)["image_id"]) == sorted(differing["image_id"])


def test_the_setting_chosen_on_the_dataset_page_is_the_image_pages() -> None:
    at = _dataset_app()
    at.selectbox(key="dataset_setting").set_value("Closest ground truth (c)").run()
    assert not at.exception
    assert (at.session_state["eps"], at.session_state["tau1"], at.session_state["tau2"]) == (
        0.0,
        math.inf,
        0.0,
    )
    pd.testing.assert_frame_equal(
        _table(at), _demo_stats(setting=Setting.from_panel("c")), check_dtype=False, atol=1e-9
    )
    # the address says what the page shows, so that a link opens it as it is
    assert at.query_params["preset"] == "c" and at.query_params["tau2"] == "0"
    _open(at, "image")
    assert _title(at) == IMAGE_TITLE
    assert at.session_state["preset"] == "Closest ground truth (c)"


def test_coco_eval_is_a_strategy_with_its_iou_threshold() -> None:
    at = _dataset_app()
    at.radio(key="dataset_strategy").set_value("coco-eval").run()
    at.number_input(key="dataset_iou").set_value(0.75).run()
    assert not at.exception and not at.error
    table = _table(at)
    assert list(table.columns) == [*UOT_COLUMNS, "ignored_predictions"]
    expected = _demo_stats(strategy="coco-eval", iou=0.75)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert any("COCOeval's matching" in c.value for c in at.caption)


def test_the_filters_keep_the_rows_they_name() -> None:
    at = _dataset_app()
    everything = _table(at)
    at.selectbox(key="dataset_min_column").set_value("n_predictions").run()
    at.number_input(key="dataset_min_value").set_value(8.0).run()
    assert not at.exception
    kept = _table(at)
    assert list(kept["image_id"]) == list(everything[everything["n_predictions"] >= 8]["image_id"])
    assert 0 < len(kept) < len(everything)
    assert any(c.value.startswith(f"{len(kept)} of 7 images") for c in at.caption)
    at.checkbox(key="dataset_only_multi").check().run()
    assert list(_table(at)["image_id"]) == list(
        everything[(everything["n_predictions"] >= 8) & (everything["gt_multi"] >= 1)]["image_id"]
    )


def test_selecting_a_row_opens_that_image_on_the_image_page() -> None:
    at = _dataset_app()
    at.selectbox(key="dataset_compare").set_value("Hungarian (d)").run()
    table = _table(at)
    row = 4
    image_id, file_name = int(table["image_id"][row]), table["file_name"][row]
    at.session_state[dataset_page.TABLE_KEY] = {
        "selection": {"rows": [row], "columns": [], "cells": []}
    }
    at.run()
    assert not at.exception
    assert _title(at) == IMAGE_TITLE
    assert at.session_state["image_id"] == image_id
    assert at.selectbox(key="image_id").value == image_id
    assert at.session_state["preset"] == "OT (g)"  # the same settings
    scenes = [
        json.loads(json.loads(e.proto.json)["figure"])
        for e in at.get("bidi_component")
        if e.proto.id.endswith("-scene_chart")
    ]
    assert file_name in scenes[0]["layout"]["title"]["text"]


def test_the_image_pages_choices_outlive_a_visit_to_the_dataset_page() -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.selectbox(key="image_id").set_value(5).run()
    at.session_state[PICTURE_SETTINGS_OPEN] = True  # the expander opened: its widgets are drawn
    at.run()
    at.slider(key="max_drawn").set_value(25).run()
    at.session_state[COST_SETTINGS_OPEN] = True  # the expander opened: its widgets are drawn
    at.run()
    at.selectbox(key="cost_preset").set_value("1 − IoU").run()
    _open(at, "dataset")
    assert "cost 1 − IoU" in " ".join(c.value for c in at.caption)
    _open(at, "image")
    assert at.selectbox(key="image_id").value == 5
    assert at.session_state["max_drawn"] == 25
    at.session_state[PICTURE_SETTINGS_OPEN] = True  # the page switch closed it
    at.run()
    assert at.slider(key="max_drawn").value == 25
    at.session_state[COST_SETTINGS_OPEN] = True  # this one too
    at.run()
    assert at.selectbox(key="cost_preset").value == "1 − IoU"
    assert not at.warning, [w.value for w in at.warning]


def test_the_table_is_computed_once_per_dataset_and_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[1])
        return compute_stats(*args, **kwargs)

    monkeypatch.setattr(dataset_page, "compute_stats", counted)
    at = _dataset_app()
    at.checkbox(key="dataset_only_multi").check().run()  # a filter: the same table
    _open(at, "image")
    _open(at, "dataset")
    assert len(calls) == 1
    at.selectbox(key="dataset_compare").set_value("Hungarian (d)").run()
    assert len(calls) == 2 and calls[1].compare == Setting.from_panel("d")


def _tiny_without_predictions(folder: Path) -> Path:
    coco = {
        "images": [{"id": 5, "file_name": "tiny.png", "width": 64, "height": 48}],
        "categories": [{"id": 3, "name": "box"}],
        "annotations": [{"id": 1, "image_id": 5, "category_id": 3, "bbox": [4, 4, 30, 20]}],
    }
    path = folder / "tiny.json"
    path.write_text(json.dumps(coco), encoding="utf-8")
    return path


def test_a_dataset_without_predictions_says_the_statistics_need_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(_tiny_without_predictions(tmp_path)))
    at = _dataset_app()
    assert at.radio(key="source_kind").value == "Configured dataset"
    assert not at.exception and not at.error
    assert any("need predictions" in info.value for info in at.info)
    assert not at.dataframe and not at.get("download_button")
    at.radio(key="source_kind").set_value("Demo").run()
    assert not at.exception and len(_table(at)) == 7


def test_a_bad_configured_dataset_gives_its_reason_on_the_dataset_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"images": [', encoding="utf-8")
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(bad))
    at = _dataset_app()
    assert any("broken.json: not valid JSON" in _shown(e.value) for e in at.error)
    assert not at.dataframe and not at.exception


def test_anchor_mode_is_refused_with_a_message() -> None:
    at = _dataset_app()
    at.session_state[COST_SETTINGS_OPEN] = True
    at.run()
    at.selectbox(key="anchor_mode").set_value("SSD300").run()
    assert not at.exception
    assert any("not on anchors" in info.value for info in at.info)
    assert not at.dataframe


def _dataset_app_at(query: dict[str, str]) -> AppTest:
    """The app opened on the Dataset page's URL carrying ``query``."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(query)
    return _open(at, "dataset")


def test_the_url_sets_the_matching_its_iou_and_the_comparison() -> None:
    at = _dataset_app_at({"strategy": "coco-eval", "iou": "0.75", "compare": "d", "preset": "f"})
    assert not at.toast and not at.error
    assert at.radio(key="dataset_strategy").value == "coco-eval"
    assert at.number_input(key="dataset_iou").value == 0.75
    assert at.selectbox(key="dataset_compare").value == "Hungarian (d)"
    assert at.selectbox(key="dataset_setting").value == "Unbalanced OT (f)"
    expected = _demo_stats(strategy="coco-eval", iou=0.75, compare=Setting.from_panel("d"))
    pd.testing.assert_frame_equal(_table(at), expected, check_dtype=False, atol=1e-6)
    query = at.query_params
    assert (query["strategy"], query["iou"], query["compare"]) == ("coco-eval", "0.75", "d")


def test_changing_the_matching_and_the_comparison_writes_the_url() -> None:
    at = _dataset_app()
    query = at.query_params
    assert (query["strategy"], query["iou"], query["compare"]) == ("uot", "0.5", "none")
    at.radio(key="dataset_strategy").set_value("coco-eval").run()
    at.number_input(key="dataset_iou").set_value(0.7).run()
    at.selectbox(key="dataset_compare").set_value("Best prediction (e)").run()
    assert not at.exception
    query = at.query_params
    assert (query["strategy"], query["iou"], query["compare"]) == ("coco-eval", "0.7", "e")
    at.selectbox(key="dataset_compare").set_value(NO_COMPARISON).run()
    assert at.query_params["compare"] == "none"


def test_a_dataset_link_opened_on_the_image_page_waits_for_the_dataset_page() -> None:
    """The Image page's URL does not carry the Dataset page's values, but a link's values are
    kept in the session until the Dataset page shows them (its widgets persist per session)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update({"strategy": "coco-eval", "compare": "h", "image": "3"})
    at.run()
    assert not at.exception and _title(at) == IMAGE_TITLE
    assert not {"strategy", "iou", "compare"} & set(at.query_params)
    _open(at, "dataset")
    assert at.radio(key="dataset_strategy").value == "coco-eval"
    assert at.selectbox(key="dataset_compare").value == "Unbalanced OT (h)"
    assert (at.query_params["strategy"], at.query_params["compare"]) == ("coco-eval", "h")
    _open(at, "image")
    assert not {"strategy", "iou", "compare"} & set(at.query_params)
    _open(at, "dataset")
    assert at.radio(key="dataset_strategy").value == "coco-eval"  # kept across the visit


def test_bad_dataset_values_in_the_url_are_named_with_what_is_allowed() -> None:
    at = _dataset_app_at({"strategy": "hungarian", "iou": "2", "compare": "custom"})
    (notice,) = at.toast
    shown = _shown(notice.value)
    assert "strategy='hungarian' is not one of uot, coco-eval; ignored." in shown
    assert "iou='2' is not a number in [0.05, 1]; ignored." in shown
    assert "compare='custom' is not one of none, c, d, e, f, g, h; ignored." in shown
    assert at.radio(key="dataset_strategy").value == "uot"  # the defaults
    assert at.number_input(key="dataset_iou").value == StatsOptions.iou
    assert at.selectbox(key="dataset_compare").value == NO_COMPARISON
    assert (at.query_params["strategy"], at.query_params["compare"]) == ("uot", "none")
