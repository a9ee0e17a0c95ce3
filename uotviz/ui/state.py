"""The app's shareable state: one table of the values a link carries, read from the URL into the
session and written from the session back to the URL.

Every shareable value is one :class:`Field` of :data:`FIELDS`: its URL query parameter, its
session-state key (the key of the widget that shows it), the kind of value it holds (a
:class:`Choice`, an :class:`Integer`, a number in a :class:`Range`, or a position of a
:class:`Scale`: how URL text is read and checked, and how a value is written), the :class:`Stage`
at which a link's value is applied to the session, and the page whose URL carries it. The table
is used both ways:

- URL → session, once per session (:func:`restore_from_url`, before any widget is created):
  :func:`decode` keeps the valid values, and the values are applied stage by stage, through the
  widgets' own callbacks (a cost preset fills in its weights, a transport preset moves the
  sliders, explicit weights or ε, τ1, τ2 then override, and the preset shown is the one they
  match). The image id waits until the data source is known (:func:`requested_image`). What the
  link asked for and did not get is shown once (:func:`show_url_notice`).
- session → URL, on every run: :func:`encode` writes the values as text. A full run writes them
  with ``st.query_params`` (:func:`write_url`). A slider step (a run of the matching view's
  fragment) writes them in the browser instead (:func:`sync_url`), with
  ``history.replaceState``: through ``st.query_params`` every step would send a page-info
  message that makes the browser render the whole app again and push a history entry (about a
  tenth of a step's time, and Back stepping through every slider move). Both write the same
  values.

:func:`decode` and :func:`encode` are pure (no Streamlit session needed). Conventions: values are
keyed by session-state names; a message is plain text (escaped when shown) that names the
parameter, quotes at most :data:`SHOWN_CHARS` characters of its value and says what is allowed.
Nothing is pickled: every parameter is a number, a word from a fixed list, or a slider position
written as text (``"0"``, ``"0.01"``, ``"0.012"``, ..., ``"inf"``).

==============  ===================  =========================================================
parameter       session-state key    allowed values
==============  ===================  =========================================================
``image``       ``image_id``         an integer image id
``source``      ``source_kind``      ``demo``, ``configured``, ``upload``
``cost``        ``cost_preset``      ``giou``, ``iou``, ``l1``, ``detr``, ``custom``
``anchors``     ``anchor_mode``      ``none``, ``ssd300``, ``ssd512``
``preset``      ``preset``           a panel of Figure 1, ``c`` ... ``h``, or ``custom``
``present``     ``present``          ``1`` (presentation mode) or ``0``
``w_giou`` ...  ``w_giou`` ...       the four cost weights (``w_giou``, ``w_iou``, ``w_l1``,
                                     ``w_class``), numbers in [0, 100]; written for ``custom``
``c0``          ``background_cost``  c∅, a number in [0, 2]
``score``       ``score_threshold``  a number in [0, 1]
``topk``        ``top_k``            an integer in [0, 10000] (0: all)
``seed``        ``sim_seed``         an integer in [0, 2³¹ − 1]
``queries``     ``sim_queries``      an integer in [1, 1000]
``drawn``       ``max_drawn``        a multiple of 5 in [5, 300]
``eps``         ``eps``              a finite number ≥ 0, snapped to the nearest of
                                     :data:`~uotviz.sliders.EPS_VALUES` (0 to 1)
``tau1``        ``tau1``             a number ≥ 0 or ``inf`` (``infinity``, ``∞``), snapped to
                                     the nearest of :data:`~uotviz.sliders.TAU_VALUES` (a
                                     finite number above 100 to 100, only ``inf`` to ∞)
``tau2``        ``tau2``             as ``tau1``
``strategy``    ``dataset_strategy`` the Dataset page's matching: ``uot`` or ``coco-eval``
``iou``         ``dataset_iou``      the Dataset page's IoU threshold, a number in [0.05, 1]
``compare``     ``dataset_compare``  the Dataset page's comparison: a panel, ``c`` ... ``h``,
                                     or ``none``
==============  ===================  =========================================================

The last three are written only on the Dataset page's URL; the others on both pages'.
Snapping (:func:`~uotviz.sliders.snap`) keeps 0 at 0 and goes by log distance otherwise; a value
beyond a scale's positive finite positions goes to the nearest of them (``eps=5000`` to 1,
``eps=1e-9`` to 0.001). ``eps=inf`` is rejected rather than snapped: infinite regularisation is a
limit case, like ``tau = inf``, that the ε slider does not have. Unknown parameters are ignored
silently (a URL may carry other tools' parameters).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum, auto
from typing import Protocol

import streamlit as st

from uotviz.figure1 import PRESETS
from uotviz.matching import ANCHOR_SETS
from uotviz.readout import escape_markdown
from uotviz.sliders import CUSTOM, EPS_VALUES, TAU_VALUES, snap
from uotviz.sources import CONFIGURED, DEMO, UPLOAD
from uotviz.stats import STRATEGIES
from uotviz.ui import params
from uotviz.ui.js import asset_text
from uotviz.ui.presentation import PRESENT_KEY

__all__ = [
    "ANCHOR_PARAMS",
    "BACKGROUND_RANGE",
    "COMPARE_PARAMS",
    "COST_PARAMS",
    "DATASET_PAGE",
    "DRAWN_RANGE",
    "FIELDS",
    "IMAGE_PAGE",
    "IOU_RANGE",
    "NO_COMPARISON",
    "PARAMETERS",
    "PRESENT_PARAMS",
    "PRESET_PARAMS",
    "QUERIES_RANGE",
    "SCORE_RANGE",
    "SEED_RANGE",
    "SHOWN_CHARS",
    "SOURCE_PARAMS",
    "STRATEGY_PARAMS",
    "TOP_K_RANGE",
    "WEIGHT_RANGE",
    "Choice",
    "Field",
    "Integer",
    "Kind",
    "Range",
    "Scale",
    "Stage",
    "decode",
    "encode",
    "note_url_problem",
    "requested_image",
    "restore_from_url",
    "scale_text",
    "show_url_notice",
    "sync_url",
    "write_url",
]

IMAGE_PAGE = "image"
DATASET_PAGE = "dataset"
"""The pages, as :class:`Field` and :func:`write_url` name them (their URL paths)."""

NO_COMPARISON = "none"
"""The Dataset page's comparison selector's entry for no comparison."""

SHOWN_CHARS = 40
"""The most characters of a URL value a message quotes (a longer one is cut, ending in "…")."""

_INF_WORDS = ("∞",)  # besides what Decimal reads as +infinity: "inf", "infinity", "+Inf", ...


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to :data:`SHOWN_CHARS` characters."""
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return repr(text)


