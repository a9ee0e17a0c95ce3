"""Errors and report helpers shared by the loaders.

Two levels of failure, so that bad input never ends in a traceback:

- a whole file that cannot be used (not JSON, not COCO, empty, unreadable) raises
  :class:`DataError`, a ``ValueError`` whose message names the file and what is wrong;
- a bad record inside a usable file is skipped and described in the
  :class:`~uotviz.data.types.LoadReport`; the valid records still load.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import IO, Any

from uotviz.data.types import LoadReport

__all__ = ["MAX_BOX_COORDINATE", "MAX_MESSAGES", "DataError", "Source"]

#: At most this many skip messages are kept in one report; the rest are counted and summarised in
#: one last message, so a file with 500,000 bad records does not produce 500,000 strings.
MAX_MESSAGES = 1000

#: A box corner farther than this from the origin, in pixels, is refused: no picture is that large,
#: and the box's area would overflow the 32-bit floats costs are computed in (a width of 1e308
#: is finite in JSON but infinite there, and the solver would then refuse the whole image).
MAX_BOX_COORDINATE = 1e8

#: What a loader reads: a path, the file's bytes, or an open binary file (an upload).
Source = str | Path | bytes | bytearray | memoryview | IO[bytes]


class DataError(ValueError):
    """A whole file cannot be used; the message names the file and the reason."""


class ReportWriter:
    """Fill a :class:`LoadReport`, keeping at most :data:`MAX_MESSAGES` messages."""

    def __init__(self, report: LoadReport) -> None:
        self.report = report
        self.unlisted = 0

    def skip(self, message: str, count: int = 1) -> None:
        """Count ``count`` skipped records under one message."""
        if len(self.report.messages) < MAX_MESSAGES:
            self.report.skip(message)
        else:
            self.report.skipped += 1
            self.unlisted += 1
        self.report.skipped += count - 1

    def note(self, message: str) -> None:
        """A message about the file that skips no record (an ignored array, a size mismatch)."""
        if len(self.report.messages) < MAX_MESSAGES:
            self.report.messages.append(message)
        else:
            self.unlisted += 1

    def finish(self, name: str) -> LoadReport:
        if self.unlisted:
            self.report.messages.append(f"{name}: {self.unlisted} more problems not listed")
            self.unlisted = 0
        return self.report


def source_name(source: Source, name: str | None) -> str:
    """The name used in messages: ``name`` if given, else the file name, else ``"<upload>"``."""
    if name:
        return name
    if isinstance(source, (str, Path)):
        return Path(source).name
    file_name = getattr(source, "name", None)
    return Path(file_name).name if isinstance(file_name, str) else "<upload>"


def read_bytes(source: Source, name: str) -> bytes:
    """The content of ``source``; :class:`DataError` when it cannot be read."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"{name}: file not found: {path}") from None
        except IsADirectoryError:
            raise DataError(f"{name}: is a folder, not a file: {path}") from None
        except OSError as error:
            raise DataError(f"{name}: cannot read {path}: {error.strerror or error}") from None
    read = getattr(source, "read", None)
    if read is None:
        raise DataError(f"{name}: cannot read a {type(source).__name__}; pass a path or bytes")
    data = read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    return bytes(data)


class OverlongInteger:
    """An integer literal of a JSON file with more digits than Python converts
    (``sys.get_int_max_str_digits()``, 4300 by default, a guard against quadratic conversions):
    kept as its number of digits, and refused by every check as a record's value."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))

    def __repr__(self) -> str:
        return f"<an integer of {self.digits:,} digits>"


def _integer_or_overlong(text: str) -> int | OverlongInteger:
    try:
        return int(text)
    except ValueError:
        return OverlongInteger(text)


def parse_json(data: bytes, name: str) -> Any:
    """Parse JSON bytes; :class:`DataError` with line and column when it is malformed. An integer
    too long to convert becomes an :class:`OverlongInteger`, which the record's checks refuse."""
    if not data.strip():
        raise DataError(f"{name}: the file is empty")
    try:
        try:
            return json.loads(data)
        except json.JSONDecodeError:
            raise
        except UnicodeDecodeError:
            raise
        except ValueError:  # an integer with more digits than Python converts
            return json.loads(data, parse_int=_integer_or_overlong)
    except json.JSONDecodeError as error:
        raise DataError(
            f"{name}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except UnicodeDecodeError as error:
        raise DataError(f"{name}: not valid JSON: not UTF-8 text (byte {error.start})") from None
    except RecursionError:
        raise DataError(f"{name}: not valid JSON: nested too deeply") from None


INT64_RANGE = (-(2**63), 2**63 - 1)
"""The ids the loaders keep: they are stored as 64-bit integers."""

_LARGEST_FLOAT_INT = int(sys.float_info.max)
_SHOWN_CHARS = 40  # a value quoted in a message is cut to this many characters


def _integral(value: Any) -> int | None:
    """``value`` as an int when it is an integer or an integral float, whatever its size."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def as_int(value: Any) -> int | None:
    """``value`` as an int when it is an integer (or an integral float) within
    :data:`INT64_RANGE`, else None."""
    number = _integral(value)
    if number is None or not INT64_RANGE[0] <= number <= INT64_RANGE[1]:
        return None
    return number


def shown(value: Any) -> str:
    """``value`` quoted for a message, cut to 40 characters (a number may have hundreds)."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def id_problem(field: str, value: Any) -> str:
    """Why ``value`` cannot be the id ``field`` of a record (:func:`as_int` refused it)."""
    if _integral(value) is not None or isinstance(value, OverlongInteger):
        return f"{field} {shown(value)} is out of range: ids are 64-bit integers"
    return f"{field} must be an integer, got {shown(value)}"


def is_number(value: Any) -> bool:
    """True for floats (NaN included) and for ints that a float can hold (finite), False for
    bools, strings, None and larger ints."""
    if type(value) is int:
        return abs(value) <= _LARGEST_FLOAT_INT
    return type(value) is float


def bbox_problem(x: float, y: float, width: float, height: float) -> str | None:
    """What is wrong with a COCO box ``[x, y, width, height]`` (pixels), None when nothing:
    the corner must be finite, the sizes finite and > 0, and both corners within
    :data:`MAX_BOX_COORDINATE` of the origin."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return f"bbox corner ({x}, {y}) is not finite"
    for label, value in (("width", width), ("height", height)):
        if not value > 0 or math.isinf(value):  # NaN fails "> 0"
            return f"bbox {label} is {value}, must be a finite number > 0"
    if max(abs(x), abs(y), abs(x + width), abs(y + height)) > MAX_BOX_COORDINATE:
        return (
            f"bbox {shown([x, y, width, height])} reaches beyond {MAX_BOX_COORDINATE:.0e} "
            "pixels from the origin"
        )
    return None
