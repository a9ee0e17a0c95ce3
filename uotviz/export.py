"""A solved matching as files: the plan as CSV, the whole problem and its solution as JSON.

Pure functions from a :class:`~uotviz.matching.MatchingProblem` and arrays to text. Numbers are
written at full precision (Python's shortest round-tripping form); an infinite τ is written
``inf`` in the CSV header and the string ``"inf"`` in JSON, which has no infinity.

``params`` is a mapping with at least ``eps``, ``tau1`` and ``tau2``; any other entry (``cost``:
a description of the cost, ``preset``: the preset's name, ...) is written as it is.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from uotviz.matching import MatchingProblem

__all__ = ["plan_csv", "plan_json", "solve_diagnostics"]

BOX_FORMAT = "xyxy pixels"


def _value(value: object) -> object:
    """A JSON-safe scalar: floats stay numbers unless infinite or NaN (then "inf", "-inf",
    "nan"); numpy scalars become Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _text(value: object) -> str:
    value = _value(value)
    return repr(value) if isinstance(value, float) else str(value)


def _matrix(array: ArrayLike) -> list[list[object]]:
    z = np.asarray(array, dtype=np.float64)
    return [[_value(float(v)) for v in row] for row in z]


def _check_shape(problem: MatchingProblem, plan: np.ndarray, what: str) -> None:
    expected = (len(problem.row_labels), len(problem.col_labels))
    if plan.shape != expected:
        raise ValueError(f"{what} has shape {plan.shape}, the problem's is {expected}")


def plan_csv(
    problem: MatchingProblem, plan: ArrayLike, params: Mapping[str, object], *, file_name: str
) -> str:
    """The plan as CSV: ``#`` comment lines (image, ε, τ1, τ2, then the other ``params``), then a
    table whose header is ``prediction, A, B, …, ∅`` and whose rows start with the prediction's
    label (``1``, ``2``, …). Values are in units of one prediction (``N · P̂``)."""
    z = np.asarray(plan, dtype=np.float64)
    _check_shape(problem, z, "the plan")
    out = io.StringIO()
    out.write(f"# image: {file_name}\n")
    for key in ("eps", "tau1", "tau2"):
        out.write(f"# {key}: {_text(params[key])}\n")
    for key, value in params.items():
        if key not in ("eps", "tau1", "tau2"):
            out.write(f"# {key}: {_text(value)}\n")
    out.write("# plan N·P̂ in units of one prediction; rows: predictions, columns: ground truths\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["prediction", *problem.col_labels])
    for label, row in zip(problem.row_labels, z.tolist(), strict=True):
        writer.writerow([label, *(repr(float(v)) for v in row)])
    return out.getvalue()


def solve_diagnostics(result) -> dict[str, object]:
    """What a :class:`~uotviz.transport.TransportResult` says about its solve, as plain values
    (method, iterations, converged, residuals, time, the ε solved and the device)."""
    return {
        "method": result.method,
        "iterations": int(result.iterations),
        "converged": bool(result.converged),
        "row_error": float(result.row_error),
        "col_error": float(result.col_error),
        "seconds": float(result.seconds),
        "eps_solved": float(result.eps),
        "device": str(result.plan.device),
    }


def plan_json(
    problem: MatchingProblem,
    plan: ArrayLike,
    cost: ArrayLike,
    params: Mapping[str, object],
    result_diagnostics: Mapping[str, object],
    *,
    image_id: int,
    file_name: str,
) -> str:
    """The matching as JSON: image, labels, boxes (xyxy pixels), cost, plan (``N · P̂``),
    parameters, and the solve's ``method``, ``iterations``, ``converged`` (plus any other entry of
    ``result_diagnostics`` under ``diagnostics``). Non-finite numbers are strings (``"inf"``)."""
    z = np.asarray(plan, dtype=np.float64)
    c = np.asarray(cost, dtype=np.float64)
    _check_shape(problem, z, "the plan")
    _check_shape(problem, c, "the cost")
    main = ("method", "iterations", "converged")
    document = {
        "image": {"id": int(image_id), "file_name": file_name},
        "labels": {
            "predictions": list(problem.row_labels),
            "columns": list(problem.col_labels),
            "prediction_categories": list(problem.pred_names),
            "ground_truth_categories": list(problem.gt_names),
        },
        "boxes": {
            "format": BOX_FORMAT,
            "predictions": _matrix(problem.pred_boxes.cpu().numpy().reshape(-1, 4)),
            "ground_truths": _matrix(problem.gt_boxes.cpu().numpy().reshape(-1, 4)),
        },
        "cost": _matrix(c),
        "plan": _matrix(z),
        "parameters": {key: _value(value) for key, value in params.items()},
        **{key: _value(result_diagnostics[key]) for key in main if key in result_diagnostics},
        "diagnostics": {
            key: _value(value) for key, value in result_diagnostics.items() if key not in main
        },
    }
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=1)
