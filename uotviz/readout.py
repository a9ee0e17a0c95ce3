"""What the app writes about a solve: diagnostics, the matching summary, the rows worth drawing.

Pure functions from a :class:`~uotviz.transport.TransportResult`, a plan and a
:class:`~uotviz.matching.MatchingProblem` to text, tables and index lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike

from uotviz.costs import CostWeights
from uotviz.data.types import Scene
from uotviz.matching import (
    COST_PRESETS,
    MIN_MASS,
    CostSettings,
    MatchingProblem,
    MatchingSummary,
)
from uotviz.sliders import format_value
from uotviz.stats import plan_difference, plan_readings
from uotviz.transport import TransportResult

__all__ = [
    "coco_eval_caption",
    "escape_markdown",
    "image_caption",
    "MAX_DRAWN_ROWS",
    "MAX_MATRIX_ROWS",
    "MAX_SENDERS",
    "ROW_MIN_MASS",
    "cost_title",
    "diagnostics",
    "narrow_table",
    "plan_title",
    "plural",
    "rows_caption",
    "rows_to_draw",
    "senders",
    "summary_line",
    "summary_table",
    "weights_preset",
]

MAX_MATRIX_ROWS = 60
"""Above this many predictions (or anchors) the heatmaps show only the rows that matter."""

MAX_DRAWN_ROWS = 300
"""The most rows the app's heatmaps draw, the heaviest of the rows that matter: on the demo's
coins, 74 of SSD300's 8,732 anchors matter at ε = 0.01 and are all drawn; 707 at ε = 0.05, and
all of them at ε = 0.1 (a plan of 25 columns sends about 65 kB per hundred rows at every step)."""

ROW_MIN_MASS = 1e-3
"""A row matters, in a matrix too large to draw whole, when it sends a ground truth this much."""

MAX_SENDERS = 5
"""The "from" column lists at most this many predictions per ground truth, then "…"."""


_AUTOLINK_STARTS = re.compile(r"(?i)https?|ftp|www|mailto|@")
_MARKDOWN_CHARACTERS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])")


def escape_markdown(text: str) -> str:
    r"""``text`` (from data, files, uploads or a URL) to be shown as itself where Streamlit
    renders Markdown (messages, captions): every Markdown, HTML, LaTeX or autolink character is
    backslash-escaped and line breaks become spaces, so that no link, image, heading, emphasis,
    formula or bare-URL link can be made of it.

    >>> print(escape_markdown("![x](http://a.b/c.png) **now**").replace("\u2060", ""))
    \!\[x\]\(http\://a\.b/c\.png\) \*\*now\*\*
    """
    flat = " ".join(str(text).splitlines())
    escaped = _MARKDOWN_CHARACTERS.sub(r"\\\1", flat)
    # Bare addresses are made links after escapes are read: a word joiner (invisible) after
    # "http", "www" or "@" keeps them text.
    return _AUTOLINK_STARTS.sub(lambda match: match.group(0) + "\u2060", escaped)


def coco_eval_caption(coco_plan: ArrayLike, ignored: int, iou: float, plan: ArrayLike) -> str:
    """What COCOeval's 0/1 plan ``(N, M + 1)`` of an image says, against the transport
    ``plan`` of the same shape: matches, false positives (rows on ∅), ground truths missed,
    detections ignored, and ``½ Σ|P − Q|`` between the two plans (units of one prediction)."""
    coco = torch.as_tensor(np.asarray(coco_plan, dtype=np.float64))
    readings = plan_readings(coco)
    matched = int(coco[:, :-1].sum())
    false_positives = round(readings["mass_to_background"])
    missed = round(readings["unmatched_gt_mass"])
    difference = plan_difference(coco, torch.as_tensor(np.asarray(plan, dtype=np.float64)))
    return (
        f"COCOeval (pycocotools, IoU ≥ {iou:g}, greedy by score, class by class, area all, "
        f"100 detections): {matched} matched, {false_positives} false positive"
        f"{plural(false_positives)} (on ∅), {missed} ground truth{plural(missed)} missed"
        + (f", {ignored} ignored (a crowd region's, or beyond its 100)" if ignored else "")
        + f". It differs from the transport plan by ½ Σ|P − Q| = {difference:.3f}."
    )


def image_caption(scene: Scene, problem: MatchingProblem, what: str = "predictions") -> str:
    """The line under the picker, as Markdown (the file name escaped): ``"Image 1 · a.jpg ·
    480 × 430 px · 2 ground truths to match (1 crowd region drawn, not matched) · 5 predictions"``.
    ``what`` names the rows (``"anchors"`` in anchor mode)."""
    objects = len(problem.col_labels) - 1
    crowd = int(scene.ground_truths.iscrowd.sum())
    text = (
        f"Image {scene.image_id} · {escape_markdown(scene.file_name)} · {scene.width} × "
        f"{scene.height} px · {objects} ground truth{plural(objects)} to match"
    )
    if crowd:
        text += f" ({crowd} crowd region{plural(crowd)} drawn, not matched)"
    return text + f" · {len(problem.row_labels):,} {what}"


def plural(count: int) -> str:
    """The English plural's ``"s"`` after ``count`` things: ``f"{n} image{plural(n)}"``."""
    return "" if count == 1 else "s"


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
    plan: ArrayLike,
    *,
    limit: int = MAX_MATRIX_ROWS,
    cap: int = MAX_DRAWN_ROWS,
    min_mass: float = ROW_MIN_MASS,
) -> np.ndarray | None:
    """The rows a heatmap should show, or None to show them all.

    With at most ``limit`` rows, all are shown (None). Otherwise only the rows sending at least
    ``min_mass`` to the ground truths (the background column, last, does not count), the
    ``cap`` heaviest of them, in row order; possibly none.
    """
    z = np.asarray(plan, dtype=np.float64)
    if z.shape[0] <= limit:
        return None
    to_gt = z[:, :-1].sum(axis=1)
    rows = np.flatnonzero(to_gt >= min_mass)
    if rows.size > cap:
        heaviest = np.argsort(-to_gt[rows], kind="stable")[:cap]
        rows = np.sort(rows[heaviest])
    return rows


