r"""Entropic unbalanced optimal transport between predictions and ground truths.

This module solves Definition 4 of De Plaen et al., "Unbalanced Optimal Transport: A Unified
Framework for Object Detection" (CVPR 2023):

.. math::

    \hat P = \arg\min_{P \ge 0} \langle C, P\rangle
             + \varepsilon \sum_{ij} P_{ij}(\log P_{ij} - 1)
             + \tau_1 \mathrm{KL}(P\mathbb 1 \,\|\, \alpha)
             + \tau_2 \mathrm{KL}(P^\top \mathbb 1 \,\|\, \beta)

with the generalised KL divergence ``KL(u || v) = sum(u log(u/v) - u + v)`` and the paper's masses
(Proposition 1): ``alpha_i = 1/N`` for each of the N predictions, ``beta_j = 1/N`` for each of the
M ground truths and ``beta_bg = (N - M)/N`` for the background column, which is the LAST column of
the cost. ``tau1`` acts on the prediction side (rows), ``tau2`` on the ground-truth side (columns,
background included); ``tau = inf`` makes a marginal a hard constraint, ``tau = 0`` leaves it free.

Conventions the paper leaves open, fixed here:

* **More ground truths than predictions (M > N).** ``beta_bg`` would be negative. Instead the
  background column gets mass 0 and a hidden "missed" source row with mass ``(M - N)/N`` is added;
  it sends mass to ground truths at ``miss_cost`` each (default: the mean background cost of the
  image) and never to the background. At ``eps = 0, tau1 = tau2 = inf`` this is exactly rectangular
  Hungarian matching (each prediction gets a distinct ground truth, M - N ground truths stay
  unmatched). The hidden row is not part of the returned plan.
* **No ground truth (M = 0).** The cost has one column (the background, ``beta_bg = 1``).
* **Padding.** ``gt_mask`` marks the real ground-truth columns of each problem in a batch (padding
  may sit anywhere). Padded columns get no mass whatever their cost, and each problem is solved
  with its own masses: a padded batch gives the plans of the problems solved one by one.
* **eps = 0** is solved exactly at the four corners of the (tau1, tau2) square:

  - ``(inf, inf)``: Hungarian matching with :func:`scipy.optimize.linear_sum_assignment` on
    ``C_gt - C_bg`` (exact for any background column, constant or not);
  - ``(inf, 0)``: every prediction goes wholly to its cheapest column, background included;
  - ``(0, inf)``: every ground truth goes wholly to its cheapest prediction, and the background
    mass ``N - M`` (in units of one prediction) goes to the predictions with the cheapest background
    cost. With a constant ``c_bg`` that is every prediction, ``(N - M)/N`` each: the eps -> 0 limit
    of the problem at ``tau1 = 0`` exactly;
  - ``(0, 0)``: the zero plan.

  Exact ties are split equally, which is also the eps -> 0 limit. For eps = 0 with a finite
  positive tau the problem is solved at ``eps = zero_eps * max|C|`` (default ``1e-4`` relative) by
  continuation; plan entries whose cost gap to the alternatives exceeds ~20 eps are then exact to
  well under 1e-6.

Algorithm (eps > 0). The row potential has the closed form
``f_i(g) = kappa1 * eps * (log alpha_i - LSE_j((g_j - C_ij)/eps))`` with ``kappa = tau/(tau+eps)``
(the scaling update of Chizat et al.), so the dual is maximised over the column potentials ``g``
alone: M + 1 unknowns per image, whatever N. This is done with Newton's method (exact Hessian, an
(M+1) x (M+1) solve) and a backtracking line search on the concave dual, in float64, after one
log-domain Sinkhorn column update at every stage of an eps-scaling schedule (eps0 = max|C| shrunk by
4 per stage). Everything stays in the log domain: no exp(-C/eps) kernel is formed, so no underflow
at any eps. ``tau1 = 0`` or ``tau2 = 0`` need no iteration: one scaling update is exact.
Convergence is declared when the optimality residual of every column, in units of one prediction,
is below ``tol``; the rows are optimal by construction.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

__all__ = [
    "TransportResult",
    "solve",
    "paper_epsilon",
    "kappa",
]

INF = math.inf
_EPS_SCALING_FACTOR = 10.0
_INTERMEDIATE_TOL = 1e-2
_SWEEPS = 1


@dataclass
class TransportResult:
    """A solved transport problem.

    Attributes:
        plan: ``N * P_hat``, "in units of one prediction", same shape, dtype and device as the cost
            (``(N, M+1)`` or ``(B, N, M+1)``); the last column is the background. A row of a
            balanced plan sums to 1, and so does a ground truth's column.
        potentials: the column potentials ``g`` in cost units, shape ``(M+1,)`` or ``(B, M+1)``,
            float64, to pass back as ``warm_start``; ``None`` for the exact eps = 0 corners.
        method: ``"newton"``, ``"closed-form"``, ``"hungarian"``, ``"row-argmin"``,
            ``"column-argmin"`` or ``"zero"``.
        iterations: Newton iterations taken (0 for closed forms and exact corners).
        converged: whether every problem reached ``tol``.
        row_error: largest optimality residual of a row marginal, units of one prediction: for
            ``tau1 = inf`` the deviation of a row sum from 1, for finite ``tau1 > 0`` the deviation
            from ``exp(-f_i / tau1)``, for ``tau1 = 0`` zero (the rows are free).
        col_error: the same for the columns (ground truths and background).
        seconds: wall time of the solve, including synchronisation of the device.
        eps: the eps actually solved (differs from the request only for eps = 0 with finite tau).
    """

    plan: Tensor
    potentials: Tensor | None
    method: str
    iterations: int
    converged: bool
    row_error: float
    col_error: float
    seconds: float
    eps: float


def kappa(tau: float, eps: float) -> float:
    """The scaling exponent ``tau / (tau + eps)``: 1 for ``tau = inf``, 0 for ``tau = 0``."""
    if tau == INF:
        return 1.0
    if tau == 0.0:
        return 0.0
    return tau / (tau + eps)


def paper_epsilon(num_predictions: int) -> float:
    """The paper's training heuristic ``eps = 0.12 / (log(2 N) + 1)``.

    It is meant for costs divided by their maximum (see :func:`uotviz.costs.normalise_cost`);
    Figure 1 does not use it (raw 1 - GIoU costs with eps = 0.05).
    """
    if num_predictions < 1:
        raise ValueError(f"num_predictions must be >= 1, got {num_predictions}")
    return 0.12 / (math.log(2 * num_predictions) + 1.0)


# --------------------------------------------------------------------------------------------
# The problem in a canonical batched form
# --------------------------------------------------------------------------------------------


@dataclass
class _Problem:
    """A batch of problems in float64 with masked entries set to +inf.

    cost: (B, R, J) with R = N rows (+1 hidden "missed" row when some M_b > N), J = M + 1.
    log_a: (B, R) log row masses; row_ok: (B, R) rows with positive mass.
    log_b: (B, J) log column masses; col_ok: (B, J) columns that may receive mass.
    """

    cost: Tensor
    log_a: Tensor
    row_ok: Tensor
    log_b: Tensor
    col_ok: Tensor
    num_predictions: int
    scale: float
    _scaled: tuple[float, Tensor] | None = None

    def __post_init__(self) -> None:
        self.a = torch.exp(self.log_a)
        self.b = torch.exp(self.log_b)
        # Masks cost a pass each in the hot loop: skip them when nothing is masked.
        self.rows_all_ok = bool(self.row_ok.all())
        self.cols_all_ok = bool(self.col_ok.all())

    def cost_over(self, eps: float) -> Tensor:
        """C / eps, cached for the last eps (an eps-scaling stage reuses it many times)."""
        if self._scaled is None or self._scaled[0] != eps:
            self._scaled = (eps, self.cost / eps)
        return self._scaled[1]


def _validate(cost: Tensor, eps: float, tau1: float, tau2: float, gt_mask: Tensor | None) -> None:
    if not isinstance(cost, Tensor):
        raise ValueError(f"cost must be a torch.Tensor, got {type(cost).__name__}")
    if cost.dim() not in (2, 3):
        raise ValueError(f"cost must have shape (N, M+1) or (B, N, M+1), got {tuple(cost.shape)}")
    if cost.shape[-1] < 1:
        raise ValueError("cost needs at least one column: the last column is the background")
    if not cost.is_floating_point():
        raise ValueError(f"cost must be a floating-point tensor, got {cost.dtype}")
    for name, value in (("eps", eps), ("tau1", tau1), ("tau2", tau2)):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if math.isnan(value) or value < 0:
            raise ValueError(f"{name} must be >= 0 (inf allowed for tau), got {value}")
    if eps == INF:
        raise ValueError("eps must be finite")
    if gt_mask is not None:
        expected = cost.shape[:-2] + (cost.shape[-1] - 1,)
        if gt_mask.dtype != torch.bool:
            raise ValueError(f"gt_mask must be a bool tensor, got {gt_mask.dtype}")
        if tuple(gt_mask.shape) != tuple(expected):
            raise ValueError(
                f"gt_mask must have shape {tuple(expected)} (one flag per ground-truth column), "
                f"got {tuple(gt_mask.shape)}"
            )


def _with_background(gt_mask: Tensor) -> Tensor:
    """(B, M) ground-truth mask -> (B, M+1) column mask with the background column set."""
    background = torch.ones((gt_mask.shape[0], 1), dtype=torch.bool, device=gt_mask.device)
    return torch.cat([gt_mask, background], dim=1)


def _check_finite(cost: Tensor, gt_mask: Tensor) -> None:
    """Raise ValueError naming the first NaN or infinite entry among the real entries."""
    bad = ~torch.isfinite(cost)
    real = _with_background(gt_mask)  # (B, J)
    bad &= real[:, None, :]
    if bool(bad.any()):
        b, i, j = (int(k) for k in torch.nonzero(bad)[0])
        value = float(cost[b, i, j])
        column = "background" if j == cost.shape[-1] - 1 else f"ground truth {j}"
        where = f"problem {b}, " if cost.shape[0] > 1 else ""
        raise ValueError(
            f"cost is {value} at {where}prediction {i}, {column}: costs must be finite numbers"
        )


def _build_problem(cost: Tensor, gt_mask: Tensor, miss_cost: float | None, tau2: float) -> _Problem:
    """Turn a (B, N, J) cost and (B, M) mask into the canonical float64 problem."""
    batch, n, j_total = cost.shape
    device = cost.device
    c = cost.to(torch.float64)
    num_gt = gt_mask.sum(dim=1)  # (B,)
    col_real = _with_background(gt_mask)  # (B, J)

    inv_n = 1.0 / max(n, 1)
    log_b = torch.full((batch, j_total), -INF, dtype=torch.float64, device=device)
    log_b[:, :-1][gt_mask] = math.log(inv_n)
    bg_mass = (n - num_gt).clamp_min(0).to(torch.float64) * inv_n
    log_b[:, -1] = torch.log(bg_mass)
    # A zero-mass column may take mass only when its marginal is free (tau2 = 0); padding never.
    col_ok = col_real & (torch.isfinite(log_b) | (tau2 == 0.0))

    real_scale = torch.where(col_real[:, None, :], c.abs(), torch.zeros_like(c))
    scale = float(real_scale.max()) if c.numel() else 0.0

    rows = [c]
    log_a = torch.full((batch, n), math.log(inv_n), dtype=torch.float64, device=device)
    row_ok = torch.ones((batch, n), dtype=torch.bool, device=device)
    missing = (num_gt - n).clamp_min(0)  # (B,)
    if bool((missing > 0).any()):
        if miss_cost is None:
            miss = c[:, :, -1].mean(dim=1)  # (B,) mean background cost per image
        else:
            miss = torch.full((batch,), float(miss_cost), dtype=torch.float64, device=device)
        miss_row = miss[:, None].expand(batch, j_total).clone()
        miss_row[:, -1] = INF  # the hidden row never sends mass to the background
        rows.append(miss_row[:, None, :])
        log_a = torch.cat([log_a, torch.log(missing.to(torch.float64) * inv_n)[:, None]], dim=1)
        row_ok = torch.cat([row_ok, (missing > 0)[:, None]], dim=1)
    c = torch.cat(rows, dim=1)
    c = torch.where(col_ok[:, None, :] & row_ok[:, :, None], c, torch.full_like(c, INF))
    return _Problem(c, log_a, row_ok, log_b, col_ok, n, scale)


# --------------------------------------------------------------------------------------------
# eps > 0: closed forms and the Newton solver on the column potentials
# --------------------------------------------------------------------------------------------


@dataclass
class _Point:
    """The dual at one g, with what the Newton step reuses (all float64).

    g: (B, J) column potentials; f: (B, R) optimal row potentials for g;
    softmin: (B, R, J) row-normalised plan ``P_ij / r_i``; log_r: (B, R) log row masses;
    value: (B,) dual objective.
    """

    g: Tensor
    f: Tensor
    softmin: Tensor
    log_r: Tensor
    value: Tensor

    def plan(self) -> Tensor:
        """P_ij = r_i * softmin_ij, shape (B, R, J)."""
        return self.softmin * torch.exp(self.log_r)[:, :, None]


def _row_lse(p: _Problem, g: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Row-wise log-sum-exp of (g_j - C_ij)/eps: returns (log_s (B, R), softmin (B, R, J)).

    One exp pass gives both the log-sum-exp and the row-normalised kernel; rows with no
    admissible column give log_s = -inf and a zero softmin row. Works in place on one buffer.
    """
    z = torch.sub(g[:, None, :] / eps, p.cost_over(eps))  # (B, R, J)
    top = z.amax(dim=2, keepdim=True)
    if not p.rows_all_ok:
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    kernel = z.sub_(top).exp_()
    total = kernel.sum(dim=2, keepdim=True)
    log_s = (top + torch.log(total))[:, :, 0]
    if not p.rows_all_ok:
        total = torch.where(total > 0, total, torch.ones_like(total))
    return log_s, kernel.div_(total)


