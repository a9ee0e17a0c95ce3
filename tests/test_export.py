"""Exports: the CSV parses back to the plan, the JSON loads back to the problem and its solution,
and an infinite τ is written "inf"."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
import torch

from uotviz import figure1
from uotviz.data.types import GroundTruths, Predictions, Scene
from uotviz.export import plan_csv, plan_json, solve_diagnostics
from uotviz.matching import CostSettings, MatchingProblem, build_matching_problem
from uotviz.transport import solve


def _figure1_problem() -> MatchingProblem:
    preds = torch.tensor(figure1.PREDICTIONS_XYXY, dtype=torch.float32)
    gts = torch.tensor(figure1.GROUND_TRUTHS_XYXY, dtype=torch.float32)
    scene = Scene(
        image_id=1,
        file_name="figure1.jpg",
        width=500,
        height=450,
        ground_truths=GroundTruths(
            boxes=gts, labels=torch.tensor([1, 2]), iscrowd=torch.zeros(2, dtype=torch.bool)
        ),
        predictions=Predictions(
            boxes=preds, scores=torch.ones(5), labels=torch.tensor([1, 1, 2, 1, 2])
        ),
        categories={1: "cup", 2: "saucer"},
    )
    return build_matching_problem(scene, CostSettings())


@pytest.fixture(scope="module")
def solved():
    problem = _figure1_problem()
    result = solve(problem.cost, 0.05, math.inf, math.inf)
    params = {"eps": 0.05, "tau1": math.inf, "tau2": math.inf, "cost": "1 − GIoU, c∅ = 0.8"}
    return problem, result, params


def test_csv_parses_back_to_the_plan(solved) -> None:
    problem, result, params = solved
    plan = result.plan.numpy()
    text = plan_csv(problem, plan, params, file_name="figure1.jpg")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert "# image: figure1.jpg" in comments
    assert {"# eps: 0.05", "# tau1: inf", "# tau2: inf", "# cost: 1 − GIoU, c∅ = 0.8"} <= set(
        comments
    )
    body = [line for line in text.splitlines() if not line.startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(body))))
    assert rows[0] == ["prediction", "A", "B", "∅"]
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "4", "5"]
    values = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_array_equal(values, plan)  # full precision
    np.testing.assert_allclose(values[3], [0.748, 0.224, 0.028], atol=0.005)  # Figure 1(g)


def test_csv_refuses_a_plan_of_another_shape(solved) -> None:
    problem, _, params = solved
    with pytest.raises(ValueError, match="shape"):
        plan_csv(problem, np.zeros((4, 3)), params, file_name="x.jpg")


def test_json_loads_and_matches(solved) -> None:
    problem, result, params = solved
    plan, cost = result.plan.numpy(), problem.cost.numpy()
    text = plan_json(
        problem,
        plan,
        cost,
        {**params, "preset": "OT (g)"},
        solve_diagnostics(result),
        image_id=1,
        file_name="figure1.jpg",
    )
    document = json.loads(text)  # strict JSON: no Infinity or NaN tokens
    assert "Infinity" not in text and "NaN" not in text
    assert document["image"] == {"id": 1, "file_name": "figure1.jpg"}
    assert document["labels"]["predictions"] == ["1", "2", "3", "4", "5"]
    assert document["labels"]["columns"] == ["A", "B", "∅"]
    assert document["labels"]["ground_truth_categories"] == ["cup", "saucer"]
    np.testing.assert_array_equal(document["plan"], plan)
    np.testing.assert_array_equal(document["cost"], cost)
    np.testing.assert_allclose(document["boxes"]["predictions"], figure1.PREDICTIONS_XYXY)
    np.testing.assert_allclose(document["boxes"]["ground_truths"], figure1.GROUND_TRUTHS_XYXY)
    assert document["boxes"]["format"] == "xyxy pixels"
    assert document["parameters"] == {
        "eps": 0.05,
        "tau1": "inf",
        "tau2": "inf",
        "cost": "1 − GIoU, c∅ = 0.8",
        "preset": "OT (g)",
    }
    assert document["method"] == result.method
    assert document["iterations"] == result.iterations
    assert document["converged"] is True
    assert document["diagnostics"]["device"] == "cpu"


def test_json_writes_every_non_finite_number_as_a_string(solved) -> None:
    problem, result, _ = solved
    cost = problem.cost.numpy().copy()
    cost[0, 0] = math.inf
    cost[1, 0] = -math.inf
    cost[2, 0] = math.nan
    text = plan_json(
        problem,
        result.plan.numpy(),
        cost,
        {"eps": 0.0, "tau1": 0.0, "tau2": math.inf},
        {"method": "hungarian", "iterations": 0, "converged": True},
        image_id=1,
        file_name="figure1.jpg",
    )
    document = json.loads(text)
    assert [row[0] for row in document["cost"][:3]] == ["inf", "-inf", "nan"]
    assert document["parameters"] == {"eps": 0.0, "tau1": 0.0, "tau2": "inf"}
    assert document["diagnostics"] == {}
