"""Plans at many parameter settings: sweeps of one parameter and walks from one preset to another
from one batched solve, the presets' plans, and the extra views' pure helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import uotviz.sweep as sweep_module
from tests.test_transport import pot_plan
from uotviz import figure1
from uotviz.costs import matching_cost
from uotviz.matching import MatchingProblem, column_letters
from uotviz.plots.scene import figure1_gallery
from uotviz.sliders import format_value, preset_values, walk
from uotviz.sweep import (
    SWEEP_PARAMETERS,
    plans_along,
    preset_plans,
    sweep_plans,
    sweep_values,
)
from uotviz.transport import newton, solve
from uotviz.ui import extras

OT = (0.05, math.inf, math.inf)  # Figure 1(g)


def make_problem(cost: torch.Tensor) -> MatchingProblem:
    """A problem around a given (N, M + 1) cost, with made-up boxes."""
    n, m = cost.shape[0], cost.shape[1] - 1
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.float64)
    return MatchingProblem(
        cost=cost.double(),
        pred_boxes=boxes.repeat(n, 1),
        gt_boxes=boxes.repeat(m, 1),
        pred_index=torch.arange(n),
        gt_index=torch.arange(m),
        row_labels=tuple(str(i + 1) for i in range(n)),
        col_labels=(*column_letters(m), "∅"),
        pred_scores=torch.ones(n),
        pred_names=("",) * n,
        gt_names=("",) * m,
    )


@pytest.fixture(scope="module")
def fig1() -> MatchingProblem:
    preds = torch.tensor(figure1.PREDICTIONS_XYXY, dtype=torch.float64)
    gts = torch.tensor(figure1.GROUND_TRUTHS_XYXY, dtype=torch.float64)
    problem = make_problem(matching_cost(preds, gts, background_cost=figure1.BACKGROUND_COST))
    return MatchingProblem(**{**problem.__dict__, "pred_boxes": preds, "gt_boxes": gts})


# ------------------------------------------------------------------------------ values


@pytest.mark.parametrize("parameter", SWEEP_PARAMETERS)
def test_values_run_from_limit_to_limit(parameter: str) -> None:
    values = sweep_values(parameter)
    assert len(values) == 25
    assert values[0] == 0.0
    assert all(a < b for a, b in zip(values, values[1:], strict=False))
    if parameter == "ε":
        assert (values[1], values[-1]) == (0.001, 1.0)
    else:
        assert (values[1], values[-2], values[-1]) == (0.01, 100.0, math.inf)
    # Short labels: two significant digits.
    assert all(len(format_value(v)) <= 6 for v in values)


def test_values_other_counts_and_bad_input() -> None:
    assert sweep_values("τ2", 7) == (0.0, 0.01, 0.1, 1.0, 10.0, 100.0, math.inf)
    many = sweep_values("ε", 200)
    assert len(many) == 200 and all(a < b for a, b in zip(many, many[1:], strict=False))
    with pytest.raises(ValueError, match="at least 4"):
        sweep_values("τ1", 3)
    with pytest.raises(ValueError, match="unknown parameter"):
        sweep_values("tau2")


# ------------------------------------------------------------------------------ plans


@pytest.mark.parametrize("tau1", [math.inf, 100.0])
def test_tau2_sweep_ends_equal_independent_solves(fig1: MatchingProblem, tau1: float) -> None:
    values = sweep_values("τ2")
    plans = sweep_plans(fig1.cost, "τ2", values, (0.05, tau1, 123.0))  # 123 is ignored
    assert len(plans) == len(values)
    for index in (0, -1):
        alone = solve(fig1.cost, 0.05, tau1, values[index]).plan
        assert plans[index].shape == (5, 3)
        assert torch.allclose(plans[index], alone, atol=1e-6, rtol=0)


def test_tau2_zero_is_the_row_softmin(fig1: MatchingProblem) -> None:
    plan = sweep_plans(fig1.cost, "τ2", sweep_values("τ2"), OT)[0].numpy()
    logits = -fig1.cost.numpy() / 0.05
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(plan, softmax, atol=1e-9)
    np.testing.assert_allclose(plan[0], [0.976, 0.001, 0.023], atol=5e-4)


@pytest.mark.parametrize(
    ("parameter", "fixed"),
    [("ε", (0.0, math.inf, math.inf)), ("ε", (0.0, 100.0, 0.01)), ("τ1", (0.0, 1.0, 1.0))],
)
def test_whole_sweeps_match_independent_solves(
    fig1: MatchingProblem, parameter: str, fixed: tuple[float, float, float]
) -> None:
    """Exact corners, closed forms and the batch (with the stand-in eps of eps = 0) together."""
    values = sweep_values(parameter, 9)
    plans = sweep_plans(fig1.cost, parameter, values, fixed)
    for value, plan in zip(values, plans, strict=True):
        params = list(fixed)
        params[SWEEP_PARAMETERS.index(parameter)] = value
        assert torch.allclose(plan, solve(fig1.cost, *params).plan, atol=1e-5, rtol=0), value


def random_cost() -> torch.Tensor:
    """A random 12 x (5 + 1) cost: 12 predictions, 5 ground truths, then the background."""
    rng = np.random.default_rng(11)
    return torch.tensor(rng.uniform(0.0, 2.0, size=(12, 6)))


# Each swept parameter with (eps, tau1, tau2) fixed so that the batch mixes tau = inf with finite
# tau (the tau sweeps end at inf; the eps sweep has tau1 = 100, tau2 = 0.01, as Figure 1(f)), and
# the eps sweep's eps = 0 goes into the batch at the stand-in eps.
BATCHED_SWEEPS = [
    ("ε", (0.0, 100.0, 0.01)),
    ("τ1", (0.05, 0.0, math.inf)),
    ("τ2", (0.05, 1.0, 0.0)),
]


@pytest.mark.parametrize("which", ["figure 1", "random 12x6"])
@pytest.mark.parametrize(("parameter", "fixed"), BATCHED_SWEEPS)
def test_batched_sweep_equals_single_solves_and_pot(
    fig1: MatchingProblem, which: str, parameter: str, fixed: tuple[float, float, float]
) -> None:
    cost = fig1.cost if which == "figure 1" else random_cost()
    values = sweep_values(parameter)
    plans = sweep_plans(cost, parameter, values, fixed, tol=1e-9)
    assert len(plans) == 25
    index = SWEEP_PARAMETERS.index(parameter)
    for k, (value, plan) in enumerate(zip(values, plans, strict=True)):
        params = list(fixed)
        params[index] = value
        alone = solve(cost, *params, tol=1e-9).plan
        assert plan.shape == cost.shape and plan.dtype == cost.dtype
        assert torch.allclose(plan, alone, atol=1e-5, rtol=0), (parameter, value)
        # POT, for a few interior values (it needs eps well above 0.001; sweep_values("ε")[12]
        # is 0.027).
        if k in (12, 18, 23):
            reference = pot_plan(cost.numpy(), *params)
            np.testing.assert_allclose(plan.numpy(), reference, atol=1e-5, err_msg=f"{params}")


@pytest.mark.parametrize(
    ("parameter", "fixed", "alone"),
    [
        ("τ2", OT, [0.0]),  # tau2 = 0: the row softmin
        ("ε", OT, [0.0]),  # eps = 0 with tau1 = tau2 = inf: Hungarian
        ("τ1", (0.0, 0.0, 1.0), [0.0]),  # tau1 = 0 at eps = 0: a closed form at the stand-in eps
        ("ε", (0.0, 1.0, 1.0), []),  # eps = 0 with finite tau: the stand-in eps, in the batch
        ("τ2", (0.0, math.inf, 0.0), [0.0, math.inf]),  # eps = 0: two exact corners
    ],
)
def test_sweep_is_one_batched_solve(
    fig1: MatchingProblem,
    monkeypatch: pytest.MonkeyPatch,
    parameter: str,
    fixed: tuple[float, float, float],
    alone: list[float],
) -> None:
    """Every value that needs the iterative solver goes through ONE call of it, as one batch;
    only the closed forms and exact corners are solved on their own."""
    single_calls: list[tuple[float, float, float]] = []
    batch_sizes: list[int] = []
    real_solve, real_positive = sweep_module.solve, newton.solve_positive_eps

    def spy_solve(cost, eps, tau1, tau2, **kwargs):
        single_calls.append((eps, tau1, tau2))
        return real_solve(cost, eps, tau1, tau2, **kwargs)

    def spy_positive(p, eps, *args):
        batch_sizes.append(p.cost.shape[0])
        if p.cost.shape[0] > 1:
            assert isinstance(eps, torch.Tensor) and eps.shape == (p.cost.shape[0], 1)
        return real_positive(p, eps, *args)

    monkeypatch.setattr(sweep_module, "solve", spy_solve)
    monkeypatch.setattr(newton, "solve_positive_eps", spy_positive)
    values = sweep_values(parameter)
    plans = sweep_plans(fig1.cost, parameter, values, fixed)

    index = SWEEP_PARAMETERS.index(parameter)
    assert sorted(call[index] for call in single_calls) == alone
    batched = len(values) - len(alone)
    # One batched call; the closed forms at eps > 0 (or at the stand-in eps) call the eps > 0
    # solver one value at a time (batch 1), the exact eps = 0 corners not at all.
    assert [size for size in batch_sizes if size > 1] == [batched]
    assert len(batch_sizes) <= 1 + len(alone)
    assert len(plans) == len(values)


def test_more_ground_truths_than_predictions() -> None:
    cost = torch.tensor([[0.2, 0.9, 0.5, 0.8], [0.7, 0.1, 0.9, 0.8]], dtype=torch.float64)
    plans = sweep_plans(cost, "τ2", sweep_values("τ2", 6), OT)
    assert all(p.shape == (2, 4) for p in plans)
    assert torch.allclose(plans[-1].sum(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-6)


def test_bad_sweep_inputs(fig1: MatchingProblem) -> None:
    with pytest.raises(ValueError, match="unknown parameter"):
        sweep_plans(fig1.cost, "eps", (0.0, 1.0), OT)
    with pytest.raises(ValueError, match=r"\(eps, tau1, tau2\)"):
        sweep_plans(fig1.cost, "τ2", (0.0, 1.0), (0.05, 1.0))
    with pytest.raises(ValueError):
        sweep_plans(fig1.cost, "τ2", (-1.0,), OT)


def test_preset_plans_are_the_six_panels(fig1: MatchingProblem) -> None:
    plans = preset_plans(fig1.cost)
    assert list(plans) == [preset.name for preset in figure1.PRESETS]
    # Figure 1(g), MATH.md §3
    np.testing.assert_allclose(plans["OT (g)"][3].numpy(), [0.748, 0.224, 0.028], atol=5e-4)


def test_a_walk_between_presets_is_one_batched_solve(
    fig1: MatchingProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(c) -> (h): 101 points, of which only (c) itself (the exact ε = 0 corner) and the
    closed form at τ2 = 0 with ε > 0 are solved on their own; every other point is in ONE
    batched call, and each plan is the independent solve's."""
    points = walk(preset_values(figure1.PRESETS[0]), preset_values(figure1.PRESETS[5]))
    single_calls: list[tuple[float, float, float]] = []
    batch_sizes: list[int] = []
    real_solve, real_batch = sweep_module.solve, sweep_module.solve_batch_params

    def spy_solve(cost, eps, tau1, tau2, **kwargs):
        single_calls.append((eps, tau1, tau2))
        return real_solve(cost, eps, tau1, tau2, **kwargs)

    def spy_batch(cost, *args, **kwargs):
        batch_sizes.append(cost.shape[0])
        return real_batch(cost, *args, **kwargs)

    monkeypatch.setattr(sweep_module, "solve", spy_solve)
    monkeypatch.setattr(sweep_module, "solve_batch_params", spy_batch)
    plans = plans_along(fig1.cost, points)
    assert len(plans) == len(points) == 101
    alone = [point for point in points if point[1] == 0.0 or point[2] == 0.0]
    assert single_calls == alone and len(alone) == 19  # ε from 0 to 0.05 at τ2 = 0
    assert batch_sizes == [len(points) - len(alone)]
    for point, plan in zip(points, plans, strict=True):
        assert torch.allclose(plan, real_solve(fig1.cost, *point).plan, atol=1e-5, rtol=0), point