# ------------------------------------------------------------------ the kinds of values


class Kind(Protocol):
    """How a field's URL text is read and checked, and how its value is written."""

    def read(self, name: str, text: str) -> tuple[object, str | None]:
        """The value ``text`` (given for the parameter ``name``) stands for, and a note when it
        is not the value written (a slider position snapped to); ValueError naming the
        parameter, quoting ``text`` and saying what is allowed, for a value not allowed."""
        ...

    def write(self, value: object) -> str:
        """``value`` as URL text, which :meth:`read` reads back as ``value``."""
        ...


@dataclass(frozen=True)
class Choice:
    """A word from a fixed list: ``words`` maps each URL word to the value it names. A word is
    read in any case, and a value's own name (``"DETR (class 2, L1 5, GIoU 2)"``) is accepted
    too."""

    words: Mapping[str, object]

    def read(self, name: str, text: str) -> tuple[object, None]:
        word = text.strip().lower()
        if word in self.words:
            return self.words[word], None
        if any(text == value for value in self.words.values() if isinstance(value, str)):
            return text, None
        raise ValueError(f"{name}={_shown(text)} is not one of {', '.join(self.words)}")

    def write(self, value: object) -> str:
        """The word for ``value``; ValueError for a value the list does not have."""
        for word, named in self.words.items():
            if named == value:
                return word
        known = sorted(self.words.values())  # type: ignore[type-var]
        raise ValueError(f"{value!r} has no URL form; known: {known}")


@dataclass(frozen=True)
class Integer:
    """Any integer (an image id: whether the data source has it is checked once the source is
    known, :func:`requested_image`)."""

    def read(self, name: str, text: str) -> tuple[int, None]:
        try:
            return int(text.strip()), None
        except ValueError:
            raise ValueError(f"{name}={_shown(text)} is not an integer") from None

    def write(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]