def _row_potential_from_lse(p: _Problem, log_s: Tensor, eps: float, k1: float) -> Tensor:
    """Closed-form optimal f given log_s = LSE_j((g_j - C_ij)/eps); masked rows get f = 0."""
    if k1 == 0.0:
        return torch.zeros_like(log_s)
    f = (p.log_a - log_s).mul_(k1 * eps)
    return f if p.rows_all_ok else torch.where(p.row_ok, f, torch.zeros_like(f))


def _evaluate(p: _Problem, g: Tensor, eps: float, tau1: float, tau2: float) -> _Point:
    """The dual and the plan's row structure at g, with f eliminated in closed form."""
    log_s, softmin = _row_lse(p, g, eps)
    f = _row_potential_from_lse(p, log_s, eps, kappa(tau1, eps))
    log_r = f / eps + log_s
    if not p.rows_all_ok:
        log_r = torch.where(p.row_ok, log_r, torch.full_like(f, -INF))
    value = _dual(p, f, g, log_r, eps, tau1, tau2)
    return _Point(g, f, softmin, log_r, value)


def _row_potential(p: _Problem, g: Tensor, eps: float, k1: float) -> Tensor:
    """Closed-form optimal f for given g, shape (B, R)."""
    log_s, _ = _row_lse(p, g, eps)
    return _row_potential_from_lse(p, log_s, eps, k1)