def rows_caption(plan: ArrayLike, rows: ArrayLike | None, what: str = "predictions") -> str | None:
    """What the matrices say above them when :func:`rows_to_draw` left rows out, or None when
    they draw every row.

    ``plan`` is the ``(N, M + 1)`` plan, ``rows`` the rows drawn, ``what`` the rows' name
    (``"predictions"``, ``"anchors"``). The caption counts the rows that matter and says when
    only the heaviest :data:`MAX_DRAWN_ROWS` of them are drawn.
    """
    if rows is None:
        return None
    z = np.asarray(plan, dtype=np.float64)
    n, drawn = z.shape[0], len(rows)
    matter = int((z[:, :-1].sum(axis=1) >= ROW_MIN_MASS).sum())
    sending = f"sending at least {ROW_MIN_MASS:g} to a ground truth"
    if drawn < matter:
        return (
            f"{n:,} {what}, {matter:,} of them {sending}: the matrices show the {drawn:,} "
            "heaviest of those."
        )
    return f"{n:,} {what}: the matrices show the {drawn:,} {sending}."


def senders(
    plan: ArrayLike,
    row_labels: Sequence[str],
    column: int,
    *,
    min_mass: float = MIN_MASS,
    limit: int = MAX_SENDERS,
) -> str:
    """The predictions that send column ``column`` of an ``(N, K)`` plan at least ``min_mass``,
    heaviest first (ties in row order), as ``"4: 0.748, 1: 0.250"`` with their ``row_labels``:
    at most ``limit`` of them, then ``"…"``; ``""`` when none does."""
    masses = np.asarray(plan, dtype=np.float64)[:, column]
    rows = np.flatnonzero(masses >= min_mass)
    rows = rows[np.argsort(-masses[rows], kind="stable")]
    parts = [f"{row_labels[i]}: {masses[i]:.3f}" for i in rows[:limit].tolist()]
    if rows.size > limit:
        parts.append("…")
    return ", ".join(parts)


def summary_table(
    summary: MatchingSummary, problem: MatchingProblem, plan: ArrayLike
) -> dict[str, list]:
    """One row per ground truth (GT), as columns (header -> values): its label, category, the
    mass it receives, the predictions it receives it from (:func:`senders`), how many
    predictions send it at least half a unit, and its unmatched mass.

    ``plan`` is the ``(N, M + 1)`` plan ``summary`` was read from (units of one prediction,
    background last). Masses are rounded to 3 decimals.
    """
    m = len(problem.col_labels) - 1
    return {
        "GT": list(problem.col_labels[:m]),
        "category": list(problem.gt_names),
        "received": [round(float(v), 3) for v in summary.gt_mass.tolist()],
        "from": [senders(plan, problem.row_labels, j) for j in range(m)],
        "preds ≥ 0.5": [int(v) for v in summary.predictions_per_gt.tolist()],
        "unmatched": [round(float(v), 3) for v in summary.unmatched_gt_mass.tolist()],
    }


def narrow_table(columns: dict[str, list]) -> dict[str, list]:
    """:func:`summary_table`'s columns for a narrow panel: the label and the category in one
    column (``"A cup"``, as the highlight selectbox names a ground truth), and the ``"from"``
    lists broken between their entries only (a no-break space after each colon)."""
    table = dict(columns)
    categories = table.pop("category")
    table["GT"] = [f"{label} {name}" for label, name in zip(table["GT"], categories, strict=True)]
    table["from"] = [text.replace(": ", ":\u00a0") for text in table["from"]]
    return table


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
