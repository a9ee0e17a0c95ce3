"""Where the data is: command-line arguments and environment variables, image paths, upload limits.

The app takes its data from arguments given after ``streamlit run app.py --``::

    streamlit run app.py -- --annotations instances_val2017.json --images val2017/ \\
        --predictions detections.json

or, for any argument not given, from the environment variables ``UOTVIZ_ANNOTATIONS``,
``UOTVIZ_IMAGES`` and ``UOTVIZ_PREDICTIONS`` (an argument wins over its variable; an empty
variable counts as unset). Every path is checked when it is read: a missing file or folder raises
:class:`ConfigError` naming the argument (or variable) and the path.

Image files are looked up only inside the configured folder: :func:`resolve_image` refuses file
names that are absolute, that climb out with ``..`` or that are symlinks pointing outside.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ENV_ANNOTATIONS",
    "ENV_IMAGES",
    "ENV_PREDICTIONS",
    "MAX_ANNOTATIONS_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_PREDICTIONS_BYTES",
    "ConfigError",
    "DataConfig",
    "check_upload_size",
    "config_from",
    "resolve_image",
]

ENV_ANNOTATIONS = "UOTVIZ_ANNOTATIONS"
ENV_IMAGES = "UOTVIZ_IMAGES"
ENV_PREDICTIONS = "UOTVIZ_PREDICTIONS"

MB = 1_000_000
#: Upload limits in bytes. COCO val2017's instances file is 25 MB and a results file with 100
#: detections for each of its 5,000 images about 45 MB. (Streamlit's own ``server.maxUploadSize``,
#: 200 MB by default, applies on top of these.)
MAX_ANNOTATIONS_BYTES = 200 * MB
MAX_PREDICTIONS_BYTES = 200 * MB
MAX_IMAGE_BYTES = 50 * MB

_UPLOAD_LIMITS = {
    "annotations": MAX_ANNOTATIONS_BYTES,
    "predictions": MAX_PREDICTIONS_BYTES,
    "image": MAX_IMAGE_BYTES,
}


class ConfigError(ValueError):
    """A bad argument, a missing file or folder, or an upload over its limit."""


@dataclass(frozen=True)
class DataConfig:
    """The data to show; every field is None when not given.

    Attributes:
        annotations: a COCO instances JSON file (ground truths).
        images: the folder holding the images named by the annotations' ``file_name``.
        predictions: a COCO detection results JSON or a set-prediction ``.npz`` file.
    """

    annotations: Path | None = None
    images: Path | None = None
    predictions: Path | None = None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"bad arguments: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="streamlit run app.py --", add_help=False, allow_abbrev=False)
    parser.add_argument("--annotations", metavar="A.json")
    parser.add_argument("--images", metavar="DIR")
    parser.add_argument("--predictions", metavar="P")
    return parser


def _pick(argument: str | None, environ: Mapping[str, str], variable: str) -> tuple[str, str]:
    """The value and where it came from (for the error message)."""
    if argument:
        return argument, "--" + variable.removeprefix("UOTVIZ_").lower()
    return environ.get(variable, ""), variable


def config_from(argv: Sequence[str], environ: Mapping[str, str]) -> DataConfig:
    """Read the data locations from arguments, falling back on environment variables.

    Args:
        argv: the arguments after ``streamlit run app.py --`` (``sys.argv[1:]`` inside the app):
            ``--annotations A.json``, ``--images DIR``, ``--predictions P`` (``--x=value`` works
            too); all optional.
        environ: the environment (``os.environ``), read for ``UOTVIZ_ANNOTATIONS``,
            ``UOTVIZ_IMAGES`` and ``UOTVIZ_PREDICTIONS`` where an argument is not given.

    Returns:
        DataConfig: absolute paths (``~`` expanded) of what was given, None for the rest.

    Raises:
        ConfigError: on an unknown argument or one without a value, a file that does not exist or
            is a folder, or an images folder that does not exist or is a file.
    """
    args, extra = _parser().parse_known_args(list(argv))
    if extra:
        raise ConfigError(
            f"unknown argument(s): {' '.join(extra)}; "
            "expected --annotations A.json --images DIR [--predictions P]"
        )
    paths: dict[str, Path | None] = {}
    for field, variable, want_dir in (
        ("annotations", ENV_ANNOTATIONS, False),
        ("images", ENV_IMAGES, True),
        ("predictions", ENV_PREDICTIONS, False),
    ):
        value, origin = _pick(getattr(args, field), environ, variable)
        if not value:
            paths[field] = None
            continue
        path = Path(value).expanduser().absolute()
        if not path.exists():
            kind = "folder" if want_dir else "file"
            raise ConfigError(f"{origin}: {kind} not found: {path}")
        if want_dir and not path.is_dir():
            raise ConfigError(f"{origin}: not a folder: {path}")
        if not want_dir and not path.is_file():
            raise ConfigError(f"{origin}: not a file: {path}")
        paths[field] = path
    return DataConfig(**paths)


def resolve_image(images_dir: Path, file_name: str) -> Path:
    """The path of an image file inside ``images_dir``, refusing anything that would leave it.

    The result is resolved (symlinks followed) and must lie inside the resolved ``images_dir``;
    the file itself need not exist (opening it reports that).

    Args:
        images_dir: the configured images folder.
        file_name: the ``file_name`` from the annotations, relative to ``images_dir``
            (``"000000000139.jpg"``, ``"train/a.jpg"``).

    Returns:
        Path: the resolved, absolute path of the file.

    Raises:
        ValueError: if ``file_name`` is empty, absolute, contains a NUL byte, or resolves outside
            ``images_dir`` (``..`` components or a symlink pointing elsewhere).
    """
    if not file_name or "\x00" in file_name:
        raise ValueError(f"refused image file name {file_name!r}: empty or contains a NUL byte")
    relative = Path(file_name)
    if relative.is_absolute() or relative.anchor:
        raise ValueError(
            f"refused image file name {file_name!r}: absolute paths are not allowed; "
            "file names must be relative to the images folder"
        )
    root = Path(images_dir).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValueError(
            f"refused image file name {file_name!r}: it leads outside the images folder {root}"
        )
    return path


def check_upload_size(name: str, size: int, *, kind: str = "annotations") -> None:
    """Refuse an upload over its limit before reading it.

    Args:
        name: the uploaded file's name, for the message.
        size: its size in bytes.
        kind: ``"annotations"`` (limit :data:`MAX_ANNOTATIONS_BYTES`), ``"predictions"``
            (:data:`MAX_PREDICTIONS_BYTES`) or ``"image"`` (:data:`MAX_IMAGE_BYTES`).

    Raises:
        ConfigError: if the file is empty or larger than the limit.
        ValueError: if ``kind`` is not one of the three.
    """
    if kind not in _UPLOAD_LIMITS:
        raise ValueError(f"kind={kind!r} is not one of {tuple(_UPLOAD_LIMITS)}")
    limit = _UPLOAD_LIMITS[kind]
    if size <= 0:
        raise ConfigError(f"{name}: the file is empty")
    if size > limit:
        raise ConfigError(
            f"{name}: {size / MB:.1f} MB is over the {limit // MB} MB limit for {kind} uploads"
        )
