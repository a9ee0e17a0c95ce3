"""Slider scales for the transport parameters, and how slider positions map to presets.

The parameters span several orders of magnitude and have meaningful end points (``eps = 0`` is
unregularised transport, ``tau = 0`` a free marginal, ``tau = inf`` a hard constraint), so each
slider moves over a logarithmic list of values, ten per decade (the mantissas
:data:`MANTISSAS`, 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8), that contains those end points exactly.
The values are parsed from decimal text (``0.05`` is the float ``0.05``), so the presets of the
paper's Figure 1 (De Plaen et al., CVPR 2023), e.g. (f) ``(eps, tau1, tau2) = (0.05, 100, 0.01)``,
and every value of a 1-2-5 scale sit exactly on the scales. :func:`snap` maps any value ≥ 0 to
the nearest position (a value from a URL, say).

Play (the app's popover beside the sliders) walks the picture from one preset to another through
every slider position on the way, one parameter at a time: :func:`walk` lists those positions,
:func:`walk_segments` says in which order the parameters move, and :func:`play_label` names the
walk; a mouse drag's positions are :func:`slider_walk`'s.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence

from uotviz.figure1 import PRESETS, Preset

__all__ = [
    "CUSTOM",
    "DEFAULT_PLAY",
    "DEFAULT_PRESET",
    "EPS_VALUES",
    "MANTISSAS",
    "PARAMETER_LABELS",
    "PLAY",
    "SCALES",
    "TAU_VALUES",
    "Parameters",
    "format_value",
    "log_scale",
    "matching_preset",
    "play_label",
    "point_at",
    "positions",
    "positions_key",
    "positions_sent",
    "preset_by_name",
    "preset_names",
    "preset_values",
    "slider_walk",
    "snap",
    "walk",
    "walk_segments",
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
    """The parameter values, the step number and the slider whose drag frames are asked for in
    what the sliders sent from the browser (``{"step": k, "frames": name or None, "eps":
    position, ...}``, positions being indices into :data:`SCALES`).

    What the browser sends is input like any other: a name that is not a parameter, a position
    that is not a whole number within its scale, or a step that is not a whole number is left
    out (None).

    >>> positions_sent({"step": 3, "eps": 0, "tau1": 42, "tau2": 99, "frames": "tau1"})
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
    frames = sent.get("frames")
    return (
        values,
        int(step) if _whole(step) else None,
        frames if isinstance(frames, str) and frames in SCALES else None,
    )