def _column_potential(p: _Problem, f: Tensor, eps: float, k2: float) -> Tensor:
    """Closed-form optimal g for given f (a Sinkhorn column update), masked columns 0."""
    if k2 == 0.0:
        return torch.zeros_like(p.log_b)
    log_s = torch.logsumexp(torch.sub(f[:, :, None] / eps, p.cost_over(eps)), dim=1)  # (B, J)
    g = k2 * eps * (p.log_b - log_s)
    return torch.where(p.col_ok & torch.isfinite(g), g, torch.zeros_like(g))


def _plan(p: _Problem, f: Tensor, g: Tensor, eps: float) -> Tensor:
    """P_ij = exp((f_i + g_j - C_ij) / eps), shape (B, R, J); masked entries are 0."""
    return torch.sub(f[:, :, None] / eps + g[:, None, :] / eps, p.cost_over(eps)).exp_()


def _marginal_term(x: Tensor, tau: float) -> Tensor:
    """The conjugate term of one marginal penalty: x for tau = inf, tau (1 - exp(-x/tau)) else."""
    if tau == INF:
        return x
    return -tau * torch.expm1(-x / tau)


def _target_mass(log_mass: Tensor, potential: Tensor, tau: float) -> Tensor:
    """The marginal an optimal plan must have: mass * exp(-potential / tau) (mass if tau = inf)."""
    if tau == INF:
        return torch.exp(log_mass)
    return torch.exp(log_mass - potential / tau)


