"""A light, sortable table for what changes at every slider step (``js/sortable_table.js``).

``st.dataframe`` draws a full data grid: redrawing one at every slider step took about 190 ms
in the browser (``bench/bench_browser.py``), twice the rest of the step. This element is a plain
HTML table whose headers sort it; its cells are written as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from uotviz.ui.js import asset_text

__all__ = ["sortable_table"]

_table = st.components.v2.component(
    "uotviz_table",
    js=asset_text("sortable_table.js"),
    css=asset_text("sortable_table.css"),
    isolate_styles=False,
)


def sortable_table(
    columns: Mapping[str, Sequence[object]],
    *,
    key: str,
    digits: Mapping[str, int] | None = None,
    helps: Mapping[str, str] | None = None,
    max_height_px: int = 360,
) -> None:
    """A table of ``columns`` (name -> values, all of one length), sortable by any column.

    Args:
        columns: the columns, in order.
        key: the element's key.
        digits: decimals for the numeric columns (numbers are sorted as numbers).
        helps: a tooltip per column header.
        max_height_px: past this height the table scrolls, its header staying in view.
    """
    digits, helps = digits or {}, helps or {}
    names = list(columns)
    rows = [list(row) for row in zip(*(columns[name] for name in names), strict=True)]
    _table(
        key=key,
        data={
            "columns": [
                {"name": name, "help": helps.get(name, ""), "digits": digits.get(name)}
                for name in names
            ],
            "rows": rows,
            "maxHeight": max_height_px,
        },
    )
