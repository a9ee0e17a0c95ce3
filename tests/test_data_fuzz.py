"""The loaders under fuzzed input: one value of a good file replaced by anything JSON can hold
(huge integers, 1e308, NaN, strings, nesting, a missing key). Each file either loads, with the
bad record skipped and a message, or is refused as a whole with a :class:`DataError`; no other
exception escapes, the records that were not touched still load, and every image that loads can
be matched and solved."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from uotviz.data.coco import load_annotations
from uotviz.data.errors import DataError
from uotviz.data.predictions import load_detection_results, load_set_predictions
from uotviz.data.types import Predictions, Scene
from uotviz.matching import CostSettings, build_matching_problem
from uotviz.transport import solve

FIXTURES = Path(__file__).parent / "fixtures" / "data"
ANNOTATIONS = json.loads((FIXTURES / "instances_small.json").read_text())
DETECTIONS = json.loads((FIXTURES / "detections_small.json").read_text())
COST = CostSettings()
INDEX = load_annotations(FIXTURES / "instances_small.json")[0]

OVERLONG = "<an integer literal of 5,001 digits>"  # json.dumps cannot write one: see _json
HOSTILE = st.one_of(
    st.sampled_from(
        [2**63, -(2**63) - 1, 10**400, OVERLONG, 1e308, -1e308, 1e30, math.nan, math.inf]
        + [-math.inf, -0.0, 0, -1, True, None, "", "285", [], {}, [1, 2, 3, 4], [0, 0, 1e308, 1]]
    ),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=3)), max_size=5),
)
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _json(value) -> bytes:
    """``value`` as JSON, :data:`OVERLONG` written as an integer of 5,001 digits (more than
    Python converts to an int by default)."""
    return json.dumps(value).replace(json.dumps(OVERLONG), "1" + "0" * 5000).encode()


def _mutate(records: list, draw) -> int:
    """Replace one value of one record of ``records`` (or the record itself, or delete one of its
    keys); returns the record's index."""
    position = draw(st.integers(0, len(records) - 1))
    record = records[position]
    how = draw(st.sampled_from(["value", "delete", "record"]))
    if how == "record" or not isinstance(record, dict):
        records[position] = draw(HOSTILE)
    elif how == "delete":
        del record[draw(st.sampled_from(sorted(record)))]
    else:
        record[draw(st.sampled_from([*sorted(record), "extra"]))] = draw(HOSTILE)
    return position


def _solvable(scene: Scene, predictions: Predictions) -> None:
    """The scene's matching problem with ``predictions`` is built and solved, finite."""
    problem = build_matching_problem(dataclasses.replace(scene, predictions=predictions), COST)
    assert torch.isfinite(problem.cost).all()
    result = solve(problem.cost, 0.05, math.inf, math.inf)
    assert torch.isfinite(result.plan).all()


@FUZZ
@given(data=st.data())
def test_fuzzed_annotations_load_or_are_refused_and_keep_what_is_valid(data) -> None:
    dataset = copy.deepcopy(ANNOTATIONS)
    section = data.draw(st.sampled_from(["images", "annotations", "categories"]))
    touched = _mutate(dataset[section], data.draw)
    try:
        index, report = load_annotations(_json(dataset), name="a.json")
    except DataError:
        return  # refused as a whole, with a message
    kept_ids = set(index.coco.getAnnIds())
    for position, annotation in enumerate(ANNOTATIONS["annotations"]):
        untouched = section != "annotations" or position != touched
        if untouched and section == "annotations":
            assert annotation["id"] in kept_ids, report.messages
    if report.skipped:
        assert report.messages
    predictions, _ = load_detection_results(FIXTURES / "detections_small.json", index)
    for image_id, found in predictions.items():
        _solvable(index.scene(image_id), found)


@FUZZ
@given(data=st.data())
def test_fuzzed_detection_results_load_or_are_refused_and_keep_what_is_valid(data) -> None:
    records = copy.deepcopy(DETECTIONS)
    _mutate(records, data.draw)
    try:
        predictions, report = load_detection_results(_json(records), INDEX, name="p.json")
    except DataError:
        return
    assert report.loaded + report.skipped == len(DETECTIONS), report.messages
    assert report.loaded >= len(DETECTIONS) - 1 and len(report.messages) == report.skipped
    for image_id, found in predictions.items():
        _solvable(INDEX.scene(image_id), found)


NPZ_DTYPES = ["<f4", "<f8", "<i8", "|u1", "|b1", "<c8", "<U3", "<M8[s]", "<f2"]


@st.composite
def _arrays(draw, columns: int | None = None) -> np.ndarray:
    """An array of any of :data:`NPZ_DTYPES` and any values: (0..4, ``columns``) when
    ``columns`` is given, else 0 to 3 dimensions of 0 to 4."""
    if columns is None:
        shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    else:
        shape = (draw(st.integers(0, 4)), columns)
    dtype = np.dtype(draw(st.sampled_from(NPZ_DTYPES)))
    size = math.prod(shape)
    values = draw(st.lists(st.floats(width=32), min_size=size, max_size=size))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array(values, dtype=np.float32).astype(dtype).reshape(shape)


CLASS_IDS = np.array([1, 23, 62])  # the fixture's categories: logits have 4 columns


@FUZZ
@given(
    class_ids=st.one_of(st.just(CLASS_IDS), _arrays()),
    logits=st.one_of(_arrays(columns=4), _arrays()),
    boxes=st.one_of(_arrays(columns=4), _arrays()),
)
def test_fuzzed_set_prediction_arrays_load_or_are_refused(class_ids, logits, boxes) -> None:
    """An .npz whose class_ids, logits_139 and boxes_139 have any dtype, shape and values."""
    buffer = io.BytesIO()
    np.savez(buffer, class_ids=class_ids, logits_139=logits, boxes_139=boxes)
    try:
        predictions, report = load_set_predictions(buffer.getvalue(), INDEX, name="o.npz")
    except DataError:
        return
    assert set(predictions) <= {139}
    event("loaded" if predictions else "nothing loaded")
    assert report.skipped == 0 or report.messages
    for image_id, found in predictions.items():
        assert torch.isfinite(found.boxes).all() and torch.isfinite(found.class_probs).all()
        _solvable(INDEX.scene(image_id), found)
