"""The solver for eps > 0: Newton's method on the column potentials, with eps-scaling.

The row potentials ``f`` (B, R) are eliminated in closed form, so the concave dual is maximised
over the column potentials ``g`` (B, J) alone: exact (B, J, J) Hessian, backtracking line search,
and one log-domain Sinkhorn column update at each stage of the eps-scaling schedule. Shapes follow
:class:`~uotviz.transport.problem.Problem`: cost (B, R, J) float64, R = N rows (+1 hidden "missed"
row), J = M + 1 columns. Everything is float64 and in the log domain; plans are absolute masses
(not yet multiplied by N).

Parameters: ``eps``, ``tau1``, ``tau2`` (and the exponents ``kappa``) are Python floats, the
same for every problem of the batch (what :func:`~uotviz.transport.solve` passes), or float64
tensors of shape (B, 1), one value per problem (what
:func:`~uotviz.transport.solve_batch_params` passes), with ``tau`` in (0, inf] and ``eps > 0``;
:func:`~uotviz.transport.problem.per_problem` shapes them for (B,), (B, R) and (B, R, J) terms.
Per-problem tensors may mix ``tau = inf`` with finite values, so every term of ``tau`` goes
through ``torch.where`` (``inf * 0`` is NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .problem import INF, Problem, column_residual, kappa, per_problem
from .sinkhorn import MAX_COST_OVER_EPS, sinkhorn_start

_EPS_SCALING_FACTOR = 10.0
_INTERMEDIATE_TOL = 1e-2


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


def _is_zero(value: float | Tensor) -> bool:
    """Whether a float parameter is 0 (per-problem tensors are positive by construction)."""
    return not isinstance(value, Tensor) and value == 0.0


def _is_inf(value: float | Tensor) -> bool:
    """Whether a float parameter is inf; per-problem tensors take the general path."""
    return not isinstance(value, Tensor) and value == INF


def _row_lse(p: Problem, g: Tensor, eps: float | Tensor) -> tuple[Tensor, Tensor]:
    """Row-wise log-sum-exp of (g_j - C_ij)/eps: returns (log_s (B, R), softmin (B, R, J)).

    One exp pass gives both the log-sum-exp and the row-normalised kernel; rows with no
    admissible column give log_s = -inf and a zero softmin row. Works in place on one buffer.
    """
    z = torch.sub(g[:, None, :] / per_problem(eps, 3), p.cost_over(eps))  # (B, R, J)
    top = z.amax(dim=2, keepdim=True)
    if not p.rows_all_ok:
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    kernel = z.sub_(top).exp_()
    total = kernel.sum(dim=2, keepdim=True)
    log_s = (top + torch.log(total))[:, :, 0]
    if not p.rows_all_ok:
        total = torch.where(total > 0, total, torch.ones_like(total))
    return log_s, kernel.div_(total)


def _row_potential_from_lse(p: Problem, log_s: Tensor, eps, k1) -> Tensor:
    """Closed-form optimal f given log_s = LSE_j((g_j - C_ij)/eps); masked rows get f = 0."""
    if _is_zero(k1):
        return torch.zeros_like(log_s)
    f = (p.log_a - log_s).mul_(k1 * eps)
    return f if p.rows_all_ok else torch.where(p.row_ok, f, torch.zeros_like(f))


def _evaluate(p: Problem, g: Tensor, eps, tau1, tau2) -> _Point:
    """The dual and the plan's row structure at g, with f eliminated in closed form."""
    log_s, softmin = _row_lse(p, g, eps)
    f = _row_potential_from_lse(p, log_s, eps, kappa(tau1, eps))
    log_r = f / eps + log_s
    if not p.rows_all_ok:
        log_r = torch.where(p.row_ok, log_r, torch.full_like(f, -INF))
    value = _dual(p, f, g, log_r, eps, tau1, tau2)
    return _Point(g, f, softmin, log_r, value)


def _row_potential(p: Problem, g: Tensor, eps, k1) -> Tensor:
    """Closed-form optimal f for given g, shape (B, R)."""
    log_s, _ = _row_lse(p, g, eps)
    return _row_potential_from_lse(p, log_s, eps, k1)


def _column_potential(p: Problem, f: Tensor, eps, k2) -> Tensor:
    """Closed-form optimal g for given f (a Sinkhorn column update), masked columns 0."""
    if _is_zero(k2):
        return torch.zeros_like(p.log_b)
    scaled = torch.sub(f[:, :, None] / per_problem(eps, 3), p.cost_over(eps))
    log_s = torch.logsumexp(scaled, dim=1)  # (B, J)
    g = k2 * eps * (p.log_b - log_s)
    return torch.where(p.col_ok & torch.isfinite(g), g, torch.zeros_like(g))


def plan(p: Problem, f: Tensor, g: Tensor, eps: float | Tensor) -> Tensor:
    """P_ij = exp((f_i + g_j - C_ij) / eps), shape (B, R, J); masked entries are 0."""
    e3 = per_problem(eps, 3)
    return torch.sub(f[:, :, None] / e3 + g[:, None, :] / e3, p.cost_over(eps)).exp_()


