"""What the app writes about a solve: diagnostics, the matching summary, the rows worth drawing.

Pure functions from a :class:`~uotviz.transport.TransportResult`, a plan and a
:class:`~uotviz.matching.MatchingProblem` to text, tables and index lists.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from uotviz.costs import CostWeights
from uotviz.matching import COST_PRESETS, CostSettings, MatchingProblem, MatchingSummary
from uotviz.sliders import format_value
from uotviz.transport import TransportResult

__all__ = [
    "MAX_MATRIX_ROWS",
    "cost_title",
    "diagnostics",
    "markdown_table",
    "plan_title",
    "rows_to_draw",
    "summary_line",
    "summary_table",
    "weights_preset",
]

MAX_MATRIX_ROWS = 60
"""Above this many predictions (or anchors) the heatmaps show only the rows that matter."""


def diagnostics(result: TransportResult, eps: float) -> str:
    """One line about the solve: method, iterations, convergence, time and device (``cpu``,
    ``cuda:0``), marginal residuals."""
    parts = [
        f"method **{result.method}**",
        f"{result.iterations} iterations",
        f"converged: {'yes' if result.converged else '**no**'}",
        f"{result.seconds * 1e3:.1f} ms on {result.plan.device}",
        f"marginal residuals: rows {result.row_error:.1e}, columns {result.col_error:.1e}",
    ]
    if result.eps != eps:
        parts.append(f"solved at ε = {result.eps:.2g} (the ε → 0 continuation)")
    return " · ".join(parts)


def rows_to_draw(
    plan: ArrayLike, *, limit: int = MAX_MATRIX_ROWS, min_mass: float = 1e-3
) -> np.ndarray | None:
    """The rows a heatmap should show, or None to show them all.

    With at most ``limit`` rows, all are shown (None). Otherwise only the rows sending at least
    ``min_mass`` to the ground truths (the background column, last, does not count), the
    ``limit`` heaviest of them, in row order; possibly none.
    """
    z = np.asarray(plan, dtype=np.float64)
    if z.shape[0] <= limit:
        return None
    to_gt = z[:, :-1].sum(axis=1)
    rows = np.flatnonzero(to_gt >= min_mass)
    if rows.size > limit:
        heaviest = np.argsort(-to_gt[rows], kind="stable")[:limit]
        rows = np.sort(rows[heaviest])
    return rows


def summary_table(summary: MatchingSummary, problem: MatchingProblem) -> dict[str, list]:
    """One row per ground truth (GT): its label, category, the mass it receives, how many
    predictions send it at least half a unit, and its unmatched mass."""
    m = len(problem.col_labels) - 1
    return {
        "GT": list(problem.col_labels[:m]),
        "category": list(problem.gt_names),
        "received": [round(float(v), 3) for v in summary.gt_mass.tolist()],
        "preds ≥ 0.5": [int(v) for v in summary.predictions_per_gt.tolist()],
        "unmatched": [round(float(v), 3) for v in summary.unmatched_gt_mass.tolist()],
    }


def markdown_table(columns: dict[str, list]) -> str:
    """A GitHub-flavoured Markdown table of ``columns`` (header -> values, all of one length).

    Numbers are right-aligned and floats written with 3 decimals; ``|`` and backslashes in the
    text are escaped so that a category name cannot break the table.
    """

    def cell(value: object) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    headers = list(columns)
    rows = list(zip(*columns.values(), strict=True))
    numeric = [
        all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        for values in columns.values()
    ]
    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "| " + " | ".join("---:" if right else ":---" for right in numeric) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_line(summary: MatchingSummary, n: int) -> str:
    """Totals: unmatched ground-truth mass, mass sent to ∅, predictions left on ∅."""
    unmatched = float(summary.unmatched_gt_mass.sum()) if summary.unmatched_gt_mass.numel() else 0
    counts = summary.predictions_per_gt.tolist()
    several = sum(1 for c in counts if c > 1)
    parts = [
        f"unmatched ground-truth mass **{unmatched:.3f}** (of {len(counts)})",
        f"mass to ∅ **{summary.background_mass:.3f}** (of {n})",
        f"{summary.unmatched_predictions} of {n} predictions mostly on ∅",
    ]
    if several:
        parts.append(f"{several} ground truth(s) take more than one prediction")
    return " · ".join(parts)


def weights_preset(weights: CostWeights) -> str | None:
    """The name in :data:`~uotviz.matching.COST_PRESETS` of these exact weights, or None."""
    return next((name for name, preset in COST_PRESETS.items() if preset == weights), None)


def plan_title(eps: float, tau1: float, tau2: float) -> str:
    """The plan heatmap's title: ``"Plan N·P̂ at ε = 0.05, τ1 = ∞, τ2 = ∞"``."""
    return (
        f"Plan N·P̂ at ε = {format_value(eps)}, τ1 = {format_value(tau1)}, τ2 = {format_value(tau2)}"
    )


def cost_title(settings: CostSettings) -> str:
    """The cost heatmap's title: ``"Cost C = 1 − GIoU, c∅ = 0.8"`` (anchors named)."""
    name = weights_preset(settings.weights)
    if name is None:
        w = settings.weights
        terms = [
            f"{value:g}·{term}"
            for value, term in (
                (w.giou_weight, "(1 − GIoU)"),
                (w.iou_weight, "(1 − IoU)"),
                (w.l1_weight, "L1"),
                (w.class_weight, "class"),
            )
            if value
        ]
        name = " + ".join(terms) or "0"
    title = f"Cost C = {name}, c∅ = {settings.background_cost:g}"
    if settings.anchors is not None:
        title += f" ({settings.anchors})"
    return title
