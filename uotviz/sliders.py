"""Slider scales for the transport parameters, and how slider positions map to presets.

The parameters span several orders of magnitude and have meaningful end points (``eps = 0`` is
unregularised transport, ``tau = 0`` a free marginal, ``tau = inf`` a hard constraint), so each
slider moves over a short 1-2-5 logarithmic list of values that contains those end points
exactly. The values are decimal literals (``0.05`` is the float ``0.05``), so a preset such as
Figure 1(f) ``(eps, tau1, tau2) = (0.05, 100, 0.01)`` sits exactly on the scales.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from uotviz.figure1 import PRESETS, Preset

__all__ = [
    "CUSTOM",
    "EPS_VALUES",
    "TAU_VALUES",
    "format_value",
    "log_scale",
    "matching_preset",
    "preset_by_name",
    "preset_names",
]

CUSTOM = "Custom"
"""The preset selector's entry for parameters that match no preset."""


def log_scale(lowest_exponent: int, highest: float) -> tuple[float, ...]:
    """The 1-2-5 sequence ``1e{lowest_exponent}, 2e..., 5e..., 1e..., ...`` up to ``highest``.

    Every value is parsed from its decimal text, so ``log_scale(-2, 1)`` contains the float
    ``0.05`` itself rather than ``5 * 10**-2``.

    >>> log_scale(-2, 1)
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    """
    values = []
    exponent = lowest_exponent
    while True:
        for mantissa in (1, 2, 5):
            value = float(f"{mantissa}e{exponent}")
            if value > highest:
                return tuple(values)
            values.append(value)
        exponent += 1


EPS_VALUES: tuple[float, ...] = (0.0, *log_scale(-3, 1.0))
"""Entropic regularisation ``eps``: exactly 0, then 0.001 to 1 in cost units (1 - GIoU)."""

TAU_VALUES: tuple[float, ...] = (0.0, *log_scale(-2, 100.0), math.inf)
"""Marginal penalties ``tau1`` and ``tau2``: exactly 0 (free), 0.01 to 100, and inf (hard)."""


def format_value(value: float) -> str:
    """A slider label: ``"0"``, ``"0.01"``, ``"100"``, ``"∞"``.

    >>> [format_value(v) for v in (0.0, 0.001, 0.05, 100.0, math.inf)]
    ['0', '0.001', '0.05', '100', '∞']
    """
    if value == math.inf:
        return "∞"
    return f"{value:g}"


def preset_names(presets: Sequence[Preset] = PRESETS) -> tuple[str, ...]:
    """The preset selector's entries: every preset's name, then :data:`CUSTOM`."""
    return (*(preset.name for preset in presets), CUSTOM)


def preset_by_name(name: str, presets: Iterable[Preset] = PRESETS) -> Preset | None:
    """The preset called ``name``, or ``None`` (for :data:`CUSTOM` or an unknown name)."""
    return next((preset for preset in presets if preset.name == name), None)


def matching_preset(
    eps: float, tau1: float, tau2: float, presets: Iterable[Preset] = PRESETS
) -> str:
    """The name of the preset with exactly these parameters, or :data:`CUSTOM`.

    Slider values are exact members of :data:`EPS_VALUES` and :data:`TAU_VALUES`, so exact
    comparison is the right test.

    >>> matching_preset(0.05, math.inf, math.inf)
    'OT (g)'
    >>> matching_preset(0.1, math.inf, math.inf)
    'Custom'
    """
    for preset in presets:
        if (preset.eps, preset.tau1, preset.tau2) == (eps, tau1, tau2):
            return preset.name
    return CUSTOM
