"""The command line, installed as ``uotviz`` (and ``python -m uotviz``):

- ``uotviz [--annotations A.json --images DIR --predictions P]`` starts the app (``streamlit run``
  on the package's :mod:`uotviz.app`), on the embedded demo when nothing is configured;
- ``uotviz stats ...`` writes per-image matching statistics: the table and its conventions are
  those of :mod:`uotviz.stats`. Exit status: 0 on success, 2 for bad arguments or input files (a
  message on stderr, no traceback, and no output file written).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd
import torch

from uotviz.data.config import ConfigError, config_from
from uotviz.data.dataset import load_dataset
from uotviz.data.errors import DataError
from uotviz.figure1 import PRESETS
from uotviz.matching import COST_PRESETS, CostSettings
from uotviz.sliders import DEFAULT_PRESET
from uotviz.stats import (
    STRATEGIES,
    Setting,
    StatsOptions,
    compute_stats,
    images_with_predictions,
    shard,
)
from uotviz.transport.batch import DEFAULT_BATCH_SIZE

__all__ = ["COST_NAMES", "main"]

COST_NAMES: dict[str, str] = {
    "giou": "1 − GIoU",
    "iou": "1 − IoU",
    "l1": "L1",
    "detr": "DETR (class 2, L1 5, GIoU 2)",
}
"""``--cost`` choices, each the name of one of the app's :data:`uotviz.matching.COST_PRESETS`."""

EXIT_BAD_INPUT = 2
_SHOWN_MESSAGES = 5  # skip messages of a load report printed on stderr


class InputError(Exception):
    """Bad arguments or input: the message is printed and the exit status is 2."""


def _default_cost_name() -> str:
    """The ``--cost`` name of the app's default weights (those of :class:`CostSettings`)."""
    default = CostSettings().weights
    return next(name for name, key in COST_NAMES.items() if COST_PRESETS[key] == default)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uotviz",
        description="uotviz [--annotations A.json --images DIR --predictions P]: the app; "
        "uotviz stats ...: per-image matching statistics.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    stats = commands.add_parser(
        "stats",
        help="per-image matching statistics of a dataset, as CSV or Parquet",
        description=(
            "One row per image with predictions: image_id, file_name, n_predictions, "
            "n_ground_truths (crowd regions left out), mass_to_background, unmatched_gt_mass, "
            "gt_multi (ground truths receiving >= 0.5 from two or more predictions) and, with a "
            "comparison setting, plan_difference (1/2 sum |P - Q|, background included), then "
            "image_index; masses in units of one prediction. Plans are the app's: "
            "entropic unbalanced optimal transport (De Plaen et al., CVPR 2023)."
        ),
        epilog=(
            "Sharding: --shard K/N keeps rows r = K, K+N, K+2N, ... of the unsharded output. "
            "To rebuild the unsharded table, concatenate the N outputs (K = 0..N-1) and sort the "
            "rows by image_index (the image's position in the annotations' images list). "
            "Integer columns and exact settings (eps = 0 at a corner, coco-eval) come back "
            "identical; masses of settings solved iteratively agree within the solver's "
            "tolerance (1e-6 per plan entry), since images are solved in batches."
        ),
    )
    stats.add_argument("--annotations", required=True, metavar="A.json", help="COCO instances")
    stats.add_argument(
        "--predictions", required=True, metavar="P", help="COCO detection results or .npz"
    )
    stats.add_argument(
        "--out", required=True, metavar="OUT", help="output table: .parquet, else CSV"
    )
    panels = [preset.panel for preset in PRESETS]
    default = next(p for p in PRESETS if p.name == DEFAULT_PRESET)
    _setting_arguments(stats, "", panels, f"default: the app's ({default.panel})")
    _setting_arguments(stats, "compare-", panels, "adds plan_difference")
    stats.add_argument("--strategy", choices=STRATEGIES, default="uot")
    stats.add_argument(
        "--iou",
        type=float,
        default=None,
        help=f"IoU threshold of --strategy coco-eval (default {StatsOptions.iou})",
    )
    defaults = CostSettings()
    stats.add_argument("--cost", choices=tuple(COST_NAMES), default=_default_cost_name())
    stats.add_argument(
        "--background-cost", type=float, default=defaults.background_cost, metavar="C"
    )
    stats.add_argument(
        "--score-threshold", type=float, default=defaults.score_threshold, metavar="S"
    )
    stats.add_argument(
        "--top-k", type=int, default=defaults.top_k or 0, metavar="K", help="0: all predictions"
    )
    stats.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    stats.add_argument("--shard", default="0/1", metavar="K/N", help="see below")
    stats.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="B")
    stats.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _setting_arguments(
    parser: argparse.ArgumentParser, prefix: str, panels: list[str], note: str
) -> None:
    """``--{prefix}preset`` or ``--{prefix}eps/tau1/tau2`` (tau may be ``inf``)."""
    group = parser.add_argument_group(f"{prefix or 'transport '}setting ({note})")
    group.add_argument(f"--{prefix}preset", choices=panels, metavar="|".join(panels))
    for name in ("eps", "tau1", "tau2"):
        group.add_argument(f"--{prefix}{name}", type=float, metavar=name.upper())


