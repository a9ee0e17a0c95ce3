"""Many images at once: problems of different sizes solved in padded batches with :func:`solve`.

:func:`solve` takes a batch ``(B, N, M+1)`` with one N for all problems and a ``gt_mask`` for
ground-truth columns of padding. Images differ in both N and M, so :func:`padded_batches` groups
them by N (the masses ``1/N`` of the paper's Proposition 1 depend on it, so rows cannot be
padded), sorts each group by M so that little padding is needed, and cuts it into batches; each
batch is one :func:`solve` call on a padded cost whose padding columns sit between the real
ground truths and the background. Every plan is the one :func:`solve` gives for that image
alone, with the same conventions (exact eps = 0 corners with ties split, ``M > N``), within the
solver's ``tol`` for the iterative settings.

One exception keeps that promise: ``eps = 0`` with a finite positive ``tau`` is solved by
:func:`solve` at a stand-in eps relative to the image's own ``max|C|``, which a batch would
replace by the batch's; such problems are solved one image at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .solver import solve

__all__ = ["PaddedBatch", "padded_batches", "solve_padded", "DEFAULT_BATCH_SIZE"]

DEFAULT_BATCH_SIZE = 256
"""Images per :func:`solve` call: large enough that the per-call overhead vanishes, small enough
that a batch of 100 predictions and 90 ground truths stays well under a gigabyte."""


@dataclass(frozen=True)
class PaddedBatch:
    """Problems of one batch, padded to a common shape.

    Attributes:
        indices: positions of the problems in the sequence given to :func:`padded_batches`.
        cost: ``(B, N, Mmax + 1)`` float64 on the requested device; for problem ``b``, columns
            ``0..M_b - 1`` are its ground truths, ``M_b..Mmax - 1`` padding (cost 0, never used)
            and the last column the background.
        gt_mask: ``(B, Mmax)`` bool, True on the real ground-truth columns.
        num_gt: the ``M_b`` of each problem.
    """

    indices: tuple[int, ...]
    cost: Tensor
    gt_mask: Tensor
    num_gt: tuple[int, ...]

    def unpad(self, plans: Tensor) -> list[Tensor]:
        """Per problem, its ``(N, M_b + 1)`` plan cut out of the padded ``(B, N, Mmax + 1)``
        ``plans`` (on the CPU)."""
        plans = plans.cpu()
        return [
            torch.cat([plans[b, :, :m], plans[b, :, -1:]], dim=1) for b, m in enumerate(self.num_gt)
        ]


def padded_batches(
    costs: Sequence[Tensor],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: torch.device | str | None = None,
) -> Iterator[PaddedBatch]:
    """Group ``costs`` (each ``(N_i, M_i + 1)``, background last) into padded batches.

    Problems with the same N are batched together, in increasing M (then in the order given);
    each batch holds at most ``batch_size`` problems. Every index appears in exactly one batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    groups: dict[int, list[int]] = {}
    for index, cost in enumerate(costs):
        if cost.dim() != 2 or cost.shape[1] < 1:
            raise ValueError(f"costs[{index}] must have shape (N, M+1), got {tuple(cost.shape)}")
        groups.setdefault(int(cost.shape[0]), []).append(index)
    for n in sorted(groups):
        members = sorted(groups[n], key=lambda i: (costs[i].shape[1], i))
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            yield _pad([costs[i] for i in chunk], tuple(chunk), n, device)


def _pad(
    chunk: Sequence[Tensor], indices: tuple[int, ...], n: int, device: torch.device | str | None
) -> PaddedBatch:
    """One :class:`PaddedBatch` from costs that share N."""
    num_gt = tuple(int(c.shape[1]) - 1 for c in chunk)
    m_max = max(num_gt)
    cost = torch.zeros((len(chunk), n, m_max + 1), dtype=torch.float64)
    gt_mask = torch.zeros((len(chunk), m_max), dtype=torch.bool)
    for b, (c, m) in enumerate(zip(chunk, num_gt, strict=True)):
        cost[b, :, :m] = c[:, :m]
        cost[b, :, -1] = c[:, -1]
        gt_mask[b, :m] = True
    return PaddedBatch(indices, cost.to(device), gt_mask.to(device), num_gt)


def needs_one_by_one(eps: float, tau1: float, tau2: float) -> bool:
    """Whether :func:`solve` uses an image-dependent stand-in eps (eps = 0, a finite tau > 0)."""
    return eps == 0.0 and not (tau1 in (0.0, math.inf) and tau2 in (0.0, math.inf))


def solve_batch(batch: PaddedBatch, eps: float, tau1: float, tau2: float, **options) -> Tensor:
    """The plans ``(B, N, Mmax + 1)`` (units of one prediction, zero on padding) of one padded
    batch, each as :func:`solve` gives it for that problem alone; ``options`` go to
    :func:`solve` (``tol``, ``max_iter``, ...)."""
    if not needs_one_by_one(eps, tau1, tau2):
        return solve(batch.cost, eps, tau1, tau2, gt_mask=batch.gt_mask, **options).plan
    plans = torch.zeros_like(batch.cost)
    for b, m in enumerate(batch.num_gt):
        cost = torch.cat([batch.cost[b, :, :m], batch.cost[b, :, -1:]], dim=1)
        plan = solve(cost, eps, tau1, tau2, **options).plan
        plans[b, :, :m] = plan[:, :m]
        plans[b, :, -1] = plan[:, -1]
    return plans


def solve_padded(
    costs: Sequence[Tensor],
    eps: float,
    tau1: float,
    tau2: float,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: torch.device | str | None = None,
    **options,
) -> list[Tensor]:
    """Solve every cost ``(N_i, M_i + 1)`` at ``(eps, tau1, tau2)`` in padded batches.

    Returns:
        One plan per cost, ``(N_i, M_i + 1)`` float64 on the CPU, in units of one prediction
        (``N_i * P_hat``), equal to ``solve(costs[i], eps, tau1, tau2).plan`` within ``tol``.
    """
    plans: list[Tensor | None] = [None] * len(costs)
    for batch in padded_batches(costs, batch_size=batch_size, device=device):
        solved = solve_batch(batch, eps, tau1, tau2, **options)
        for index, plan in zip(batch.indices, batch.unpad(solved), strict=True):
            plans[index] = plan
    return plans  # type: ignore[return-value]
