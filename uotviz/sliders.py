"""Slider scales for the transport parameters, and how slider positions map to presets.

The parameters span several orders of magnitude and have meaningful end points (``eps = 0`` is
unregularised transport, ``tau = 0`` a free marginal, ``tau = inf`` a hard constraint), so each
slider moves over a logarithmic list of values, ten per decade (the mantissas
:data:`MANTISSAS`, 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8), that contains those end points exactly.
The values are parsed from decimal text (``0.05`` is the float ``0.05``), so the presets of the
paper's Figure 1 (De Plaen et al., CVPR 2023), e.g. (f) ``(eps, tau1, tau2) = (0.05, 100, 0.01)``,
and every value of a 1-2-5 scale sit exactly on the scales. :func:`snap` maps any value ≥ 0 to
the nearest position (a value from a URL, say).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from uotviz.figure1 import PRESETS, Preset

__all__ = [
    "ANIMATIONS",
    "CUSTOM",
    "DEFAULT_PRESET",
    "Animation",
    "EPS_VALUES",
    "MANTISSAS",
    "PARAMETER_LABELS",
    "SCALES",
    "TAU_VALUES",
    "format_value",
    "log_scale",
    "matching_preset",
    "positions_sent",
    "preset_by_name",
    "preset_names",
    "snap",
]

CUSTOM = "Custom"
"""The preset selector's entry for parameters that match no preset."""

DEFAULT_PRESET = "OT (g)"
"""The setting the app opens with and ``python -m uotviz stats`` uses by default: the name of a
preset of :data:`uotviz.figure1.PRESETS`."""


MANTISSAS: tuple[float, ...] = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
"""The scales' values in every decade, times its power of ten: ten, at most 0.125 decades apart,
the 1-2-5 series among them."""


def log_scale(
    lowest_exponent: int, highest: float, mantissas: Sequence[float] = MANTISSAS
) -> tuple[float, ...]:
    """The values ``m * 10**e`` for each mantissa ``m`` and ``e = lowest_exponent, ...``, up to
    ``highest``, increasing.

    Every value is parsed from its decimal text ``f"{m}e{e}"``, so ``log_scale(-2, 1)`` contains
    the float ``0.05`` itself rather than ``5 * 10**-2``.

    >>> log_scale(-2, 1, (1, 2, 5))
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    >>> log_scale(-1, 1)
    (0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)

    Raises:
        ValueError: unless the mantissas increase strictly from 1 (included) to below 10.
    """
    if not mantissas or mantissas[0] != 1 or mantissas[-1] >= 10:
        raise ValueError(f"mantissas must run from 1 to below 10, got {tuple(mantissas)}")
    if any(a >= b for a, b in zip(mantissas, mantissas[1:], strict=False)):
        raise ValueError(f"mantissas must increase strictly, got {tuple(mantissas)}")
    values = []
    exponent = lowest_exponent
    while True:
        for mantissa in mantissas:
            value = float(f"{mantissa}e{exponent}")
            if value > highest:
                return tuple(values)
            values.append(value)
        exponent += 1


EPS_VALUES: tuple[float, ...] = (0.0, *log_scale(-3, 1.0))
"""Entropic regularisation ``eps``: exactly 0, then 0.001 to 1 in cost units (1 - GIoU)."""

TAU_VALUES: tuple[float, ...] = (0.0, *log_scale(-2, 100.0), math.inf)
"""Marginal penalties ``tau1`` and ``tau2``: exactly 0 (free), 0.01 to 100, and inf (hard)."""


def snap(value: float, scale: Sequence[float]) -> float:
    """The position of ``scale`` (increasing, from 0) nearest to ``value``.

    0 stays 0 and inf stays inf where the scale has it (both are limit cases, not large or small
    numbers); a positive finite value goes to the positive finite position nearest in log
    distance (the lower one on a tie), to the smallest below it and to the largest above it.
    The result is always an element of ``scale``.

    >>> snap(0.03, EPS_VALUES), snap(0.035, EPS_VALUES), snap(1e-9, EPS_VALUES)
    (0.03, 0.04, 0.001)
    >>> snap(5000.0, EPS_VALUES), snap(5000.0, TAU_VALUES), snap(math.inf, TAU_VALUES)
    (1.0, 100.0, inf)

    Raises:
        ValueError: for a negative value, NaN, or inf on a scale without inf.
    """
    if not value >= 0:  # NaN too
        raise ValueError(f"{value} is not a number ≥ 0")
    if value == 0 or value == math.inf:
        if value not in scale:
            raise ValueError(f"{value} is not on this scale")
        return scale[scale.index(value)]
    positions = [v for v in scale if 0 < v < math.inf]
    index = bisect.bisect_left(positions, value)
    if index == 0:
        return positions[0]
    if index == len(positions):
        return positions[-1]
    lower, upper = positions[index - 1], positions[index]
    if upper == value or math.log(upper / value) < math.log(value / lower):
        return upper
    return lower


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