def _marginal_term(x: Tensor, tau: float | Tensor) -> Tensor:
    """The conjugate term of one marginal penalty: x for tau = inf, tau (1 - exp(-x/tau)) else."""
    if _is_inf(tau):
        return x
    term = -tau * torch.expm1(-x / tau)
    return term if not isinstance(tau, Tensor) else torch.where(tau == INF, x, term)


def target_mass(log_mass: Tensor, potential: Tensor, tau: float | Tensor) -> Tensor:
    """The marginal an optimal plan must have: mass * exp(-potential / tau) (mass if tau = inf).

    ``tau`` is a float, or per-problem values shaped to broadcast against ``potential``.
    """
    if _is_inf(tau):
        return torch.exp(log_mass)
    if isinstance(tau, Tensor):
        return torch.exp(log_mass - torch.where(tau == INF, 0.0, potential / tau))
    return torch.exp(log_mass - potential / tau)


def _dual(p: Problem, f: Tensor, g: Tensor, log_r: Tensor, eps, tau1, tau2) -> Tensor:
    """Dual objective D(f, g) per problem, shape (B,), for f optimal given g.

    With f optimal, sum_ij P_ij = sum_i r_i, so D = <alpha, phi1(f)> + <beta, phi2(g)> - eps sum r.
    """
    row = (p.a * _marginal_term(f, tau1)).sum(dim=1)
    col_term = _marginal_term(g, tau2)
    if not p.cols_all_ok:
        col_term = torch.where(p.col_ok, col_term, torch.zeros_like(g))
    return row + (p.b * col_term).sum(dim=1) - per_problem(eps, 1) * torch.exp(log_r).sum(dim=1)


