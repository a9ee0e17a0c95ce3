"""The app's shareable state: its widgets' values as plain URL query parameters, and back.

:func:`encode` turns the values the app keeps (keyed by the session-state names of its widgets)
into query parameters; :func:`decode` reads them back, keeping only valid values and returning one
message per rejected parameter and per slider value moved to the nearest slider position. Nothing
is pickled: every parameter is a number, a word from a fixed list, or a slider position written as
text (``"0"``, ``"0.01"``, ``"0.012"``, ..., ``"inf"``). Messages quote at most
:data:`SHOWN_CHARS` characters of a value.

==============  ==================  =========================================================
parameter       session-state key   allowed values
==============  ==================  =========================================================
``source``      ``source_kind``     ``demo``, ``configured``, ``upload``
``image``       ``image_id``        an integer image id
``cost``        ``cost_preset``     ``giou``, ``iou``, ``l1``, ``detr``, ``custom``
``w_giou`` ...  ``w_giou`` ...      the four cost weights (``w_giou``, ``w_iou``, ``w_l1``,
                                    ``w_class``), numbers in [0, 100]; written for ``custom``
``c0``          ``background_cost`` c∅, a number in [0, 2]
``anchors``     ``anchor_mode``     ``none``, ``ssd300``, ``ssd512``
``score``       ``score_threshold`` a number in [0, 1]
``topk``        ``top_k``           an integer in [0, 10000] (0: all)
``seed``        ``sim_seed``        an integer in [0, 2³¹ − 1]
``queries``     ``sim_queries``     an integer in [1, 1000]
``drawn``       ``max_drawn``       a multiple of 5 in [5, 300]
``preset``      ``preset``          a panel of Figure 1, ``c`` ... ``h``, or ``custom``
``present``     ``present``         ``1`` (presentation mode) or ``0``
``eps``         ``eps``             a finite number ≥ 0, snapped to the nearest of
                                    :data:`~uotviz.sliders.EPS_VALUES` (0 to 1)
``tau1``        ``tau1``            a number ≥ 0 or ``inf`` (``infinity``, ``∞``), snapped to
                                    the nearest of :data:`~uotviz.sliders.TAU_VALUES` (a
                                    finite number above 100 to 100, only ``inf`` to ∞)
``tau2``        ``tau2``            as ``tau1``
==============  ==================  =========================================================

Snapping (:func:`~uotviz.sliders.snap`) keeps 0 at 0 and goes by log distance otherwise; a value
beyond a scale's positive finite positions goes to the nearest of them (``eps=5000`` to 1,
``eps=1e-9`` to 0.001). ``eps=inf`` is rejected rather than snapped: infinite regularisation is a
limit case, like ``tau = inf``, that the ε slider does not have. Unknown parameters are ignored
silently (a URL may carry other tools' parameters).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from uotviz.figure1 import PRESETS
from uotviz.matching import ANCHOR_SETS
from uotviz.sliders import CUSTOM, EPS_VALUES, TAU_VALUES, snap
from uotviz.sources import CONFIGURED, DEMO, UPLOAD

__all__ = [
    "ANCHOR_PARAMS",
    "COST_PARAMS",
    "PARAMETERS",
    "PRESENT_PARAMS",
    "PRESET_PARAMS",
    "SHOWN_CHARS",
    "SOURCE_PARAMS",
    "WEIGHT_KEYS",
    "Range",
    "decode",
    "encode",
    "scale_text",
]

SOURCE_PARAMS: dict[str, str] = {"demo": DEMO, "configured": CONFIGURED, "upload": UPLOAD}
"""``source`` values and the data-source kinds they name."""

COST_PARAMS: dict[str, str] = {
    "giou": "1 − GIoU",
    "iou": "1 − IoU",
    "l1": "L1",
    "detr": "DETR (class 2, L1 5, GIoU 2)",
    "custom": CUSTOM,
}
"""``cost`` values and the cost presets (:data:`~uotviz.matching.COST_PRESETS`) they name."""

ANCHOR_PARAMS: dict[str, str] = {
    "none": "None",
    **{name.split()[0].lower(): name.split()[0] for name in ANCHOR_SETS},
}
"""``anchors`` values and the anchor-mode choices (``"None"``, ``"SSD300"``, ...)."""

PRESET_PARAMS: dict[str, str] = {
    **{preset.panel: preset.name for preset in PRESETS},
    "custom": CUSTOM,
}
"""``preset`` values (the panel letters of Figure 1) and the transport presets they name."""

PRESENT_PARAMS: dict[str, bool] = {"1": True, "0": False}
"""``present`` values: presentation mode on or off."""

WEIGHT_KEYS = ("w_giou", "w_iou", "w_l1", "w_class")
"""The four cost weights, in the order of :class:`~uotviz.costs.CostWeights`."""

SHOWN_CHARS = 40
"""The most characters of a URL value a message quotes (a longer one is cut, ending in "…")."""

_INF_WORDS = ("∞",)  # besides what Decimal reads as +infinity: "inf", "infinity", "+Inf", ...


@dataclass(frozen=True)
class Range:
    """A closed numeric range ``[low, high]``; ``step``: values must be multiples of it."""

    low: float
    high: float
    integer: bool = False
    step: int | None = None

    def describe(self) -> str:
        """``"a number in [0, 2]"``, ``"an integer in [1, 1000]"``, ``"a multiple of 5 in ..."``."""
        if self.integer:
            bounds = f"[{int(self.low)}, {int(self.high)}]"
        else:
            bounds = f"[{self.low:g}, {self.high:g}]"
        if self.step is not None:
            return f"a multiple of {self.step} in {bounds}"
        return f"{'an integer' if self.integer else 'a number'} in {bounds}"


WEIGHT_RANGE = Range(0.0, 100.0)
BACKGROUND_RANGE = Range(0.0, 2.0)
SCORE_RANGE = Range(0.0, 1.0)
TOP_K_RANGE = Range(0, 10_000, integer=True)
SEED_RANGE = Range(0, 2**31 - 1, integer=True)
QUERIES_RANGE = Range(1, 1000, integer=True)
DRAWN_RANGE = Range(5, 300, integer=True, step=5)

_CHOICES: dict[str, tuple[str, Mapping[str, object]]] = {
    "source": ("source_kind", SOURCE_PARAMS),
    "cost": ("cost_preset", COST_PARAMS),
    "anchors": ("anchor_mode", ANCHOR_PARAMS),
    "preset": ("preset", PRESET_PARAMS),
    "present": ("present", PRESENT_PARAMS),
}
_NUMBERS: dict[str, tuple[str, Range]] = {
    **{key: (key, WEIGHT_RANGE) for key in WEIGHT_KEYS},
    "c0": ("background_cost", BACKGROUND_RANGE),
    "score": ("score_threshold", SCORE_RANGE),
    "topk": ("top_k", TOP_K_RANGE),
    "seed": ("sim_seed", SEED_RANGE),
    "queries": ("sim_queries", QUERIES_RANGE),
    "drawn": ("max_drawn", DRAWN_RANGE),
}
_SCALES: dict[str, tuple[str, tuple[float, ...]]] = {
    "eps": ("eps", EPS_VALUES),
    "tau1": ("tau1", TAU_VALUES),
    "tau2": ("tau2", TAU_VALUES),
}

PARAMETERS: dict[str, str] = {
    "source": "source_kind",
    "image": "image_id",
    **{name: key for name, (key, _) in _CHOICES.items()},
    **{name: key for name, (key, _) in _NUMBERS.items()},
    **{name: key for name, (key, _) in _SCALES.items()},
}
"""Every query parameter and the session-state key it sets."""


def scale_text(value: float) -> str:
    """A slider-scale value as URL text: ``"0"``, ``"0.001"``, ``"100"``, ``"inf"``.

    >>> [scale_text(v) for v in (0.0, 0.001, 0.05, 100.0, math.inf)]
    ['0', '0.001', '0.05', '100', 'inf']
    """
    return "inf" if value == math.inf else f"{value:g}"


def _number_text(value: float, integer: bool) -> str:
    return str(int(value)) if integer else repr(float(value))


def encode(values: Mapping[str, object]) -> dict[str, str]:
    """Query parameters for ``values`` (keyed by session-state names; missing keys are left out).

    The weights are written only when the cost is ``custom`` (or not named): a named cost
    implies its weights.
    """
    query: dict[str, str] = {}
    if values.get("image_id") is not None:
        query["image"] = str(int(values["image_id"]))  # type: ignore[call-overload]
    for name, (key, choices) in _CHOICES.items():
        value = values.get(key)
        if value is None:
            continue
        slug = next((slug for slug, choice in choices.items() if choice == value), None)
        if slug is None:
            raise ValueError(
                f"{key} = {value!r} has no URL form; known: {sorted(choices.values())}"
            )
        query[name] = slug
    named_cost = query.get("cost", "custom") != "custom"
    for name, (key, limits) in _NUMBERS.items():
        value = values.get(key)
        if value is None or (named_cost and key in WEIGHT_KEYS):
            continue
        query[name] = _number_text(value, limits.integer)  # type: ignore[arg-type]
    for name, (key, _) in _SCALES.items():
        if values.get(key) is not None:
            query[name] = scale_text(float(values[key]))  # type: ignore[arg-type]
    return query


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to :data:`SHOWN_CHARS` characters."""
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return repr(text)


