"""What a click on a chart points at: a prediction (row), a ground truth (column), or both.

Streamlit reports a click on a Plotly chart as the selected point's data (``x``, ``y``,
``customdata``, ``text``, ...). These pure functions turn such a point into the row and column
indices of the matching problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["cell_from_point", "scene_pick_from_point"]

# "<b>3</b> cup", "3", "3 → A: 0.500": a label first, optionally "→ label" after it.
_FIRST = re.compile(r"^\s*(?:<b>)?\s*([^\s<→:]+)")
_AFTER_ARROW = re.compile(r"→\s*([^\s<:]+)")


def cell_from_point(point: Mapping[str, Any], gt_count: int) -> tuple[int | None, int | None]:
    """(row, ground truth) of a heatmap cell marker (customdata ``[row, column, value]``).

    The background column (index ``gt_count``) gives ground truth None. A point without such
    customdata gives (None, None).
    """
    data = point.get("customdata")
    if not isinstance(data, Sequence) or isinstance(data, str) or len(data) < 2:
        return None, None
    try:
        row, column = int(data[0]), int(data[1])
    except (TypeError, ValueError):
        return None, None
    return row, (column if 0 <= column < gt_count else None)


def _labels_of(point: Mapping[str, Any]) -> list[str]:
    """Labels named by a scene point's text (and a label in its customdata), in order."""
    found: list[str] = []
    texts = [point.get("text"), point.get("hovertext")]
    data = point.get("customdata")
    if isinstance(data, str):
        texts.append(data)
    elif isinstance(data, Sequence) and data and isinstance(data[0], str):
        texts.append(data[0])
    for text in texts:
        if not isinstance(text, str):
            continue
        first = _FIRST.match(text)
        if first:
            found.append(first.group(1))
        arrow = _AFTER_ARROW.search(text)
        if arrow:
            found.append(arrow.group(1))
    return found


def scene_pick_from_point(
    point: Mapping[str, Any],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
) -> tuple[int | None, int | None]:
    """(row, ground truth) named by a point of the scene figure.

    A prediction's box centre or ∅ disc names its row, a ground truth's centre its column, a
    matching line's midpoint both. ``col_labels`` may end with the background label, which names
    nothing. Unknown points give (None, None).
    """
    rows = {label: index for index, label in enumerate(row_labels)}
    columns = {label: index for index, label in enumerate(col_labels) if label != "∅"}
    row = column = None
    for label in _labels_of(point):
        if row is None and label in rows:
            row = rows[label]
        elif column is None and label in columns:
            column = columns[label]
    return row, column
