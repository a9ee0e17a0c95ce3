"""The app's pure helpers: sources from uploads, image browsing, click decoding, read-outs."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import random
import re

import numpy as np
import pytest
import torch
from PIL import Image

from uotviz import figure1
from uotviz.browse import filter_images, first_pictured, image_label, random_image, step_image
from uotviz.costs import CostWeights, matching_cost
from uotviz.data.errors import DataError
from uotviz.matching import CostSettings, build_matching_problem, summarise
from uotviz.plots.matrices import add_cell_targets, plan_figure
from uotviz.plots.selection import pick_from_point
from uotviz.readout import (
    MAX_DRAWN_ROWS,
    cost_title,
    image_caption,
    narrow_table,
    rows_caption,
    rows_to_draw,
    senders,
    summary_line,
    summary_table,
    weights_preset,
)
from uotviz.sources import DEMO, UPLOAD, UploadedFile, demo_config, load_configured, load_uploads
from uotviz.transport import solve

COCO = {
    "images": [
        {"id": 5, "file_name": "a.png", "width": 64, "height": 48},
        {"id": 6, "file_name": "sub/b.png", "width": 32, "height": 32},
    ],
    "categories": [{"id": 3, "name": "box"}],
    "annotations": [
        {"id": 1, "image_id": 5, "category_id": 3, "bbox": [4, 4, 30, 20]},
        {"id": 2, "image_id": 6, "category_id": 3, "bbox": [1, 1, 10, 10]},
    ],
}


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploads_are_matched_by_file_name_and_kept_in_memory() -> None:
    annotations = UploadedFile("inst.json", json.dumps(COCO).encode())
    predictions = UploadedFile(
        "det.json",
        json.dumps(
            [{"image_id": 5, "category_id": 3, "bbox": [5, 5, 28, 18], "score": 0.9}]
        ).encode(),
    )
    images = [
        UploadedFile("a.png", _png((64, 48))),
        UploadedFile("b.png", _png((32, 32))),  # base name of "sub/b.png"
        UploadedFile("stray.png", _png((8, 8))),
    ]
    source = load_uploads(annotations, predictions, images)
    assert source.kind == UPLOAD
    assert sorted(source.image_bytes) == [5, 6]
    assert any("stray.png" in message for message in source.report.messages)
    scene = source.dataset.scene(5)
    assert scene.image_path is None  # nothing on disk
    assert len(scene.predictions) == 1
    opened = source.open_image(scene)
    assert opened.image.size == (64, 48)
    # same content, same key; other content, other key
    again = load_uploads(annotations, predictions, images)
    assert again.key == source.key
    other = load_uploads(annotations, None, images)
    assert other.key != source.key
    assert not other.has_predictions


def test_an_upload_without_its_image_says_so() -> None:
    source = load_uploads(UploadedFile("inst.json", json.dumps(COCO).encode()))
    with pytest.raises(DataError, match="no uploaded image"):
        source.open_image(source.dataset.scene(5))


def test_bad_uploads_raise_data_errors() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        load_uploads(UploadedFile("inst.json", b"{"))
    good = UploadedFile("inst.json", json.dumps(COCO).encode())
    # predictions that cannot be used are refused alone: the annotations stay
    for bad in (b"[1, 2", b"[]"):
        source = load_uploads(good, UploadedFile("det.json", bad))
        assert not source.has_predictions
        assert len(source.report.refused) == 1 and source.report.refused[0].startswith("det.json")
        assert sorted(source.dataset.image_ids()) == [5, 6]


def test_demo_source_and_browsing() -> None:
    source = load_configured(DEMO, demo_config())
    index = source.dataset.index
    ids = list(source.dataset.image_ids())
    assert ids == [1, 2, 3, 4, 5, 6, 7]
    assert image_label(index, 1) == "1 · figure1_coffee.jpg · 2 objects"
    assert source.predictions_count(1) == 5 and source.pictured == frozenset(ids)
    assert (
        image_label(index, 7, predictions=1, pictured=False)
        == "7 · coins.jpg · 24 objects · 1 prediction · no picture"
    )
    assert first_pictured([4, 2, 9], {9, 2}) == 2 and first_pictured([4, 2], set()) == 4
    assert first_pictured([], {1}) is None
    assert filter_images(index, min_objects=10) == [7]
    assert filter_images(index, categories=[17]) == [3]
    assert filter_images(index, min_objects=100) == []
    assert step_image(ids, 1, 1) == 2
    assert step_image(ids, 1, -1) == 7
    assert step_image(ids, 99, 1) == 1 and step_image(ids, 99, -1) == 7
    rng = random.Random(0)
    assert all(random_image(ids, 3, rng) != 3 for _ in range(50))
    assert random_image([4], 4, rng) == 4
    with pytest.raises(ValueError):
        step_image([], None, 1)


def test_clicks_decode_to_rows_and_columns() -> None:
    # heatmap cells: customdata [row, column, value]; the ∅ column names no ground truth
    assert pick_from_point({"customdata": [3, 0, 0.7]}, gt_count=2) == (3, 0)
    assert pick_from_point({"customdata": [3, 2, 0.7]}, gt_count=2) == (3, None)  # ∅
    assert pick_from_point({"x": "A"}, gt_count=2) == (None, None)
    # scene marks: [row, column], -1 for none (box edges, badges, letters, line middles)
    assert pick_from_point({"customdata": [1, -1]}, gt_count=2, row_count=3) == (1, None)
    assert pick_from_point({"customdata": [-1, 1]}, gt_count=2, row_count=3) == (None, 1)
    assert pick_from_point({"customdata": [2, 0]}, gt_count=2, row_count=3) == (2, 0)
    # what the browser sends is input: ids out of range, not integers or not numbers name nothing
    assert pick_from_point({"customdata": [3, 5]}, gt_count=2, row_count=3) == (None, None)
    assert pick_from_point({"customdata": [1.5, True]}, gt_count=2) == (None, None)
    assert pick_from_point({"customdata": ["1", None]}, gt_count=2) == (None, None)
    assert pick_from_point({"customdata": "1,0"}, gt_count=2) == (None, None)
    assert pick_from_point({"customdata": [float("nan"), 0]}, gt_count=2) == (None, 0)


def _figure1_plan(eps: float = 0.05) -> torch.Tensor:
    cost = matching_cost(
        torch.tensor(figure1.PREDICTIONS_XYXY, dtype=torch.float64),
        torch.tensor(figure1.GROUND_TRUTHS_XYXY, dtype=torch.float64),
        background_cost=0.8,
    )
    return solve(cost, eps, math.inf, math.inf).plan


def test_rows_to_draw_keeps_small_matrices_whole_and_filters_large_ones() -> None:
    assert rows_to_draw(np.ones((60, 3))) is None
    plan = np.zeros((100, 3))
    plan[:, -1] = 1.0
    plan[[5, 40, 77], 0] = [0.9, 0.0005, 0.3]
    np.testing.assert_array_equal(rows_to_draw(plan), [5, 77])
    assert rows_caption(plan, rows_to_draw(plan), "anchors") == (
        "100 anchors: the matrices show the 2 sending at least 0.001 to a ground truth."
    )
    assert rows_caption(plan, None) is None
    plan[:, 1] = np.linspace(0.01, 1, 100)  # every row carries mass: all of them
    np.testing.assert_array_equal(rows_to_draw(plan), np.arange(100))
    rows = rows_to_draw(plan, cap=30)  # more than the cap: the heaviest, in row order
    np.testing.assert_array_equal(rows, [5, *range(71, 100)])  # 5 also sends 0.9 to A
    assert rows_caption(plan, rows) == (
        "100 predictions, 100 of them sending at least 0.001 to a ground truth: the matrices "
        "show the 30 heaviest of those."
    )


def test_every_row_that_matters_is_drawn_up_to_hundreds_but_not_thousands() -> None:
    """Anchor mode: every anchor sending a ground truth at least 0.001 has its row (76 of
    SSD300's anchors on the demo's coins), and a plan of thousands of such rows is cut."""
    rng = np.random.default_rng(0)
    plan = np.zeros((8732, 25))
    plan[:, -1] = 1.0
    carrying = np.sort(rng.choice(8732, size=76, replace=False))
    plan[carrying, rng.integers(0, 23, size=76)] = rng.uniform(0.001, 1.0, size=76)
    np.testing.assert_array_equal(rows_to_draw(plan), carrying)
    plan[:, 23] = 0.01  # now every anchor sends mass: only the heaviest MAX_DRAWN_ROWS
    rows = rows_to_draw(plan)
    assert len(rows) == MAX_DRAWN_ROWS < 8732
    assert set(carrying.tolist()) <= set(rows.tolist())  # the heavier rows come first
    assert "8,732 of them" in rows_caption(plan, rows, "anchors")


def test_cell_targets_carry_the_full_matrix_indices() -> None:
    plan = _figure1_plan().numpy()
    fig = add_cell_targets(plan_figure(plan[[1, 3]], ["2", "4"], ["A", "B", "∅"]), [1, 3])
    (targets,) = [trace for trace in fig.data if trace.name == "cells"]
    assert fig.data[0].type == "heatmap" and targets.type == "scatter"
    assert [tuple(map(int, c[:2])) for c in targets.customdata] == [
        (1, 0), (1, 1), (1, 2), (3, 0), (3, 1), (3, 2)
    ]  # fmt: skip
    # the values go out rounded to 8 decimals
    np.testing.assert_allclose(
        [c[2] for c in targets.customdata], plan[[1, 3]].ravel(), rtol=0, atol=5e-9
    )


def test_summary_and_titles() -> None:
    summary = summarise(_figure1_plan())
    line = summary_line(summary, 5)
    assert "unmatched ground-truth mass **0.000** (of 2)" in line
    assert "mass to ∅ **3.000** (of 5)" in line
    assert cost_title(CostSettings()) == "Cost C = 1 − GIoU, c∅ = 0.8"
    custom = CostSettings(weights=CostWeights(l1_weight=2.0, giou_weight=1.0), background_cost=0.5)
    assert cost_title(custom) == "Cost C = 1·(1 − GIoU) + 2·L1, c∅ = 0.5"
    assert weights_preset(CostWeights(iou_weight=1.0)) == "1 − IoU"
    assert weights_preset(CostWeights(iou_weight=2.0)) is None


def test_settle_heap_freezes_once_per_source_and_module_set():
    import gc

    from uotviz.ui.heap import settle_heap

    try:
        assert settle_heap("test-source-a") is True
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert settle_heap("test-source-a") is False  # nothing new: a no-op
        assert gc.get_freeze_count() == frozen
        assert settle_heap("test-source-b") is True  # a new source is settled again
    finally:
        gc.unfreeze()


def test_senders_lists_the_heaviest_predictions_first() -> None:
    plan = np.zeros((8, 3))
    plan[:, 0] = [0.25, 0.005, 0.0, 0.748, 0.01, 0.0, 0.0, 0.0]
    labels = [str(i + 1) for i in range(8)]
    assert senders(plan, labels, 0) == "4: 0.748, 1: 0.250, 5: 0.010"  # 2 sends too little
    assert senders(plan, labels, 1) == ""
    plan[:, 1] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.2, 0.0]  # six senders: five, then "…"
    assert senders(plan, labels, 1) == "6: 0.600, 5: 0.500, 4: 0.400, 3: 0.300, 2: 0.200, …"
    assert senders(plan, labels, 1, limit=1, min_mass=0.55) == "6: 0.600"


def test_the_summary_table_says_which_predictions_each_ground_truth_received() -> None:
    scene = load_configured(DEMO, demo_config()).dataset.scene(1)  # the Figure 1 photograph
    problem = build_matching_problem(scene, CostSettings())
    plan = solve(problem.cost, 0.05, math.inf, math.inf).plan  # panel (g)
    table = summary_table(summarise(plan), problem, plan.numpy())
    assert list(table) == ["GT", "category", "received", "from", "preds ≥ 0.5", "unmatched"]
    assert table["GT"] == ["A", "B"] and table["category"] == list(problem.gt_names)
    assert table["received"] == pytest.approx([1.0, 1.0], abs=1e-3)
    assert table["from"][0] == "4: 0.748, 1: 0.250"
    assert table["from"][1].startswith("5: 0.631, 4: 0.224, 2: 0.071, 3: 0.062, 1: 0.012")
    assert table["preds ≥ 0.5"] == [1, 1] and table["unmatched"] == [0.0, 0.0]
    assert all(len(column) == 2 for column in table.values())
    # in the side panel: label and category in one column, each "from" entry kept on one line
    narrow = narrow_table(table)
    assert list(narrow) == ["GT", "received", "from", "preds ≥ 0.5", "unmatched"]
    assert narrow["GT"] == [f"A {problem.gt_names[0]}", f"B {problem.gt_names[1]}"]
    assert narrow["from"][0] == "4:\u00a00.748, 1:\u00a00.250"
    assert narrow["received"] == table["received"] and "category" in table  # a copy


def test_app_matrix_figure_draws_the_shown_rows_clickable_and_outlined() -> None:
    from uotviz.plots.matrices import app_matrix_figure

    plan = _figure1_plan().numpy()
    labels, cols = ["1", "2", "3", "4", "5"], ["A", "B", "∅"]
    fig = app_matrix_figure("plan", plan, labels, cols, [1, 3], title="t", outlined=(0, 1))
    heatmap = fig.data[0]
    assert list(heatmap.y) == ["2", "4"] and list(heatmap.x) == cols
    np.testing.assert_allclose(heatmap.z, plan[[1, 3]], rtol=0, atol=5e-9)
    (targets,) = [trace for trace in fig.data if trace.name == "cells"]
    assert sorted({int(c[0]) for c in targets.customdata}) == [1, 3]  # full-matrix rows
    assert len(fig.layout.shapes) == 2  # the outlined row and column
    with pytest.raises(ValueError, match="kind"):
        app_matrix_figure("sums", plan, labels, cols, [0], title="t")
    # for a live chart the heatmap itself carries the cells' [row, column, value]
    live = app_matrix_figure("plan", plan, labels, cols, [1, 3], title="t", cell_targets=False)
    assert [trace.name for trace in live.data if trace.name == "cells"] == []
    cells = live.data[0].customdata
    assert [[cell[:2] for cell in line] for line in cells] == [
        [[1, 0], [1, 1], [1, 2]],
        [[3, 0], [3, 1], [3, 2]],
    ]
    values = [[cell[2] for cell in line] for line in cells]
    np.testing.assert_allclose(values, plan[[1, 3]], rtol=0, atol=5e-9)


def test_a_matrix_with_its_values_written_needs_no_colour_bar() -> None:
    from uotviz.plots.matrices import MAX_CELLS_WITH_TEXT, app_matrix_figure

    small = np.full((5, 3), 0.2)
    labels, cols = [str(i + 1) for i in range(5)], ["A", "B", "∅"]
    plan = app_matrix_figure("plan", small, labels, cols, range(5), title="t")
    heatmap = plan.data[0]
    assert heatmap.texttemplate and heatmap.showscale is False
    assert plan.layout.margin.r == 64  # the sums' title keeps its room
    cost = app_matrix_figure("cost", small, labels, cols, range(5), title="t")
    assert cost.data[0].showscale is False and cost.layout.margin.r == 40  # no sums there
    rows = MAX_CELLS_WITH_TEXT // 3 + 1  # too many cells to write: the colours must be read
    big = app_matrix_figure(
        "plan", np.full((rows, 3), 0.2), [str(i) for i in range(rows)], cols, range(rows), title="t"
    )
    assert not big.data[0].texttemplate and big.data[0].showscale is not False


def test_each_figure1_panel_chooses_its_preset() -> None:
    from uotviz.sliders import CUSTOM
    from uotviz.ui.extras import clicked_preset, figure1_matrices_figure, gallery_plans

    scene = load_configured(DEMO, demo_config()).dataset.scene(1)  # the Figure 1 photograph
    problem = build_matching_problem(scene, CostSettings())
    plans = gallery_plans(problem)
    fig = figure1_matrices_figure(problem, plans)
    heatmaps = [trace for trace in fig.data if trace.type == "heatmap"]
    for heatmap, values in zip(heatmaps, [problem.cost.numpy(), *plans.values()], strict=True):
        np.testing.assert_allclose(heatmap.z, values, rtol=0, atol=5e-9)
    targets = [trace for trace in fig.data if trace.type == "scatter"]
    clicked = [{clicked_preset({"customdata": data}) for data in t.customdata} for t in targets]
    assert clicked == [{preset.name} for preset in figure1.PRESETS]
    assert clicked_preset({"customdata": [CUSTOM, 0.5]}) is None  # not a preset
    assert clicked_preset({"x": "A", "y": "1"}) is None  # the cost panel
    assert clicked_preset(None) is None


def test_the_figure1_matrices_draw_the_rows_that_matter_in_any_preset() -> None:
    from uotviz.ui.extras import gallery_rows

    small = [np.eye(5, 3)] * 6
    assert gallery_rows(small) is None  # all rows
    plans = [np.zeros((200, 3)) for _ in range(3)]
    plans[0][7, 0], plans[2][150, 1] = 0.5, 0.002
    np.testing.assert_array_equal(gallery_rows(plans), [7, 150])
    np.testing.assert_array_equal(gallery_rows([np.zeros((200, 3))]), np.arange(60))


def test_text_from_data_and_urls_is_escaped_for_markdown() -> None:
    from uotviz.readout import escape_markdown

    shown = escape_markdown("![i](http://x.y/b.png)\n## Expired **log in** [a](www.x.y) a@b.c $x$")
    assert "\n" not in shown
    # every Markdown character escaped: none stands without its backslash
    assert re.search(r"(?<!\\)[\[\]()!*#$]", shown) is None, shown
    # bare addresses cannot become links: an invisible word joiner follows http, www and @
    for start in ("http", "www", "@"):
        assert start + "\u2060" in shown
    # what a reader sees is the text itself
    assert re.sub(r"\\(.)", r"\1", shown).replace("\u2060", "").startswith("![i](http://x.y/b")


def test_the_image_caption_says_what_it_counts() -> None:
    scene = load_configured(DEMO, demo_config()).dataset.scene(1)
    problem = build_matching_problem(scene, CostSettings())
    assert image_caption(scene, problem) == (
        "Image 1 · figure1\\_coffee\\.jpg · 480 × 430 px · 2 ground truths to match · 5 predictions"
    )
    crowded = dataclasses.replace(
        scene,
        ground_truths=dataclasses.replace(scene.ground_truths, iscrowd=torch.tensor([True, False])),
    )
    assert image_caption(crowded, build_matching_problem(crowded, CostSettings())).endswith(
        "1 ground truth to match (1 crowd region drawn, not matched) · 5 predictions"
    )
