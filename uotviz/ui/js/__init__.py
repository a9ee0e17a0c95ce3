"""The app's JavaScript (and CSS), read from the files beside this one."""

from __future__ import annotations

from pathlib import Path

__all__ = ["asset_text"]

_HERE = Path(__file__).parent


def asset_text(name: str) -> str:
    """The text of the file ``name`` beside this module (``"sliders.js"``)."""
    return (_HERE / name).read_text(encoding="utf-8")
