"""COCO ground truths: boxes, sizes, crowd flags, filters, bad input, image files."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools.cocoeval import COCOeval

import uotviz.data.coco as coco_module
from uotviz.data.coco import ImageMissing, load_annotations, open_image
from uotviz.data.errors import MAX_MESSAGES, DataError

FIXTURE = Path(__file__).parent / "fixtures" / "data" / "instances_small.json"
GOOD = json.loads(FIXTURE.read_text())


def _load(dataset: dict, name: str = "ann.json"):
    return load_annotations(json.dumps(dataset).encode(), name=name)


def test_good_file_loads_with_hand_written_xyxy_boxes():
    index, report = load_annotations(FIXTURE)
    assert report.loaded == 3 + 3 + 5 and report.skipped == 0 and report.messages == []
    assert index.name == "instances_small.json"
    assert index.image_ids() == (139, 285, 632)
    assert dict(index.categories) == {1: "person", 23: "bear", 62: "chair"}

    scene = index.scene(139)
    assert (scene.file_name, scene.width, scene.height) == ("000000000139.jpg", 640, 426)
    gt = scene.ground_truths
    expected = torch.tensor(
        [
            [412.8, 157.61, 465.85, 295.62],
            [7.0, 167.0, 150.0, 261.0],
            [0.0, 0.0, 640.0, 100.0],
            [292.5, 218.0, 353.0, 316.0],
        ],
        dtype=torch.float32,
    )
    assert gt.boxes.dtype == torch.float32
    torch.testing.assert_close(gt.boxes, expected)
    assert gt.labels.tolist() == [1, 62, 1, 62]
    assert gt.iscrowd.tolist() == [False, False, True, False]
    assert gt.annotation_ids.tolist() == [10, 12, 13, 14]
    assert scene.categories == {1: "person", 23: "bear", 62: "chair"}
    assert scene.predictions is None and scene.image_path is None

    torch.testing.assert_close(
        index.scene(285).ground_truths.boxes, torch.tensor([[23.0, 12.5, 562.0, 622.5]])
    )


def test_image_without_annotations_has_empty_ground_truths():
    index, _ = load_annotations(FIXTURE)
    gt = index.scene(632).ground_truths
    assert gt.boxes.shape == (0, 4) and gt.labels.shape == (0,) and len(gt) == 0


def test_bytes_and_file_objects_load_alike():
    data = FIXTURE.read_bytes()
    from_bytes, _ = load_annotations(data, name="upload.json")
    from_file, _ = load_annotations(io.BytesIO(data), name="upload.json")
    assert from_bytes.image_ids() == from_file.image_ids() == (139, 285, 632)
    assert from_bytes.name == "upload.json"


def test_lookups_and_filters():
    index, _ = load_annotations(FIXTURE)
    assert index.file_name(632) == "sub/000000000632.jpg"
    assert index.image_id_for("000000000285.jpg") == 285
    assert index.image_id_for("000000000632.jpg") == 632  # base name of sub/...
    assert index.image_id_for("nope.jpg") is None
    assert index.ids_by_object_count(1) == [139, 285]
    assert index.ids_by_object_count(0, 0) == [632]
    assert index.ids_by_object_count(2, 3) == [139]  # the crowd region does not count
    assert index.ids_with_categories([23]) == [285]
    assert index.ids_with_categories(["chair", "bear"]) == [139, 285]
    assert index.ids_with_categories(["person", "chair"], every=True) == [139]
    with pytest.raises(KeyError, match="'dog' is not in"):
        index.ids_with_categories(["dog"])
    with pytest.raises(KeyError, match="image id 7 is not in instances_small.json"):
        index.scene(7)


def test_scenes_do_not_share_memory_with_the_index():
    index, _ = load_annotations(FIXTURE)
    index.scene(139).ground_truths.boxes.zero_()
    assert index.scene(139).ground_truths.boxes[0, 0] == pytest.approx(412.8)


def test_pycocotools_index_evaluates_perfect_detections():
    index, _ = load_annotations(FIXTURE)
    detections = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1}
        for a in GOOD["annotations"]
        if not a.get("iscrowd")
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(index.coco, index.coco.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b'{"images": [\n  {"id": 1,}\n]}', r"ann\.json: not valid JSON: .* at line 2, column 12"),
        (b"", r"ann\.json: the file is empty"),
        (b"[]", r"top level is a list.*looks like detection results"),
        (b'{"images": []}', r"not a COCO annotations file: missing 'annotations', 'categories'"),
        (b'{"images": {}, "annotations": [], "categories": []}', r"'images' is a dict"),
        (b"\xff\xfe\x00garbage", r"ann\.json: not valid JSON"),
    ],
)
def test_unusable_files_raise_a_named_error(data, match):
    with pytest.raises(DataError, match=match):
        load_annotations(data, name="ann.json")


def test_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match=r"nope\.json: file not found"):
        load_annotations(tmp_path / "nope.json")


def _with(section: str, index: int, record: dict) -> dict:
    dataset = copy.deepcopy(GOOD)
    dataset[section][index] = record
    return dataset


ANN = GOOD["annotations"][1]  # index 1, id 11, image 285


@pytest.mark.parametrize(
    ("section", "record", "message"),
    [
        ("annotations", {**ANN, "bbox": [1, 2, -3, 4]},
         "annotations[1] (id 11): bbox width is -3.0, must be a finite number > 0"),
        ("annotations", {**ANN, "bbox": [1, 2, 3, 0]},
         "annotations[1] (id 11): bbox height is 0.0, must be a finite number > 0"),
        ("annotations", {**ANN, "bbox": [1, 2, 3, float("nan")]},
         "annotations[1] (id 11): bbox height is nan"),
        ("annotations", {**ANN, "bbox": [1, 2, 3]},
         "annotations[1] (id 11): bbox must be a list of 4 numbers"),
        ("annotations", {**ANN, "bbox": ["1", 2, 3, 4]},
         "annotations[1] (id 11): bbox must be a list of 4 numbers"),
        ("annotations", {k: v for k, v in ANN.items() if k != "bbox"},
         "annotations[1] (id 11): missing 'bbox'"),
        ("annotations", {**ANN, "image_id": 999},
         "annotations[1] (id 11): image_id 999 is not in 'images'"),
        ("annotations", {**ANN, "category_id": 5},
         "annotations[1] (id 11): category_id 5 is not in 'categories'"),
        ("annotations", {**ANN, "id": 10}, "annotations[1] (id 10): duplicate annotation id 10"),
        ("annotations", {**ANN, "iscrowd": 2}, "annotations[1] (id 11): iscrowd must be 0 or 1"),
        ("annotations", {**ANN, "image_id": "285"},
         "annotations[1] (id 11): image_id must be an integer, got '285'"),
        ("annotations", [1, 2], "annotations[1]: is a list, not an object"),
        # numbers beyond what the arrays hold: skipped records, not an OverflowError
        ("annotations", {**ANN, "id": 2**63},
         "annotations[1] (id 9223372036854775808): id 9223372036854775808 is out of range: "
         "ids are 64-bit integers"),
        ("annotations", {**ANN, "image_id": 1e308},
         "annotations[1] (id 11): image_id 1e+308 is out of range: ids are 64-bit integers"),
        ("annotations", {**ANN, "category_id": -(2**63) - 1},
         "annotations[1] (id 11): category_id -9223372036854775809 is out of range"),
        ("annotations", {**ANN, "bbox": [0, 0, 10**400, 1]},
         "annotations[1] (id 11): bbox must be a list of 4 numbers [x, y, width, height], got "
         "[0, 0, 10000000000000000000000000000000…"),
        # finite in JSON, infinite (or an infinite area) in the 32-bit floats of the costs
        ("annotations", {**ANN, "bbox": [0, 0, 1e308, 10]},
         "annotations[1] (id 11): bbox [0.0, 0.0, 1e+308, 10.0] reaches beyond 1e+08 pixels"),
        ("annotations", {**ANN, "bbox": [-1e30, 0, 5, 5]},
         "annotations[1] (id 11): bbox [-1e+30, 0.0, 5.0, 5.0] reaches beyond 1e+08 pixels"),
    ],
)  # fmt: skip
def test_bad_annotation_is_skipped_and_the_rest_load(section, record, message):
    index, report = _load(_with(section, 1, record))
    assert report.messages == [f"ann.json: {message}"] or report.messages[0].startswith(
        f"ann.json: {message}"
    )
    assert report.skipped == 1 and report.loaded == 3 + 3 + 4
    assert index.scene(139).ground_truths.annotation_ids.tolist() == [10, 12, 13, 14]
    assert len(index.scene(285).ground_truths) == 0
    assert index.coco.getAnnIds() == [10, 12, 13, 14]


def test_bad_image_record_skips_it_and_names_its_annotations():
    image = {k: v for k, v in GOOD["images"][1].items() if k != "width"}
    index, report = _load(_with("images", 1, image))
    assert report.messages == [
        "ann.json: images[1] (id 285): missing 'width'",
        "ann.json: annotations[1] (id 11): image_id 285 was skipped (see its message)",
    ]
    assert index.image_ids() == (139, 632) and report.skipped == 2


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": 285, "file_name": "x.jpg", "width": 0, "height": 10},
         "images[1] (id 285): width and height must be positive integers, got 0 x 10"),
        ({"id": 139, "file_name": "x.jpg", "width": 5, "height": 10},
         "images[1] (id 139): duplicate image id 139"),
        ({"id": 285, "file_name": "", "width": 5, "height": 10},
         "images[1] (id 285): file_name must be a non-empty string, got ''"),
    ],
)  # fmt: skip
def test_bad_image_records(record, message):
    index, report = _load(_with("images", 1, record))
    assert report.messages[0] == f"ann.json: {message}"
    assert 139 in index and 632 in index


def test_bad_category_skips_it_and_its_annotations():
    index, report = _load(_with("categories", 1, {"id": 23}))
    assert report.messages == [
        "ann.json: categories[1] (id 23): name missing or not a string",
        "ann.json: annotations[1] (id 11): category_id 23 is not in 'categories'",
    ]
    assert dict(index.categories) == {1: "person", 62: "chair"}


def test_many_bad_records_are_counted_and_summarised():
    dataset = copy.deepcopy(GOOD)
    bad = [{**ANN, "id": 1000 + i, "bbox": [0, 0, -1, 1]} for i in range(MAX_MESSAGES + 200)]
    dataset["annotations"] += bad
    _, report = _load(dataset)
    assert report.skipped == MAX_MESSAGES + 200 and report.loaded == 11
    assert len(report.messages) == MAX_MESSAGES + 1
    assert report.messages[-1] == "ann.json: 200 more problems not listed"


def test_ids_and_sizes_given_as_integral_floats_are_accepted():
    dataset = copy.deepcopy(GOOD)
    dataset["images"][0].update(id=139.0, width=640.0)
    index, report = _load(dataset)
    assert report.skipped == 0 and index.image_info(139).width == 640


# ------------------------------------------------------------------------------ image files


def _index_with_image(tmp_path: Path, size: tuple[int, int], file_size: tuple[int, int] | None):
    images = tmp_path / "images"
    images.mkdir()
    width, height = size
    if file_size is not None:
        pixels = np.zeros((file_size[1], file_size[0], 3), dtype=np.uint8)
        pixels[:, : file_size[0] // 2] = 255  # left half white
        Image.fromarray(pixels).save(images / "a.png")
    dataset = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": width, "height": height},
            {"id": 2, "file_name": "../outside.png", "width": width, "height": height},
        ],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]}],
    }
    index, _ = load_annotations(json.dumps(dataset).encode(), name="a.json", images_dir=images)
    return index, images


def test_open_image_at_full_size(tmp_path):
    index, images = _index_with_image(tmp_path, (120, 80), (120, 80))
    scene = index.scene(1)
    assert scene.image_path == (images / "a.png").resolve()
    opened = open_image(scene)
    assert opened.scale == 1.0 and opened.image.size == (120, 80) and opened.messages == ()
    assert opened.image.mode == "RGB"


def test_open_image_downscales_large_images_and_returns_the_scale(tmp_path):
    index, _ = _index_with_image(tmp_path, (400, 200), (400, 200))
    opened = open_image(index.scene(1), max_side=100)
    assert opened.scale == pytest.approx(0.25)
    assert opened.image.size == (100, 50)
    # a box on the white half's edge lands on the scaled edge
    box = index.scene(1).ground_truths.boxes * opened.scale
    torch.testing.assert_close(box, torch.tensor([[0.0, 0.0, 2.5, 2.5]]))
    pixels = np.asarray(opened.image)
    assert pixels[25, 40].min() > 200 and pixels[25, 60].max() < 50


def test_open_image_reports_a_size_mismatch_and_stretches_to_the_annotated_size(tmp_path):
    index, _ = _index_with_image(tmp_path, (120, 80), (60, 40))
    opened = open_image(index.scene(1))
    assert opened.image.size == (120, 80) and opened.scale == 1.0
    assert opened.messages == (
        "image 1 (a.png): the file is 60 x 40 pixels but the annotations say 120 x 80; it was "
        "stretched to the annotated size, so boxes may not match the picture",
    )


def test_open_image_errors(tmp_path):
    index, images = _index_with_image(tmp_path, (120, 80), None)
    missing = r"^image 1 \(a\.png\): file not found in the images folder$"  # no server path
    with pytest.raises(ImageMissing, match=missing):
        open_image(index.scene(1))
    (images / "a.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"image 1 \(a\.png\): cannot read the image"):
        open_image(index.scene(1))
    # a file name leading outside the folder: no path, and open_image says so
    assert index.scene(2).image_path is None
    with pytest.raises(ValueError, match="leads outside the images folder"):
        index.image_path(2)
    with pytest.raises(ImageMissing, match=r"image 2 \(\.\./outside\.png\): no image file"):
        open_image(index.scene(2))
    without_folder = index.with_images(None)
    with pytest.raises(DataError, match="no image file"):
        open_image(without_folder.scene(1))


def test_open_image_refuses_more_pixels_than_the_limit(tmp_path, monkeypatch):
    """A decompression bomb: a PNG of few bytes and many pixels is refused before decoding."""
    monkeypatch.setattr(coco_module, "MAX_IMAGE_PIXELS", 4000)
    index, _ = _index_with_image(tmp_path, (80, 60), (80, 60))  # 4,800 pixels
    with pytest.raises(
        DataError,
        match=r"image 1 \(a\.png\): 80 x 60 pixels \(0 megapixels\) to decode, over the 0 "
        r"megapixel limit on pictures",
    ):
        open_image(index.scene(1))


def test_open_image_decodes_a_large_jpeg_at_a_reduced_size(tmp_path, monkeypatch):
    """A JPEG far larger than its annotated size (a 12000 x 12000 file annotated as 640 x 480
    would take 0.4 GB) is decoded at 1/8 of its size, under the limit, and stretched to the
    annotated size with the size-mismatch message."""
    monkeypatch.setattr(coco_module, "MAX_IMAGE_PIXELS", 100_000)
    index, images = _index_with_image(tmp_path, (60, 40), None)
    Image.new("RGB", (800, 800), "red").save(images / "a.png", format="JPEG")  # 640,000 pixels
    opened = open_image(index.scene(1))
    assert opened.image.size == (60, 40) and opened.image.getpixel((5, 5))[0] > 200
    assert opened.messages[0].startswith("image 1 (a.png): the file is 800 x 800 pixels")


def test_open_image_from_uploaded_bytes(tmp_path):
    index, _ = _index_with_image(tmp_path, (120, 80), None)
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), "red").save(buffer, format="JPEG")
    opened = open_image(index.with_images(None).scene(1), data=buffer.getvalue())
    assert opened.image.size == (120, 80) and opened.image.getpixel((5, 5))[0] > 200