SCALES: dict[str, tuple[float, ...]] = {"eps": EPS_VALUES, "tau1": TAU_VALUES, "tau2": TAU_VALUES}
"""Each transport parameter's slider scale, by name."""

PARAMETER_LABELS: dict[str, str] = {"eps": "ε", "tau1": "τ1", "tau2": "τ2"}
"""Each transport parameter's name as the app writes it (its slider's label), by name."""


def positions_sent(sent: object) -> tuple[dict[str, float], int | None, str | None]:
    """The parameter values, the step number and the slider being dragged in what the sliders
    sent from the browser (``{"step": k, "dragging": name or None, "eps": position, ...}``,
    positions being indices into :data:`SCALES`).

    What the browser sends is input like any other: a name that is not a parameter, a position
    that is not a whole number within its scale, or a step that is not a whole number is left
    out (None).

    >>> positions_sent({"step": 3, "eps": 0, "tau1": 42, "tau2": 99, "dragging": "tau1"})
    ({'eps': 0.0, 'tau1': inf}, 3, 'tau1')
    """
    if not isinstance(sent, Mapping):
        return {}, None, None
    values = {}
    for name, scale in SCALES.items():
        position = sent.get(name)
        if _whole(position) and 0 <= position < len(scale):
            values[name] = scale[int(position)]
    step = sent.get("step")
    dragging = sent.get("dragging")
    return (
        values,
        int(step) if _whole(step) else None,
        dragging if isinstance(dragging, str) and dragging in SCALES else None,
    )


def _whole(value: object) -> bool:
    """Whether ``value`` is a whole number (not a bool, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and float(value).is_integer()


@dataclass(frozen=True)
class Animation:
    """One slider moved from a preset of the paper's Figure 1 to another that differs from it
    in that parameter alone: a walk along one edge of the paper's square of limit cases
    (Figures 4 and 7), played on the picture."""

    start: Preset
    end: Preset

    @property
    def slider(self) -> str:
        """The one parameter that changes (``"eps"``, ``"tau1"`` or ``"tau2"``)."""
        changed = [
            name
            for name, a, b in zip(SCALES, _values(self.start), _values(self.end), strict=True)
            if a != b
        ]
        if len(changed) != 1:
            raise ValueError(
                f"{self.start.name} and {self.end.name} differ in {len(changed)} parameters; "
                "an animation moves one"
            )
        return changed[0]

    @property
    def label(self) -> str:
        """``"Closest ground truth (c) → Hungarian (d): τ2 from 0 to ∞"``."""
        scale_name = PARAMETER_LABELS[self.slider]
        index = list(SCALES).index(self.slider)
        low, high = _values(self.start)[index], _values(self.end)[index]
        return (
            f"{self.start.name} → {self.end.name}: {scale_name} from "
            f"{format_value(low)} to {format_value(high)}"
        )

    def positions(self) -> tuple[int, int]:
        """The slider's positions at the start and at the end."""
        scale = SCALES[self.slider]
        index = list(SCALES).index(self.slider)
        return scale.index(_values(self.start)[index]), scale.index(_values(self.end)[index])


def _values(preset: Preset) -> tuple[float, float, float]:
    return preset.eps, preset.tau1, preset.tau2


def _preset(panel: str) -> Preset:
    return next(preset for preset in PRESETS if preset.panel == panel)


ANIMATIONS: tuple[Animation, ...] = (
    Animation(_preset("c"), _preset("d")),
    Animation(_preset("e"), _preset("d")),
    Animation(_preset("d"), _preset("g")),
)
"""The limit cases a picture can be played between: closest ground truth (c) to Hungarian
matching (d) as τ2 grows, best prediction (e) to Hungarian (d) as τ1 grows, and Hungarian (d)
to entropic OT (g) as ε grows."""
