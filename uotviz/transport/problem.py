"""The canonical batched problem of :mod:`uotviz.transport`, and the checks of its inputs.

A :class:`Problem` holds a batch in float64: ``cost`` (B, R, J) with R = N prediction rows (+1
hidden "missed" row when some image has more ground truths than predictions) and J = M + 1 columns,
the background last; row and column log masses (B, R) and (B, J), -inf for zero mass. Entries that
may carry no mass (padding, zero-mass rows, the hidden row's background, zero-mass columns unless
tau2 = 0) hold +inf in the cost. Also the pieces the other modules share: ``INF`` and
:func:`kappa`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

INF = math.inf


def kappa(tau: float | Tensor, eps: float | Tensor) -> float | Tensor:
    """The scaling exponent ``tau / (tau + eps)``: 1 for ``tau = inf``, 0 for ``tau = 0``.

    Python floats give a float. Per-problem parameters, float64 tensors that broadcast against
    each other (shape (B, 1) in the solver), give a tensor.
    """
    if isinstance(tau, Tensor) or isinstance(eps, Tensor):
        tau = torch.as_tensor(tau, dtype=torch.float64)
        ratio = torch.where(tau == 0.0, 0.0, tau / (tau + eps))
        return torch.where(tau == INF, 1.0, ratio)  # inf / inf is NaN: set these to 1
    if tau == INF:
        return 1.0
    if tau == 0.0:
        return 0.0
    return tau / (tau + eps)


def per_problem(value: float | Tensor, dims: int) -> float | Tensor:
    """A parameter shaped to broadcast over (B, ...) tensors of ``dims`` dimensions.

    A float stays a float; a per-problem tensor of B values (any shape) becomes (B,) for
    ``dims = 1``, (B, 1) for 2 and (B, 1, 1) for 3.
    """
    if isinstance(value, Tensor):
        return value.reshape(-1, *([1] * (dims - 1)))
    return value


# --------------------------------------------------------------------------------------------
# The problem in a canonical batched form
# --------------------------------------------------------------------------------------------


@dataclass
class Problem:
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
    _scaled: tuple[float | Tensor, Tensor] | None = None

    def __post_init__(self) -> None:
        self.a = torch.exp(self.log_a)
        self.b = torch.exp(self.log_b)
        # Masks cost a pass each in the hot loop: skip them when nothing is masked.
        self.rows_all_ok = bool(self.row_ok.all())
        self.cols_all_ok = bool(self.col_ok.all())

    def cost_over(self, eps: float | Tensor) -> Tensor:
        """C / eps, cached for the last eps (an eps-scaling stage reuses it many times).

        ``eps`` is a float, or a tensor of B per-problem values (shape (B,), (B, 1) or
        (B, 1, 1)); a tensor is cached by identity, so the solver passes the same tensor object
        for the whole of a stage and never modifies it in place.
        """
        cached = self._scaled
        if cached is not None:
            key = cached[0]
            if key is eps or (
                not isinstance(eps, Tensor) and not isinstance(key, Tensor) and key == eps
            ):
                return cached[1]
        self._scaled = (eps, self.cost / per_problem(eps, 3))
        return self._scaled[1]


def validate(cost: Tensor, eps: float, tau1: float, tau2: float, gt_mask: Tensor | None) -> None:
    """Check a cost, its mask and three scalar parameters; raise ValueError naming the culprit."""
    validate_cost(cost, gt_mask)
    for name, value in (("eps", eps), ("tau1", tau1), ("tau2", tau2)):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if math.isnan(value) or value < 0:
            raise ValueError(f"{name} must be >= 0 (inf allowed for tau), got {value}")
    if eps == INF:
        raise ValueError("eps must be finite")


def validate_cost(cost: Tensor, gt_mask: Tensor | None) -> None:
    """Check the type and shape of a cost and of its ground-truth mask."""
    if not isinstance(cost, Tensor):
        raise ValueError(f"cost must be a torch.Tensor, got {type(cost).__name__}")
    if cost.dim() not in (2, 3):
        raise ValueError(f"cost must have shape (N, M+1) or (B, N, M+1), got {tuple(cost.shape)}")
    if cost.shape[-1] < 1:
        raise ValueError("cost needs at least one column: the last column is the background")
    if not cost.is_floating_point():
        raise ValueError(f"cost must be a floating-point tensor, got {cost.dtype}")
    if gt_mask is not None:
        expected = cost.shape[:-2] + (cost.shape[-1] - 1,)
        if gt_mask.dtype != torch.bool:
            raise ValueError(f"gt_mask must be a bool tensor, got {gt_mask.dtype}")
        if tuple(gt_mask.shape) != tuple(expected):
            raise ValueError(
                f"gt_mask must have shape {tuple(expected)} (one flag per ground-truth column), "
                f"got {tuple(gt_mask.shape)}"
            )


def per_problem_values(
    name: str, value, batch: int, *, allow_zero: bool, allow_inf: bool
) -> Tensor:
    """One parameter of a batch as a (B,) float64 CPU tensor, checked.

    ``value`` is a number (the same for every problem) or a 1-D sequence or tensor of ``batch``
    numbers. Raises ValueError naming ``name`` (and the first bad entry) for a wrong length,
    NaN, a negative value, 0 unless ``allow_zero``, inf unless ``allow_inf``.
    """
    if isinstance(value, bool) or (isinstance(value, Tensor) and value.dtype == torch.bool):
        raise ValueError(f"{name} must be a number or {batch} numbers, got {value!r}")
    if isinstance(value, (int, float)):
        values = torch.full((batch,), float(value), dtype=torch.float64)
    else:
        try:
            values = torch.as_tensor(
                value.detach().cpu() if isinstance(value, Tensor) else value, dtype=torch.float64
            )
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name} must be a number or {batch} numbers, got {value!r}") from None
        if values.dim() == 0:
            values = values.expand(batch).clone()
        if values.dim() != 1 or values.shape[0] != batch:
            raise ValueError(
                f"{name} must have one value per problem ({batch}), got shape {tuple(values.shape)}"
            )
    lowest = "> 0" if not allow_zero else ">= 0"
    rule = f"{name} must be {lowest}" + (" (inf allowed)" if allow_inf else " and finite")
    bad = torch.isnan(values) | (values < 0) | ((values == 0) & (not allow_zero))
    if not allow_inf:
        bad |= torch.isinf(values)
    if bool(bad.any()):
        index = int(torch.nonzero(bad)[0])
        raise ValueError(f"{rule}, got {name}[{index}] = {float(values[index])}")
    return values


def _with_background(gt_mask: Tensor) -> Tensor:
    """(B, M) ground-truth mask -> (B, M+1) column mask with the background column set."""
    background = torch.ones((gt_mask.shape[0], 1), dtype=torch.bool, device=gt_mask.device)
    return torch.cat([gt_mask, background], dim=1)


def check_finite(cost: Tensor, gt_mask: Tensor) -> None:
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


def build_problem(
    cost: Tensor, gt_mask: Tensor, miss_cost: float | None, tau2: float | Tensor
) -> Problem:
    """Turn a (B, N, J) cost and (B, M) mask into the canonical float64 problem (``tau2``: a
    float, or per-problem values of shape (B, 1))."""
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
    return Problem(c, log_a, row_ok, log_b, col_ok, n, scale)


def column_residual(gap: Tensor, target: Tensor, mass: Tensor, num_predictions: int) -> Tensor:
    """Convergence measure per problem, shape (B,): the largest column optimality gap as an error
    per plan entry, in units of one prediction.

    ``gap``, ``target`` and ``mass`` are (B, J) absolute masses (``gap = target - mass``, 0 on
    columns that take no mass). A column holding k > 1 units spreads a relative error over its
    entries, so its gap is divided by k: ``N |gap_j| / max(1, N target_j, N mass_j)``.
    """
    units = torch.clamp_min(num_predictions * torch.maximum(target, mass), 1.0)
    return (num_predictions * gap.abs() / units).amax(dim=1)
