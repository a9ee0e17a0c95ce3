"""Plans at many parameter settings of one cost, in one batched solve or a chain of warm-started
ones: a slider's positions, a walk between limit cases, the paper's presets.

The paper (De Plaen et al., CVPR 2023, Figures 1, 4 and 7) presents matching strategies as points
of one continuum: with ``tau2`` going from 0 to infinity a plan moves from "every prediction to its
closest ground truth" (Proposition 2) to a balanced matching (Proposition 1). :func:`plans_along`
solves the plans at any list of ``(eps, tau1, tau2)`` (the positions a slider drag or a Play goes
through, :mod:`uotviz.sliders`) as one batched solve or, for a large cost, one after another
from each other's potentials; :func:`sweep_plans` those of one parameter with the other two
fixed; :func:`preset_plans` the six panels of Figure 1.

Pure functions: a cost in, tensors out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from torch import Tensor

from uotviz.figure1 import PRESETS, Preset
from uotviz.sliders import EPS_VALUES, PARAMETER_LABELS, TAU_VALUES
from uotviz.transport import solve, solve_batch_params

__all__ = [
    "CHAIN_AT_EPS0_FROM_ENTRIES",
    "CHAIN_FROM_ENTRIES",
    "EPS_RANGE",
    "SWEEP_PARAMETERS",
    "TAU_RANGE",
    "parameter_index",
    "plans_along",
    "preset_plans",
    "solves_as_chain",
    "sweep_plans",
    "sweep_values",
]

SWEEP_PARAMETERS: tuple[str, ...] = tuple(PARAMETER_LABELS.values())
"""The parameters a sweep can move, in the order of ``fixed = (eps, tau1, tau2)``."""

EPS_RANGE = (EPS_VALUES[1], EPS_VALUES[-1])
"""The positive ``eps`` of a sweep (after ``eps = 0``), in cost units: those of the ε slider,
0.001 to 1."""

TAU_RANGE = (TAU_VALUES[1], TAU_VALUES[-2])
"""The finite positive ``tau`` of a sweep (between 0 and inf): those of the τ sliders, 0.01 to
100."""


def parameter_index(parameter: str) -> int:
    """The place of ``parameter`` (``"ε"``, ``"τ1"``, ``"τ2"``) in ``(eps, tau1, tau2)``;
    ValueError for any other."""
    if parameter not in SWEEP_PARAMETERS:
        raise ValueError(f"unknown parameter {parameter!r}; choose one of {SWEEP_PARAMETERS}")
    return SWEEP_PARAMETERS.index(parameter)


def _log_spaced(low: float, high: float, count: int) -> list[float]:
    """``count`` log-spaced values from ``low`` to ``high``, both exact, rounded to the fewest
    significant digits (at least 2) that keep them strictly increasing: short slider labels."""
    raw = np.geomspace(low, high, count)
    for digits in range(2, 17):
        values = [float(f"{v:.{digits}g}") for v in raw]
        values[0], values[-1] = low, high
        if all(a < b for a, b in zip(values, values[1:], strict=False)):
            return values
    return [float(v) for v in raw]  # pragma: no cover - 17 digits always separate them


def sweep_values(parameter: str, count: int = 25) -> tuple[float, ...]:
    """The values of a sweep of ``parameter``, increasing, from one limit case to the other.

    * ``"ε"``: exactly 0 (no entropy), then ``count - 1`` values log-spaced from 0.001 to 1.
    * ``"τ1"``, ``"τ2"``: exactly 0 (a free marginal), ``count - 2`` values log-spaced from
      0.01 to 100, and ``inf`` (a hard constraint).

    The log-spaced values are rounded to two significant digits (more only where two would
    collide), so the slider labels stay short; the ends of each range are exact.

    >>> sweep_values("τ2", 7)
    (0.0, 0.01, 0.1, 1.0, 10.0, 100.0, inf)

    Raises:
        ValueError: for an unknown parameter or ``count < 4``.
    """
    index = parameter_index(parameter)
    if count < 4:
        raise ValueError(f"a sweep needs at least 4 values, got {count}")
    if index == 0:
        return (0.0, *_log_spaced(*EPS_RANGE, count - 1))
    return (0.0, *_log_spaced(*TAU_RANGE, count - 2), math.inf)


def _parameters(parameter: str, value: float, fixed: Sequence[float]) -> tuple[float, float, float]:
    params = [float(v) for v in fixed]
    if len(params) != 3:
        raise ValueError(f"fixed must be (eps, tau1, tau2), got {tuple(fixed)}")
    params[parameter_index(parameter)] = float(value)
    return params[0], params[1], params[2]


def _batched(eps: float, tau1: float, tau2: float) -> bool:
    """Whether a parameter set goes into the one batched solve of :func:`plans_along`: the
    solver's iterative path, which :func:`~uotviz.transport.solve_batch_params` takes."""
    return (
        0.0 < tau1 <= math.inf
        and 0.0 < tau2 <= math.inf
        and 0.0 <= eps < math.inf
        and not (eps == 0.0 and tau1 == math.inf and tau2 == math.inf)
    )