@pytest.mark.parametrize("slider", ["eps", "tau1", "tau2"])
def test_a_large_cost_is_solved_as_a_warm_started_chain(
    slider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From CHAIN_FROM_ENTRIES entries on, every point of a slider's walk is solved on its own,
    in order, each iterative solve warm-started from the one before; every plan is still the
    independent cold solve's, and POT's at a point inside the walk."""
    from uotviz.sliders import slider_walk

    generator = torch.Generator().manual_seed(3)
    cost = torch.rand(90, 23, generator=generator, dtype=torch.float64) * 2
    assert cost.numel() >= sweep_module.CHAIN_FROM_ENTRIES
    points = slider_walk((0.05, 1.0, 1.0), slider)
    warm_starts: list[object] = []
    real_solve = sweep_module.solve

    def spy_solve(cost_, eps, tau1, tau2, **kwargs):
        warm_starts.append(kwargs.get("warm_start"))
        return real_solve(cost_, eps, tau1, tau2, **kwargs)

    def no_batch(*args, **kwargs):
        raise AssertionError("a large cost is not batched")

    monkeypatch.setattr(sweep_module, "solve", spy_solve)
    monkeypatch.setattr(sweep_module, "solve_batch_params", no_batch)
    plans = plans_along(cost, points)
    assert len(warm_starts) == len(points)
    assert sum(warm is not None for warm in warm_starts) >= len(points) - 3
    for point, plan in zip(points, plans, strict=True):
        assert torch.allclose(plan, real_solve(cost, *point).plan, atol=1e-5, rtol=0), point
    inside = points[len(points) // 2]
    assert min(inside) > 0.0 and max(inside) < math.inf
    assert np.allclose(plans[len(points) // 2].numpy(), pot_plan(cost.numpy(), *inside), atol=1e-4)


def test_which_walks_are_chained() -> None:
    """The batch for small costs, the chain from CHAIN_FROM_ENTRIES entries, or from
    CHAIN_AT_EPS0_FROM_ENTRIES when the walk solves points at eps = 0 with a finite tau."""
    from uotviz.sliders import slider_walk

    small = torch.ones(5, 3, dtype=torch.float64)
    medium = torch.ones(27, 25, dtype=torch.float64)
    large = torch.ones(90, 23, dtype=torch.float64)
    assert small.numel() < sweep_module.CHAIN_AT_EPS0_FROM_ENTRIES <= medium.numel()
    assert medium.numel() < sweep_module.CHAIN_FROM_ENTRIES <= large.numel()
    at_zero = slider_walk((0.0, 1.0, math.inf), "tau1")
    positive = slider_walk((0.05, 1.0, math.inf), "tau1")
    corners = [(0.0, math.inf, math.inf), (0.0, 0.0, math.inf)]  # exact, never iterative
    chained = sweep_module.solves_as_chain
    assert [chained(small, at_zero), chained(medium, at_zero), chained(large, at_zero)] == [
        False,
        True,
        True,
    ]
    assert [chained(small, positive), chained(medium, positive)] == [False, False]
    assert chained(large, positive) and not chained(medium, corners)


def test_both_ways_give_the_same_plans(fig1: MatchingProblem) -> None:
    """``how`` forces the batch or the chain; on the Figure 1 cost both give the independent
    solves' plans, and an unknown way is refused."""
    points = walk(preset_values(figure1.PRESETS[0]), preset_values(figure1.PRESETS[5]))
    batch = plans_along(fig1.cost, points, how="batch")
    chain = plans_along(fig1.cost, points, how="chain")
    for point, a, b in zip(points, batch, chain, strict=True):
        alone = solve(fig1.cost, *point).plan
        assert torch.allclose(a, alone, atol=1e-5, rtol=0), point
        assert torch.allclose(b, alone, atol=1e-5, rtol=0), point
    with pytest.raises(ValueError, match="how must be"):
        plans_along(fig1.cost, points, how="fast")


def test_bad_points(fig1: MatchingProblem) -> None:
    assert plans_along(fig1.cost, []) == []
    with pytest.raises(ValueError, match=r"\(eps, tau1, tau2\)"):
        plans_along(fig1.cost, [(0.05, 1.0)])
    with pytest.raises(ValueError, match="cost must be"):
        plans_along(fig1.cost[0], [OT])
    with pytest.raises(ValueError):
        plans_along(fig1.cost, [(0.05, -1.0, 1.0)])


# ------------------------------------------------------------------------------ extras (pure)


def test_extras_empty_problems(fig1: MatchingProblem) -> None:
    assert extras.empty_message(fig1) is None
    no_preds = make_problem(torch.zeros((0, 3), dtype=torch.float64))
    no_gts = make_problem(torch.full((4, 1), 0.8, dtype=torch.float64))
    assert "no prediction" in extras.empty_message(no_preds)
    assert "no ground truth" in extras.empty_message(no_gts)


def test_extras_fingerprint(fig1: MatchingProblem) -> None:
    same = make_problem(fig1.cost.clone())
    assert extras.problem_fingerprint(fig1) == extras.problem_fingerprint(same)
    changed = fig1.cost.clone()
    changed[0, 0] += 1e-9
    assert extras.problem_fingerprint(fig1) != extras.problem_fingerprint(make_problem(changed))


def test_extras_gallery_plans_and_layout(fig1: MatchingProblem) -> None:
    plans = extras.gallery_plans(fig1)
    assert len(plans) == 6
    for preset, (title, plan) in zip(figure1.PRESETS, plans.items(), strict=True):
        assert title.startswith(preset.name) and f"τ2 = {format_value(preset.tau2)}" in title
        np.testing.assert_allclose(
            plan, solve(fig1.cost, preset.eps, preset.tau1, preset.tau2).plan.numpy(), atol=1e-9
        )
    fig = figure1_gallery(None, 480, 430, fig1, plans)
    height = fig.layout.height
    extras.make_room_for_titles(fig)
    assert fig.layout.height > height
    domains = sorted({tuple(fig.layout[f"yaxis{s}"].domain) for s in ("", 2, 3, 4, 5, 6)})
    assert len(domains) == 2 and domains[0][1] < domains[1][0]  # two rows, a gap between
    tops = sorted({a.y for a in fig.layout.annotations if a.text in plans})
    assert tops == sorted(d[1] for d in domains)
