"""A check shared by the figure tests: plotly.py's validation accepts a figure and changes
nothing in it (the package builds its figures unvalidated, for speed)."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio


def assert_validation_changes_nothing(fig: go.Figure) -> None:
    """Validation must accept ``fig`` and change nothing in it: a value plotly.py would rewrite
    (a colour scale name that plotly.js reads differently, say) is a difference."""
    built = json.loads(pio.to_json(fig.to_dict(), validate=False))
    validated = json.loads(pio.to_json(go.Figure(fig.to_dict()).to_dict(), validate=False))
    for spec in (built, validated):  # an empty template comes back as an empty scatter default
        spec["layout"].pop("template", None)
    assert _without_empty(built) == _without_empty(validated)


def _without_empty(value):
    """A JSON value without its null, empty-list and empty-dict properties (validation drops
    them; plotly.js reads them as unset)."""
    if isinstance(value, dict):
        kept = {key: _without_empty(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, [], {})}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value
