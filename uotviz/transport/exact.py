"""The exact eps = 0 plans at the four corners of the (tau1, tau2) square.

``(inf, inf)``: Hungarian matching (SciPy, on the CPU); ``(inf, 0)`` and ``(0, inf)``: row and
column argmins, exact ties split equally; ``(0, 0)``: the zero plan. Plans are (B, R, J) float64
absolute masses in the shapes of :class:`~uotviz.transport.problem.Problem`: R = N rows (+1 hidden
"missed" row), J = M + 1 columns, the background last.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from .problem import INF, Problem

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


def solve_zero_eps_corner(
    p: Problem, cost: Tensor, gt_mask: Tensor, tau1: float, tau2: float
) -> tuple[Tensor, str]:
    """Plan (B, R, J) in absolute masses, and the method name, for eps = 0 with tau in {0, inf}."""
    n = p.num_predictions
    if tau1 == INF and tau2 == INF:
        plan = _hungarian(cost, gt_mask).to(p.cost.device) / max(n, 1)
        batch, rows, j_total = p.cost.shape
        full = torch.zeros((batch, rows, j_total), dtype=torch.float64, device=p.cost.device)
        full[:, :n] = plan
        if rows > n:
            # The hidden "missed" row takes every ground truth left unmatched (M > N).
            received = full[:, :n].sum(dim=1)  # (B, J)
            missed = p.col_ok & (received == 0) & torch.isfinite(p.cost[:, n])
            full[:, n] = torch.where(missed, torch.exp(p.log_b), torch.zeros_like(received))
        return full, "hungarian"
    if tau1 == INF and tau2 == 0.0:
        return _split_ties(p.cost, dim=2) * torch.exp(p.log_a)[:, :, None], "row-argmin"
    if tau1 == 0.0 and tau2 == INF:
        return _split_ties(p.cost, dim=1) * torch.exp(p.log_b)[:, None, :], "column-argmin"
    return torch.zeros_like(p.cost), "zero"
