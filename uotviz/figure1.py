"""The scene of the paper's Figure 1 and its panels' parameters.

De Plaen et al., "Unbalanced Optimal Transport: A Unified Framework for Object Detection",
CVPR 2023, Figure 1: five predictions (black, numbered 1-5) and two ground truths (A, B), matched
with the cost 1 - GIoU and a background cost of 0.8. Boxes are in pixels, (x1, y1, x2, y2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PREDICTIONS_XYXY: tuple[tuple[float, float, float, float], ...] = (
    (25, 12, 242, 215),
    (362, 126, 469, 425),
    (87, 241, 221, 343),
    (41, 52, 353, 283),
    (287, 76, 439, 388),
)
GROUND_TRUTHS_XYXY: tuple[tuple[float, float, float, float], ...] = (
    (52, 22, 308, 328),
    (26, 106, 456, 394),
)
PREDICTION_LABELS = ("1", "2", "3", "4", "5")
GROUND_TRUTH_LABELS = ("A", "B")
BACKGROUND_COST = 0.8


@dataclass(frozen=True)
class Preset:
    """A named point of the (eps, tau1, tau2) space; ``panel`` is the letter in Figure 1."""

    name: str
    panel: str
    eps: float
    tau1: float
    tau2: float


PRESETS: tuple[Preset, ...] = (
    Preset("Closest ground truth (c)", "c", 0.0, math.inf, 0.0),
    Preset("Hungarian (d)", "d", 0.0, math.inf, math.inf),
    Preset("Best prediction (e)", "e", 0.0, 0.0, math.inf),
    Preset("Unbalanced OT (f)", "f", 0.05, 100.0, 0.01),
    Preset("OT (g)", "g", 0.05, math.inf, math.inf),
    Preset("Unbalanced OT (h)", "h", 0.05, 0.01, 100.0),
)
