"""Data in: COCO ground truths, detector predictions, simulated predictions and the embedded demo.

Every part of the program speaks :class:`uotviz.data.types.Scene`: one image with its ground
truths and, when there are any, its predictions.
"""

from uotviz.data.coco import CocoIndex, load_annotations, open_image
from uotviz.data.config import DataConfig, config_from, resolve_image
from uotviz.data.dataset import Dataset, load_dataset
from uotviz.data.predictions import load_predictions, select
from uotviz.data.simulate import simulate_anchors, simulate_detr
from uotviz.data.types import GroundTruths, LoadReport, Predictions, Scene

__all__ = [
    "CocoIndex",
    "DataConfig",
    "Dataset",
    "GroundTruths",
    "LoadReport",
    "Predictions",
    "Scene",
    "config_from",
    "load_annotations",
    "load_dataset",
    "load_predictions",
    "open_image",
    "resolve_image",
    "select",
    "simulate_anchors",
    "simulate_detr",
]
