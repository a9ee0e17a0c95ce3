"""The UOT solver against independent references: the paper's Figure 1, POT, SciPy, closed forms.

Plans are compared "in units of one prediction" (N * P), as the solver returns them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import ot
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment, minimize

from uotviz import figure1
from uotviz.costs import matching_cost
from uotviz.transport import (
    TransportResult,
    kappa,
    newton,
    paper_epsilon,
    solve,
    solve_batch_params,
)

INF = math.inf

# MATH.md §3: the published panels (f), (g), (h) of Figure 1, rows = predictions 1..5,
# columns = A, B, background; (eps, tau1, tau2) for each.
PUBLISHED_PANELS = {
    "f": (
        (0.05, 100.0, 0.01),
        [
            [0.964, 0.001, 0.030],
            [0.000, 0.145, 0.848],
            [0.126, 0.113, 0.754],
            [0.989, 0.007, 0.000],
            [0.000, 0.788, 0.205],
        ],
    ),
    "g": (
        (0.05, INF, INF),
        [
            [0.250, 0.012, 0.738],
            [0.000, 0.071, 0.929],
            [0.002, 0.062, 0.936],
            [0.748, 0.224, 0.028],
            [0.000, 0.631, 0.369],
        ],
    ),
    "h": (
        (0.05, 0.01, 100.0),
        [
            [0.016, 0.002, 0.628],
            [0.000, 0.010, 0.630],
            [0.000, 0.008, 0.630],
            [0.981, 0.769, 0.490],
            [0.000, 0.205, 0.601],
        ],
    ),
}
PUBLISHED_COST = [
    [0.6137, 0.9602, 0.8],
    [1.3435, 0.8827, 0.8],
    [0.8772, 0.8896, 0.8],
    [0.3961, 0.6508, 0.8],
    [1.1056, 0.7272, 0.8],
]


def figure1_cost(dtype=torch.float64) -> torch.Tensor:
    """Figure 1(b) computed from the published boxes: 1 - GIoU and c_bg = 0.8, shape (5, 3)."""
    predictions = torch.tensor(figure1.PREDICTIONS_XYXY, dtype=dtype)
    ground_truths = torch.tensor(figure1.GROUND_TRUTHS_XYXY, dtype=dtype)
    return matching_cost(predictions, ground_truths, background_cost=figure1.BACKGROUND_COST)


def paper_masses(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Proposition 1: alpha = 1/N; beta = 1/N per ground truth and (N - M)/N for the background."""
    return np.full(n, 1.0 / n), np.r_[np.full(m, 1.0 / n), (n - m) / n]


def pot_plan(cost: np.ndarray, eps: float, tau1: float, tau2: float) -> np.ndarray:
    """POT's reference plan for the paper's problem, in units of one prediction."""
    n, j = cost.shape
    a, b = paper_masses(n, j - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = ot.unbalanced.sinkhorn_unbalanced(
            a, b, cost, eps, (tau1, tau2), reg_type="entropy", numItermax=200_000, stopThr=1e-14
        )
    return n * plan


def primal_objective(plan: np.ndarray, cost: np.ndarray, eps, tau1, tau2) -> float:
    """Definition 4 at a plan given in units of one prediction (finite tau only)."""
    n, j = cost.shape
    a, b = paper_masses(n, j - 1)
    p = plan / n

    def kl(u, v):
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(u > 0, u * np.log(u / v), 0.0)
        return float(np.sum(terms - u + v))

    entropy = float(np.sum(np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - 1), 0)))
    return float(np.sum(cost * p)) + eps * entropy + tau1 * kl(p.sum(1), a) + tau2 * kl(p.sum(0), b)


# ------------------------------------------------------------------------------------------
# Figure 1
# ------------------------------------------------------------------------------------------


def test_figure1_costs_match_panel_b():
    assert torch.allclose(
        figure1_cost(), torch.tensor(PUBLISHED_COST, dtype=torch.float64), atol=1e-4
    )


