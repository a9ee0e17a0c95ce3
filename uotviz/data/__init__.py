"""Data in: COCO ground truths, detector predictions, simulated predictions and the embedded demo.

Every part of the program speaks :class:`uotviz.data.types.Scene`: one image with its ground
truths and, when there are any, its predictions.
"""

from uotviz.data.types import GroundTruths, LoadReport, Predictions, Scene

__all__ = ["GroundTruths", "LoadReport", "Predictions", "Scene"]