def _whole(value: object) -> bool:
    """Whether ``value`` is a whole number (not a bool, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and float(value).is_integer()


# ------------------------------------------------------------------------------ walks (Play)

Parameters = tuple[float, float, float]
"""``(eps, tau1, tau2)``, in the order of :data:`SCALES`, each a position of its slider."""

PLAY = "play"
"""The name of a Play's frames and of the positions it announces (a drag's are its slider's
name, ``"eps"``, ...): the live charts draw frame k of the frames named so at its k-th point."""


def _preset_of_panel(panel: str) -> Preset:
    return next(preset for preset in PRESETS if preset.panel == panel)


DEFAULT_PLAY: tuple[str, str] = (_preset_of_panel("c").name, _preset_of_panel("d").name)
"""The walk Play offers first (names of presets): closest ground truth (c) to Hungarian
matching (d), τ2 from 0 to ∞ at ε = 0, τ1 = ∞ (the paper's Propositions 2 and 1)."""


def preset_values(preset: Preset) -> Parameters:
    """A preset's ``(eps, tau1, tau2)``."""
    return preset.eps, preset.tau1, preset.tau2


def _position(name: str, value: float) -> int:
    """The position of ``value`` on the slider ``name``; ValueError when it is not one."""
    scale = SCALES[name]
    if value not in scale:
        raise ValueError(f"{value} is not a position of the {PARAMETER_LABELS[name]} slider")
    return scale.index(value)


def positions(point: Parameters) -> dict[str, int]:
    """The sliders' positions (indices into :data:`SCALES`) at ``point``, by name.

    >>> positions((0.05, math.inf, 0.0))
    {'eps': 18, 'tau1': 42, 'tau2': 0}

    Raises:
        ValueError: for a value that is not a position of its slider.
    """
    return {name: _position(name, value) for name, value in zip(SCALES, point, strict=True)}


def positions_key(point: Parameters, free: str | None = None) -> str:
    """The sliders' positions at ``point`` as the sliders' element names them (``"i,j,k"``, in
    the order of :data:`SCALES`), the slider ``free`` (if any) written ``*``: the positions a
    drag's frames of the slider ``free`` were computed at.

    >>> positions_key((0.05, math.inf, 0.0))
    '18,42,0'
    >>> positions_key((0.05, math.inf, 0.0), "tau1")
    '18,*,0'
    """
    return ",".join(
        "*" if name == free else str(position) for name, position in positions(point).items()
    )


def point_at(at: Mapping[str, int]) -> Parameters:
    """The parameters at the sliders' positions ``at`` (by name): :func:`positions` undone.

    >>> point_at({"eps": 18, "tau1": 42, "tau2": 0})
    (0.05, inf, 0.0)
    """
    return SCALES["eps"][at["eps"]], SCALES["tau1"][at["tau1"]], SCALES["tau2"][at["tau2"]]


def walk_segments(start: Parameters, end: Parameters) -> tuple[tuple[str, float, float], ...]:
    """The parameters a walk from ``start`` to ``end`` moves, one after the other, each as
    ``(name, from, to)``: every parameter that grows, in the order ε, τ1, τ2, then every one that
    shrinks, in the order τ2, τ1, ε. Parameters equal at both ends are left out.

    Why growing before shrinking: the walk climbs from ``start`` to the point where every
    parameter takes the larger of its two values (the hardest marginals and the most entropy of
    the box the two ends span), then comes down from there to ``end``; it never passes the
    opposite corner, where both marginals may be free and the plan, at ε = 0, empty. Between the
    presets of the paper's square of limit cases: ε grows first and shrinks last, so the τ's
    always move at the larger ε (there every plan on the way is unique and changes smoothly,
    where at ε = 0 it jumps from one vertex to the next); and a walk that hardens one marginal
    and frees the other goes through the balanced matching: (c) → (e) passes through
    Hungarian (d), (d) → (f) through OT (g). The two orders mirror each other, so the walk from
    ``end`` to ``start`` is this one backwards.

    >>> walk_segments((0.0, math.inf, 0.0), (0.05, 0.01, 100.0))  # (c) -> (h)
    (('eps', 0.0, 0.05), ('tau2', 0.0, 100.0), ('tau1', inf, 0.01))
    """
    moves = [(name, a, b) for name, a, b in zip(SCALES, start, end, strict=True) if a != b]
    growing = [move for move in moves if move[1] < move[2]]
    shrinking = [move for move in reversed(moves) if move[1] > move[2]]
    return (*growing, *shrinking)


def _moved(point: Parameters, name: str, value: float) -> Parameters:
    """``point`` with the parameter ``name`` set to ``value``."""
    moved = list(point)
    moved[list(SCALES).index(name)] = value
    return moved[0], moved[1], moved[2]


def walk(start: Parameters, end: Parameters) -> tuple[Parameters, ...]:
    """Every point a walk from ``start`` to ``end`` goes through, both included: the parameters
    of :func:`walk_segments` moved one after the other, each through every position of its
    slider on the way, the others held. Consecutive points differ by one position of one slider;
    every point is a position of the sliders. Just ``(start,)`` when the two are equal.

    >>> [tau2 for _, _, tau2 in walk((0.0, math.inf, 20.0), (0.0, math.inf, math.inf))]
    [20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, inf]

    Raises:
        ValueError: for a value that is not a position of its slider.
    """
    positions(start), positions(end)  # both on the scales, or ValueError
    points = [tuple(start)]
    for name, first, last in walk_segments(start, end):
        scale = SCALES[name]
        begin, stop = scale.index(first), scale.index(last)
        step = 1 if stop > begin else -1
        for position in range(begin + step, stop + step, step):
            points.append(_moved(points[-1], name, scale[position]))
    return tuple(points)


def slider_walk(at: Parameters, name: str) -> tuple[Parameters, ...]:
    """A drag's points: every position of the slider ``name`` (``"eps"``, ...), lowest first,
    the other parameters as in ``at``.

    Raises:
        ValueError: for an unknown slider name.
    """
    if name not in SCALES:
        raise ValueError(f"unknown slider {name!r}; choose one of {tuple(SCALES)}")
    return tuple(_moved(at, name, value) for value in SCALES[name])


def play_label(start: Preset, end: Preset) -> str:
    """What a walk from one preset to another moves, as Play lists it.

    >>> play_label(*(preset_by_name(name) for name in DEFAULT_PLAY))
    'Closest ground truth (c) → Hungarian (d): τ2 from 0 to ∞'
    >>> ends, moves = play_label(_preset_of_panel("c"), _preset_of_panel("h")).split(": ")
    >>> ends
    'Closest ground truth (c) → Unbalanced OT (h)'
    >>> moves
    'ε from 0 to 0.05, then τ2 from 0 to 100, then τ1 from ∞ to 0.01'
    """
    segments = walk_segments(preset_values(start), preset_values(end))
    if not segments:
        return f"{start.name}: the same parameters at both ends, nothing to play"
    moves = ", then ".join(
        f"{PARAMETER_LABELS[name]} from {format_value(a)} to {format_value(b)}"
        for name, a, b in segments
    )
    return f"{start.name} → {end.name}: {moves}"