def _dual(p: _Problem, f: Tensor, g: Tensor, log_r: Tensor, eps: float, tau1, tau2) -> Tensor:
    """Dual objective D(f, g) per problem, shape (B,), for f optimal given g.

    With f optimal, sum_ij P_ij = sum_i r_i, so D = <alpha, phi1(f)> + <beta, phi2(g)> - eps sum r.
    """
    row = (p.a * _marginal_term(f, tau1)).sum(dim=1)
    col_term = _marginal_term(g, tau2)
    if not p.cols_all_ok:
        col_term = torch.where(p.col_ok, col_term, torch.zeros_like(g))
    return row + (p.b * col_term).sum(dim=1) - eps * torch.exp(log_r).sum(dim=1)


def _gradient_and_hessian(
    p: _Problem, point: _Point, eps: float, k1: float, tau2: float
) -> tuple[Tensor, Tensor]:
    """Gradient (B, J) of the dual in g, and the negated Hessian (B, J, J), positive definite.

    grad_j = beta_j exp(-g_j/tau2) - c_j where c_j is the plan's column mass;
    -hess = diag(beta exp(-g/tau2) / tau2) + (diag(c) - kappa1 P^T diag(1/r) P) / eps,
    and P^T diag(1/r) P = P^T softmin.
    """
    plan = point.plan()  # (B, R, J)
    col_mass = plan.sum(dim=1)  # (B, J)
    target = p.b if tau2 == INF else _target_mass(p.log_b, point.g, tau2)
    grad = target - col_mass
    if not p.cols_all_ok:
        grad = torch.where(p.col_ok, grad, torch.zeros_like(grad))
        target = torch.where(p.col_ok, target, torch.zeros_like(target))
    neg_hess = torch.bmm(plan.transpose(1, 2), point.softmin) * (-k1 / eps)  # (B, J, J)
    diag = col_mass / eps
    if tau2 != INF:
        diag = diag + target / tau2
    # Columns that cannot take mass are pinned by an identity row; a relative ridge removes the
    # null direction of the balanced problem (g + t, f - t).
    if not p.cols_all_ok:
        diag = torch.where(p.col_ok, diag, torch.ones_like(diag))
    ridge = 1e-12 * diag.abs().amax(dim=1, keepdim=True)
    return grad, neg_hess + torch.diag_embed(diag + ridge)


