"""Detector predictions: detection results JSON, set-prediction .npz, selection, the dataset."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import uotviz.data.predictions as predictions_module
from uotviz.data.coco import load_annotations
from uotviz.data.config import DataConfig
from uotviz.data.dataset import Dataset, load_dataset
from uotviz.data.errors import DataError
from uotviz.data.predictions import (
    load_detection_results,
    load_predictions,
    load_set_predictions,
    select,
)
from uotviz.data.types import Predictions

FIXTURES = Path(__file__).parent / "fixtures" / "data"
ANNOTATIONS = FIXTURES / "instances_small.json"
DETECTIONS = FIXTURES / "detections_small.json"
GOOD = json.loads(DETECTIONS.read_text())
SIZES = {139: (640, 426), 285: (586, 640), 632: (640, 483)}


@pytest.fixture(scope="module")
def index():
    return load_annotations(ANNOTATIONS)[0]


def _results(records, index, name="preds.json"):
    return load_detection_results(json.dumps(records).encode(), index, name=name)


# ------------------------------------------------------------------------ detection results


def test_detection_results_load_with_hand_written_xyxy_boxes(index):
    predictions, report = load_detection_results(DETECTIONS, index)
    assert report.loaded == 4 and report.skipped == 0 and report.messages == []
    assert sorted(predictions) == [139, 285]  # 632 has no detection: no key
    p = predictions[139]
    torch.testing.assert_close(
        p.boxes,
        torch.tensor([[410.0, 160.0, 460.0, 300.0], [5.5, 170.0, 145.5, 260.0], [0, 0, 10, 20]]),
    )
    torch.testing.assert_close(p.scores, torch.tensor([0.92, 0.41, 0.05]))
    assert p.labels.tolist() == [1, 62, 1]  # file order kept
    assert p.class_probs is None and p.class_ids is None
    assert p.source == "detections_small.json"
    assert p.boxes.dtype == torch.float32 and p.labels.dtype == torch.int64
    torch.testing.assert_close(predictions[285].boxes, torch.tensor([[20.0, 10.0, 560.0, 610.0]]))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"[]", r"preds\.json: contains no detections \(an empty list\)"),
        (b"", r"preds\.json: the file is empty"),
        (b"  \n", r"preds\.json: the file is empty"),
        (b'[{"image_id": 139,\n "score": .5}]', r"not valid JSON: .* at line 2, column 11"),
        (b'{"annotations": []}', r"top level is a dict.*looks like a COCO annotations file"),
        (b"42", r"top level is a int, expected a list"),
    ],
)
def test_unusable_results_files(index, data, match):
    with pytest.raises(DataError, match=match):
        load_detection_results(data, index, name="preds.json")


GOOD_RECORD = GOOD[1]  # image 285


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**GOOD_RECORD, "image_id": 7}, "record 1 (image_id 7): image_id 7 is not in the "
         "annotations (instances_small.json)"),
        ({**GOOD_RECORD, "category_id": 2}, "record 1 (image_id 285): category_id 2 is not a "
         "category of the annotations (instances_small.json)"),
        ({**GOOD_RECORD, "bbox": [1, 2, -3, 4]},
         "record 1 (image_id 285): bbox width is -3.0, must be a finite number > 0"),
        ({**GOOD_RECORD, "bbox": [1, 2, 3, 0]},
         "record 1 (image_id 285): bbox height is 0.0, must be a finite number > 0"),
        ({**GOOD_RECORD, "bbox": [float("nan"), 2, 3, 4]},
         "record 1 (image_id 285): bbox corner (nan, 2.0) is not finite"),
        ({**GOOD_RECORD, "score": float("nan")},
         "record 1 (image_id 285): score is nan, must be a number in [0, 1]"),
        ({**GOOD_RECORD, "score": 1.5},
         "record 1 (image_id 285): score is 1.5, must be a number in [0, 1]"),
        ({**GOOD_RECORD, "score": -0.1},
         "record 1 (image_id 285): score is -0.1, must be a number in [0, 1]"),
        ({k: v for k, v in GOOD_RECORD.items() if k != "score"},
         "record 1 (image_id 285): missing 'score'"),
        ({"bbox": [1, 2, 3, 4]}, "record 1: missing 'image_id', 'category_id', 'score'"),
        ({**GOOD_RECORD, "bbox": "1 2 3 4"},
         "record 1 (image_id 285): bbox must be a list of 4 numbers [x, y, width, height], "
         "got '1 2 3 4'"),
        ({**GOOD_RECORD, "image_id": "285"},
         "record 1 (image_id '285'): image_id must be an integer, got '285'"),
        ({**GOOD_RECORD, "score": "high"},
         "record 1 (image_id 285): score must be a number, got 'high'"),
        ("not a record", "record 1: is a str, not an object"),
        # numbers beyond what the arrays hold: skipped records, not an OverflowError
        ({**GOOD_RECORD, "image_id": 2**63},
         "record 1 (image_id 9223372036854775808): image_id 9223372036854775808 is out of "
         "range: ids are 64-bit integers"),
        ({**GOOD_RECORD, "category_id": 1e308},
         "record 1 (image_id 285): category_id 1e+308 is out of range: ids are 64-bit "
         "integers"),
        ({**GOOD_RECORD, "score": 10**400},
         "record 1 (image_id 285): score must be a number, got "
         "100000000000000000000000000000000000000…"),
        # finite in JSON, infinite (or an infinite area) in the 32-bit floats of the costs
        ({**GOOD_RECORD, "bbox": [1, 2, 1e308, 4]},
         "record 1 (image_id 285): bbox [1.0, 2.0, 1e+308, 4.0] reaches beyond 1e+08 pixels "
         "from the origin"),
        ({**GOOD_RECORD, "bbox": [1, 2, 3, 1e25]},
         "record 1 (image_id 285): bbox [1.0, 2.0, 3.0, 1e+25] reaches beyond 1e+08 pixels "
         "from the origin"),
    ],
)  # fmt: skip
def test_bad_result_records_are_skipped_and_the_rest_load(index, record, message):
    records = copy.deepcopy(GOOD)
    records[1] = record
    predictions, report = _results(records, index)
    assert report.messages == [f"preds.json: {message}"]
    assert report.skipped == 1 and report.loaded == 3
    assert len(predictions[139]) == 3 and 285 not in predictions


def test_integral_float_ids_are_accepted(index):
    records = copy.deepcopy(GOOD)
    records[1]["image_id"] = 285.0
    predictions, report = _results(records, index)
    assert report.skipped == 0 and len(predictions[285]) == 1


def test_results_agree_with_pycocotools_load_res(index):
    predictions, _ = load_detection_results(DETECTIONS, index)
    with contextlib.redirect_stdout(io.StringIO()):
        results = index.coco.loadRes(copy.deepcopy(GOOD))
    for image_id, p in predictions.items():
        anns = results.loadAnns(results.getAnnIds(imgIds=[image_id]))
        xywh = torch.tensor([a["bbox"] for a in anns], dtype=torch.float32)
        expected = torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1)
        torch.testing.assert_close(p.boxes, expected)


# ------------------------------------------------------------------------ set predictions


CLASS_IDS = np.array([1, 23, 62])


def _write_npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _raw_outputs(seed: int = 0, queries: int = 6):
    rng = np.random.default_rng(seed)
    arrays = {"class_ids": CLASS_IDS}
    for image_id in (139, 285):
        arrays[f"logits_{image_id}"] = rng.normal(0, 3, (queries, 4)).astype(np.float32)
        cxcy = rng.uniform(0.3, 0.7, (queries, 2))
        wh = rng.uniform(0.05, 0.4, (queries, 2))
        arrays[f"boxes_{image_id}"] = np.concatenate([cxcy, wh], axis=1).astype(np.float32)
    return arrays


def _numpy_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _numpy_xyxy(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    cx, cy, w, h = (boxes[:, i].astype(np.float64) for i in range(4))
    return np.stack(
        [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height],
        axis=1,
    )


def test_npz_round_trip(index, tmp_path):
    arrays = _raw_outputs()
    path = tmp_path / "outputs.npz"
    np.savez_compressed(path, **arrays)
    predictions, report = load_set_predictions(path, index)
    assert report.loaded == 12 and report.skipped == 0 and report.messages == []
    assert sorted(predictions) == [139, 285]
    for image_id, p in predictions.items():
        logits = arrays[f"logits_{image_id}"].astype(np.float64)
        probs = _numpy_softmax(logits)
        np.testing.assert_allclose(p.class_probs.numpy(), probs, rtol=1e-5, atol=1e-7)
        best = probs[:, :3].argmax(axis=1)
        assert p.labels.tolist() == CLASS_IDS[best].tolist()
        np.testing.assert_allclose(p.scores.numpy(), probs[np.arange(6), best], rtol=1e-5)
        expected = _numpy_xyxy(arrays[f"boxes_{image_id}"], *SIZES[image_id])
        np.testing.assert_allclose(p.boxes.numpy(), expected, rtol=1e-5, atol=1e-3)
        assert p.class_ids.tolist() == [1, 23, 62]
        assert p.class_probs.shape == (6, 4) and p.boxes.dtype == torch.float32
        assert p.source == "outputs.npz"


def test_load_predictions_recognises_both_formats(index):
    from_npz, _ = load_predictions(_write_npz(_raw_outputs()), index, name="o.npz")
    assert from_npz[139].class_probs is not None
    from_json, _ = load_predictions(DETECTIONS.read_bytes(), index, name="d.json")
    assert from_json[139].class_probs is None and len(from_json[139]) == 3


def test_npz_bad_queries_are_skipped(index):
    arrays = _raw_outputs()
    arrays["logits_139"][1, 2] = np.nan
    arrays["boxes_139"][3, 0] = 1.5
    arrays["boxes_139"][4, 3] = 0.0
    predictions, report = load_set_predictions(_write_npz(arrays), index, name="o.npz")
    assert report.messages == [
        "o.npz: image 139: queries 1 skipped: logits or box not finite",
        "o.npz: image 139: queries 3 skipped: box values outside [0, 1]",
        "o.npz: image 139: queries 4 skipped: box width or height is 0",
    ]
    assert report.skipped == 3 and report.loaded == 9
    assert len(predictions[139]) == 3 and len(predictions[285]) == 6
    kept = arrays["logits_139"][[0, 2, 5]].astype(np.float64)
    np.testing.assert_allclose(
        predictions[139].class_probs.numpy(), _numpy_softmax(kept), rtol=1e-5
    )


@pytest.mark.parametrize(
    ("change", "message", "skipped", "kept"),
    [
        (lambda a: a.update(logits_7=a["logits_139"], boxes_7=a["boxes_139"]),
         "o.npz: image 7: image id not in the annotations (instances_small.json)", 6, [139, 285]),
        (lambda a: a.pop("boxes_139"), "o.npz: image 139: logits_139 has no matching boxes_139",
         1, [285]),
        (lambda a: a.update(logits_139=a["logits_139"][:, :3]),
         "o.npz: image 139: logits_139 must be a (N, 4) float array (K = 3 classes + no object), "
         "got float32 (6, 3)", 6, [285]),
        (lambda a: a.update(boxes_139=a["boxes_139"][:5]),
         "o.npz: image 139: boxes_139 must be a (6, 4) float array (normalised cx, cy, w, h), "
         "got float32 (5, 4)", 6, [285]),
    ],
)  # fmt: skip
def test_npz_bad_images_are_skipped(index, change, message, skipped, kept):
    arrays = _raw_outputs()
    change(arrays)
    predictions, report = load_set_predictions(_write_npz(arrays), index, name="o.npz")
    assert report.messages == [message]
    assert report.skipped == skipped and report.loaded == 6 * len(kept)
    assert sorted(predictions) == kept


def test_npz_unknown_class_ids_get_label_minus_one(index):
    arrays = _raw_outputs()
    arrays["class_ids"] = np.array([1, 23, 99])
    arrays["logits_139"][:, 2] = 50.0  # class 99 wins everywhere on image 139
    predictions, report = load_set_predictions(_write_npz(arrays), index, name="o.npz")
    assert report.messages == [
        "o.npz: class_ids 99 are not categories of instances_small.json; "
        "predictions of those classes get label -1"
    ]
    assert predictions[139].labels.tolist() == [-1] * 6
    assert report.skipped == 0


def test_npz_unrelated_arrays_are_noted(index):
    arrays = _raw_outputs()
    arrays["notes"] = np.zeros(3)
    _, report = load_set_predictions(_write_npz(arrays), index, name="o.npz")
    assert report.messages == [
        "o.npz: array 'notes' ignored (expected logits_<image_id>, boxes_<image_id>)"
    ]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"PK\x03\x04 broken zip", r"o\.npz: not a readable \.npz archive"),
        (b"", r"o\.npz: the file is empty"),
        (_write_npz({"logits_139": np.zeros((2, 4))}), r"no 'class_ids' array"),
        (_write_npz({"class_ids": np.array([1.0, 2.0])}), r"'class_ids' must be a non-empty 1-D"),
        (_write_npz({"class_ids": np.array([1, 1])}), r"'class_ids' has repeated ids"),
        (_write_npz({"class_ids": CLASS_IDS}), r"no logits_<image_id> / boxes_<image_id> arrays"),
        (_write_npz({"class_ids": np.array([{"a": 1}], dtype=object)}), r"o\.npz: cannot read"),
    ],
)
def test_unusable_npz_files(index, data, match):
    with pytest.raises(DataError, match=match):
        load_set_predictions(data, index, name="o.npz")


def _npz_claiming(shape: tuple[int, ...]) -> bytes:
    """An .npz whose logits_139 header claims ``shape`` (float32) but holds 16 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("class_ids.npy", _npy(CLASS_IDS))
        archive.writestr(
            "logits_139.npy",
            header.getvalue() + bytes(16),  # the header starts with the magic
        )
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_an_npz_header_claiming_a_huge_shape_is_refused_before_allocating(index):
    """(10**6, 10**5) float32 would be 400 GB: refused from the header, no MemoryError."""
    with pytest.raises(
        DataError,
        match=r"o\.npz: array 'logits_139' claims the shape "
        r"\(1000000, 100000\) \(400,000,000,000 bytes of float32\) but holds",
    ):
        load_set_predictions(_npz_claiming((10**6, 10**5)), index, name="o.npz")


