"""The public entry points :func:`solve` and :func:`solve_batch_params`, their
:class:`TransportResult`, and :func:`paper_epsilon`.

:func:`solve` checks the inputs, brings them to the canonical batched problem of
:mod:`~uotviz.transport.problem` (cost (B, R, J) float64, R = N rows (+1 hidden "missed" row),
J = M + 1 columns), hands it to the exact eps = 0 corners (:mod:`~uotviz.transport.exact`) or to
the eps > 0 solver (:mod:`~uotviz.transport.newton`), and returns the plan in units of one
prediction (``N * P_hat``) in the cost's shape, dtype and device. The conventions are those of the
:mod:`uotviz.transport` docstring. :func:`solve_batch_params` takes one ``(eps, tau1, tau2)`` per
problem of a batch and solves them all in one run of the eps > 0 solver.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from . import exact, newton
from .problem import (
    INF,
    Problem,
    build_problem,
    check_finite,
    per_problem,
    per_problem_values,
    validate,
    validate_cost,
)

#: Default of ``zero_eps``: eps = 0 with a finite tau is solved at this eps relative to max|C|.
ZERO_EPS = 1e-4


@dataclass
class TransportResult:
    """A solved transport problem.

    Attributes:
        plan: ``N * P_hat``, "in units of one prediction", same shape, dtype and device as the cost
            (``(N, M+1)`` or ``(B, N, M+1)``); the last column is the background. A row of a
            balanced plan sums to 1, and so does a ground truth's column.
        potentials: the column potentials ``g`` in cost units, shape ``(M+1,)`` or ``(B, M+1)``,
            float64, to pass back as ``warm_start``; ``None`` for the exact eps = 0 corners.
        method: ``"sinkhorn"`` (the kernel-form start converged), ``"newton"``,
            ``"closed-form"``, ``"hungarian"``, ``"row-argmin"``, ``"column-argmin"`` or ``"zero"``.
        iterations: Sinkhorn plus Newton iterations taken (0 for closed forms and exact corners).
        converged: whether every problem reached ``tol``.
        row_error: largest optimality residual of a row marginal, units of one prediction: for
            ``tau1 = inf`` the deviation of a row sum from 1, for finite ``tau1 > 0`` the deviation
            from ``exp(-f_i / tau1)``, for ``tau1 = 0`` zero (the rows are free).
        col_error: the same for the columns (ground truths and background).
        seconds: wall time of the solve, including synchronisation of the device.
        eps: the eps actually solved (differs from the request only for eps = 0 with finite tau);
            from :func:`solve_batch_params`, a tuple with one eps per problem.
    """

    plan: Tensor
    potentials: Tensor | None
    method: str
    iterations: int
    converged: bool
    row_error: float
    col_error: float
    seconds: float
    eps: float | tuple[float, ...]


def paper_epsilon(num_predictions: int) -> float:
    """The paper's training heuristic ``eps = 0.12 / (log(2 N) + 1)``.

    It is meant for costs divided by their maximum (see :func:`uotviz.costs.normalise_cost`);
    Figure 1 does not use it (raw 1 - GIoU costs with eps = 0.05).
    """
    if num_predictions < 1:
        raise ValueError(f"num_predictions must be >= 1, got {num_predictions}")
    return 0.12 / (math.log(2 * num_predictions) + 1.0)


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
    zero_eps: float = ZERO_EPS,
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
        tol: stop when every column's optimality gap, as an error per plan entry in units of
            one prediction, is below ``tol`` (a column holding k > 1 units divides its gap by k;
            the rows are optimal by construction).
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
    validate(cost, eps, tau1, tau2, gt_mask)
    eps, tau1, tau2 = float(eps), float(tau1), float(tau2)
    unbatched = cost.dim() == 2
    batched_cost = cost[None] if unbatched else cost
    batch, n, j_total = batched_cost.shape
    mask = _checked_mask(batched_cost, gt_mask, unbatched, tol, check_inputs)
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

    problem = build_problem(batched_cost, mask, miss_cost, tau2)
    potentials = None
    iterations, converged, solved_eps = 0, True, eps
    if n == 0:
        full = torch.zeros_like(problem.cost)
        method, f, g = "zero", None, None
    elif eps == 0.0 and tau1 in (0.0, INF) and tau2 in (0.0, INF):
        full, method = exact.solve_zero_eps_corner(problem, batched_cost, mask, tau1, tau2)
        f = g = None
    else:
        if eps == 0.0:
            solved_eps = zero_eps * max(problem.scale, 1e-12)
        f, g, method, iterations, converged = newton.solve_positive_eps(
            problem, solved_eps, tau1, tau2, tol, max_iter, warm_start
        )
        full = newton.plan(problem, f, g, solved_eps)
        potentials = g[0] if unbatched else g
    return _result(
        problem, cost, full, (f, g), (tau1, tau2), start, unbatched=unbatched,
        potentials=potentials, method=method, iterations=iterations, converged=converged,
        eps=solved_eps,
    )  # fmt: skip


def _checked_mask(
    batched_cost: Tensor, gt_mask: Tensor | None, unbatched: bool, tol: float, check_inputs: bool
) -> Tensor:
    """The (B, M) ground-truth mask on the cost's device, after checking tol and the costs."""
    if tol <= 0 or math.isnan(tol):
        raise ValueError(f"tol must be > 0, got {tol}")
    batch, _, j_total = batched_cost.shape
    if gt_mask is None:
        mask = torch.ones((batch, j_total - 1), dtype=torch.bool, device=batched_cost.device)
    else:
        mask = (gt_mask[None] if unbatched else gt_mask).to(batched_cost.device)
    if check_inputs:
        check_finite(batched_cost, mask)
    return mask