def _gradient_and_hessian(
    p: Problem, point: _Point, eps, k1, tau2
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradient (B, J) of the dual in g, the negated Hessian (B, J, J), positive definite, and
    the convergence residual (B,) (see :func:`~uotviz.transport.problem.column_residual`).

    grad_j = beta_j exp(-g_j/tau2) - c_j where c_j is the plan's column mass;
    -hess = diag(beta exp(-g/tau2) / tau2) + (diag(c) - kappa1 P^T diag(1/r) P) / eps,
    and P^T diag(1/r) P = P^T softmin.
    """
    plan = point.plan()  # (B, R, J)
    col_mass = plan.sum(dim=1)  # (B, J)
    target = p.b if _is_inf(tau2) else target_mass(p.log_b, point.g, tau2)
    grad = target - col_mass
    if not p.cols_all_ok:
        grad = torch.where(p.col_ok, grad, torch.zeros_like(grad))
        target = torch.where(p.col_ok, target, torch.zeros_like(target))
    # A contiguous transposed copy makes the (J x R)(R x J) product a faster GEMM.
    neg_hess = torch.bmm(plan.transpose(1, 2).contiguous(), point.softmin)  # (B, J, J)
    neg_hess *= per_problem(-k1 / eps, 3)
    diag = col_mass / eps
    if isinstance(tau2, Tensor):
        diag = diag + torch.where(tau2 == INF, 0.0, target / tau2)
    elif tau2 != INF:
        diag = diag + target / tau2
    # Columns that cannot take mass are pinned by an identity row; a relative ridge removes the
    # null direction of the balanced problem (g + t, f - t).
    if not p.cols_all_ok:
        diag = torch.where(p.col_ok, diag, torch.ones_like(diag))
    ridge = 1e-12 * diag.abs().amax(dim=1, keepdim=True)
    residual = column_residual(grad, target, col_mass, p.num_predictions)
    return grad, neg_hess + torch.diag_embed(diag + ridge), residual


def _select(take: Tensor, new: _Point, old: _Point) -> _Point:
    """Per problem, the new point where ``take`` (B,) is True, else the old one."""

    def pick(a: Tensor, b: Tensor) -> Tensor:
        return torch.where(take.view(-1, *([1] * (a.dim() - 1))), a, b)

    return _Point(*(pick(getattr(new, k), getattr(old, k)) for k in _Point.__dataclass_fields__))


def _line_search(
    p: Problem,
    point: _Point,
    direction: Tensor,
    slope: Tensor,
    eps,
    tau1,
    tau2,
    k2,
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


def _solve_systems(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Solve the (B, J, J) systems ``a x = b``: ``(x, info)`` as :func:`torch.linalg.solve_ex`.

    A batch on the CPU goes to NumPy, which solves the systems one after the other on the
    calling thread: PyTorch shares a batch of small systems out among its threads, and waiting
    for a busy core then costs milliseconds per call. A singular or non-finite system (NumPy
    raises) falls back to PyTorch, whose ``info`` says which problem failed.
    """
    if a.shape[0] > 1 and a.device.type == "cpu":
        try:
            x = np.linalg.solve(a.numpy(), b.numpy())
        except np.linalg.LinAlgError:
            pass
        else:
            return torch.from_numpy(x), torch.zeros(a.shape[0], dtype=torch.int32)
    return torch.linalg.solve_ex(a, b)


def _newton(
    p: Problem,
    g: Tensor,
    eps: float | Tensor,
    tau1: float | Tensor,
    tau2: float | Tensor,
    tol: float,
    max_iter: int,
) -> tuple[Tensor, int, bool]:
    """Maximise the dual over g at one eps (per problem, for tensors).

    Returns (g, iterations, converged).
    """
    k1, k2 = kappa(tau1, eps), kappa(tau2, eps)
    if isinstance(tau1, Tensor) or isinstance(tau2, Tensor):
        both = (torch.as_tensor(tau1) == INF) & (torch.as_tensor(tau2) == INF)
        balanced = both.reshape(-1, 1).expand(g.shape[0], 1)  # (B, 1), per problem
    else:
        balanced = tau1 == INF and tau2 == INF
    point = _evaluate(p, g, eps, tau1, tau2)
    for iteration in range(max_iter + 1):
        grad, neg_hess, residual = _gradient_and_hessian(p, point, eps, k1, tau2)
        done = residual <= tol  # (B,)
        if bool(done.all()):
            return point.g, iteration, True
        if iteration == max_iter:
            break
        direction, info = _solve_systems(neg_hess, grad[:, :, None])
        direction = direction[:, :, 0]  # (B, J)
        # Should a Hessian ever be singular or non-finite, take a diagonally scaled gradient step.
        fallback = grad / torch.diagonal(neg_hess, dim1=1, dim2=2).clamp_min(1e-300)
        bad = (info != 0) | ~torch.isfinite(direction).all(dim=1)
        direction = torch.where(bad[:, None], fallback, direction)
        if balanced is not False:
            # (g + t, f - t) gives the same plan: drop that component so g cannot drift.
            ok = p.col_ok.to(direction.dtype)
            shift = (direction * ok).sum(dim=1, keepdim=True) / ok.sum(dim=1, keepdim=True)
            if balanced is True:
                direction = direction - shift * ok
            else:
                direction = torch.where(balanced, direction - shift * ok, direction)
        if done.shape[0] > 1:
            # A problem that has converged stays where it is while the others go on: its trial
            # point is then its current one, which the line search accepts at once.
            direction = torch.where(done[:, None], torch.zeros_like(direction), direction)
        slope = (grad * direction).sum(dim=1)  # (B,) > 0 for an ascent direction
        point = _line_search(p, point, direction, slope, eps, tau1, tau2, k2)
    return point.g, max_iter, False


def _eps_schedule(eps: float | Tensor, scale: float) -> list[float] | list[Tensor]:
    """eps-scaling: from max(eps, scale) down to eps in even geometric steps of at most 10x.

    For per-problem eps (a tensor), the schedule of the smallest eps, each stage's eps raised to
    every problem's own eps: every problem ends at its own eps. The last stage is ``eps`` itself.
    """
    if isinstance(eps, Tensor):
        common = _eps_schedule(float(eps.min()), scale)
        return [eps.clamp_min(stage) for stage in common[:-1]] + [eps]
    if scale <= eps:
        return [eps]
    stages = math.ceil(math.log(scale / eps) / math.log(_EPS_SCALING_FACTOR) - 1e-9)
    ratio = (scale / eps) ** (1.0 / stages)
    return [eps * ratio ** (stages - k) for k in range(stages)] + [eps]


def solve_positive_eps(
    p: Problem,
    eps: float | Tensor,
    tau1: float | Tensor,
    tau2: float | Tensor,
    tol: float,
    max_iter: int,
    warm_start: Tensor | None,
) -> tuple[Tensor, Tensor, str, int, bool]:
    """Solve at eps > 0. Returns (f, g, method, iterations, converged).

    The parameters are floats, or (B, 1) float64 tensors of per-problem values with eps > 0
    and tau in (0, inf]: one Newton loop (and one eps-scaling schedule) serves the whole batch.
    """
    k1, k2 = kappa(tau1, eps), kappa(tau2, eps)
    batch, _, j_total = p.cost.shape
    if _is_zero(k1) or _is_zero(k2):
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
    iterations = 0
    if warm_start is not None:
        g0 = torch.where(p.col_ok, warm_start.to(cold), cold)
        g, iterations, converged = run([eps], g0)
        if converged:
            return _row_potential(p, g, eps, k1), g, "newton", iterations, True
    elif p.scale <= MAX_COST_OVER_EPS * (float(eps.min()) if isinstance(eps, Tensor) else eps):
        g, iterations, converged = sinkhorn_start(p, eps, tau1, tau2, tol)
        if converged:
            return _row_potential(p, g, eps, k1), g, "sinkhorn", iterations, True
    g, more, converged = run(_eps_schedule(eps, p.scale), cold)
    return _row_potential(p, g, eps, k1), g, "newton", iterations + more, converged
