"""The shareable state's URL codec (pure, no session): every parameter round-trips, each kind of
bad value is rejected on its own with a message naming the parameter and what is allowed, the
slider scales' ends (0, inf) survive, a slider value off the scale snaps to the nearest position
with a message naming it, and the table's fields are applied in the order the widgets need."""

from __future__ import annotations

import math

import pytest

from uotviz.figure1 import PRESETS
from uotviz.matching import ANCHOR_SETS, COST_PRESETS
from uotviz.sliders import CUSTOM, EPS_VALUES, TAU_VALUES, preset_names
from uotviz.sources import CONFIGURED, DEMO, UPLOAD
from uotviz.stats import STRATEGIES, StatsOptions
from uotviz.ui.state import (
    ANCHOR_PARAMS,
    COMPARE_PARAMS,
    COST_PARAMS,
    DATASET_PAGE,
    FIELDS,
    IOU_RANGE,
    NO_COMPARISON,
    PARAMETERS,
    PRESET_PARAMS,
    SHOWN_CHARS,
    SOURCE_PARAMS,
    STRATEGY_PARAMS,
    Stage,
    decode,
    encode,
    scale_text,
)

CUSTOM_VALUES = {
    "source_kind": CONFIGURED,
    "image_id": 139,
    "cost_preset": CUSTOM,
    "w_giou": 2.0,
    "w_iou": 0.0,
    "w_l1": 5.0,
    "w_class": 2.5,
    "background_cost": 0.65,
    "anchor_mode": "SSD512",
    "score_threshold": 0.3,
    "top_k": 20,
    "sim_seed": 12345,
    "sim_queries": 300,
    "max_drawn": 75,
    "preset": CUSTOM,
    "present": True,
    "eps": 0.001,
    "tau1": math.inf,
    "tau2": 0.0,
    "dataset_strategy": "coco-eval",
    "dataset_iou": 0.75,
    "dataset_compare": "Hungarian (d)",
}


def test_presentation_mode_in_the_url() -> None:
    assert encode({"present": True}) == {"present": "1"}
    assert encode({"present": False}) == {"present": "0"}
    assert decode({"present": "1"}) == ({"present": True}, [])
    assert decode({"present": "0"}) == ({"present": False}, [])
    values, messages = decode({"present": "yes please"})
    assert values == {} and len(messages) == 1 and "present='yes please'" in messages[0]


def test_every_parameter_round_trips() -> None:
    query = encode(CUSTOM_VALUES)
    assert set(query) == set(PARAMETERS)  # a custom cost writes its four weights
    assert all(isinstance(text, str) for text in query.values())
    values, messages = decode(query)
    assert messages == []
    assert values == CUSTOM_VALUES
    assert type(values["image_id"]) is int and type(values["top_k"]) is int


def test_a_named_cost_is_written_without_its_weights() -> None:
    values = {**CUSTOM_VALUES, "cost_preset": "1 − GIoU"}
    query = encode(values)
    assert query["cost"] == "giou"
    assert not {"w_giou", "w_iou", "w_l1", "w_class"} & set(query)
    decoded, messages = decode(query)
    assert messages == [] and decoded["cost_preset"] == "1 − GIoU"


@pytest.mark.parametrize(
    ("key", "choices", "expected"),
    [
        ("source_kind", SOURCE_PARAMS, {DEMO, CONFIGURED, UPLOAD}),
        ("cost_preset", COST_PARAMS, {*COST_PRESETS, CUSTOM}),
        ("anchor_mode", ANCHOR_PARAMS, {"None", *(name.split()[0] for name in ANCHOR_SETS)}),
        ("preset", PRESET_PARAMS, {*(preset.name for preset in PRESETS), CUSTOM}),
        ("dataset_strategy", STRATEGY_PARAMS, set(STRATEGIES)),
        # the Dataset page's "Compare with" entries: no comparison, or a preset (not Custom)
        ("dataset_compare", COMPARE_PARAMS, {NO_COMPARISON, *preset_names()} - {CUSTOM}),
    ],
)
def test_every_choice_has_a_url_word_and_round_trips(key, choices, expected) -> None:
    assert set(choices.values()) == expected
    for value in expected:
        decoded, messages = decode(encode({key: value}))
        assert messages == [] and decoded == {key: value}


@pytest.mark.parametrize("value", EPS_VALUES)
def test_every_eps_round_trips(value: float) -> None:
    assert decode(encode({"eps": value})) == ({"eps": value}, [])


@pytest.mark.parametrize("value", TAU_VALUES)
def test_every_tau_round_trips(value: float) -> None:
    assert decode(encode({"tau1": value, "tau2": value})) == ({"tau1": value, "tau2": value}, [])