def solve_batch_params(
    cost: Tensor,
    eps: float | Sequence[float] | Tensor,
    tau1: float | Sequence[float] | Tensor,
    tau2: float | Sequence[float] | Tensor,
    *,
    gt_mask: Tensor | None = None,
    tol: float = 1e-6,
    max_iter: int = 200,
    miss_cost: float | None = None,
    zero_eps: float = ZERO_EPS,
    check_inputs: bool = True,
) -> TransportResult:
    """Solve a batch of problems with one ``(eps, tau1, tau2)`` per problem, all at once.

    Problem ``b`` is what :func:`solve` would solve for ``cost[b]`` (with ``gt_mask[b]``) at
    ``(eps[b], tau1[b], tau2[b])``, and its plan agrees with that solve's within ``tol``; but the
    whole batch goes through one run of the eps > 0 solver (one Newton loop, one eps-scaling
    schedule from ``max|C|`` down to the smallest eps, each problem's eps held at its own value
    once the schedule reaches it). This is the solver's own path only, so the parameters are
    restricted to it:

    * ``eps >= 0`` and finite. ``eps = 0`` is solved at ``zero_eps * max|C|`` (over the batch),
      as :func:`solve` does, and is refused with ``tau1 = tau2 = inf`` (the exact Hungarian
      matching: use :func:`solve`);
    * ``tau1``, ``tau2`` in ``(0, inf]``: finite and inf may be mixed across problems. ``tau = 0``
      has a closed form (one scaling update): use :func:`solve`.

    Args:
        cost: ``(B, N, M+1)`` floating tensor, last column = background (e.g. one cost expanded
            B times to sweep a parameter).
        eps, tau1, tau2: a number (the same for every problem) or B numbers (a sequence, or a
            1-D tensor on any device).
        gt_mask, tol, max_iter, miss_cost, zero_eps, check_inputs: as for :func:`solve`;
            ``tol`` and ``max_iter`` apply to the batch as a whole.

    Returns:
        A :class:`TransportResult` with ``plan`` ``(B, N, M+1)`` (``N * P_hat`` per problem, in
        the cost's dtype and device), ``potentials`` ``(B, M+1)``, ``converged`` for the whole
        batch, the largest ``row_error`` and ``col_error`` over the batch, and ``eps`` a tuple of
        the eps solved for each problem.

    Raises:
        ValueError: a cost that is not ``(B, N, M+1)`` or not finite, or a parameter that is
            outside the ranges above, NaN, or not one number per problem; the message names the
            parameter and the first bad entry.
    """
    start = time.perf_counter()
    validate_cost(cost, gt_mask)
    if cost.dim() != 3:
        raise ValueError(
            f"cost must have shape (B, N, M+1), one problem per parameter set, got "
            f"{tuple(cost.shape)}"
        )
    batch, n, _ = cost.shape
    eps_v = per_problem_values("eps", eps, batch, allow_zero=True, allow_inf=False)
    tau1_v = per_problem_values("tau1", tau1, batch, allow_zero=False, allow_inf=True)
    tau2_v = per_problem_values("tau2", tau2, batch, allow_zero=False, allow_inf=True)
    corner = (eps_v == 0) & (tau1_v == INF) & (tau2_v == INF)
    if bool(corner.any()):
        index = int(torch.nonzero(corner)[0])
        raise ValueError(
            f"eps[{index}] = 0 with tau1 = tau2 = inf is the exact Hungarian matching, which "
            "this batched solver does not take: use solve()"
        )
    mask = _checked_mask(cost, gt_mask, False, tol, check_inputs)

    def column(values: Tensor) -> Tensor:
        return values.to(cost.device)[:, None]  # (B, 1): the per-problem form of newton.py

    t1, t2 = column(tau1_v), column(tau2_v)
    problem = build_problem(cost, mask, miss_cost, t2)
    if n == 0:
        full = torch.zeros_like(problem.cost)
        f = g = None
        method, iterations, converged = "zero", 0, True
    else:
        stand_in = zero_eps * max(problem.scale, 1e-12)
        eps_v = torch.where(eps_v == 0, stand_in, eps_v)
        e = column(eps_v)
        f, g, method, iterations, converged = newton.solve_positive_eps(
            problem, e, t1, t2, tol, max_iter, None
        )
        full = newton.plan(problem, f, g, e)
    return _result(
        problem, cost, full, (f, g), (t1, t2), start, unbatched=False, potentials=g,
        method=method, iterations=iterations, converged=converged, eps=tuple(eps_v.tolist()),
    )  # fmt: skip