@dataclass(frozen=True)
class Range:
    """A number in the closed range ``[low, high]``; ``integer``: an integer; ``step``: a
    multiple of it. The limits of the widget that shows the value, too."""

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

    def read(self, name: str, text: str) -> tuple[float | int, None]:
        error = ValueError(f"{name}={_shown(text)} is not {self.describe()}")
        try:
            value = float(text.strip())
        except ValueError:
            raise error from None
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise error
        if self.integer and not value.is_integer():
            raise error
        if self.step is not None and int(value) % self.step:
            raise error
        return (int(value) if self.integer else value), None

    def write(self, value: object) -> str:
        return str(int(value)) if self.integer else repr(float(value))  # type: ignore[arg-type]


def scale_text(value: float) -> str:
    """A slider-scale value as URL text: ``"0"``, ``"0.001"``, ``"100"``, ``"inf"``.

    >>> [scale_text(v) for v in (0.0, 0.001, 0.05, 100.0, math.inf)]
    ['0', '0.001', '0.05', '100', 'inf']
    """
    return "inf" if value == math.inf else f"{value:g}"


@dataclass(frozen=True)
class Scale:
    """A position of a slider's scale (:data:`~uotviz.sliders.EPS_VALUES`, ...). A number off
    the scale is snapped to the nearest position, with a note naming it."""

    values: tuple[float, ...]

    def describe(self) -> str:
        """``"a finite number ≥ 0 (slider: 0, 0.001, …, 1)"``, ``"... or inf (slider: ...)"``."""
        finite = [v for v in self.values if v < math.inf]
        ends = f"{scale_text(finite[0])}, {scale_text(finite[1])}, …, {scale_text(finite[-1])}"
        if math.inf in self.values:
            return f"a number ≥ 0 or inf (slider: {ends}, inf)"
        return f"a finite number ≥ 0 (slider: {ends})"

    def read(self, name: str, text: str) -> tuple[float, str | None]:
        """The position nearest ``text`` (:func:`~uotviz.sliders.snap`), and a note when it is
        not the value written. A decimal too large for a float is a large finite number (not
        inf), one too small for a float a small positive one (not 0)."""
        word = text.strip()
        error = ValueError(f"{name}={_shown(text)} is not {self.describe()}")
        try:
            number = Decimal("inf" if word in _INF_WORDS else word)
        except (InvalidOperation, ValueError):
            raise error from None
        if number.is_nan() or number < 0 or (number.is_infinite() and math.inf not in self.values):
            raise error
        written = float(number)
        value = written
        if number.is_finite() and written == math.inf:
            value = sys.float_info.max
        elif number > 0 and written == 0:
            value = math.ulp(0.0)
        position = snap(value, self.values)
        if position == written:  # "0.05" parses to the scale's 0.05 (decimal text), "inf" to inf
            return position, None
        return position, (
            f"{name}={_shown(text)} is not a slider position: snapped to {scale_text(position)}"
        )

    def write(self, value: object) -> str:
        return scale_text(float(value))  # type: ignore[arg-type]


# ------------------------------------------------------------------ allowed values

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

STRATEGY_PARAMS: dict[str, str] = {strategy: strategy for strategy in STRATEGIES}
"""``strategy`` values: the Dataset page's matching (:data:`uotviz.stats.STRATEGIES`)."""

COMPARE_PARAMS: dict[str, str] = {
    NO_COMPARISON: NO_COMPARISON,
    **{preset.panel: preset.name for preset in PRESETS},
}
"""``compare`` values: no comparison, or the preset the Dataset page compares with."""

WEIGHT_RANGE = Range(0.0, 100.0)
BACKGROUND_RANGE = Range(0.0, 2.0)
SCORE_RANGE = Range(0.0, 1.0)
TOP_K_RANGE = Range(0, 10_000, integer=True)
SEED_RANGE = Range(0, 2**31 - 1, integer=True)
QUERIES_RANGE = Range(1, 1000, integer=True)
DRAWN_RANGE = Range(5, 300, integer=True, step=5)
IOU_RANGE = Range(0.05, 1.0)

# ------------------------------------------------------------------ the table


class Stage(Enum):
    """When :func:`restore_from_url` applies a link's value: stage by stage, in this order, so
    that a value comes after those it overrides; the values of a stage are set together, then
    the stage's widget callback (named below) runs once."""

    SOURCE = auto()
    """First: which data the pages show."""
    IMAGE = auto()
    """Kept until the picker knows the source's images (:func:`requested_image`)."""
    ANCHORS = auto()
    """``settings.anchor_mode_changed``: an anchor mode brings its own cost and c∅."""
    COST = auto()
    """``settings.apply_cost_preset``: a named cost fills in its weights."""
    WEIGHTS = auto()
    """``settings.weight_edited``: explicit weights override, and name the cost they match."""
    PLAIN = auto()
    """Values that no other value follows (c∅ after the anchor mode's)."""
    PRESET = auto()
    """``params.apply_preset``: a transport preset moves the sliders."""
    SLIDERS = auto()
    """``params.slider_moved``: explicit ε, τ1, τ2 override, and name the preset they match."""