def test_scale_ends_are_written_0_and_inf() -> None:
    assert scale_text(0.0) == "0" and scale_text(math.inf) == "inf"
    assert encode({"eps": 0.0, "tau1": math.inf, "tau2": 0.0}) == {
        "eps": "0",
        "tau1": "inf",
        "tau2": "0",
    }
    assert decode({"tau1": "inf", "tau2": "∞", "eps": "0"})[0] == {
        "tau1": math.inf,
        "tau2": math.inf,
        "eps": 0.0,
    }
    assert [scale_text(v) for v in TAU_VALUES[:4]] == ["0", "0.01", "0.012", "0.015"]


def test_words_are_read_in_any_case_and_full_names_are_accepted() -> None:
    values, messages = decode({"source": "Demo", "cost": "DETR (class 2, L1 5, GIoU 2)"})
    assert messages == []
    assert values == {"source_kind": DEMO, "cost_preset": "DETR (class 2, L1 5, GIoU 2)"}


def test_unknown_parameters_are_ignored_silently() -> None:
    assert decode({"utm_source": "mail", "image": "3"}) == ({"image_id": 3}, [])


BAD = [
    ("source", "s3", "demo, configured, upload"),
    ("image", "seven", "not an integer"),
    ("image", "7.5", "not an integer"),
    ("cost", "ciou", "giou, iou, l1, detr, custom"),
    ("w_l1", "-1", "[0, 100]"),
    ("w_giou", "nan", "[0, 100]"),
    ("w_iou", "inf", "[0, 100]"),
    ("c0", "2.5", "[0, 2]"),
    ("anchors", "yolo", "none, ssd300, ssd512"),
    ("score", "1.01", "[0, 1]"),
    ("topk", "3.5", "an integer in [0, 10000]"),
    ("topk", "-1", "an integer in [0, 10000]"),
    ("seed", "x", "[0, 2147483647]"),
    ("queries", "0", "an integer in [1, 1000]"),
    ("drawn", "42", "a multiple of 5 in [5, 300]"),
    ("drawn", "400", "a multiple of 5 in [5, 300]"),
    ("preset", "z", "c, d, e, f, g, h, custom"),
    ("eps", "-0.03", "a finite number ≥ 0 (slider: 0, 0.001, …, 1)"),
    ("eps", "inf", "a finite number ≥ 0"),  # the ε slider has no ∞: rejected, not snapped to 1
    ("eps", "∞", "a finite number ≥ 0"),
    ("eps", "nan", "0, 0.001"),
    ("eps", "0.1.2", "0, 0.001"),
    ("tau1", "-inf", "a number ≥ 0 or inf (slider: 0, 0.01, …, 100, inf)"),
    ("tau1", "NaN", "100, inf"),
    ("tau1", "big", "100, inf"),
    ("tau2", "-0.01", "0, 0.01"),
    ("tau2", "", "0, 0.01"),
    ("strategy", "hungarian", "uot, coco-eval"),
    ("iou", "0", "a number in [0.05, 1]"),
    ("iou", "1.5", "a number in [0.05, 1]"),
    ("iou", "half", "a number in [0.05, 1]"),
    ("compare", "b", "none, c, d, e, f, g, h"),
    ("compare", "custom", "none, c, d, e, f, g, h"),  # Custom is not a setting to compare with
]


@pytest.mark.parametrize(("name", "text", "allowed"), BAD, ids=[f"{n}={t}" for n, t, _ in BAD])
def test_a_bad_value_is_rejected_with_a_message_and_the_rest_applies(name, text, allowed) -> None:
    good = encode(CUSTOM_VALUES)
    values, messages = decode({**good, name: text})
    assert len(messages) == 1
    assert f"{name}={text!r}" in messages[0] and allowed in messages[0]
    key = PARAMETERS[name]
    assert key not in values
    assert values == {k: v for k, v in CUSTOM_VALUES.items() if k != key}


def test_several_bad_values_give_one_message_each() -> None:
    values, messages = decode({"eps": "-1e9", "tau1": "big", "image": "7", "drawn": "abc"})
    assert values == {"image_id": 7}
    assert len(messages) == 3
    assert [m.split("=")[0].split()[-1] for m in messages] == ["eps", "tau1", "drawn"]


def test_repeated_parameters_count_by_their_last_value() -> None:
    assert decode({"image": ["3", "5"]})[0] == {"image_id": 5}