def test_an_npz_that_inflates_past_the_limit_is_refused_before_decompressing(index, monkeypatch):
    """A decompression bomb: a small file whose members inflate past the limit."""
    bomb = io.BytesIO()
    np.savez_compressed(bomb, class_ids=CLASS_IDS, logits_139=np.zeros((1000, 1000)))
    assert len(bomb.getvalue()) < 20_000  # 8 MB of zeros, compressed
    monkeypatch.setattr(predictions_module, "MAX_NPZ_UNCOMPRESSED_BYTES", 1_000_000)
    with pytest.raises(
        DataError, match=r"o\.npz: 8 MB once decompressed, over the 1 MB limit on \.npz files"
    ):
        load_set_predictions(bomb.getvalue(), index, name="o.npz")


def test_the_npz_limit_holds_the_outputs_of_coco_val2017():
    """5,000 images x 300 queries x (91 classes + no object) in float32, boxes included."""
    assert 5000 * 300 * (92 + 4) * 4 < predictions_module.MAX_NPZ_UNCOMPRESSED_BYTES


# ------------------------------------------------------------------------ selection


def _predictions() -> Predictions:
    scores = torch.tensor([0.2, 0.9, 0.5, 0.9, 0.1])
    probs = torch.rand(5, 3)
    return Predictions(
        boxes=torch.arange(20, dtype=torch.float32).reshape(5, 4),
        scores=scores,
        labels=torch.tensor([1, 2, 3, 4, 5]),
        class_probs=probs,
        class_ids=torch.tensor([1, 2]),
        source="s",
    )