def _choice(name: str, text: str, choices: Mapping[str, object]) -> object:
    key = text.strip().lower()
    if key in choices:
        return choices[key]
    if any(text == choice for choice in choices.values() if isinstance(choice, str)):
        return text  # the full name is accepted too
    raise ValueError(f"{name}={_shown(text)} is not one of {', '.join(choices)}")


def _integer(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{name}={_shown(text)} is not an integer") from None


def _number(name: str, text: str, limits: Range) -> float | int:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{name}={_shown(text)} is not {limits.describe()}") from None
    outside = not (math.isfinite(value) and limits.low <= value <= limits.high)
    if outside or (limits.integer and not value.is_integer()):
        raise ValueError(f"{name}={_shown(text)} is not {limits.describe()}")
    if limits.step is not None and int(value) % limits.step:
        raise ValueError(f"{name}={_shown(text)} is not {limits.describe()}")
    return int(value) if limits.integer else value


def _describe_scale(scale: tuple[float, ...]) -> str:
    """``"a finite number ≥ 0 (slider: 0, 0.001, …, 1)"``, ``"... or inf (slider: ..., inf)"``."""
    finite = [v for v in scale if v < math.inf]
    ends = f"{scale_text(finite[0])}, {scale_text(finite[1])}, …, {scale_text(finite[-1])}"
    if math.inf in scale:
        return f"a number ≥ 0 or inf (slider: {ends}, inf)"
    return f"a finite number ≥ 0 (slider: {ends})"


def _scale(name: str, text: str, scale: tuple[float, ...]) -> tuple[float, str | None]:
    """The scale position for ``text`` (see :func:`~uotviz.sliders.snap`), and a message when it
    is not the value written. A decimal too large for a float is a large finite number (not inf),
    one too small for a float a small positive one (not 0)."""
    word = text.strip()
    error = ValueError(f"{name}={_shown(text)} is not {_describe_scale(scale)}")
    try:
        number = Decimal("inf" if word in _INF_WORDS else word)
    except (InvalidOperation, ValueError):
        raise error from None
    if number.is_nan() or number < 0 or (number.is_infinite() and math.inf not in scale):
        raise error
    written = float(number)
    value = written
    if number.is_finite() and written == math.inf:
        value = sys.float_info.max
    elif number > 0 and written == 0:
        value = math.ulp(0.0)
    position = snap(value, scale)
    if position == written:  # "0.05" parses to the scale's 0.05 (decimal text), "inf" to inf
        return position, None
    return position, (
        f"{name}={_shown(text)} is not a slider position: snapped to {scale_text(position)}"
    )


def decode(query: Mapping[str, str]) -> tuple[dict[str, object], list[str]]:
    """The valid values of a URL query, keyed by session-state names, and one message per
    rejected parameter (naming it and its allowed values) or per ``eps``, ``tau1``, ``tau2``
    snapped to a slider position (naming the position). Unknown parameters are ignored.

    A parameter given several times (a list, as some query parsers return) counts by its last
    value.
    """
    values: dict[str, object] = {}
    messages: list[str] = []
    for name, raw in query.items():
        if name not in PARAMETERS:
            continue
        text = raw[-1] if isinstance(raw, list | tuple) and raw else raw
        text = str(text)
        key = PARAMETERS[name]
        try:
            if name == "image":
                values[key] = _integer(name, text)
            elif name in _CHOICES:
                values[key] = _choice(name, text, _CHOICES[name][1])
            elif name in _NUMBERS:
                values[key] = _number(name, text, _NUMBERS[name][1])
            else:
                values[key], snapped = _scale(name, text, _SCALES[name][1])
                if snapped is not None:
                    messages.append(f"URL parameter {snapped}.")
        except ValueError as error:
            messages.append(f"URL parameter {error}; ignored.")
    return values, messages
