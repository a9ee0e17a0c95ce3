"""The app's pure helpers: sources from uploads, image browsing, click decoding, read-outs."""

from __future__ import annotations

import io
import json
import math
import random

import numpy as np
import pytest
import torch
from PIL import Image

from uotviz import figure1
from uotviz.browse import filter_images, image_label, random_image, step_image
from uotviz.costs import CostWeights, matching_cost
from uotviz.data.errors import DataError
from uotviz.figures import add_cell_targets, plan_figure
from uotviz.matching import CostSettings, summarise
from uotviz.readout import cost_title, rows_to_draw, summary_line, weights_preset
from uotviz.selection import cell_from_point, scene_pick_from_point
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
    with pytest.raises(ValueError):
        load_uploads(good, UploadedFile("det.json", b"[1, 2"))


def test_demo_source_and_browsing() -> None:
    source = load_configured(DEMO, demo_config())
    index = source.dataset.index
    ids = list(source.dataset.image_ids())
    assert ids == [1, 2, 3, 4, 5, 6, 7]
    assert image_label(index, 1) == "1 · figure1_coffee.jpg"
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
    assert cell_from_point({"customdata": [3, 0, 0.7]}, gt_count=2) == (3, 0)
    assert cell_from_point({"customdata": [3, 2, 0.7]}, gt_count=2) == (3, None)  # ∅
    assert cell_from_point({"x": "A"}, gt_count=2) == (None, None)
    rows, cols = ("1", "2", "3"), ("A", "B", "∅")
    assert scene_pick_from_point({"text": "<b>2</b> cup<br>score 0.9"}, rows, cols) == (1, None)
    assert scene_pick_from_point({"text": "<b>B</b> saucer"}, rows, cols) == (None, 1)
    assert scene_pick_from_point({"text": "3 → A: 0.500"}, rows, cols) == (2, 0)
    assert scene_pick_from_point({"text": "∅", "customdata": ["1", 0.6]}, rows, cols) == (0, None)
    assert scene_pick_from_point({"x": 3.0}, rows, cols) == (None, None)


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
    plan[:, 1] = np.linspace(0.01, 1, 100)  # every row carries mass: the 60 heaviest
    rows = rows_to_draw(plan)
    assert len(rows) == 60 and (np.diff(rows) > 0).all() and 99 in rows


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


def test_markdown_table_aligns_numbers_and_escapes_text() -> None:
    from uotviz.readout import markdown_table

    table = markdown_table({"GT": ["A", "B"], "category": ["cup", "a|b\\c"], "mass": [1.0, 0.25]})
    assert table.splitlines() == [
        "| GT | category | mass |",
        "| :--- | :--- | ---: |",
        "| A | cup | 1.000 |",
        "| B | a\\|b\\\\c | 0.250 |",
    ]
    with pytest.raises(ValueError):
        markdown_table({"GT": ["A"], "mass": [1.0, 2.0]})


def test_app_matrix_figure_draws_the_shown_rows_clickable_and_outlined() -> None:
    from uotviz.figures import app_matrix_figure

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
    from uotviz.figures import MAX_CELLS_WITH_TEXT, app_matrix_figure

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