def _select(take: Tensor, new: _Point, old: _Point) -> _Point:
    """Per problem, the new point where ``take`` (B,) is True, else the old one."""

    def pick(a: Tensor, b: Tensor) -> Tensor:
        return torch.where(take.view(-1, *([1] * (a.dim() - 1))), a, b)

    return _Point(*(pick(getattr(new, k), getattr(old, k)) for k in _Point.__dataclass_fields__))


def _line_search(
    p: _Problem,
    point: _Point,
    direction: Tensor,
    slope: Tensor,
    eps: float,
    tau1: float,
    tau2: float,
    k2: float,
) -> _Point:
    """Backtracking (Armijo) along ``direction``, per problem; the full step is tried first."""
    slack = 1e-13 * (point.value.abs() + 1.0)  # rounding of the dual near its maximum

    def acceptable(trial: _Point, step) -> Tensor:
        return torch.isfinite(trial.value) & (
            trial.value >= point.value + 1e-4 * step * slope - slack
        )

    trial = _evaluate(p, point.g + direction, eps, tau1, tau2)
    accepted = acceptable(trial, 1.0)
    if bool(accepted.all()):
        return trial
    best = _select(accepted, trial, point)
    step = torch.where(accepted, 1.0, 0.5).to(slope)
    for _ in range(40):
        trial = _evaluate(p, point.g + step[:, None] * direction, eps, tau1, tau2)
        ok = acceptable(trial, step)
        best = _select(ok & ~accepted, trial, best)
        accepted |= ok
        if bool(accepted.all()):
            return best
        step = torch.where(accepted, step, step * 0.5)
    # No ascent found (rounding at the optimum, or a poor direction): one Sinkhorn sweep for the
    # problems that are stuck.
    sweep = _evaluate(p, _column_potential(p, point.f, eps, k2), eps, tau1, tau2)
    return _select(~accepted, sweep, best)


