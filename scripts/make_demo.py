"""Regenerate the embedded demo dataset, ``uotviz/data/demo_dataset/``, from installed packages
only.

Needs scikit-image (the photographs) and opencv-python-headless 4.x (the Haar cascades and the
Hough transform), see ``requirements-demo.txt``; no network access. The output is deterministic:
running the script twice gives byte-identical files.

    python scripts/make_demo.py                    # writes uotviz/data/demo_dataset/
    python scripts/make_demo.py --preview /tmp/p   # also writes PNGs with the boxes drawn

Outputs, in ``uotviz/data/demo_dataset/``:
    images/*.jpg      the photographs (JPEG quality 88, longest side <= 800 px)
    instances.json    COCO instances: images, ground-truth boxes, categories
    predictions.json  COCO detection results: image_id, category_id, bbox, score

Sources, licences and how every box was made: ``uotviz/data/demo_dataset/SOURCES.md``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import skimage
import skimage.data
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from skimage import filters, measure, segmentation

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "uotviz" / "data" / "demo_dataset"
JPEG_QUALITY = 88
MAX_SIDE = 800

Box = tuple[float, float, float, float]  # xyxy pixels

# --- categories: ids 1-90 are COCO 2017's; ids from 101 are this demo's own ----------------------

PERSON, CAT, CUP, SPOON = 1, 17, 47, 50
FACE, CAT_FACE, EYE, NOSE, SAUCER = 101, 102, 103, 104, 105
FLAG, HELMET, ROCKET, TOWER, CAMERA, TRIPOD, COIN = 106, 107, 108, 109, 110, 111, 112
CATEGORIES = {
    PERSON: ("person", "person"),
    CAT: ("cat", "animal"),
    CUP: ("cup", "kitchen"),
    SPOON: ("spoon", "kitchen"),
    FACE: ("face", "person"),
    CAT_FACE: ("cat face", "animal"),
    EYE: ("eye", "animal"),
    NOSE: ("nose", "animal"),
    SAUCER: ("saucer", "kitchen"),
    FLAG: ("flag", "indoor"),
    HELMET: ("helmet", "accessory"),
    ROCKET: ("rocket", "vehicle"),
    TOWER: ("tower", "outdoor"),
    CAMERA: ("camera", "electronic"),
    TRIPOD: ("tripod", "electronic"),
    COIN: ("coin", "indoor"),
}

# --- the paper's Figure 1 (De Plaen et al., CVPR 2023), see uotviz/figure1.py --------------------

FIGURE1_GROUND_TRUTHS: list[tuple[int, Box]] = [
    (CUP, (52, 22, 308, 328)),  # A: the cup, handle included
    (SAUCER, (26, 106, 456, 394)),  # B: the saucer, loosely (the paper's box, not redrawn)
]
FIGURE1_PREDICTIONS: list[tuple[int, Box, float]] = [
    (CUP, (25, 12, 242, 215), 0.71),  # 1: the upper-left part of the cup
    (SAUCER, (362, 126, 469, 425), 0.24),  # 2: the right rim of the saucer and the table
    (SPOON, (87, 241, 221, 343), 0.38),  # 3: the spoon (not annotated in Figure 1)
    (CUP, (41, 52, 353, 283), 0.93),  # 4: the cup, too wide and too short
    (SAUCER, (287, 76, 439, 388), 0.82),  # 5: the right half of the saucer
]
# The coffee photograph mirrored, scaled by 1.075 and cropped at x = 152 to 480 x 430: the cup
# then fills box A (IoU 0.98 with the cup's own tight box) and the saucer lies under box B.
FIGURE1_SCALE = 1.075
FIGURE1_CROP = (152, 0, 632, 430)

# --- hand-checked ground truths (xyxy pixels of the image as stored) -----------------------------

ASTRONAUT_GROUND_TRUTHS: list[tuple[int, Box]] = [
    (PERSON, (18, 63, 365, 512)),  # Eileen Collins, hair to the bottom edge, in her flight suit
    (FACE, (178, 66, 272, 176)),  # her face: hairline to chin, ear to cheek
    (FLAG, (0, 0, 97, 512)),  # the US flag on the left, visible part
    (HELMET, (278, 344, 512, 512)),  # the helmet in the lower right
    (ROCKET, (355, 0, 470, 290)),  # the Space Shuttle stack model on its stand, upper right
]
CHELSEA_GROUND_TRUTHS: list[tuple[int, Box]] = [
    (CAT, (0, 0, 398, 300)),  # Chelsea, right ear tip to the left edge
    (CAT_FACE, (40, 10, 372, 300)),  # her face below the ears, cheek to cheek
    (EYE, (137, 85, 210, 147)),  # her right eye (left in the image)
    (EYE, (293, 108, 345, 162)),  # her left eye
    (NOSE, (233, 227, 292, 265)),  # the pink nose
]
COFFEE_GROUND_TRUTHS: list[tuple[int, Box]] = [
    (CUP, (172, 18, 409, 306)),  # the espresso cup, handle included
    (SAUCER, (78, 71, 478, 390)),  # the saucer under it
    (SPOON, (318, 66, 424, 326)),  # the spoon on the saucer, handle tip to bowl
]
ROCKET_GROUND_TRUTHS: list[tuple[int, Box]] = [
    (ROCKET, (310, 127, 335, 405)),  # Falcon 9 with DSCOVR, fairing tip to the launch mount
    (TOWER, (0, 0, 89, 427)),  # lattice tower, left edge
    (TOWER, (163, 124, 207, 427)),  # lightning mast, left of the rocket
    (TOWER, (434, 124, 477, 427)),  # lightning mast, right of the rocket
    (TOWER, (559, 0, 640, 427)),  # lattice tower, right edge
]
CAMERA_GROUND_TRUTHS: list[tuple[int, Box]] = [
    (PERSON, (0, 63, 332, 512)),  # the cameraman, hair to the bottom edge, gloves included
    (FACE, (178, 116, 254, 198)),  # his face in profile: hairline to chin, ear to nose tip
    (CAMERA, (253, 138, 325, 187)),  # the video camera
    (TRIPOD, (230, 186, 410, 510)),  # the tripod, head to feet
]

# --- hand-written predictions, for photographs no shipped detector applies to --------------------

COFFEE_PREDICTIONS: list[tuple[int, Box, float]] = [
    (CUP, (168, 14, 412, 300), 0.91),  # the cup, good
    (CUP, (190, 40, 400, 250), 0.55),  # the cup again, a duplicate missing the handle
    (SAUCER, (60, 90, 470, 380), 0.78),  # the saucer, a little loose
    (CUP, (470, 250, 590, 390), 0.33),  # false positive: a patch of the table top
    # the spoon is missed
]
ROCKET_PREDICTIONS: list[tuple[int, Box, float]] = [
    (ROCKET, (306, 122, 338, 402), 0.88),  # the rocket, good
    (ROCKET, (290, 240, 360, 427), 0.41),  # a duplicate: the rocket's base with the launch mount
    (TOWER, (160, 118, 210, 420), 0.67),  # the left lightning mast
    (TOWER, (555, 0, 640, 420), 0.74),  # the right lattice tower
    (ROCKET, (180, 360, 215, 427), 0.29),  # false positive: a flood light's glare
    # the left lattice tower and the right lightning mast are missed
]


# --- images --------------------------------------------------------------------------------------


def _rgb(array: np.ndarray) -> Image.Image:
    """A uint8 array (grey or RGB) as an RGB image no larger than MAX_SIDE."""
    image = Image.fromarray(array).convert("RGB")
    if max(image.size) > MAX_SIDE:
        raise ValueError(f"image of size {image.size} exceeds {MAX_SIDE} px")
    return image


def figure1_image() -> Image.Image:
    """The coffee photograph placed so that the cup and the saucer sit in boxes A and B."""
    image = _rgb(skimage.data.coffee()).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    size = (round(image.width * FIGURE1_SCALE), round(image.height * FIGURE1_SCALE))
    return image.resize(size, Image.Resampling.LANCZOS).crop(FIGURE1_CROP)


def coin_ground_truths() -> list[tuple[int, Box, float]]:
    """The 24 coins as (category, box, area) from a watershed segmentation of ``coins``.

    The classic scikit-image recipe: markers from two grey-level thresholds, watershed on the
    Sobel gradient, holes filled, connected components labelled; regions below 100 px dropped.
    The boxes were checked against the picture (each coin's rim touches its box).
    """
    image = skimage.data.coins()
    markers = np.zeros(image.shape, dtype=np.int32)
    markers[image < 30] = 1
    markers[image > 150] = 2
    mask = ndi.binary_fill_holes(segmentation.watershed(filters.sobel(image), markers) == 2)
    regions = [r for r in measure.regionprops(measure.label(mask)) if r.area > 100]
    boxes = []
    for region in regions:
        y1, x1, y2, x2 = region.bbox  # half-open pixel ranges: xyxy pixel edges
        boxes.append((COIN, (float(x1), float(y1), float(x2), float(y2)), float(region.area)))
    if len(boxes) != 24:
        raise RuntimeError(f"expected 24 coins, the segmentation found {len(boxes)}")
    return sorted(boxes, key=lambda b: (b[1][1] // 70, b[1][0]))  # rows, then left to right


# --- detectors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cascade:
    """One run of an OpenCV Haar cascade (``cv2.data.haarcascades``)."""

    name: str  # file name without "haarcascade_" and ".xml"
    category: int
    scale_factor: float = 1.1
    min_neighbors: int = 3
    mirrored: bool = False  # also run on the mirrored image (profile faces look one way only)


def haar_score(neighbors: int) -> float:
    """A confidence in [0, 1) from the number of merged raw detections: 1 - exp(-n / 10)."""
    return round(1.0 - math.exp(-neighbors / 10.0), 3)


def run_cascade(array: np.ndarray, cascade: Cascade) -> list[tuple[int, Box, float]]:
    """Detections of one cascade on a histogram-equalised grey image, in pixels of ``array``."""
    grey = array if array.ndim == 2 else cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)
    grey = cv2.equalizeHist(grey)
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_{cascade.name}.xml")
    if detector.empty():
        raise RuntimeError(f"cannot load the cascade {cascade.name}")
    out = []
    for mirrored in (False, True) if cascade.mirrored else (False,):
        image = np.ascontiguousarray(grey[:, ::-1]) if mirrored else grey
        rects, neighbors = detector.detectMultiScale2(
            image, scaleFactor=cascade.scale_factor, minNeighbors=cascade.min_neighbors
        )
        for (x, y, w, h), n in zip(rects, neighbors, strict=True):
            x1 = grey.shape[1] - int(x) - int(w) if mirrored else int(x)
            box = (float(x1), float(y), float(x1 + w), float(y + h))
            out.append((cascade.category, box, haar_score(int(n))))
    return out


# Hough transform on the coins: median blur 5, then these parameters. A low minDist and a low
# accumulator threshold give the detector's typical duplicates and false positives.
HOUGH = {"dp": 1, "minDist": 8, "param1": 100, "param2": 23, "minRadius": 15, "maxRadius": 40}
HOUGH_SCORE_DIVISOR = 60.0  # score = (highest param2 at which the circle is still found) / 60


def hough_coins() -> list[tuple[int, Box, float]]:
    """Coins found by ``cv2.HoughCircles``; each circle's bounding box, clipped to the image.

    The score is the circle's accumulator support: the highest ``param2`` threshold (23 to 120)
    at which a circle within 2 px of it (centre and radius) is still returned, divided by 60.
    """
    image = cv2.medianBlur(skimage.data.coins(), 5)
    height, width = image.shape

    def circles(param2: int) -> np.ndarray:
        params = dict(HOUGH, param2=param2)
        found = cv2.HoughCircles(image, cv2.HOUGH_GRADIENT, **params)
        return np.zeros((0, 3), np.float32) if found is None else found[0]

    sweep = {p: circles(p) for p in range(HOUGH["param2"], 121)}
    out = []
    for x, y, r in circles(HOUGH["param2"]):
        support = max(
            p
            for p, found in sweep.items()
            if np.any(np.all(np.abs(found - (x, y, r)) <= 2.0, axis=1))
        )
        box = (
            max(0.0, float(x - r)),
            max(0.0, float(y - r)),
            min(float(width), float(x + r)),
            min(float(height), float(y + r)),
        )
        box = tuple(round(v, 1) for v in box)
        out.append((COIN, box, round(min(1.0, support / HOUGH_SCORE_DIVISOR), 3)))
    return out


# --- the dataset ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoImage:
    """One photograph of the demo with its ground truths and how its predictions are made."""

    image_id: int
    file_name: str
    load: Callable[[], Image.Image]
    ground_truths: Callable[[], list[tuple[int, Box, float | None]]]
    predictions: Callable[[], list[tuple[int, Box, float]]]


def _gts(items: list[tuple[int, Box]]) -> Callable[[], list[tuple[int, Box, float | None]]]:
    return lambda: [(c, b, None) for c, b in items]


def _fixed(items: list[tuple[int, Box, float]]) -> Callable[[], list[tuple[int, Box, float]]]:
    return lambda: list(items)


def _cascades(name: str, *cascades: Cascade) -> Callable[[], list[tuple[int, Box, float]]]:
    def detect() -> list[tuple[int, Box, float]]:
        array = np.asarray(getattr(skimage.data, name)())
        return [d for cascade in cascades for d in run_cascade(array, cascade)]

    return detect


def _photo(name: str) -> Callable[[], Image.Image]:
    return lambda: _rgb(getattr(skimage.data, name)())


FIGURE1_IMAGE_ID = 1
DEMO_IMAGES = [
    DemoImage(
        FIGURE1_IMAGE_ID,
        "figure1_coffee.jpg",
        figure1_image,
        _gts(FIGURE1_GROUND_TRUTHS),
        _fixed(FIGURE1_PREDICTIONS),
    ),
    DemoImage(
        2,
        "astronaut.jpg",
        _photo("astronaut"),
        _gts(ASTRONAUT_GROUND_TRUTHS),
        _cascades(
            "astronaut",
            Cascade("frontalface_default", FACE),
            Cascade("profileface", FACE),
            Cascade("upperbody", PERSON, scale_factor=1.05),
        ),
    ),
    DemoImage(
        3,
        "chelsea.jpg",
        _photo("chelsea"),
        _gts(CHELSEA_GROUND_TRUTHS),
        _cascades(
            "chelsea",
            Cascade("frontalcatface", CAT_FACE, scale_factor=1.05, min_neighbors=2),
            Cascade("frontalcatface_extended", CAT_FACE, scale_factor=1.05, min_neighbors=2),
            Cascade("eye", EYE),
        ),
    ),
    DemoImage(
        4, "coffee.jpg", _photo("coffee"), _gts(COFFEE_GROUND_TRUTHS), _fixed(COFFEE_PREDICTIONS)
    ),
    DemoImage(
        5, "rocket.jpg", _photo("rocket"), _gts(ROCKET_GROUND_TRUTHS), _fixed(ROCKET_PREDICTIONS)
    ),
    DemoImage(
        6,
        "camera.jpg",
        _photo("camera"),
        _gts(CAMERA_GROUND_TRUTHS),
        _cascades(
            "camera",
            Cascade("profileface", FACE, scale_factor=1.05, mirrored=True),
            Cascade("upperbody", PERSON, scale_factor=1.05),
            Cascade("fullbody", PERSON, scale_factor=1.05, min_neighbors=2),
        ),
    ),
    DemoImage(7, "coins.jpg", _photo("coins"), coin_ground_truths, hough_coins),
]


def _xywh(box: Box) -> list[float]:
    x1, y1, x2, y2 = box
    return [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)]


def build(out_dir: Path, preview_dir: Path | None = None) -> None:
    """Write the images, instances.json and predictions.json under ``out_dir``."""
    cv2.setNumThreads(1)
    image_dir = out_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    images, annotations, results = [], [], []
    for spec in DEMO_IMAGES:
        image = spec.load()
        image.save(image_dir / spec.file_name, "JPEG", quality=JPEG_QUALITY)
        images.append(
            {
                "id": spec.image_id,
                "file_name": spec.file_name,
                "width": image.width,
                "height": image.height,
            }
        )
        gts = spec.ground_truths()
        for category, box, area in gts:
            xywh = _xywh(box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": spec.image_id,
                    "category_id": category,
                    "bbox": xywh,
                    "area": round(area if area is not None else xywh[2] * xywh[3], 2),
                    "iscrowd": 0,
                }
            )
        preds = spec.predictions()
        if spec.image_id != FIGURE1_IMAGE_ID:  # Figure 1 keeps the paper's order 1..5
            preds = sorted(preds, key=lambda p: (-p[2], p[1], p[0]))
        for category, box, score in preds:
            results.append(
                {
                    "image_id": spec.image_id,
                    "category_id": category,
                    "bbox": _xywh(box),
                    "score": score,
                }
            )
        if preview_dir is not None:
            _preview(image, gts, preds, preview_dir / f"{Path(spec.file_name).stem}.png")

    instances = {
        "info": {
            "description": "uotviz demo: public-domain and CC0 photographs shipped with "
            "scikit-image " + skimage.__version__ + "; see uotviz/data/demo_dataset/SOURCES.md",
            "version": "1",
        },
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [
            {"id": cid, "name": name, "supercategory": sup}
            for cid, (name, sup) in sorted(CATEGORIES.items())
        ],
    }
    _dump(instances, out_dir / "instances.json")
    _dump(results, out_dir / "predictions.json")


def _dump(obj: object, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def _preview(image: Image.Image, gts: list, preds: list, path: Path) -> None:
    """The image, twice as large, with ground truths in green and predictions in red."""
    path.parent.mkdir(parents=True, exist_ok=True)
    big = image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(big)
    for _, box, _ in gts:
        draw.rectangle([2 * v for v in box], outline=(0, 255, 0), width=2)
    for k, (_, box, score) in enumerate(preds):
        draw.rectangle([2 * v for v in box], outline=(255, 0, 0), width=2)
        draw.text((2 * box[0] + 4, 2 * box[1] + 2), f"{k + 1}:{score:.2f}", fill=(255, 0, 0))
    big.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    parser.add_argument("--preview", type=Path, help="also write PNGs with the boxes drawn here")
    args = parser.parse_args()
    build(args.out, args.preview)


if __name__ == "__main__":
    main()
