"""Where the embedded demo dataset lives: seven redistributable photographs with COCO files.

The demo is what the program shows when no dataset is configured; it works offline and is
installed with the package. Its sources, licences and how every box was made are in
``uotviz/data/demo_dataset/SOURCES.md``; ``scripts/make_demo.py`` regenerates it. Image 1 is
the scene of the paper's Figure 1 (ground truths A, B and predictions 1-5 of
:mod:`uotviz.figure1`).
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR: Path = Path(__file__).resolve().parent / "demo_dataset"
DEMO_ANNOTATIONS: Path = DEMO_DIR / "instances.json"  # COCO instances (ground truths)
DEMO_IMAGES: Path = DEMO_DIR / "images"  # the folder the annotations' file names refer to
DEMO_PREDICTIONS: Path = DEMO_DIR / "predictions.json"  # COCO detection results
FIGURE1_IMAGE_ID: int = 1

__all__ = ["DEMO_ANNOTATIONS", "DEMO_DIR", "DEMO_IMAGES", "DEMO_PREDICTIONS", "FIGURE1_IMAGE_ID"]