def _newton(
    p: _Problem,
    g: Tensor,
    eps: float,
    tau1: float,
    tau2: float,
    tol: float,
    max_iter: int,
) -> tuple[Tensor, int, bool]:
    """Maximise the dual over g at one eps. Returns (g, iterations, converged)."""
    k1, k2 = kappa(tau1, eps), kappa(tau2, eps)
    balanced = tau1 == INF and tau2 == INF
    n = p.num_predictions
    point = _evaluate(p, g, eps, tau1, tau2)
    for iteration in range(max_iter + 1):
        grad, neg_hess = _gradient_and_hessian(p, point, eps, k1, tau2)
        residual = n * grad.abs().amax(dim=1)  # (B,) units of one prediction
        if bool((residual <= tol).all()):
            return point.g, iteration, True
        if iteration == max_iter:
            break
        direction = torch.linalg.solve(neg_hess, grad[:, :, None])[:, :, 0]  # (B, J)
        if balanced:
            # (g + t, f - t) gives the same plan: drop that component so g cannot drift.
            ok = p.col_ok.to(direction.dtype)
            shift = (direction * ok).sum(dim=1, keepdim=True) / ok.sum(dim=1, keepdim=True)
            direction = direction - shift * ok
        slope = (grad * direction).sum(dim=1)  # (B,) > 0 for an ascent direction
        point = _line_search(p, point, direction, slope, eps, tau1, tau2, k2)
    return point.g, max_iter, False


def _eps_schedule(eps: float, scale: float) -> list[float]:
    """eps-scaling: from max(eps, scale) down to eps in even geometric steps of at most 10x."""
    if scale <= eps:
        return [eps]
    stages = math.ceil(math.log(scale / eps) / math.log(_EPS_SCALING_FACTOR) - 1e-9)
    ratio = (scale / eps) ** (1.0 / stages)
    return [eps * ratio ** (stages - k) for k in range(stages)] + [eps]


def _solve_positive_eps(
    p: _Problem,
    eps: float,
    tau1: float,
    tau2: float,
    tol: float,
    max_iter: int,
    warm_start: Tensor | None,
) -> tuple[Tensor, Tensor, str, int, bool]:
    """Solve at eps > 0. Returns (f, g, method, iterations, converged)."""
    k1, k2 = kappa(tau1, eps), kappa(tau2, eps)
    batch, _, j_total = p.cost.shape
    if k1 == 0.0 or k2 == 0.0:
        # One free marginal: one scaling update is the exact optimum.
        if k2 == 0.0:
            g = torch.zeros((batch, j_total), dtype=torch.float64, device=p.cost.device)
            f = _row_potential(p, g, eps, k1)
        else:
            f = torch.zeros_like(p.log_a)
            g = _column_potential(p, f, eps, k2)
        return f, g, "closed-form", 0, True

    def run(schedule: list[float], g0: Tensor) -> tuple[Tensor, int, bool]:
        g, total = g0, 0
        converged = False
        for index, stage_eps in enumerate(schedule):
            last = index == len(schedule) - 1
            for _ in range(_SWEEPS):
                f = _row_potential(p, g, stage_eps, kappa(tau1, stage_eps))
                g = _column_potential(p, f, stage_eps, kappa(tau2, stage_eps))
            g, used, converged = _newton(
                p,
                g,
                stage_eps,
                tau1,
                tau2,
                tol if last else max(tol, _INTERMEDIATE_TOL),
                max(max_iter - total, 1),
            )
            total += used
        return g, total, converged

    cold = torch.zeros((batch, j_total), dtype=torch.float64, device=p.cost.device)
    if warm_start is not None:
        g0 = torch.where(p.col_ok, warm_start.to(cold), cold)
        g, iterations, converged = run([eps], g0)
        if not converged:
            g, more, converged = run(_eps_schedule(eps, p.scale), cold)
            iterations += more
    else:
        g, iterations, converged = run(_eps_schedule(eps, p.scale), cold)
    f = _row_potential(p, g, eps, k1)
    return f, g, "newton", iterations, converged