def _result(
    problem: Problem,
    cost: Tensor,
    full: Tensor,
    potentials_fg: tuple[Tensor | None, Tensor | None],
    taus: tuple,
    start: float,
    *,
    unbatched: bool,
    **fields,
) -> TransportResult:
    """The end of every solve: marginal residuals, the plan ``N * P_hat`` (``full``'s real rows,
    in ``cost``'s dtype and device, unbatched again for a 2-D cost) and the time since
    ``start``, finished on the device. ``fields`` are the rest of the result."""
    f, g = potentials_fg
    row_error, col_error = _residuals(problem, full, f, g, *taus)
    n = cost.shape[-2]
    plan = (full[:, :n] * n).to(dtype=cost.dtype, device=cost.device)
    if cost.device.type == "cuda":
        torch.cuda.synchronize(cost.device)
    return TransportResult(
        plan=plan[0] if unbatched else plan,
        row_error=row_error,
        col_error=col_error,
        seconds=time.perf_counter() - start,
        **fields,
    )


def _residuals(
    p: Problem,
    full: Tensor,
    f: Tensor | None,
    g: Tensor | None,
    tau1: float | Tensor,
    tau2: float | Tensor,
) -> tuple[float, float]:
    """Largest row and column optimality residuals, units of one prediction.

    ``tau1`` and ``tau2`` are floats or per-problem (B, 1) tensors in (0, inf].
    """
    n = p.num_predictions
    if full.numel() == 0:
        return 0.0, 0.0

    def side(mass: Tensor, log_target: Tensor, ok: Tensor, potential, tau) -> float:
        per_problem_tau = isinstance(tau, Tensor)
        if not per_problem_tau and tau == 0.0:
            return 0.0
        if potential is None or (not per_problem_tau and tau == INF):
            target = torch.exp(log_target)
        elif per_problem_tau:
            target = newton.target_mass(log_target, potential, per_problem(tau, 2))
        else:
            target = newton.target_mass(log_target, potential, tau)
        gap = torch.where(ok, (mass - target).abs(), torch.zeros_like(mass))
        return float(n * gap.max())

    row = side(full.sum(dim=2), p.log_a, p.row_ok, f, tau1)
    col = side(full.sum(dim=1), p.log_b, p.col_ok, g, tau2)
    return row, col
