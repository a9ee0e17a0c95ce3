"""``python -m uotviz stats`` and the pieces under it: padded batches of images, the columns, the
coco-eval strategy, the command line (CSV, Parquet, errors, shards).

Every column is checked against an independent computation: SciPy's ``linear_sum_assignment``
for Hungarian matching (d), a per-row argmin for (c), POT's ``sinkhorn_unbalanced`` (entropy
regularisation, float64) for an eps > 0 setting, and pycocotools' ``COCOeval.evaluateImg`` for
coco-eval.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import ot
import pandas as pd
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.optimize import linear_sum_assignment

import uotviz.__main__ as uotviz_main
from uotviz.__main__ import main
from uotviz.data.config import DataConfig
from uotviz.data.dataset import load_dataset
from uotviz.data.demo import DEMO_ANNOTATIONS, DEMO_PREDICTIONS
from uotviz.figure1 import PRESETS
from uotviz.matching import CostSettings
from uotviz.sliders import DEFAULT_PRESET, preset_by_name
from uotviz.stats import (
    COLUMNS,
    Setting,
    StatsOptions,
    coco_eval_plans,
    compute_stats,
    image_matchings,
    images_with_predictions,
    plan_difference,
    plan_readings,
    shard,
)
from uotviz.transport import solve
from uotviz.transport.batch import padded_batches, solve_padded

INF = math.inf
ROOT = Path(__file__).resolve().parent.parent
REQUIRED = [c for c in COLUMNS if c != "plan_difference"]


# ----------------------------------------------------------------------------- data


def _boxes_xywh(rng: np.random.Generator, count: int, width: int, height: int) -> np.ndarray:
    w = width * rng.uniform(0.05, 0.5, count)
    h = height * rng.uniform(0.05, 0.5, count)
    x = (width - w) * rng.uniform(0, 1, count)
    y = (height - h) * rng.uniform(0, 1, count)
    return np.round(np.stack([x, y, w, h], axis=1), 2)


def write_generated(folder: Path, seed: int = 0, images: int = 24) -> tuple[Path, Path]:
    """A small COCO dataset with crowd regions and detections near the ground truths.

    Detections: jittered copies of ground truths (same or another category, crowd regions too),
    random boxes, scores rounded to 2 decimals (ties); some images have none, some have more
    ground truths than detections.
    """
    rng = np.random.default_rng(seed)
    categories = [1, 2, 3]
    image_records, annotations, results = [], [], []
    for image_id in range(1, images + 1):
        width, height = int(rng.integers(200, 641)), int(rng.integers(200, 641))
        image_records.append(
            {"id": image_id, "file_name": f"{image_id}.jpg", "width": width, "height": height}
        )
        m = int(rng.integers(0, 9))
        gt = _boxes_xywh(rng, m, width, height)
        for box in gt:
            crowd = bool(rng.uniform() < 0.15)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(rng.choice(categories)),
                    "bbox": box.tolist(),
                    "area": float(box[2] * box[3]),
                    "iscrowd": int(crowd),
                    "segmentation": [],
                }
            )
        if image_id % 7 == 0:
            continue  # no detections
        mine = [a for a in annotations if a["image_id"] == image_id]
        copies = [a for a in mine for _ in range(int(rng.integers(0, 3)))]
        for a in copies:
            box = np.array(a["bbox"]) * (1 + rng.normal(0, 0.12, 4))
            box[2:] = np.maximum(box[2:], 1.0)
            same = rng.uniform() < 0.8
            results.append(
                {
                    "image_id": image_id,
                    "category_id": a["category_id"] if same else int(rng.choice(categories)),
                    "bbox": np.round(box, 2).tolist(),
                    "score": float(np.round(rng.uniform(), 2)),
                }
            )
        for box in _boxes_xywh(rng, int(rng.integers(0, 6)), width, height):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(rng.choice(categories)),
                    "bbox": box.tolist(),
                    "score": float(np.round(rng.uniform(), 2)),
                }
            )
    dataset = {
        "images": image_records,
        "annotations": annotations,
        "categories": [{"id": c, "name": f"class {c}"} for c in categories],
    }
    annotations_path, results_path = folder / "instances.json", folder / "detections.json"
    annotations_path.write_text(json.dumps(dataset))
    results_path.write_text(json.dumps(results))
    return annotations_path, results_path


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, Path]:
    return write_generated(tmp_path_factory.mktemp("generated"))


@pytest.fixture(scope="module")
def demo_dataset():
    return load_dataset(DataConfig(annotations=DEMO_ANNOTATIONS, predictions=DEMO_PREDICTIONS))[0]


@pytest.fixture(scope="module")
def generated_dataset(generated):
    annotations, predictions = generated
    return load_dataset(DataConfig(annotations=annotations, predictions=predictions))[0]


def random_costs(seed: int, count: int = 40) -> list[torch.Tensor]:
    """Costs (N, M+1) of varied sizes: M = 0, M > N, shared N, continuous values."""
    rng = np.random.default_rng(seed)
    costs = []
    for _ in range(count):
        n = int(rng.choice([1, 3, 5, 8]))
        m = int(rng.integers(0, 11))
        cost = rng.uniform(0.0, 2.0, (n, m + 1))
        cost[:, -1] = 0.8
        costs.append(torch.from_numpy(cost))
    return costs


# ----------------------------------------------------------------------------- batches


@pytest.mark.parametrize(
    "setting",
    [Setting.of(p) for p in PRESETS] + [Setting(0.0, 1.0, INF), Setting(0.02, 2.0, 0.5)],
    ids=[p.panel for p in PRESETS] + ["eps0-finite-tau", "unbalanced"],
)
def test_padded_batches_give_the_plans_of_solve_per_image(setting):
    costs = random_costs(1)
    plans = solve_padded(costs, setting.eps, setting.tau1, setting.tau2, batch_size=7)
    for cost, plan in zip(costs, plans, strict=True):
        expected = solve(cost, setting.eps, setting.tau1, setting.tau2).plan
        assert plan.shape == cost.shape
        tolerance = 0.0 if setting.eps == 0 and setting.tau1 in (0, INF) else 1e-5
        assert torch.allclose(plan, expected, atol=tolerance, rtol=0)


def test_padded_batches_group_by_predictions_and_cover_every_image():
    costs = random_costs(2)
    batches = list(padded_batches(costs, batch_size=4))
    seen = sorted(i for batch in batches for i in batch.indices)
    assert seen == list(range(len(costs)))
    for batch in batches:
        assert len(batch.indices) <= 4
        assert {costs[i].shape[0] for i in batch.indices} == {batch.cost.shape[1]}
        for b, i in enumerate(batch.indices):
            m = costs[i].shape[1] - 1
            assert batch.gt_mask[b].sum() == m and batch.gt_mask[b, :m].all()
            assert torch.equal(batch.cost[b, :, -1], costs[i][:, -1])


# ----------------------------------------------------------------------------- columns


def independent_readings(plan: np.ndarray) -> dict:
    """The columns computed from a plan with numpy alone."""
    gt = plan[:, :-1]
    return {
        "mass_to_background": plan[:, -1].sum(),
        "unmatched_gt_mass": np.maximum(0.0, 1.0 - gt.sum(axis=0)).sum(),
        "gt_multi": int(((gt >= 0.5).sum(axis=0) >= 2).sum()),
    }


def hungarian_plan(cost: np.ndarray) -> np.ndarray:
    n, m = cost.shape[0], cost.shape[1] - 1
    plan = np.zeros_like(cost)
    plan[:, -1] = 1.0
    gt = cost[:, :-1] - (cost[:, -1:] if m <= n else 0.0)
    rows, cols = linear_sum_assignment(gt)
    plan[rows, -1] = 0.0
    plan[rows, cols] = 1.0
    return plan


def argmin_plan(cost: np.ndarray) -> np.ndarray:
    plan = np.zeros_like(cost)
    plan[np.arange(cost.shape[0]), cost.argmin(axis=1)] = 1.0
    return plan


def pot_plan(cost: np.ndarray, setting: Setting) -> np.ndarray:
    n, m = cost.shape[0], cost.shape[1] - 1
    a = np.full(n, 1.0 / n)
    b = np.array([1.0 / n] * m + [(n - m) / n])
    plan = ot.unbalanced.sinkhorn_unbalanced(
        a,
        b,
        cost,
        reg=setting.eps,
        reg_m=(setting.tau1, setting.tau2),
        reg_type="entropy",
        numItermax=100_000,
        stopThr=1e-13,
    )
    return n * plan


def _stats_of(dataset, setting: Setting, compare: Setting | None = None) -> pd.DataFrame:
    return compute_stats(dataset, StatsOptions(setting=setting, compare=compare))


def _costs(dataset) -> list[np.ndarray]:
    matchings = image_matchings(dataset, images_with_predictions(dataset), CostSettings())
    return [m.problem.cost.numpy() for m in matchings]


@pytest.mark.parametrize(
    ("panel", "reference"), [("d", hungarian_plan), ("c", argmin_plan)], ids=["d", "c"]
)
def test_exact_columns_match_scipy_and_argmin(generated_dataset, panel, reference):
    table = _stats_of(generated_dataset, Setting.from_panel(panel))
    costs = _costs(generated_dataset)
    assert len(table) == len(costs)
    checked = 0
    for row, cost in zip(table.itertuples(), costs, strict=True):
        if cost.shape[1] - 1 > cost.shape[0]:
            continue  # M > N: the hidden "missed" row; covered against solve above
        expected = independent_readings(reference(cost))
        assert row.mass_to_background == pytest.approx(expected["mass_to_background"], abs=1e-12)
        assert row.unmatched_gt_mass == pytest.approx(expected["unmatched_gt_mass"], abs=1e-12)
        assert row.gt_multi == expected["gt_multi"]
        assert (row.n_predictions, row.n_ground_truths) == (cost.shape[0], cost.shape[1] - 1)
        checked += 1
    assert checked >= 10
    if panel == "c":
        assert table.gt_multi.sum() > 0  # the test can see gt_multi


@pytest.mark.filterwarnings("ignore:If reg_type = entropy")
def test_entropic_columns_match_pot(demo_dataset):
    setting = Setting.from_panel("f")  # (0.05, 100, 0.01): finite penalties on both sides
    table = _stats_of(demo_dataset, setting)
    for row, cost in zip(table.itertuples(), _costs(demo_dataset), strict=True):
        if cost.shape[1] - 1 > cost.shape[0]:
            continue
        expected = independent_readings(pot_plan(cost, setting))
        assert row.mass_to_background == pytest.approx(expected["mass_to_background"], abs=1e-4)
        assert row.unmatched_gt_mass == pytest.approx(expected["unmatched_gt_mass"], abs=1e-4)
        assert row.gt_multi == expected["gt_multi"]


def test_plan_difference_against_independent_plans(generated_dataset):
    table = _stats_of(generated_dataset, Setting.from_panel("d"), Setting.from_panel("c"))
    for row, cost in zip(table.itertuples(), _costs(generated_dataset), strict=True):
        if cost.shape[1] - 1 > cost.shape[0]:
            continue
        expected = 0.5 * np.abs(hungarian_plan(cost) - argmin_plan(cost)).sum()
        assert row.plan_difference == pytest.approx(expected, abs=1e-12)
    assert table.plan_difference.max() > 0


def test_figure1_by_hand():
    """Figure 1 (c): 1→A, 2→∅, 3→∅, 4→A, 5→B; (d): 4→A, 5→B, 1, 2, 3→∅."""
    c = torch.tensor([[1, 0, 0], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)
    d = torch.tensor([[0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)
    assert plan_readings(c) == {"mass_to_background": 2.0, "unmatched_gt_mass": 0.0, "gt_multi": 1}
    assert plan_readings(d) == {"mass_to_background": 3.0, "unmatched_gt_mass": 0.0, "gt_multi": 0}
    assert plan_difference(c, d) == 1.0


def test_default_setting_and_cost_are_the_apps():
    preset = preset_by_name(DEFAULT_PRESET)
    assert StatsOptions().setting == Setting(preset.eps, preset.tau1, preset.tau2)
    assert StatsOptions().cost == CostSettings()


# ----------------------------------------------------------------------------- coco-eval


def reference_matches(annotations: Path, predictions: Path, iou_index: int) -> dict:
    """Per detection (position in the results file): ("gt", annotation id), "fp" or "ignored";
    per image: the number of non-crowd ground truths left unmatched. From a default COCOeval."""
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO(str(annotations))
        results = json.loads(predictions.read_text())
        evaluator = COCOeval(ground_truth, ground_truth.loadRes(results), "bbox")
        evaluator.evaluate()
    everything = evaluator.params.areaRngLbl.index("all")
    outcome, missed = {}, {}
    for record in evaluator.evalImgs:
        if record is None or record["aRng"] != evaluator.params.areaRng[everything]:
            continue
        for det_id, gt_id, ignored in zip(
            record["dtIds"],
            record["dtMatches"][iou_index],
            record["dtIgnore"][iou_index],
            strict=True,
        ):
            outcome[det_id - 1] = "ignored" if ignored else ("fp" if gt_id == 0 else "match")
        unmatched = (record["gtMatches"][iou_index] == 0) & ~record["gtIgnore"].astype(bool)
        missed[record["image_id"]] = missed.get(record["image_id"], 0) + int(unmatched.sum())
        for gt_id, det_id, ignored in zip(
            record["gtIds"], record["gtMatches"][iou_index], record["gtIgnore"], strict=True
        ):
            if det_id > 0 and not ignored:
                outcome[int(det_id) - 1] = ("gt", gt_id)
    return {"outcome": outcome, "missed": missed, "thresholds": evaluator.params.iouThrs}


@pytest.mark.parametrize("source", ["demo", "generated"])
@pytest.mark.parametrize("iou_index", [0, 5])  # IoU 0.5 and 0.75
def test_coco_eval_plans_are_pycocotools_matches(source, iou_index, generated, request):
    if source == "demo":
        annotations, predictions = DEMO_ANNOTATIONS, DEMO_PREDICTIONS
    else:
        annotations, predictions = generated
    dataset = load_dataset(DataConfig(annotations=annotations, predictions=predictions))[0]
    reference = reference_matches(annotations, predictions, iou_index)
    iou = float(reference["thresholds"][iou_index])
    images = images_with_predictions(dataset)
    matchings = image_matchings(dataset, images, CostSettings())
    plans, ignored = coco_eval_plans(dataset.index, matchings, iou)

    records = json.loads(Path(predictions).read_text())
    rows_of_image: dict[int, list[int]] = {}
    for position, record in enumerate(records):
        rows_of_image.setdefault(record["image_id"], []).append(position)
    kinds = set()
    for matching, plan, ignored_count in zip(matchings, plans, ignored, strict=True):
        columns = matching.annotation_ids.tolist()
        positions = rows_of_image[matching.image_id]
        assert plan.shape[0] == len(positions)
        for row, position in enumerate(positions):
            expected = reference["outcome"].get(position, "ignored")
            kinds.add(expected if isinstance(expected, str) else "gt")
            want = np.zeros(plan.shape[1])
            if expected == "fp":
                want[-1] = 1
            elif isinstance(expected, tuple):
                want[columns.index(expected[1])] = 1
            assert plan[row].tolist() == want.tolist(), (matching.image_id, row, expected)
        assert ignored_count == sum(
            reference["outcome"].get(p, "ignored") == "ignored" for p in positions
        )
        readings = plan_readings(plan)
        assert readings["unmatched_gt_mass"] == reference["missed"].get(
            matching.image_id, plan.shape[1] - 1
        )
    if source == "generated":
        assert kinds == {"gt", "fp", "ignored"}  # matches, false positives and crowd hits


def test_coco_eval_table(tmp_path, generated):
    annotations, predictions = generated
    out = tmp_path / "coco.csv"
    argv = ["stats", "--annotations", str(annotations), "--predictions", str(predictions)]
    assert main([*argv, "--out", str(out), "--strategy", "coco-eval", "--quiet"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == [*REQUIRED, "image_index", "ignored_predictions"]
    counted = table.n_predictions - table.ignored_predictions
    matched = counted - table.mass_to_background
    assert (matched >= 0).all()
    assert (table.n_ground_truths - table.unmatched_gt_mass == matched).all()


# ----------------------------------------------------------------------------- command line


def _demo_argv(out: Path, *extra: str) -> list[str]:
    return [
        "stats",
        "--annotations",
        str(DEMO_ANNOTATIONS),
        "--predictions",
        str(DEMO_PREDICTIONS),
        "--out",
        str(out),
        *extra,
    ]


def test_cli_on_the_demo_writes_the_table(tmp_path, demo_dataset, capsys):
    out = tmp_path / "stats.csv"
    assert main(_demo_argv(out, "--compare-preset", "d")) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == [*COLUMNS, "image_index"]
    assert len(table) == len(images_with_predictions(demo_dataset)) == 7
    assert "7/7 images" in capsys.readouterr().err  # the progress bar
    expected = _stats_of(demo_dataset, Setting.default(), Setting.from_panel("d"))
    pd.testing.assert_frame_equal(table, expected, check_exact=False, rtol=0, atol=1e-9)


def test_module_runs_as_a_program(tmp_path):
    out = tmp_path / "stats.csv"
    command = [sys.executable, "-m", "uotviz", *_demo_argv(out, "--preset", "c", "--quiet")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(out)) == 7


def test_parquet_round_trip(tmp_path):
    csv, parquet = tmp_path / "stats.csv", tmp_path / "stats.parquet"
    assert main(_demo_argv(csv, "--compare-preset", "h", "--quiet")) == 0
    assert main(_demo_argv(parquet, "--compare-preset", "h", "--quiet")) == 0
    from_parquet = pd.read_parquet(parquet)
    assert list(from_parquet.columns) == [*COLUMNS, "image_index"]
    pd.testing.assert_frame_equal(
        from_parquet, pd.read_csv(csv), check_exact=False, rtol=0, atol=1e-9
    )


def _bad_input(tmp_path: Path, capsys, argv: list[str]) -> str:
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == [p for p in tmp_path.iterdir() if p.suffix != ".csv"]
    return err


def test_bad_files_give_a_message_and_exit_2_without_output(tmp_path, capsys):
    out = tmp_path / "stats.csv"
    not_json = tmp_path / "broken.json"
    not_json.write_text("{not json")
    empty_list = tmp_path / "empty.json"
    empty_list.write_text("[]")
    base = ["stats", "--out", str(out), "--quiet"]
    cases = [
        (["--annotations", str(not_json), "--predictions", str(DEMO_PREDICTIONS)], "broken.json"),
        (
            [
                "--annotations",
                str(tmp_path / "missing.json"),
                "--predictions",
                str(DEMO_PREDICTIONS),
            ],
            "missing.json",
        ),  # fmt: skip
        (["--annotations", str(DEMO_ANNOTATIONS), "--predictions", str(not_json)], "broken.json"),
        (["--annotations", str(DEMO_ANNOTATIONS), "--predictions", str(empty_list)], "empty.json"),
        (
            [
                "--annotations",
                str(DEMO_ANNOTATIONS),
                "--predictions",
                str(DEMO_PREDICTIONS),
                "--eps",
                "0.1",
            ],
            "--tau1",
        ),  # fmt: skip
        (
            [
                "--annotations",
                str(DEMO_ANNOTATIONS),
                "--predictions",
                str(DEMO_PREDICTIONS),
                "--shard",
                "3/3",
            ],
            "--shard",
        ),  # fmt: skip
    ]
    for arguments, named in cases:
        err = _bad_input(tmp_path, capsys, [*base, *arguments])
        assert named in err, err
        assert not out.exists()
    err = _bad_input(tmp_path, capsys, _demo_argv(tmp_path / "nowhere" / "s.csv", "--quiet"))
    assert "folder not found" in err


def test_a_failed_computation_leaves_the_old_output_untouched(tmp_path, monkeypatch):
    out = tmp_path / "stats.csv"
    out.write_text("old")

    def fail(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr("uotviz.__main__.compute_stats", fail)
    with pytest.raises(RuntimeError):
        main(_demo_argv(out, "--quiet"))
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["stats.csv"]


# ----------------------------------------------------------------------------- shards


def test_images_whose_predictions_are_all_left_out_keep_their_row(tmp_path):
    out = tmp_path / "stats.csv"
    assert main(_demo_argv(out, "--score-threshold", "1.5", "--quiet")) == 0
    table = pd.read_csv(out)
    assert len(table) == 7
    assert (table.n_predictions == 0).all()
    assert (table.unmatched_gt_mass == table.n_ground_truths).all()
    assert (table.mass_to_background == 0).all()


def test_shard_takes_every_nth_item():
    items = list(range(10))
    parts = [shard(items, k, 3) for k in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]


@pytest.mark.parametrize("extra", [("--compare-preset", "d"), ("--strategy", "coco-eval")])
def test_shards_concatenate_to_the_unsharded_output(tmp_path, generated, extra):
    annotations, predictions = generated
    base = ["stats", "--annotations", str(annotations), "--predictions", str(predictions)]
    whole = tmp_path / "all.csv"
    assert main([*base, "--out", str(whole), "--quiet", *extra]) == 0
    parts = []
    for k in range(3):
        path = tmp_path / f"part{k}.csv"
        assert main([*base, "--out", str(path), "--shard", f"{k}/3", "--quiet", *extra]) == 0
        parts.append(pd.read_csv(path))
    joined = pd.concat(parts).sort_values("image_index").reset_index(drop=True)
    expected = pd.read_csv(whole)
    assert len(parts[0]) + len(parts[1]) + len(parts[2]) == len(expected) > 10
    exact = [c for c in expected.columns if expected[c].dtype != np.float64]
    pd.testing.assert_frame_equal(joined[exact], expected[exact])
    pd.testing.assert_frame_equal(joined, expected, check_exact=False, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- device


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_gives_the_cpu_table(generated_dataset):
    for panel in ("d", "g", "f"):
        options = StatsOptions(setting=Setting.from_panel(panel), compare=Setting.default())
        cpu = compute_stats(generated_dataset, options)
        cuda = compute_stats(generated_dataset, dataclasses.replace(options, device="cuda"))
        pd.testing.assert_frame_equal(cuda, cpu, check_exact=False, rtol=0, atol=1e-6)


def test_without_stats_the_command_starts_the_app(monkeypatch):
    """``uotviz`` (and ``uotviz --annotations ...``) replaces itself with ``streamlit run`` on
    the package's own app script, passing the app's arguments after ``--``."""
    started = []

    def execv(path, command):
        started.append(command)
        raise SystemExit(0)

    monkeypatch.setattr(uotviz_main.os, "execv", execv)
    argvs = ([], ["--annotations", "a.json", "--images", "img"])
    for argv in argvs:
        with pytest.raises(SystemExit):
            main(argv)
    script = Path(uotviz_main.__file__).parent / "app.py"
    assert script.is_file()
    for command, argv in zip(started, argvs, strict=True):
        assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(script)]
        assert command[command.index("--") + 1 :] == argv
        options = command[5 : command.index("--")]
        assert dict(zip(options[::2], options[1::2], strict=True)) == {
            "--server.fileWatcherType": "none",
            "--browser.gatherUsageStats": "false",
        }


def test_a_checkout_serves_the_app_with_the_commands_streamlit_options():
    """``streamlit run app.py`` from a checkout reads ``.streamlit/config.toml``: the same
    options as the ``uotviz`` command's (:data:`uotviz.__main__.SERVER_OPTIONS`)."""
    config_path = Path(uotviz_main.__file__).resolve().parent.parent / ".streamlit/config.toml"
    config = tomllib.loads(config_path.read_text())
    flat = {
        f"{section}.{name}": str(value).lower() if isinstance(value, bool) else str(value)
        for section, values in config.items()
        for name, value in values.items()
    }
    assert flat == uotviz_main.SERVER_OPTIONS
