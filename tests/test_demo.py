"""The embedded demo dataset: files present, valid COCO, Figure 1 exact, sources listed."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from pycocotools.coco import COCO

from uotviz import figure1
from uotviz.boxes import box_iou
from uotviz.costs import matching_cost
from uotviz.data.demo import (
    DEMO_ANNOTATIONS,
    DEMO_DIR,
    DEMO_IMAGES,
    DEMO_PREDICTIONS,
    FIGURE1_IMAGE_ID,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES = REPO_ROOT / "uotviz" / "data" / "demo_dataset" / "SOURCES.md"

# MATH.md §3: 1 - GIoU between predictions 1..5 (rows) and A, B, then the background 0.8
FIGURE1_COST = [
    [0.6137, 0.9602, 0.8],
    [1.3435, 0.8827, 0.8],
    [0.8772, 0.8896, 0.8],
    [0.3961, 0.6508, 0.8],
    [1.1056, 0.7272, 0.8],
]


def _xyxy(bbox: list[float]) -> list[float]:
    x, y, w, h = bbox
    return [x, y, x + w, y + h]


@pytest.fixture(scope="module")
def instances() -> dict:
    return json.loads(DEMO_ANNOTATIONS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def predictions() -> list[dict]:
    return json.loads(DEMO_PREDICTIONS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def coco(instances: dict) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = instances
        c.createIndex()
    return c


def test_paths_point_into_the_repository() -> None:
    assert DEMO_DIR == REPO_ROOT / "uotviz" / "data" / "demo_dataset"
    for path in (DEMO_DIR, DEMO_IMAGES):
        assert path.is_dir(), path
    for path in (DEMO_ANNOTATIONS, DEMO_PREDICTIONS):
        assert path.is_file(), path


def test_every_image_exists_with_its_stated_size(coco: COCO) -> None:
    images = coco.loadImgs(coco.getImgIds())
    assert len(images) >= 6
    for info in images:
        path = DEMO_IMAGES / info["file_name"]
        assert path.is_file(), path
        with Image.open(path) as image:
            assert image.format == "JPEG", path
            assert image.size == (info["width"], info["height"]), path
            assert max(image.size) <= 800, path


def test_annotations_are_valid_coco(coco: COCO, instances: dict) -> None:
    image_ids = set(coco.getImgIds())
    category_ids = set(coco.getCatIds())
    assert all(c["name"] for c in instances["categories"])
    annotation_ids = [a["id"] for a in instances["annotations"]]
    assert len(set(annotation_ids)) == len(annotation_ids)
    for ann in instances["annotations"]:
        assert ann["image_id"] in image_ids and ann["category_id"] in category_ids, ann
        x, y, w, h = ann["bbox"]
        info = coco.imgs[ann["image_id"]]
        assert w > 0 and h > 0 and ann["area"] > 0 and ann["iscrowd"] == 0, ann
        assert x >= 0 and y >= 0 and x + w <= info["width"] and y + h <= info["height"], ann
    counts = {i: len(coco.getAnnIds(imgIds=[i])) for i in image_ids}
    assert all(n >= 2 for n in counts.values()), counts
    assert max(counts.values()) >= 20, counts


def test_predictions_reference_known_ids(coco: COCO, predictions: list[dict]) -> None:
    image_ids = set(coco.getImgIds())
    category_ids = set(coco.getCatIds())
    assert predictions
    for p in predictions:
        assert set(p) == {"image_id", "category_id", "bbox", "score"}, p
        assert p["image_id"] in image_ids and p["category_id"] in category_ids, p
        assert p["bbox"][2] > 0 and p["bbox"][3] > 0 and 0.0 <= p["score"] <= 1.0, p
    assert {p["image_id"] for p in predictions} == image_ids
    with contextlib.redirect_stdout(io.StringIO()):
        results = coco.loadRes(predictions)
    assert len(results.getAnnIds()) == len(predictions)


def test_figure1_scene_is_the_papers(coco: COCO, predictions: list[dict]) -> None:
    info = coco.imgs[FIGURE1_IMAGE_ID]
    assert info["width"] >= 470 and info["height"] >= 430
    anns = sorted(coco.loadAnns(coco.getAnnIds(imgIds=[FIGURE1_IMAGE_ID])), key=lambda a: a["id"])
    gts = [_xyxy(a["bbox"]) for a in anns]
    assert gts == [list(b) for b in figure1.GROUND_TRUTHS_XYXY]
    preds = [_xyxy(p["bbox"]) for p in predictions if p["image_id"] == FIGURE1_IMAGE_ID]
    assert preds == [list(b) for b in figure1.PREDICTIONS_XYXY]

    cost = matching_cost(torch.tensor(preds), torch.tensor(gts), background_cost=0.8)
    torch.testing.assert_close(
        cost, torch.tensor(FIGURE1_COST), atol=1e-4, rtol=0.0, check_dtype=False
    )


def test_predictions_show_duplicates_misses_and_false_positives(
    coco: COCO, predictions: list[dict]
) -> None:
    duplicates = misses = false_positives = 0
    for image_id in coco.getImgIds():
        gts = [_xyxy(a["bbox"]) for a in coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))]
        preds = [_xyxy(p["bbox"]) for p in predictions if p["image_id"] == image_id]
        iou = box_iou(torch.tensor(preds), torch.tensor(gts))  # [N, M]
        hits = iou >= 0.5
        duplicates += int((hits.sum(dim=0) - 1).clamp(min=0).sum())
        misses += int((~hits.any(dim=0)).sum())
        false_positives += int((~hits.any(dim=1)).sum())
    assert duplicates > 0 and misses > 0 and false_positives > 0


def test_every_demo_file_is_listed_in_sources() -> None:
    text = SOURCES.read_text(encoding="utf-8")
    files = sorted(p for p in DEMO_DIR.rglob("*") if p.is_file() and p != SOURCES)
    assert files
    for path in files:
        name = path.relative_to(REPO_ROOT).as_posix()
        assert f"`{name}`" in text, f"{name} is not named in {SOURCES.name}"


def test_demo_stays_small() -> None:
    total = sum(p.stat().st_size for p in DEMO_DIR.rglob("*") if p.is_file())
    assert total < 3_000_000, total