@pytest.mark.parametrize("panel", ["f", "g", "h"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_figure1_entropic_panels(panel, dtype):
    (eps, tau1, tau2), published = PUBLISHED_PANELS[panel]
    result = solve(figure1_cost(dtype), eps, tau1, tau2)
    assert result.converged
    assert result.plan.dtype == dtype
    published = torch.tensor(published, dtype=dtype)
    assert torch.allclose(result.plan, published, atol=0.005), result.plan


def test_figure1_panel_c_closest_ground_truth():
    plan = solve(figure1_cost(), 0.0, INF, 0.0).plan
    expected = torch.tensor([[1, 0, 0], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert torch.equal(plan, expected.to(plan.dtype))


def test_figure1_panel_d_hungarian():
    result = solve(figure1_cost(), 0.0, INF, INF)
    expected = torch.tensor([[0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert result.method == "hungarian"
    assert torch.equal(result.plan, expected.to(result.plan.dtype))
    # MATH.md: cost 0.70466 per unit mass.
    per_unit = float((result.plan * figure1_cost()).sum()) / 5
    assert per_unit == pytest.approx(0.70466, abs=1e-4)


def test_figure1_panel_e_best_prediction():
    plan = solve(figure1_cost(), 0.0, 0.0, INF).plan
    # A and B both go to prediction 4; the background mass (3 units) is shared by all five
    # predictions (constant background cost), 0.6 each.
    expected = torch.tensor(
        [[0, 0, 0.6], [0, 0, 0.6], [0, 0, 0.6], [1, 1, 0.6], [0, 0, 0.6]], dtype=torch.float64
    )
    assert torch.allclose(plan, expected)


def test_panel_e_convention_is_the_limit_of_small_eps():
    exact = solve(figure1_cost(), 0.0, 0.0, INF).plan
    small = solve(figure1_cost(), 1e-3, 0.0, INF).plan
    assert torch.allclose(exact, small, atol=1e-6)


def test_zero_zero_corner_is_empty():
    assert not solve(figure1_cost(), 0.0, 0.0, 0.0).plan.any()


@pytest.mark.parametrize("eps", [1e-2, 1e-3, 1e-4])
def test_small_eps_tends_to_hungarian(eps):
    """Below POT's range (it fails at eps <= 1e-3), the plan converges to panel (d)."""
    result = solve(figure1_cost(), eps, INF, INF)
    hungarian = solve(figure1_cost(), 0.0, INF, INF).plan
    assert result.converged
    assert torch.isfinite(result.plan).all()
    assert torch.allclose(result.plan, hungarian, atol=0.2 if eps == 1e-2 else 1e-3)


# ------------------------------------------------------------------------------------------
# Agreement with POT (float64)
# ------------------------------------------------------------------------------------------

TAUS = [0.0, 0.01, 0.1, 1.0, 10.0, INF]


@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_pot(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    m = int(rng.integers(0, n + 1))
    cost = rng.uniform(0.0, 2.0, size=(n, m + 1))
    eps = float(rng.choice([0.05, 0.1, 0.3, 1.0]))
    for tau1 in TAUS:
        for tau2 in TAUS:
            reference = pot_plan(cost, eps, tau1, tau2)
            result = solve(torch.tensor(cost), eps, tau1, tau2, tol=1e-10)
            assert result.converged
            np.testing.assert_allclose(
                result.plan.numpy(), reference, atol=1e-6, err_msg=f"{eps=} {tau1=} {tau2=}"
            )


def test_both_methods_agree_with_pot():
    """Large eps: the kernel-form Sinkhorn start converges; small eps: Newton takes over."""
    rng = np.random.default_rng(8)
    cost = rng.uniform(0.0, 2.0, size=(30, 6))
    for eps, method in [(0.5, "sinkhorn"), (0.05, "newton")]:
        result = solve(torch.tensor(cost), eps, INF, INF, tol=1e-9)
        assert result.method == method
        np.testing.assert_allclose(result.plan.numpy(), pot_plan(cost, eps, INF, INF), atol=1e-6)


def test_agrees_with_pot_on_detr_sized_problem():
    rng = np.random.default_rng(7)
    cost = rng.uniform(0.0, 2.0, size=(100, 21))
    for tau1, tau2 in [(INF, INF), (1.0, 0.1), (0.1, 10.0)]:
        reference = pot_plan(cost, 0.1, tau1, tau2)
        result = solve(torch.tensor(cost), 0.1, tau1, tau2, tol=1e-9)
        np.testing.assert_allclose(result.plan.numpy(), reference, atol=1e-6)


# ------------------------------------------------------------------------------------------
# Closed forms and the exact limits
# ------------------------------------------------------------------------------------------


def test_free_ground_truths_is_row_softmin():
    """(tau1, tau2) = (inf, 0): each row is softmax(-C/eps) over its columns (MATH.md §2)."""
    rng = np.random.default_rng(1)
    cost = rng.uniform(0, 2, size=(7, 4))
    expected = np.exp(-cost / 0.2) / np.exp(-cost / 0.2).sum(axis=1, keepdims=True)
    plan = solve(torch.tensor(cost), 0.2, INF, 0.0).plan.numpy()
    np.testing.assert_allclose(plan, expected, atol=1e-12)


def test_free_predictions_is_column_softmin():
    """(0, inf): each column j sends its mass N * beta_j as softmax(-C/eps) over the rows."""
    rng = np.random.default_rng(2)
    n, m = 6, 3
    cost = rng.uniform(0, 2, size=(n, m + 1))
    _, beta = paper_masses(n, m)
    softmin = np.exp(-cost / 0.2) / np.exp(-cost / 0.2).sum(axis=0, keepdims=True)
    plan = solve(torch.tensor(cost), 0.2, 0.0, INF).plan.numpy()
    np.testing.assert_allclose(plan, n * softmin * beta, atol=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_hungarian_matches_scipy_on_expanded_problem(seed):
    """Independent formulation: a square assignment with N - M copies of the background."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    m = int(rng.integers(0, n + 1))
    cost = rng.uniform(0, 2, size=(n, m + 1))
    cost[:, -1] = rng.uniform(0.3, 1.0, size=n)  # a background cost that varies per prediction
    expanded = np.concatenate([cost[:, :m], np.repeat(cost[:, -1:], n - m, axis=1)], axis=1)
    rows, cols = linear_sum_assignment(expanded)
    optimum = expanded[rows, cols].sum()

    plan = solve(torch.tensor(cost), 0.0, INF, INF).plan.numpy()
    assert set(np.unique(plan)) <= {0.0, 1.0}
    np.testing.assert_array_equal(plan.sum(axis=1), np.ones(n))
    np.testing.assert_array_equal(plan[:, :m].sum(axis=0), np.ones(m))
    assert (plan * cost).sum() == pytest.approx(optimum, abs=1e-12)


def test_more_ground_truths_than_predictions_is_rectangular_hungarian():
    rng = np.random.default_rng(3)
    n, m = 4, 9
    cost = rng.uniform(0, 2, size=(n, m + 1))
    rows, cols = linear_sum_assignment(cost[:, :m])
    plan = solve(torch.tensor(cost), 0.0, INF, INF).plan.numpy()
    expected = np.zeros_like(cost)
    expected[rows, cols] = 1.0
    np.testing.assert_array_equal(plan, expected)
    exact = solve(torch.tensor(cost), 0.0, INF, INF)
    assert exact.row_error == 0.0 and exact.col_error == 0.0  # the unmatched are accounted for
    # ... and the entropic solution approaches it.
    small = solve(torch.tensor(cost), 1e-3, INF, INF)
    assert small.converged
    np.testing.assert_allclose(small.plan.numpy(), expected, atol=1e-3)


@pytest.mark.parametrize("seed", range(10))
def test_closest_ground_truth_is_row_argmin(seed):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 2, size=(15, 6))
    plan = solve(torch.tensor(cost), 0.0, INF, 0.0).plan.numpy()
    expected = np.zeros_like(cost)
    expected[np.arange(15), cost.argmin(axis=1)] = 1.0
    np.testing.assert_array_equal(plan, expected)


@pytest.mark.parametrize("seed", range(10))
def test_best_prediction_is_column_argmin(seed):
    rng = np.random.default_rng(seed)
    n, m = 15, 5
    cost = rng.uniform(0, 2, size=(n, m + 1))
    cost[:, -1] = 0.8
    plan = solve(torch.tensor(cost), 0.0, 0.0, INF).plan.numpy()
    expected = np.zeros_like(cost)
    expected[cost[:, :m].argmin(axis=0), np.arange(m)] = 1.0
    expected[:, -1] = (n - m) / n
    np.testing.assert_array_equal(plan, expected)


def test_ties_are_split_equally():
    cost = torch.tensor([[0.5, 0.5, 0.8], [1.0, 1.0, 0.8]], dtype=torch.float64)
    plan = solve(cost, 0.0, INF, 0.0).plan
    assert torch.equal(plan, torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64))


@pytest.mark.parametrize("taus", [(1.0, 0.5), (0.2, 3.0), (5.0, 0.05)])
def test_zero_eps_with_finite_tau_is_optimal(taus):
    """eps = 0 with finite tau: the primal objective is no worse than a generic optimiser's."""
    rng = np.random.default_rng(4)
    n, m = 4, 2
    cost = rng.uniform(0, 2, size=(n, m + 1))
    tau1, tau2 = taus
    result = solve(torch.tensor(cost), 0.0, tau1, tau2, tol=1e-9)
    assert result.converged

    def objective(x):
        return primal_objective(x.reshape(n, m + 1), cost, 0.0, tau1, tau2)

    best = min(
        minimize(objective, start, method="L-BFGS-B", bounds=[(0, None)] * start.size).fun
        for start in (np.full(n * (m + 1), 1.0 / (m + 1)), rng.uniform(0, 1, n * (m + 1)))
    )
    ours = objective(result.plan.numpy().ravel())
    assert ours <= best + 1e-4


# ------------------------------------------------------------------------------------------
# Batches, padding, warm starts, degenerate shapes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [(0.05, INF, INF), (0.1, 1.0, 0.1), (0.02, 0.5, INF), (0.0, INF, INF)]
)
def test_padded_batch_equals_problems_one_by_one(params):
    rng = np.random.default_rng(5)
    n, m_max = 8, 5
    counts = [5, 2, 0, 3]
    cost = torch.tensor(rng.uniform(0, 2, size=(len(counts), n, m_max + 1)))
    mask = torch.zeros((len(counts), m_max), dtype=torch.bool)
    for b, count in enumerate(counts):
        positions = rng.choice(m_max, size=count, replace=False)  # padding anywhere
        mask[b, torch.tensor(positions, dtype=torch.long)] = True
    cost[
        ~torch.cat([mask, torch.ones(len(counts), 1, dtype=torch.bool)], 1)[:, None, :].expand_as(
            cost
        )
    ] = 1e6
    batched = solve(cost, *params, gt_mask=mask, tol=1e-10)
    for b in range(len(counts)):
        keep = torch.cat([mask[b], torch.tensor([True])])
        single = solve(cost[b][:, keep], *params, tol=1e-10)
        assert torch.allclose(batched.plan[b][:, keep], single.plan, atol=1e-8)
        assert not batched.plan[b][:, ~keep].any()


def test_padded_columns_ignore_their_cost_even_nan():
    cost = figure1_cost()
    padded = torch.cat([cost[:, :1], torch.full((5, 1), float("nan")), cost[:, 1:]], dim=1)
    mask = torch.tensor([True, False, True])
    result = solve(padded, 0.05, INF, INF, gt_mask=mask)
    reference = solve(cost, 0.05, INF, INF)
    assert torch.allclose(result.plan[:, [0, 2, 3]], reference.plan, atol=1e-6)
    assert not result.plan[:, 1].any()


def test_warm_start_reaches_the_same_plan_in_fewer_iterations():
    rng = np.random.default_rng(6)
    cost = torch.tensor(rng.uniform(0, 2, size=(100, 21)))
    first = solve(cost, 0.05, INF, INF)
    cold = solve(cost, 0.04, INF, INF, tol=1e-8)
    warm = solve(cost, 0.04, INF, INF, tol=1e-8, warm_start=first)
    assert warm.converged
    assert torch.allclose(warm.plan, cold.plan, atol=1e-6)
    assert warm.iterations < cold.iterations


def test_no_ground_truth():
    cost = torch.full((4, 1), 0.8, dtype=torch.float64)
    for params in [(0.05, INF, INF), (0.0, INF, INF), (0.0, INF, 0.0), (0.05, 0.1, 1.0)]:
        plan = solve(cost, *params).plan
        assert plan.shape == (4, 1)
        assert torch.isfinite(plan).all()
    assert torch.allclose(solve(cost, 0.05, INF, INF).plan, torch.ones(4, 1, dtype=torch.float64))


def test_no_prediction():
    result = solve(torch.zeros((0, 3)), 0.05, INF, INF)
    assert result.plan.shape == (0, 3)


def test_single_prediction_single_ground_truth():
    cost = torch.tensor([[0.3, 0.8]], dtype=torch.float64)
    result = solve(cost, 0.05, INF, INF)
    assert torch.allclose(result.plan, torch.tensor([[1.0, 0.0]], dtype=torch.float64))


def test_potentials_come_back_with_the_batch_shape():
    result = solve(figure1_cost(), 0.05, INF, INF)
    assert isinstance(result, TransportResult)
    assert result.potentials.shape == (3,)
    assert result.row_error < 1e-6 and result.col_error < 1e-6


# ------------------------------------------------------------------------------------------
# Numerical safety over the whole slider range (property tests)
# ------------------------------------------------------------------------------------------

tau_values = st.sampled_from([0.0, 1e-3, 0.01, 0.1, 1.0, 10.0, 100.0, 1e4, INF])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 12),
    m=st.integers(0, 15),
    eps=st.sampled_from([0.0, 1e-4, 1e-3, 0.01, 0.05, 0.3, 1.0, 10.0]),
    tau1=tau_values,
    tau2=tau_values,
    high=st.sampled_from([1.0, 10.0]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**31 - 1),
)
def test_finite_nonnegative_and_hard_marginals(n, m, eps, tau1, tau2, high, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    cost = (torch.rand((n, m + 1), generator=gen, dtype=torch.float64) * high).to(dtype)
    result = solve(cost, eps, tau1, tau2)
    plan = result.plan.double()
    assert result.converged
    assert torch.isfinite(plan).all()
    assert (plan >= 0).all()
    atol = 1e-4 if dtype == torch.float32 else 1e-6
    if tau1 == INF and (tau2 == INF or eps > 0 or tau2 == 0.0):
        # Every prediction sends exactly one unit (when M > N a balanced plan fills every row).
        assert torch.allclose(plan.sum(dim=1), torch.ones(n, dtype=torch.float64), atol=atol)
    if tau2 == INF and m <= n:
        expected = torch.tensor([1.0] * m + [float(n - m)], dtype=torch.float64)
        assert torch.allclose(plan.sum(dim=0), expected, atol=atol)


def test_rejects_bad_arguments():
    cost = figure1_cost()
    with pytest.raises(ValueError, match="eps must be >= 0"):
        solve(cost, -0.1, INF, INF)
    with pytest.raises(ValueError, match="tau1 must be >= 0"):
        solve(cost, 0.1, -1.0, INF)
    with pytest.raises(ValueError, match="tau2 must be >= 0"):
        solve(cost, 0.1, INF, float("nan"))
    with pytest.raises(ValueError, match=r"shape \(N, M\+1\)"):
        solve(cost[0], 0.1, INF, INF)
    with pytest.raises(ValueError, match="gt_mask must have shape"):
        solve(cost, 0.1, INF, INF, gt_mask=torch.ones(3, dtype=torch.bool))
    bad = cost.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="prediction 3, ground truth 1"):
        solve(bad, 0.1, INF, INF)
    bad[3, 1] = 0.1
    bad[2, 2] = float("inf")
    with pytest.raises(ValueError, match="prediction 2, background"):
        solve(bad, 0.1, INF, INF)
    with pytest.raises(ValueError, match="warm_start must have shape"):
        solve(cost, 0.1, INF, INF, warm_start=torch.zeros(5))


def test_kappa_and_paper_epsilon():
    assert kappa(INF, 0.1) == 1.0 and kappa(0.0, 0.1) == 0.0
    assert kappa(0.3, 0.1) == pytest.approx(0.75)
    per_problem = kappa(torch.tensor([[INF], [0.3], [0.0]], dtype=torch.float64), 0.1)
    assert torch.allclose(per_problem, torch.tensor([[1.0], [0.75], [0.0]], dtype=torch.float64))
    eps = torch.tensor([[0.1], [0.3]], dtype=torch.float64)
    assert torch.allclose(kappa(0.3, eps), torch.tensor([[0.75], [0.5]], dtype=torch.float64))
    assert paper_epsilon(100) == pytest.approx(0.12 / (math.log(200) + 1))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    cost = torch.rand((16, 300, 51), dtype=torch.float32)
    cpu = solve(cost, 0.05, 1.0, INF)
    gpu = solve(cost.cuda(), 0.05, 1.0, INF)
    assert gpu.plan.device.type == "cuda"
    assert gpu.plan.dtype == torch.float32
    assert torch.allclose(gpu.plan.cpu(), cpu.plan, atol=1e-5)


def test_singular_hessian_falls_back_to_a_gradient_step(monkeypatch):
    """If the linear solve reports failure, Newton still ascends and reaches the same plan."""
    real_solve_ex = torch.linalg.solve_ex

    def failing_solve_ex(a, b):
        solution, info = real_solve_ex(a, b)
        return solution, torch.ones_like(info)

    monkeypatch.setattr(torch.linalg, "solve_ex", failing_solve_ex)
    cost = figure1_cost()
    warm = torch.zeros(3, dtype=torch.float64)  # a warm start goes straight to Newton
    result = solve(cost, 0.05, 1.0, 1.0, tol=1e-7, max_iter=5000, warm_start=warm)
    assert result.method == "newton" and result.converged
    np.testing.assert_allclose(
        result.plan.numpy(), pot_plan(cost.numpy(), 0.05, 1.0, 1.0), atol=1e-5
    )


# ------------------------------------------------------------------------------------------
# One (eps, tau1, tau2) per problem: solve_batch_params
# ------------------------------------------------------------------------------------------

# Mixed per problem: eps from 1e-3 to 1 (and eps = 0, the stand-in eps), tau = inf next to
# finite tau on either side, balanced and unbalanced problems in one batch.
MIXED = [
    (1e-3, INF, INF),
    (3e-3, 1.0, INF),
    (0.01, 0.1, 1.0),
    (0.05, INF, 0.3),
    (0.05, 100.0, 0.01),
    (0.2, 10.0, INF),
    (1.0, INF, 100.0),
    (0.3, 0.01, 0.01),
    (0.0, 1.0, INF),
    (0.0, 0.5, 2.0),
]


@pytest.mark.parametrize("which", ["figure 1", "random 12x6"])
def test_batch_params_equal_scalar_solves(which):
    """Problem b of the batch is the scalar solve at its own (eps, tau1, tau2)."""
    if which == "figure 1":
        cost = figure1_cost()
    else:
        cost = torch.tensor(np.random.default_rng(12).uniform(0.0, 2.0, size=(12, 6)))
    eps, tau1, tau2 = (list(column) for column in zip(*MIXED, strict=True))
    batch = cost.expand(len(MIXED), *cost.shape)
    result = solve_batch_params(batch, eps, tau1, tau2, tol=1e-9)
    assert result.converged and result.plan.shape == batch.shape
    assert result.row_error < 1e-6 and result.col_error < 1e-6
    for b, params in enumerate(MIXED):
        single = solve(cost, *params, tol=1e-9)
        assert result.eps[b] == pytest.approx(single.eps, rel=1e-12)
        assert torch.allclose(result.plan[b], single.plan, atol=1e-6, rtol=0), params
        if params[0] >= 0.05:  # POT, where it converges (well above eps = 0.001)
            np.testing.assert_allclose(
                result.plan[b].numpy(),
                pot_plan(cost.numpy(), *params),
                atol=1e-6,
                err_msg=f"{params}",
            )


def test_batch_params_with_different_costs_and_padding():
    """A general batch: a different cost, mask and parameter set per problem, as tensors."""
    rng = np.random.default_rng(13)
    n, m_max = 9, 4
    counts = [4, 1, 0, 3]
    cost = torch.tensor(rng.uniform(0.0, 2.0, size=(len(counts), n, m_max + 1)))
    mask = torch.zeros((len(counts), m_max), dtype=torch.bool)
    for b, count in enumerate(counts):
        mask[b, :count] = True
    eps = torch.tensor([0.002, 0.05, 0.5, 0.02])
    tau1 = torch.tensor([INF, 0.2, INF, 3.0])
    tau2 = 5.0  # one number for every problem
    result = solve_batch_params(cost, eps, tau1, tau2, gt_mask=mask, tol=1e-9)
    for b in range(len(counts)):
        keep = torch.cat([mask[b], torch.tensor([True])])
        single = solve(cost[b][:, keep], float(eps[b]), float(tau1[b]), tau2, tol=1e-9)
        assert torch.allclose(result.plan[b][:, keep], single.plan, atol=1e-6, rtol=0)
        assert not result.plan[b][:, ~keep].any()
    assert result.potentials.shape == (4, m_max + 1)


def test_batch_params_when_the_batched_linear_solve_fails(monkeypatch):
    """A batch's Newton systems go to NumPy on the CPU; when it refuses (a singular system),
    PyTorch's solve and, failing that, a gradient step take over: same plans."""

    def refuse(a, b):
        raise np.linalg.LinAlgError("Singular matrix")

    real_solve_ex = torch.linalg.solve_ex

    def failing_solve_ex(a, b):
        solution, info = real_solve_ex(a, b)
        info = info.clone()
        info[1] = 1  # the second problem's system "failed"
        return solution, info

    monkeypatch.setattr(newton.np.linalg, "solve", refuse)
    monkeypatch.setattr(torch.linalg, "solve_ex", failing_solve_ex)
    cost = figure1_cost()
    params = [(0.05, INF, INF), (0.05, 1.0, 1.0), (0.1, 0.3, INF)]
    eps, tau1, tau2 = (list(column) for column in zip(*params, strict=True))
    result = solve_batch_params(cost.expand(3, 5, 3), eps, tau1, tau2, tol=1e-8, max_iter=5000)
    assert result.converged
    for b, (e, t1, t2) in enumerate(params):
        np.testing.assert_allclose(
            result.plan[b].numpy(), pot_plan(cost.numpy(), e, t1, t2), atol=1e-6
        )


def test_batch_params_keep_the_cost_dtype():
    cost = figure1_cost(torch.float32).expand(3, 5, 3)
    result = solve_batch_params(cost, [0.05, 0.1, 0.5], INF, [INF, 1.0, 0.1])
    assert result.plan.dtype == torch.float32
    reference = solve(figure1_cost(torch.float32), 0.1, INF, 1.0).plan
    assert torch.allclose(result.plan[1], reference, atol=1e-6)


@pytest.mark.parametrize(
    ("eps", "tau1", "tau2", "message"),
    [
        (-0.1, INF, INF, r"eps must be >= 0 and finite, got eps\[0\] = -0.1"),
        ([0.1, float("nan"), 0.1], INF, INF, r"eps must be >= 0 and finite, got eps\[1\] = nan"),
        (INF, 1.0, 1.0, r"eps must be >= 0 and finite"),
        (0.1, [1.0, -1.0, 1.0], INF, r"tau1 must be > 0 \(inf allowed\), got tau1\[1\] = -1.0"),
        (0.1, INF, [1.0, 1.0, float("nan")], r"tau2 must be > 0 .*tau2\[2\] = nan"),
        (0.1, 0.0, INF, r"tau1 must be > 0"),
        (0.1, INF, [1.0, 2.0], r"tau2 must have one value per problem \(3\), got shape \(2,\)"),
        ([0.1] * 4, INF, INF, r"eps must have one value per problem \(3\)"),
        (torch.ones(3, 1), INF, INF, r"eps must have one value per problem"),
        (0.1, "inf", INF, r"tau1 must be a number or 3 numbers"),
        (0.1, True, INF, r"tau1 must be a number or 3 numbers"),
        ([0.05, 0.0, 0.05], INF, INF, r"eps\[1\] = 0 with tau1 = tau2 = inf"),
    ],
)
def test_batch_params_reject_bad_parameters(eps, tau1, tau2, message):
    cost = figure1_cost().expand(3, 5, 3)
    with pytest.raises(ValueError, match=message):
        solve_batch_params(cost, eps, tau1, tau2)


def test_batch_params_reject_bad_costs():
    with pytest.raises(ValueError, match=r"shape \(B, N, M\+1\)"):
        solve_batch_params(figure1_cost(), 0.05, INF, INF)
    bad = figure1_cost().expand(2, 5, 3).clone()
    bad[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match="problem 1, prediction 2"):
        solve_batch_params(bad, 0.05, INF, INF)


def test_batch_params_without_predictions():
    result = solve_batch_params(torch.zeros((2, 0, 3)), [0.05, 0.1], INF, 1.0)
    assert result.plan.shape == (2, 0, 3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_batch_params_cuda_matches_cpu():
    cost = torch.rand((6, 300, 51), dtype=torch.float64)
    eps = torch.tensor([0.005, 0.01, 0.05, 0.1, 0.5, 1.0])
    tau1 = [INF, 1.0, INF, 0.1, 10.0, INF]
    cpu = solve_batch_params(cost, eps, tau1, INF)
    gpu = solve_batch_params(cost.cuda(), eps.cuda(), tau1, INF)
    assert gpu.plan.device.type == "cuda"
    assert torch.allclose(gpu.plan.cpu(), cpu.plan, atol=1e-6)