# --------------------------------------------------------------------------------------------
# eps = 0: the exact corners
# --------------------------------------------------------------------------------------------


def _split_ties(cost: Tensor, dim: int) -> Tensor:
    """Indicator of the minima of ``cost`` along ``dim``, ties shared equally (rows of sum 1)."""
    best = cost.amin(dim=dim, keepdim=True)
    hits = (cost == best) & torch.isfinite(cost)
    hits = hits.to(torch.float64)
    count = hits.sum(dim=dim, keepdim=True)
    return torch.where(count > 0, hits / count.clamp_min(1.0), torch.zeros_like(hits))


def _hungarian(cost: Tensor, gt_mask: Tensor) -> Tensor:
    """Exact balanced plan at eps = 0 (units of one prediction), (B, N, J), on the CPU."""
    batch, n, j_total = cost.shape
    plan = np.zeros((batch, n, j_total))
    cost_np = cost.detach().to("cpu", torch.float64).numpy()
    mask_np = gt_mask.detach().cpu().numpy()
    for b in range(batch):
        columns = np.flatnonzero(mask_np[b])
        if n == 0:
            continue
        plan[b, :, -1] = 1.0
        if columns.size == 0:
            continue
        gt_cost = cost_np[b][:, columns]  # (N, M_b)
        if columns.size <= n:
            # Every ground truth must be matched; the rest go to the background. Subtracting
            # the background cost of each row makes this exact for any background column.
            gt_cost = gt_cost - cost_np[b][:, -1:]
        rows, cols = linear_sum_assignment(gt_cost)
        plan[b, rows, -1] = 0.0
        plan[b, rows, columns[cols]] = 1.0
    return torch.from_numpy(plan)