def _always(values: Mapping[str, object]) -> bool:
    """A field written whenever it has a value."""
    return True


def _custom_cost(values: Mapping[str, object]) -> bool:
    """Whether the cost is Custom (or not given): a named cost implies its weights."""
    return values.get("cost_preset") in (None, CUSTOM)


@dataclass(frozen=True)
class Field:
    """One shareable value.

    Attributes:
        name: its URL query parameter.
        key: its session-state key (the key of the widget that shows it).
        kind: how URL text is read and checked, and how the value is written.
        stage: when a link's value is applied to the session.
        page: the one page whose URL carries it (:data:`DATASET_PAGE`); None: every page's.
        written: whether :func:`encode` writes it, given all the values.
    """

    name: str
    key: str
    kind: Kind
    stage: Stage = Stage.PLAIN
    page: str | None = None
    written: Callable[[Mapping[str, object]], bool] = _always


FIELDS: tuple[Field, ...] = (
    Field("image", "image_id", Integer(), Stage.IMAGE),
    Field("source", "source_kind", Choice(SOURCE_PARAMS), Stage.SOURCE),
    Field("cost", "cost_preset", Choice(COST_PARAMS), Stage.COST),
    Field("anchors", "anchor_mode", Choice(ANCHOR_PARAMS), Stage.ANCHORS),
    Field("preset", "preset", Choice(PRESET_PARAMS), Stage.PRESET),
    Field("present", PRESENT_KEY, Choice(PRESENT_PARAMS)),
    *(
        Field(key, key, WEIGHT_RANGE, Stage.WEIGHTS, written=_custom_cost)
        for key in ("w_giou", "w_iou", "w_l1", "w_class")  # CostWeights' order
    ),
    Field("c0", "background_cost", BACKGROUND_RANGE),
    Field("score", "score_threshold", SCORE_RANGE),
    Field("topk", "top_k", TOP_K_RANGE),
    Field("seed", "sim_seed", SEED_RANGE),
    Field("queries", "sim_queries", QUERIES_RANGE),
    Field("drawn", "max_drawn", DRAWN_RANGE),
    Field("eps", "eps", Scale(EPS_VALUES), Stage.SLIDERS),
    Field("tau1", "tau1", Scale(TAU_VALUES), Stage.SLIDERS),
    Field("tau2", "tau2", Scale(TAU_VALUES), Stage.SLIDERS),
    Field("strategy", "dataset_strategy", Choice(STRATEGY_PARAMS), page=DATASET_PAGE),
    Field("iou", "dataset_iou", IOU_RANGE, page=DATASET_PAGE),
    Field("compare", "dataset_compare", Choice(COMPARE_PARAMS), page=DATASET_PAGE),
)
"""Every shareable value, in the order the URL lists them."""

PARAMETERS: dict[str, str] = {field.name: field.key for field in FIELDS}
"""Every query parameter and the session-state key it sets."""

_FIELDS_BY_NAME = {field.name: field for field in FIELDS}


# ------------------------------------------------------------------ the codec (pure)


def encode(values: Mapping[str, object]) -> dict[str, str]:
    """Query parameters for ``values`` (keyed by session-state names; missing keys and None are
    left out), in the order of :data:`FIELDS`. The weights are written only when the cost is
    ``custom`` (or not named): a named cost implies its weights. ValueError for a choice that
    has no URL word."""
    query: dict[str, str] = {}
    for field in FIELDS:
        value = values.get(field.key)
        if value is None or not field.written(values):
            continue
        try:
            query[field.name] = field.kind.write(value)
        except ValueError as error:
            raise ValueError(f"{field.key} = {error}") from None
    return query


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
        field = _FIELDS_BY_NAME.get(name)
        if field is None:
            continue
        text = str(raw[-1] if isinstance(raw, list | tuple) and raw else raw)
        try:
            values[field.key], note = field.kind.read(name, text)
        except ValueError as error:
            messages.append(f"URL parameter {error}; ignored.")
            continue
        if note is not None:
            messages.append(f"URL parameter {note}.")
    return values, messages


