"""What a click on a chart points at: a prediction (row), a ground truth (column), or both.

Every clickable mark carries integer ids: a point's ``customdata`` starts with ``[row, column]``
(a heatmap cell: ``[row, column, value]``), and a scene badge's or letter's annotation is
reported the same way (see :mod:`uotviz.plots.scene`). -1 names no row or no column; the
background column (index ``gt_count``) names no ground truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["pick_from_point"]


def _index(value: object, count: int) -> int | None:
    """``value`` as an index in ``range(count)``, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or not float(value).is_integer():  # NaN, or not a whole number
        return None
    index = int(value)
    return index if 0 <= index < count else None


def pick_from_point(
    point: Mapping[str, Any], gt_count: int, row_count: int | None = None
) -> tuple[int | None, int | None]:
    """(row, ground truth) named by a clicked point's ``customdata``.

    Args:
        point: the click as the browser reported it (only ``customdata`` is read).
        gt_count: M, the number of ground truths: column ``M`` (∅) and -1 name no ground truth.
        row_count: N when known: rows outside ``range(N)`` name nothing.

    A point without such customdata (or with values that are not indices) gives (None, None).
    """
    data = point.get("customdata")
    if not isinstance(data, Sequence) or isinstance(data, str) or len(data) < 2:
        return None, None
    rows = row_count if row_count is not None else 2**63
    return _index(data[0], rows), _index(data[1], gt_count)