def test_select_by_threshold_keeps_order_and_aligns_rows():
    p = _predictions()
    kept = select(p, score_threshold=0.5)
    assert kept.labels.tolist() == [2, 3, 4]
    torch.testing.assert_close(kept.boxes, p.boxes[[1, 2, 3]])
    torch.testing.assert_close(kept.class_probs, p.class_probs[[1, 2, 3]])
    assert kept.class_ids.tolist() == [1, 2] and kept.source == "s"


def test_select_top_k_takes_the_best_in_original_order_ties_to_the_earlier():
    p = _predictions()
    assert select(p, top_k=2).labels.tolist() == [2, 4]
    assert select(p, top_k=3).labels.tolist() == [2, 3, 4]
    assert select(p, score_threshold=0.15, top_k=10).labels.tolist() == [1, 2, 3, 4]
    assert len(select(p, top_k=0)) == 0 and select(p, top_k=0).boxes.shape == (0, 4)
    assert len(select(Predictions(), top_k=3)) == 0


def test_select_rejects_bad_arguments():
    with pytest.raises(ValueError, match="top_k must be >= 0"):
        select(_predictions(), top_k=-1)
    with pytest.raises(ValueError, match="score_threshold is NaN"):
        select(_predictions(), score_threshold=float("nan"))