# ------------------------------------------------------------------ the session binding

_RESTORED = "url_restored"
_PROBLEMS = "url_problems"  # what the link asked for and did not get, shown once
_PENDING_IMAGE = "url_image_id"


def _apply_to_session(values: Mapping[str, object]) -> None:
    """Set decoded ``values`` in the session over the defaults, stage by stage (:class:`Stage`):
    a stage's values together, then its widget callback once."""
    # Imported here, not at the top: the settings panel takes its widgets' limits from here.
    from uotviz.ui import settings

    callbacks = {
        Stage.ANCHORS: settings.anchor_mode_changed,
        Stage.COST: settings.apply_cost_preset,
        Stage.WEIGHTS: settings.weight_edited,
        Stage.PRESET: params.apply_preset,
        Stage.SLIDERS: params.slider_moved,
    }
    settings.init_cost_settings()
    params.init_params()
    state = st.session_state
    for stage in Stage:
        given = [field.key for field in FIELDS if field.stage is stage and field.key in values]
        for key in given:
            state[_PENDING_IMAGE if stage is Stage.IMAGE else key] = values[key]
        if given and stage in callbacks:
            callbacks[stage]()


def restore_from_url() -> None:
    """First run of a session: apply the URL's valid values to the session state (call it before
    any widget is created) and keep the problems for :func:`show_url_notice`."""
    state = st.session_state
    if state.get(_RESTORED):
        return
    state[_RESTORED] = True
    values, messages = decode(st.query_params.to_dict())
    for message in messages:
        note_url_problem(message)
    _apply_to_session(values)


def requested_image(ids: Sequence[int], source_kind: str) -> int | None:
    """The image id the URL asked for, once (None when it asked for none). An id the source does
    not have gives a warning and None (the caller's default image)."""
    requested = st.session_state.pop(_PENDING_IMAGE, None)
    if requested is None:
        return None
    if requested not in ids:
        note_url_problem(
            f"URL parameter image={requested}: {source_kind} has no such image; showing the "
            "default image."
        )
        return None
    return requested


def note_url_problem(message: str) -> None:
    """Keep ``message`` (plain text, which may quote the URL) for :func:`show_url_notice`."""
    st.session_state.setdefault(_PROBLEMS, []).append(message)


def show_url_notice(inline: bool = False) -> None:
    """What the link asked for and did not get, in one notice; once. By default a toast that
    stays until it is closed (it does not push the page down); ``inline``: one line of small
    text in the page, where it covers nothing and pushes the picture down by a line only
    (presentation mode, whose sliders sit where a toast goes)."""
    problems = st.session_state.pop(_PROBLEMS, None)
    if not problems:
        return
    if inline:
        said = " · ".join(escape_markdown(problem) for problem in problems)  # shown as text
        st.caption(f"⚠️ Not used from this link: {said}")
        return
    lines = "\n".join(f"- {escape_markdown(problem)}" for problem in problems)  # shown as text
    notice = f"**Some of this link's values were not used:**\n\n{lines}"
    st.toast(notice, icon="⚠️", duration="infinite")


def _page_query(page: str) -> dict[str, str]:
    """The query the session's values give on ``page``'s URL."""
    state = st.session_state
    return encode({f.key: state.get(f.key) for f in FIELDS if f.page in (None, page)})


def write_url(page: str) -> None:
    """Write the current values to ``page``'s URL (:data:`IMAGE_PAGE`, :data:`DATASET_PAGE`),
    touching only the parameters that changed, and removing those it does not carry."""
    current = _page_query(page)
    query = st.query_params
    for name, text in current.items():
        if query.get(name) != text:
            query[name] = text
    for name in PARAMETERS:
        if name not in current and name in query:
            del query[name]


_url_element = st.components.v2.component(
    "uotviz_url", js=asset_text("url_sync.js"), isolate_styles=False
)


def sync_url() -> None:
    """Write the Image page's current values into the browser's address bar, in place (see the
    module's docstring), removing those it does not carry; an element that shows nothing."""
    current = _page_query(IMAGE_PAGE)
    _url_element(
        key="url_sync",
        data={
            "params": {name: current.get(name) for name in PARAMETERS},
            "settled": st.session_state.get(params.SLIDER_STEP, 0),
        },
    )