CHAIN_FROM_ENTRIES = 2000
"""From this many plan entries (``N * (M + 1)``) on, :func:`plans_along` solves the points one
after another on the CPU, each warm-started from the last (:func:`_chained`), instead of in one
batch. A batch runs every member for as many iterations as its slowest needs, from a cold start;
one after another, a neighbouring position's potentials leave a few iterations each. For the
43 positions of a τ1 drag at ε = 0 (``python bench/bench_solver.py --sweep``), on 300 simulated
queries by 24 ground truths: 702 ms batched against 98 ms chained. On the 27 x 25 coins or the
Figure 1 scene, where an iteration costs less than a solve's own overhead, the batch is mostly
faster (5 ms against 32 ms at ε = 1 on Figure 1), except at ε = 0: see
:data:`CHAIN_AT_EPS0_FROM_ENTRIES`."""

CHAIN_AT_EPS0_FROM_ENTRIES = 500
"""From this many plan entries on, :func:`plans_along` chains the points on the CPU also when
some are at ``eps = 0`` with a finite ``tau`` (solved at a tiny stand-in eps, where a cold start
takes many iterations): a τ1 drag at ε = 0 on the 27 x 25 coins took 197 ms batched against
79 ms chained (``python bench/bench_solver.py --sweep``); on the 5 x 3 Figure 1 scene, 30 ms
against 57 ms."""


def plans_along(
    cost: Tensor, points: Sequence[Sequence[float]], *, tol: float = 1e-6, how: str = "auto"
) -> list[Tensor]:
    """The plans ``N · P̂`` of ``cost`` at every ``(eps, tau1, tau2)`` of ``points``.

    Points that need the iterative solver (every point with ``tau1 > 0`` and ``tau2 > 0``, finite
    or inf, except ``eps = 0`` with ``tau1 = tau2 = inf``; ``eps = 0`` with a finite ``tau`` is
    solved at the same stand-in eps as :func:`~uotviz.transport.solve` uses, ``1e-4 * max|C|``)
    are solved

    * for a small cost, or off the CPU (``how="batch"``), as one batch: the cost is stacked
      once per such point into a ``(K, N, M + 1)`` batch, and those K problems, each with its
      own ``(eps, tau1, tau2)``, are solved together by one call of
      :func:`~uotviz.transport.solve_batch_params` (one Newton loop over the whole batch);
    * for a cost of at least :data:`CHAIN_FROM_ENTRIES` entries on the CPU (or
      :data:`CHAIN_AT_EPS0_FROM_ENTRIES` when some points are at ``eps = 0`` with a finite
      ``tau``; ``how="chain"``), one after another in the order of ``points``, each
      warm-started from the potentials of the one before (``points`` along a slider or a walk
      are neighbours).

    Beside the batch, the other points are solved one by one with
    :func:`~uotviz.transport.solve`, as they have closed forms:

    * ``tau1 = 0`` or ``tau2 = 0`` (a free marginal), with ``eps > 0``, or with ``eps = 0`` when
      the other ``tau`` is finite and positive (then at the stand-in eps): one scaling update, a
      row or column softmin (``exp(-C / eps)`` when both are 0);
    * ``eps = 0`` with ``tau1`` and ``tau2`` both in ``{0, inf}``: the exact corners (Hungarian
      matching, row or column argmin, the zero plan).

    Every plan equals an independent :func:`~uotviz.transport.solve` at its point to within the
    tolerance; a point that does not reach the tolerance still gives the plan found.

    Args:
        cost: ``(N, M + 1)`` cost, background last.
        points: ``(eps, tau1, tau2)`` each, e.g. :func:`uotviz.sliders.walk`.
        tol: the solver's tolerance.
        how: ``"auto"`` (as above), or ``"batch"`` or ``"chain"`` whatever the cost.

    Returns:
        One ``(N, M + 1)`` plan per point, in the order of ``points``, in the cost's dtype and
        device.

    Raises:
        ValueError: a point that is not three values, an unknown ``how``, or what
            :func:`~uotviz.transport.solve` refuses (negative or NaN values, non-finite costs,
            bad shapes).
    """
    if cost.dim() != 2:
        raise ValueError(f"cost must be (N, M + 1), got shape {tuple(cost.shape)}")
    if how not in ("auto", "batch", "chain"):
        raise ValueError(f"how must be 'auto', 'batch' or 'chain', got {how!r}")
    settings = [_point(point) for point in points]
    if how == "auto":
        how = "chain" if solves_as_chain(cost, settings) else "batch"
    if how == "chain":
        return _chained(cost, settings, tol)
    batch = [k for k, params in enumerate(settings) if _batched(*params)]
    plans = {
        k: solve(cost, *params, tol=tol).plan
        for k, params in enumerate(settings)
        if not _batched(*params)
    }
    if batch:
        eps, tau1, tau2 = ([settings[k][i] for k in batch] for i in range(3))
        stacked = cost.unsqueeze(0).expand(len(batch), *cost.shape)
        result = solve_batch_params(stacked, eps, tau1, tau2, tol=tol)
        plans.update(zip(batch, result.plan, strict=True))
    return [plans[k] for k in range(len(settings))]