def _setting(args: argparse.Namespace, prefix: str) -> Setting | None:
    """The setting named by ``--{prefix}preset`` or ``--{prefix}eps/tau1/tau2``, or None."""
    key = prefix.replace("-", "_")
    panel = getattr(args, f"{key}preset")
    values = {name: getattr(args, f"{key}{name}") for name in ("eps", "tau1", "tau2")}
    given = [name for name, value in values.items() if value is not None]
    if panel is not None and given:
        raise InputError(f"give --{prefix}preset or --{prefix}eps/tau1/tau2, not both")
    if panel is not None:
        return Setting.from_panel(panel)
    if not given:
        return None
    if len(given) < 3:
        missing = ", ".join(f"--{prefix}{n}" for n in values if values[n] is None)
        raise InputError(
            f"--{prefix}eps, --{prefix}tau1 and --{prefix}tau2 go together: missing {missing}"
        )
    try:
        return Setting(**values)
    except ValueError as error:
        raise InputError(f"--{prefix}{error}") from None


def _shard(text: str) -> tuple[int, int]:
    k, slash, n = text.partition("/")
    try:
        value = (int(k), int(n))
    except ValueError:
        value = None
    if not slash or value is None or not 0 <= value[0] < value[1]:
        raise InputError(f"--shard must be K/N with 0 <= K < N, got {text!r}")
    return value


def _device(name: str) -> str:
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: CUDA is not available on this machine")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def options_from(args: argparse.Namespace) -> StatsOptions:
    """The :class:`StatsOptions` of parsed ``stats`` arguments; :class:`InputError` if bad."""
    setting = _setting(args, "")
    compare = _setting(args, "compare-")
    if args.strategy == "coco-eval" and setting is not None:
        raise InputError(
            "--preset and --eps/--tau1/--tau2 set the plan of --strategy uot; with coco-eval, "
            "compare with a setting through --compare-preset or --compare-eps/tau1/tau2"
        )
    if args.strategy == "uot" and args.iou is not None:
        raise InputError("--iou is the threshold of --strategy coco-eval")
    for name, value in (("background-cost", args.background_cost), ("iou", args.iou)):
        if value is not None and not math.isfinite(value):
            raise InputError(f"--{name} must be a finite number, got {value}")
    if args.top_k < 0:
        raise InputError(f"--top-k must be >= 0 (0: all), got {args.top_k}")
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    if math.isnan(args.score_threshold):
        raise InputError("--score-threshold is NaN")
    cost = CostSettings(
        weights=COST_PRESETS[COST_NAMES[args.cost]],
        background_cost=args.background_cost,
        score_threshold=args.score_threshold,
        top_k=args.top_k or None,
    )
    try:
        return StatsOptions(
            strategy=args.strategy,
            setting=setting if setting is not None else Setting.default(),
            compare=compare,
            iou=args.iou if args.iou is not None else StatsOptions.iou,
            cost=cost,
            device=_device(args.device),
            shard=_shard(args.shard),
            batch_size=args.batch_size,
        )
    except ValueError as error:
        raise InputError(str(error)) from None