def _solve_zero_eps_corner(
    p: _Problem, cost: Tensor, gt_mask: Tensor, tau1: float, tau2: float
) -> tuple[Tensor, str]:
    """Plan (B, R, J) in absolute masses, and the method name, for eps = 0 with tau in {0, inf}."""
    n = p.num_predictions
    if tau1 == INF and tau2 == INF:
        plan = _hungarian(cost, gt_mask).to(p.cost.device) / max(n, 1)
        batch, rows, j_total = p.cost.shape
        full = torch.zeros((batch, rows, j_total), dtype=torch.float64, device=p.cost.device)
        full[:, :n] = plan
        return full, "hungarian"
    if tau1 == INF and tau2 == 0.0:
        return _split_ties(p.cost, dim=2) * torch.exp(p.log_a)[:, :, None], "row-argmin"
    if tau1 == 0.0 and tau2 == INF:
        return _split_ties(p.cost, dim=1) * torch.exp(p.log_b)[:, None, :], "column-argmin"
    return torch.zeros_like(p.cost), "zero"


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def solve(
    cost: Tensor,
    eps: float,
    tau1: float,
    tau2: float,
    *,
    gt_mask: Tensor | None = None,
    tol: float = 1e-6,
    max_iter: int = 200,
    warm_start: Tensor | TransportResult | None = None,
    miss_cost: float | None = None,
    zero_eps: float = 1e-4,
    check_inputs: bool = True,
) -> TransportResult:
    r"""Solve the paper's entropic unbalanced OT problem (Definition 4); see the module docstring.

    Args:
        cost: ``(N, M+1)`` or ``(B, N, M+1)`` floating tensor, last column = background. Any
            device; the plan comes back on it. Real entries must be finite.
        eps: entropic regularisation, ``>= 0``; 0 solves the unregularised problem.
        tau1: marginal penalty on the prediction side (rows), in ``[0, inf]``.
        tau2: marginal penalty on the ground-truth side (columns, background included), in
            ``[0, inf]``.
        gt_mask: bool ``(M,)`` or ``(B, M)``, True for real ground-truth columns; default all.
        tol: stop when every marginal optimality residual is below ``tol`` in units of one
            prediction.
        max_iter: the most Newton iterations, all eps-scaling stages together.
        warm_start: the ``potentials`` (or the result) of an earlier solve of the same shape,
            e.g. at a neighbouring slider position; the solver starts from them at the target eps.
        miss_cost: cost of leaving a ground truth unmatched when ``M > N`` (default: the mean
            background cost of the image).
        zero_eps: for eps = 0 with a finite positive tau, the eps solved instead, relative to
            ``max|C|``.
        check_inputs: check costs for NaN and inf (one device synchronisation).

    Returns:
        A :class:`TransportResult` whose ``plan`` is ``N * P_hat``.

    Raises:
        ValueError: negative or NaN eps or tau, a non-finite real cost entry, bad shapes.

    Example (Figure 1(g) of the paper: eps = 0.05, tau1 = tau2 = inf)::

        >>> result = solve(cost_5x3, 0.05, math.inf, math.inf)
        >>> result.plan.sum(dim=1)  # every prediction sends one unit
        tensor([1., 1., 1., 1., 1.])
    """
    start = time.perf_counter()
    _validate(cost, eps, tau1, tau2, gt_mask)
    eps, tau1, tau2 = float(eps), float(tau1), float(tau2)
    if tol <= 0 or math.isnan(tol):
        raise ValueError(f"tol must be > 0, got {tol}")
    unbatched = cost.dim() == 2
    batched_cost = cost[None] if unbatched else cost
    batch, n, j_total = batched_cost.shape
    if gt_mask is None:
        mask = torch.ones((batch, j_total - 1), dtype=torch.bool, device=cost.device)
    else:
        mask = (gt_mask[None] if unbatched else gt_mask).to(cost.device)
    if check_inputs:
        _check_finite(batched_cost, mask)
    if isinstance(warm_start, TransportResult):
        warm_start = warm_start.potentials
    if warm_start is not None:
        warm_start = warm_start[None] if warm_start.dim() == 1 else warm_start
        if tuple(warm_start.shape) != (batch, j_total):
            raise ValueError(
                f"warm_start must have shape {(batch, j_total)} to match the cost, "
                f"got {tuple(warm_start.shape)}"
            )
        warm_start = warm_start.to(device=cost.device, dtype=torch.float64)

    problem = _build_problem(batched_cost, mask, miss_cost, tau2)
    potentials = None
    iterations, converged, solved_eps = 0, True, eps
    if n == 0:
        full = torch.zeros_like(problem.cost)
        method, f, g = "zero", None, None
    elif eps == 0.0 and tau1 in (0.0, INF) and tau2 in (0.0, INF):
        full, method = _solve_zero_eps_corner(problem, batched_cost, mask, tau1, tau2)
        f = g = None
    else:
        if eps == 0.0:
            solved_eps = zero_eps * max(problem.scale, 1e-12)
        f, g, method, iterations, converged = _solve_positive_eps(
            problem, solved_eps, tau1, tau2, tol, max_iter, warm_start
        )
        full = _plan(problem, f, g, solved_eps)
        potentials = g[0] if unbatched else g
    row_error, col_error = _residuals(problem, full, f, g, tau1, tau2)
    plan = (full[:, :n] * n).to(dtype=cost.dtype, device=cost.device)
    plan = plan[0] if unbatched else plan
    if cost.device.type == "cuda":
        torch.cuda.synchronize(cost.device)
    return TransportResult(
        plan=plan,
        potentials=potentials,
        method=method,
        iterations=iterations,
        converged=converged,
        row_error=row_error,
        col_error=col_error,
        seconds=time.perf_counter() - start,
        eps=solved_eps,
    )


def _residuals(
    p: _Problem, full: Tensor, f: Tensor | None, g: Tensor | None, tau1: float, tau2: float
) -> tuple[float, float]:
    """Largest row and column optimality residuals, units of one prediction."""
    n = p.num_predictions
    if full.numel() == 0:
        return 0.0, 0.0

    def side(mass: Tensor, log_target: Tensor, ok: Tensor, potential, tau: float) -> float:
        if tau == 0.0:
            return 0.0
        if potential is None or tau == INF:
            target = torch.exp(log_target)
        else:
            target = _target_mass(log_target, potential, tau)
        gap = torch.where(ok, (mass - target).abs(), torch.zeros_like(mass))
        return float(n * gap.max())

    row = side(full.sum(dim=2), p.log_a, p.row_ok, f, tau1)
    col = side(full.sum(dim=1), p.log_b, p.col_ok, g, tau2)
    return row, col