def solves_as_chain(cost: Tensor, points: Sequence[Sequence[float]]) -> bool:
    """Whether :func:`plans_along` (``how="auto"``) solves ``points`` as a chain rather than a
    batch (see :data:`CHAIN_FROM_ENTRIES` and :data:`CHAIN_AT_EPS0_FROM_ENTRIES`)."""
    if cost.device.type != "cpu":
        return False
    settings = [_point(point) for point in points]
    stand_in = any(params[0] == 0.0 and _batched(*params) for params in settings)
    return cost.numel() >= (CHAIN_AT_EPS0_FROM_ENTRIES if stand_in else CHAIN_FROM_ENTRIES)


def _chained(
    cost: Tensor, settings: Sequence[tuple[float, float, float]], tol: float
) -> list[Tensor]:
    """The plans at ``settings`` solved in order, each iterative solve warm-started from the
    potentials of the last iterative one (closed forms and exact corners have none)."""
    plans: list[Tensor] = []
    warm = None
    for params in settings:
        result = solve(cost, *params, tol=tol, warm_start=warm)
        if result.potentials is not None:
            warm = result
        plans.append(result.plan)
    return plans


def _point(point: Sequence[float]) -> tuple[float, float, float]:
    """``(eps, tau1, tau2)`` as floats; ValueError unless there are three."""
    values = [float(v) for v in point]
    if len(values) != 3:
        raise ValueError(f"a point must be (eps, tau1, tau2), got {tuple(point)}")
    return values[0], values[1], values[2]


def sweep_plans(
    cost: Tensor,
    parameter: str,
    values: Sequence[float],
    fixed: Sequence[float],
    *,
    tol: float = 1e-6,
) -> list[Tensor]:
    """The plans ``N · P̂`` of ``cost`` at every value of ``parameter``, the others fixed: the
    :func:`plans_along` those points (one batched solve, or a chain for a large cost; only the
    closed forms and the exact ``eps = 0`` corners are solved on their own).

    For example, at Figure 1(g)'s ``(eps, tau1, tau2) = (0.05, inf, inf)``, 24 of the 25 values
    of :func:`sweep_values` go into the batch for every parameter; only ``eps = 0`` or
    ``tau = 0`` is solved on its own.

    Args:
        cost: ``(N, M + 1)`` cost, background last.
        parameter: one of :data:`SWEEP_PARAMETERS`.
        values: the values of ``parameter``, e.g. :func:`sweep_values`.
        fixed: ``(eps, tau1, tau2)``; the entry of ``parameter`` is ignored.
        tol: the solver's tolerance.

    Returns:
        One ``(N, M + 1)`` plan per value, in the order of ``values``, in the cost's dtype and
        device.

    Raises:
        ValueError: an unknown parameter, a bad ``fixed``, or what :func:`plans_along` refuses.
    """
    return plans_along(cost, [_parameters(parameter, value, fixed) for value in values], tol=tol)


def preset_plans(cost: Tensor, presets: Sequence[Preset] = PRESETS) -> dict[str, Tensor]:
    """The plan of every preset of the paper's Figure 1 (panels (c)–(h)), by preset name."""
    return {
        preset.name: solve(cost, preset.eps, preset.tau1, preset.tau2).plan for preset in presets
    }