# (text, scale parameter, position expected, written as); the positions are worked out by hand.
SNAPPED = [
    ("eps", "0.035", 0.04, "0.04"),  # nearest in log distance: 0.04 / 0.035 < 0.035 / 0.03
    ("eps", "0.031", 0.03, "0.03"),
    ("eps", "0.7", 0.8, "0.8"),  # nearer 0.6 linearly, 0.8 in log distance
    ("eps", "1e-9", 0.001, "0.001"),  # below the smallest positive position: it, not 0
    ("eps", "1e-400", 0.001, "0.001"),  # positive even where a float underflows to 0
    ("eps", "5000", 1.0, "1"),
    ("eps", "1e999", 1.0, "1"),  # a number that overflows a float is still finite
    ("tau1", "0.001", 0.01, "0.01"),
    ("tau1", "7", 8.0, "8"),
    ("tau1", "150", 100.0, "100"),  # finite: 100, never ∞
    ("tau2", "1e999", 100.0, "100"),
    ("tau2", "0.09", 0.1, "0.1"),
]


@pytest.mark.parametrize(
    ("name", "text", "expected", "written"), SNAPPED, ids=[f"{n}={t}" for n, t, _, _ in SNAPPED]
)
def test_a_value_off_the_scale_snaps_to_the_nearest_position(name, text, expected, written) -> None:
    good = encode(CUSTOM_VALUES)
    values, messages = decode({**good, name: text})
    key = PARAMETERS[name]
    assert values == {**CUSTOM_VALUES, key: expected}
    assert messages == [
        f"URL parameter {name}={text!r} is not a slider position: snapped to {written}."
    ]
    assert encode(values)[name] == written  # the URL then says what is shown


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("eps", "0.03", 0.03),
        ("eps", "0.0012", 0.0012),
        ("eps", "3e-2", 0.03),
        ("eps", " 0.050 ", 0.05),
        ("eps", "-0", 0.0),
        ("tau1", "0.15", 0.15),
        ("tau1", "1e2", 100.0),
        ("tau1", "Infinity", math.inf),
        ("tau2", "+inf", math.inf),
        ("tau2", "INF", math.inf),
    ],
)
def test_a_position_written_another_way_is_taken_silently(name, text, expected) -> None:
    values, messages = decode({name: text})
    assert messages == []
    assert values == {PARAMETERS[name]: expected}
    assert math.copysign(1.0, values[PARAMETERS[name]]) == 1.0  # "-0" is 0, not -0.0


def test_the_old_scales_urls_still_open_exactly() -> None:
    old = {"eps": "0.002", "tau1": "20", "tau2": "0.5"}
    assert decode(old) == ({"eps": 0.002, "tau1": 20.0, "tau2": 0.5}, [])


def test_messages_quote_at_most_40_characters_of_a_value() -> None:
    assert SHOWN_CHARS == 40
    for name, text in (("eps", "9" * 5000), ("tau1", "x" * 5000), ("source", "y" * 5000)):
        (message,) = decode({name: text})[1]
        assert f"{name}='{text[:39]}…'" in message, message
        assert text[:41] not in message
        assert len(message) < 200


def test_the_dataset_pages_values_are_read_with_their_words() -> None:
    values, messages = decode({"strategy": "COCO-eval", "iou": "0.5", "compare": "none"})
    assert messages == []
    assert values == {
        "dataset_strategy": "coco-eval",
        "dataset_iou": 0.5,
        "dataset_compare": NO_COMPARISON,
    }
    assert encode({"dataset_compare": "Unbalanced OT (f)"}) == {"compare": "f"}
    # the IoU range is the Dataset page's widget's, and includes its default
    assert IOU_RANGE.low <= StatsOptions.iou <= IOU_RANGE.high


def test_only_the_dataset_pages_url_carries_its_values() -> None:
    carried = {field.name for field in FIELDS if field.page == DATASET_PAGE}
    assert carried == {"strategy", "iou", "compare"}
    assert all(field.page in (None, DATASET_PAGE) for field in FIELDS)


def test_each_value_is_applied_after_those_it_overrides() -> None:
    """An anchor mode brings its cost and c∅, a cost its weights, a preset its ε, τ1, τ2: the
    link's explicit values must come later, to override them."""
    order = list(Stage)
    stage = {field.name: order.index(field.stage) for field in FIELDS}
    assert stage["anchors"] < stage["cost"] < stage["w_l1"] < stage["c0"]
    assert stage["source"] < stage["image"]
    assert stage["preset"] < stage["eps"] == stage["tau1"] == stage["tau2"]
    assert {field.stage for field in FIELDS if field.name.startswith("w_")} == {Stage.WEIGHTS}
