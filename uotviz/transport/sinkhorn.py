"""A short Sinkhorn run in kernel form, tried before Newton where it is safe and quick.

Where ``max|C| / eps`` is moderate, ``K = exp(-C / eps)`` cannot underflow in float64 and one
scaling iteration (Chizat et al.) costs two matrix-vector products:
``u = (alpha / K v) ** kappa1``, ``v = (beta / K^T u) ** kappa2``. When the marginal penalties or
a large eps make that iteration contract fast (thousands of anchors at eps = 0.05, say), a few dozen
of them beat Newton steps, whose Hessian costs (M+1)^2 N. The run watches its own rate of
convergence and hands over to Newton as soon as it projects that it would need too many iterations.

Shapes follow :class:`~uotviz.transport.problem.Problem`: cost (B, R, J) float64.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .problem import INF, Problem, column_residual, kappa

#: Largest max|C| / eps for which the kernel form is used: exp(-200) is far from underflow.
MAX_COST_OVER_EPS = 200.0
#: Iterations between convergence checks (each check synchronises with the device).
CHUNK = 5
#: Most kernel-form iterations before Newton takes over.
MAX_ITERATIONS = 100


def sinkhorn_start(p: Problem, eps, tau1, tau2, tol: float) -> tuple[Tensor, int, bool]:
    """Scaling iterations at ``eps`` from ``g = 0``.

    ``eps``, ``tau1``, ``tau2`` are floats, or (B, 1) float64 tensors of per-problem values
    (eps > 0, tau in (0, inf]); the run stops when every problem has converged.

    Returns ``(g, iterations, converged)`` with ``g = eps * log v`` (B, J) in cost units (0 on
    columns that take no mass), ready to warm-start Newton when not converged. Convergence uses
    Newton's criterion: with the rows optimal for the current ``v``, every column's optimality
    gap ``beta_j exp(-g_j / tau2) - c_j``, measured by
    :func:`~uotviz.transport.problem.column_residual`, is at most ``tol``.
    """
    k1, k2 = kappa(tau1, eps), kappa(tau2, eps)
    kernel = torch.exp(-p.cost_over(eps))  # (B, R, J); masked entries are exactly 0
    kernel_t = kernel.transpose(1, 2).contiguous()  # (B, J, R) for the column products
    tiny = torch.finfo(torch.float64).tiny
    v = p.col_ok.to(torch.float64)  # (B, J)
    history: list[float] = []
    for iteration in range(1, MAX_ITERATIONS + 1):
        kv = torch.bmm(kernel, v[:, :, None])[:, :, 0].clamp_min_(tiny)  # (B, R)
        u = (p.a / kv).pow_(k1)
        ktu = torch.bmm(kernel_t, u[:, :, None])[:, :, 0].clamp_min_(tiny)  # (B, J)
        if iteration % CHUNK == 0:
            # The rows are optimal for v: measure the columns before updating them.
            if isinstance(tau2, Tensor):
                target = p.b * v.pow(torch.where(tau2 == INF, 0.0, -eps / tau2))
            elif tau2 == INF:
                target = p.b
            else:
                target = p.b * v.pow(-eps / tau2)
            mass = v * ktu
            gap = torch.where(p.col_ok, target - mass, torch.zeros_like(v))
            residual = float(column_residual(gap, target, mass, p.num_predictions).max())
            if not math.isfinite(residual):
                break
            if residual <= tol:
                return _potential(p, v, eps), iteration, True
            history.append(residual)
            if _hopeless(history, tol, iteration):
                break
        v = (p.b / ktu).pow_(k2)
    return _potential(p, v, eps), iteration, False


def _hopeless(history: list[float], tol: float, done: int) -> bool:
    """Whether the observed contraction cannot reach tol within the iteration budget."""
    if len(history) < 2:
        return False
    rate = (history[-1] / history[-2]) ** (1.0 / CHUNK)
    if not rate < 1.0:
        return True
    needed = math.log(tol / history[-1]) / math.log(rate)
    return done + needed > MAX_ITERATIONS


def _potential(p: Problem, v: Tensor, eps) -> Tensor:
    """g = eps log v on the columns that take mass, 0 elsewhere (and wherever v is not finite)."""
    g = eps * torch.log(v)
    return torch.where(p.col_ok & torch.isfinite(g), g, torch.zeros_like(g))