# ------------------------------------------------------------------------ dataset


def test_dataset_joins_ground_truths_and_predictions(index):
    predictions, _ = load_detection_results(DETECTIONS, index)
    dataset = Dataset(index, predictions, "detections_small.json")
    assert dataset.image_ids() == (139, 285, 632) and len(dataset) == 3
    scene = dataset.scene(139)
    assert len(scene.predictions) == 3 and len(scene.ground_truths) == 4
    empty = dataset.scene(632).predictions
    assert len(empty) == 0 and empty.source == "detections_small.json"
    assert Dataset(index).scene(139).predictions is None
    assert Dataset(index, predictions).scene(632).predictions.source == "detections_small.json"
    with pytest.raises(TypeError):
        dataset.predictions[5] = empty  # read-only


def test_load_dataset_from_a_config(tmp_path):
    dataset, report = load_dataset(
        DataConfig(annotations=ANNOTATIONS, images=tmp_path, predictions=DETECTIONS)
    )
    assert report.loaded == 11 + 4 and report.skipped == 0
    scene = dataset.scene(285)
    assert scene.image_path == (tmp_path / "000000000285.jpg").resolve()
    assert len(scene.predictions) == 1
    with pytest.raises(DataError, match="no annotations file"):
        load_dataset(DataConfig())
