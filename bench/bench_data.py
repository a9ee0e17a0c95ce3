"""Data-layer speed at COCO val2017 scale, against ``json.load`` of the same files in the same run.

A seeded synthetic COCO file is written to a temporary folder: 5,000 images, 36,781 annotations,
80 categories (val2017's counts), and a detection results file with 100 detections per image
(500,000 records). Measured:

- annotation load: :func:`uotviz.data.coco.load_annotations` (parse, validation, pycocotools
  index, per-image arrays), as a ratio to ``json.load`` of the same file;
- predictions load: :func:`uotviz.data.predictions.load_predictions`, as a ratio to ``json.load``;
- image switches: :meth:`uotviz.data.dataset.Dataset.scene` for 200 random image ids, median and
  95th percentile, with the median as a ratio to one ``json.loads`` of a 1 kB record list.

Machines are noisy: read ratios, not absolute times.

    python bench/bench_data.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from uotviz.data.coco import load_annotations  # noqa: E402
from uotviz.data.dataset import Dataset  # noqa: E402
from uotviz.data.predictions import load_predictions  # noqa: E402

N_IMAGES, N_ANNOTATIONS, N_CATEGORIES, DETECTIONS_PER_IMAGE = 5_000, 36_781, 80, 100
SWITCHES = 200


def _coco_category_ids() -> list[int]:
    # COCO's 80 category ids run from 1 to 90 with gaps
    gaps = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}
    return [i for i in range(1, 91) if i not in gaps]


def write_files(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """The annotations and the detection results files, seeded."""
    rng = np.random.default_rng(seed)
    category_ids = _coco_category_ids()
    image_ids = rng.choice(np.arange(1, 600_000), size=N_IMAGES, replace=False)
    widths = rng.integers(300, 641, N_IMAGES)
    heights = rng.integers(300, 641, N_IMAGES)
    images = [
        {"id": int(i), "file_name": f"{int(i):012d}.jpg", "width": int(w), "height": int(h)}
        for i, w, h in zip(image_ids, widths, heights, strict=True)
    ]

    def boxes(rows: np.ndarray, count: int) -> np.ndarray:
        w = widths[rows] * rng.uniform(0.05, 0.5, count)
        h = heights[rows] * rng.uniform(0.05, 0.5, count)
        x = (widths[rows] - w) * rng.uniform(0, 1, count)
        y = (heights[rows] - h) * rng.uniform(0, 1, count)
        return np.round(np.stack([x, y, w, h], axis=1), 2)

    rows = rng.integers(0, N_IMAGES, N_ANNOTATIONS)
    labels = rng.choice(category_ids, N_ANNOTATIONS)
    crowd = rng.uniform(size=N_ANNOTATIONS) < 0.01
    annotations = [
        {
            "id": k + 1,
            "image_id": int(image_ids[r]),
            "category_id": int(c),
            "bbox": b.tolist(),
            "area": float(b[2] * b[3]),
            "iscrowd": int(z),
            "segmentation": [],
        }
        for k, (r, c, b, z) in enumerate(
            zip(rows, labels, boxes(rows, N_ANNOTATIONS), crowd, strict=True)
        )
    ]
    dataset = {
        "info": {"description": "synthetic, val2017-sized"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c, "name": f"class {c}", "supercategory": "x"} for c in category_ids],
    }
    annotations_path = folder / "instances.json"
    annotations_path.write_text(json.dumps(dataset))

    n = N_IMAGES * DETECTIONS_PER_IMAGE
    rows = np.repeat(np.arange(N_IMAGES), DETECTIONS_PER_IMAGE)
    results = [
        {"image_id": int(image_ids[r]), "category_id": int(c), "bbox": b.tolist(), "score": s}
        for r, c, b, s in zip(
            rows,
            rng.choice(category_ids, n),
            boxes(rows, n),
            np.round(rng.uniform(0, 1, n), 4).tolist(),
            strict=True,
        )
    ]
    results_path = folder / "detections.json"
    results_path.write_text(json.dumps(results))
    return annotations_path, results_path


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def _json_load(path: Path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print("writing the synthetic files ...", flush=True)
        annotations_path, results_path = write_files(Path(tmp))
        mb = annotations_path.stat().st_size / 1e6, results_path.stat().st_size / 1e6

        _, json_annotations = _timed(_json_load, annotations_path)
        (index, report), load_annotations_s = _timed(load_annotations, annotations_path)
        assert report.skipped == 0 and len(index) == N_IMAGES

        _, json_results = _timed(_json_load, results_path)
        (predictions, report), load_predictions_s = _timed(load_predictions, results_path, index)
        assert report.loaded == N_IMAGES * DETECTIONS_PER_IMAGE and report.skipped == 0

    dataset = Dataset(index, predictions, results_path.name)
    rng = np.random.default_rng(1)
    ids = rng.choice(np.array(dataset.image_ids()), SWITCHES)
    dataset.scene(int(ids[0]))  # warm-up
    times = []
    for image_id in ids:
        _, seconds = _timed(dataset.scene, int(image_id))
        times.append(seconds)
    median, p95 = statistics.median(times), float(np.percentile(times, 95))

    small = json.dumps([{"image_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5}] * 16)
    reference = statistics.median(_timed(json.loads, small)[1] for _ in range(1000))

    print(f"annotations: {N_IMAGES} images, {N_ANNOTATIONS} annotations, {mb[0]:.1f} MB")
    print(f"predictions: {N_IMAGES * DETECTIONS_PER_IMAGE} detections, {mb[1]:.1f} MB")
    print(f"{'measure':<38}{'time':>12}{'reference':>12}{'ratio':>8}")
    rows = [
        ("annotation load + index (json.load)", load_annotations_s, json_annotations),
        ("predictions load (json.load)", load_predictions_s, json_results),
        ("scene(id) median (json.loads 1 kB)", median, reference),
        ("scene(id) p95 (json.loads 1 kB)", p95, reference),
    ]
    for label, seconds, ref in rows:
        print(f"{label:<38}{seconds * 1e3:>10.3f}ms{ref * 1e3:>10.3f}ms{seconds / ref:>8.2f}")


if __name__ == "__main__":
    main()
