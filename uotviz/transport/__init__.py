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
Where ``max|C| / eps <= 200`` a short Sinkhorn run in kernel form (two matrix-vector products
per iteration) is tried first; it hands over to Newton as soon as its observed rate of convergence
shows that it would need more than 100 iterations. Convergence is declared when every column's
optimality gap, as an error per plan entry in units of one prediction, is below ``tol``; the rows
are optimal by construction.

One parameter set per problem. :func:`solve_batch_params` takes a batch ``(B, N, M+1)`` with one
``(eps, tau1, tau2)`` per problem (e.g. one cost stacked B times to sweep a parameter) and solves
it in one run of the eps > 0 solver above: one Newton loop over the whole batch, on one
eps-scaling schedule down to the smallest eps, each problem's eps never below its own. It takes
the solver's iterative path only (``tau`` in ``(0, inf]``, ``eps > 0``, or ``eps = 0`` at the
stand-in eps where a ``tau`` is finite); the closed forms and exact corners are :func:`solve`'s.
"""

# The package: ``problem`` (the canonical batched problem and the input checks), ``newton``
# (eps > 0), ``exact`` (the eps = 0 corners) and ``solver`` (:func:`solve`,
# :func:`solve_batch_params` and their result).
from .problem import kappa
from .solver import TransportResult, paper_epsilon, solve, solve_batch_params

__all__ = [
    "TransportResult",
    "solve",
    "solve_batch_params",
    "paper_epsilon",
    "kappa",
]