class ProgressBar:
    """A one-line progress bar on a text stream: ``stats [#####.....] 512/5000 images 3.1 s``."""

    def __init__(self, total: int, stream: TextIO, label: str = "stats", width: int = 30):
        self.total, self.stream, self.label, self.width = total, stream, label, width
        self.done = 0
        self.start = time.perf_counter()
        self._draw()

    def __call__(self, count: int) -> None:
        self.done += count
        self._draw()

    def _draw(self) -> None:
        filled = self.width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        seconds = time.perf_counter() - self.start
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} images {seconds:.1f} s")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _report_load(report, stream: TextIO) -> None:
    """Print what the loaders skipped (as the app lists it), at most a few messages."""
    if report.skipped:
        stream.write(f"skipped {report.skipped} record(s) of the input files:\n")
    for message in report.messages[:_SHOWN_MESSAGES]:
        stream.write(f"  {message}\n")
    if len(report.messages) > _SHOWN_MESSAGES:
        stream.write(f"  ... and {len(report.messages) - _SHOWN_MESSAGES} more\n")


def _check_output(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"--out: folder not found: {folder}")
    if path.is_dir():
        raise InputError(f"--out: is a folder, not a file: {path}")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` (Parquet if it ends in ``.parquet``, else CSV) through a
    temporary file in the same folder, so that ``path`` is either complete or untouched."""
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
    except OSError as error:
        raise InputError(
            f"--out: cannot write in {path.parent}: {error.strerror or error}"
        ) from None
    os.close(handle)
    try:
        if path.suffix.lower() == ".parquet":
            try:
                frame.to_parquet(temporary, index=False)
            except ImportError as error:
                raise InputError(f"--out {path.name}: Parquet needs pyarrow: {error}") from None
        else:
            frame.to_csv(temporary, index=False)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"--out: cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run_stats(args: argparse.Namespace, stderr: TextIO) -> None:
    """Load, compute and write; :class:`InputError` for anything the user can fix."""
    options = options_from(args)
    out = Path(args.out).expanduser().absolute()
    _check_output(out)
    try:
        config = config_from(
            ["--annotations", args.annotations, "--predictions", args.predictions], {}
        )
        dataset, report = load_dataset(config)
    except (ConfigError, DataError) as error:
        raise InputError(str(error)) from None
    if report.refused:
        raise InputError("; ".join(report.refused))
    _report_load(report, stderr)
    images = images_with_predictions(dataset)
    if not images:
        raise InputError(
            f"{Path(args.predictions).name}: no prediction for any image of "
            f"{Path(args.annotations).name}"
        )
    count = len(shard(images, *options.shard))
    progress = None if args.quiet else ProgressBar(count, stderr)
    try:
        frame = compute_stats(dataset, options, progress)
    finally:
        if progress is not None:
            progress.close()
    write_table(frame, out)


APP_SCRIPT = Path(__file__).resolve().parent / "app.py"
"""The app's Streamlit script, inside the package."""

_COMMANDS = ("stats", "-h", "--help")


SERVER_OPTIONS = {"server.fileWatcherType": "none", "browser.gatherUsageStats": "false"}
"""Streamlit's options for serving the app (``.streamlit/config.toml`` sets the same ones for
``streamlit run app.py`` from a checkout). No watching of source files: uotviz is run, not
edited, and for each new session Streamlit's watcher walked the path of every imported module
(torch's thousands) on the server's event loop, holding back the end of a first visit's run
(about 0.35 s; ``python bench/bench_first_visit.py``: 2.46 s to the picture with the watcher,
2.32 s without, one run each)."""


def app_command(app_args: Sequence[str]) -> list[str]:
    """The command that serves the app with its own arguments (``--annotations``, ``--images``,
    ``--predictions``), under :data:`SERVER_OPTIONS`; Streamlit's other options come from its
    ``STREAMLIT_*`` variables, e.g. ``STREAMLIT_SERVER_PORT=8600``."""
    options = [part for name, value in SERVER_OPTIONS.items() for part in (f"--{name}", value)]
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), *options, "--", *app_args,
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status.
    Without ``stats`` it starts the app in place of this process."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in _COMMANDS:
        command = app_command(argv)
        os.execv(command[0], command)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        run_stats(args, sys.stderr)
    except InputError as error:
        sys.stderr.write(f"uotviz {args.command}: error: {error}\n")
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
