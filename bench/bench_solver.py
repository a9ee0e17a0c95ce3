"""Time to a stated accuracy: uotviz's solver against POT on the same problems, in one run.

For every problem and every solver, the loosest stopping setting whose plan is within
``--accuracy`` (default 1e-3, units of one prediction) of a tightly converged reference is found,
and that setting is timed (median of repeats, after a warm-up). The table gives each time and the
ratio uotviz / POT, where POT is the faster of its ``sinkhorn`` and ``sinkhorn_stabilized``
unbalanced solvers with ``reg_type="entropy"`` (the paper's problem). A solver that never reaches
the accuracy (or returns NaN) is marked "fail". The geometric mean of the ratios is taken over the
problems where POT succeeds. Machines are noisy: read ratios, not absolute times.

Problems: DETR-like query sets (N = 100, 300 predictions; M = 20, 50 ground truths; cost 1 - GIoU,
c_bg = 0.8), SSD300 / SSD512 default boxes (8,732 / 24,564 anchors, M = 20, cost 1 - IoU,
c_bg = 0.5), and a padded batch of 16 DETR-like images (POT solves them one by one); balanced
(tau1 = tau2 = inf) and unbalanced (tau1 = tau2 = 1); eps = 0.05, 0.01, 0.001.

    python bench/bench_solver.py            # everything on the CPU (a few minutes)
    python bench/bench_solver.py --quick    # DETR sizes only
    python bench/bench_solver.py --device cuda
    python bench/bench_solver.py --sweep    # only the 25-value parameter sweeps (seconds)
    python bench/bench_solver.py --app-threads [--busy 1]  # the app's solves: threads compared

``--sweep`` times instead a slider's walk (its 43 or 33 positions, the others fixed) solved by
:func:`uotviz.sweep.plans_along` both ways: one batched solve of all the points that need the
iterative solver, and a chain of solves one after the other, each warm-started from the previous
one's potentials; on the Figure 1 cost, the demo's coins image (27 predictions x 24 ground
truths) and the coins with 300 simulated DETR queries. It prints the ratio, the way the app takes
(``auto``), the largest difference between the two ways' plans, and the slowest walk of each.
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import ot
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from uotviz import figure1  # noqa: E402
from uotviz.anchors import ssd300_anchors, ssd512_anchors  # noqa: E402
from uotviz.costs import anchor_cost, matching_cost, pad_ground_truths  # noqa: E402
from uotviz.sliders import slider_walk  # noqa: E402
from uotviz.sweep import plans_along, solves_as_chain, sweep_plans  # noqa: E402
from uotviz.transport import solve  # noqa: E402

INF = math.inf
OURS_TOLS = [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8]
POT_THRESHOLDS = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9]
POT_METHODS = ("sinkhorn", "sinkhorn_stabilized")


@dataclass
class Problem:
    """A benchmark problem: cost (B, N, M+1) float64, mask (B, M) or None."""

    name: str
    cost: torch.Tensor
    mask: torch.Tensor | None


def random_boxes(rng: np.random.Generator, count: int, width: float, height: float) -> np.ndarray:
    """Random xyxy boxes inside a width x height image, sides 5-40% of the image."""
    w = rng.uniform(0.05, 0.4, count) * width
    h = rng.uniform(0.05, 0.4, count) * height
    x = rng.uniform(0, width - w)
    y = rng.uniform(0, height - h)
    return np.stack([x, y, x + w, y + h], axis=1)


def detr_like(rng: np.random.Generator, n: int, m: int, size=(640.0, 480.0)):
    """Ground truths and a query set: 3 jittered copies of each ground truth, the rest random."""
    gts = random_boxes(rng, m, *size)
    copies = np.repeat(gts, 3, axis=0)[: n // 2]
    scale = np.repeat(copies[:, 2:] - copies[:, :2], 2, axis=1) * 0.15
    jittered = copies + rng.normal(0, 1, copies.shape) * scale
    jittered[:, 2:] = np.maximum(jittered[:, 2:], jittered[:, :2] + 1)
    preds = np.concatenate([jittered, random_boxes(rng, n - len(jittered), *size)])
    return torch.tensor(preds), torch.tensor(gts)


def make_problems(quick: bool) -> list[Problem]:
    rng = np.random.default_rng(0)
    problems = []
    for n, m in [(100, 20), (100, 50), (300, 20), (300, 50)]:
        preds, gts = detr_like(rng, n, m)
        cost = matching_cost(preds, gts, background_cost=0.8)[None]
        problems.append(Problem(f"DETR N={n} M={m}", cost, None))
    if not quick:
        for name, anchors, side in [
            ("SSD300", ssd300_anchors(dtype=torch.float64), 300.0),
            ("SSD512", ssd512_anchors(dtype=torch.float64), 512.0),
        ]:
            gts = torch.tensor(random_boxes(rng, 20, side, side))
            cost = anchor_cost(anchors, gts, background_cost=0.5)[None]
            problems.append(Problem(f"{name} N={len(anchors)} M=20", cost, None))
        gts_list, preds_list = [], []
        for _ in range(16):
            m = int(rng.integers(5, 21))
            preds, gts = detr_like(rng, 100, m)
            preds_list.append(preds)
            gts_list.append(gts)
        gts_padded, _, mask = pad_ground_truths(gts_list)
        cost = matching_cost(torch.stack(preds_list), gts_padded, background_cost=0.8, gt_mask=mask)
        problems.append(Problem("batch 16 x DETR N=100 M<=20", cost, mask))
    return problems


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ours(problem: Problem, eps, tau1, tau2, tol, device):
    cost = problem.cost.to(device)
    mask = None if problem.mask is None else problem.mask.to(device)
    result = solve(cost, eps, tau1, tau2, gt_mask=mask, tol=tol, max_iter=500)
    return result.plan.cpu().numpy()


def pot(problem: Problem, eps, tau1, tau2, threshold, method, device):
    """POT on each image of the batch, in units of one prediction (padding removed)."""
    plans = []
    for b in range(problem.cost.shape[0]):
        cost = problem.cost[b]
        if problem.mask is not None:
            keep = torch.cat([problem.mask[b], torch.tensor([True])])
            cost = cost[:, keep]
        n, j = cost.shape
        a = torch.full((n,), 1.0 / n, dtype=torch.float64)
        bmass = torch.cat([torch.full((j - 1,), 1.0 / n), torch.tensor([(n - j + 1) / n])])
        if device == "cpu":
            args = (a.numpy(), bmass.double().numpy(), cost.numpy())
        else:
            args = (a.to(device), bmass.double().to(device), cost.to(device))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = ot.unbalanced.sinkhorn_unbalanced(
                *args,
                eps,
                (tau1, tau2),
                method=method,
                reg_type="entropy",
                numItermax=20_000,
                stopThr=threshold,
            )
        plan = np.asarray(plan.cpu() if torch.is_tensor(plan) else plan) * n
        if problem.mask is not None:
            full = np.zeros((n, problem.cost.shape[2]))
            full[:, keep.numpy()] = plan
            plan = full
        plans.append(plan)
    return np.stack(plans)


def time_to_accuracy(run, settings, reference, accuracy, repeats, budget_s=20.0):
    """Loosest setting whose plan is within accuracy; returns (seconds, setting) or None."""
    spent = 0.0
    for setting in settings:
        start = time.perf_counter()
        plan = run(setting)
        spent += time.perf_counter() - start
        error = np.abs(plan - reference).max()
        if np.isfinite(plan).all() and error <= accuracy:
            run(setting)  # warm
            return median_time(lambda s=setting: run(s), repeats), setting
        if spent > budget_s:
            return None
    return None


def sweep_costs(device):
    """The Figure 1 cost, the demo's coins image cost (default cost settings), and the coins with
    300 simulated DETR queries."""
    from uotviz.data.simulate import simulate_detr
    from uotviz.matching import CostSettings, build_matching_problem
    from uotviz.sources import DEMO, demo_config, load_configured

    fig1 = matching_cost(
        torch.tensor(figure1.PREDICTIONS_XYXY, dtype=torch.float64),
        torch.tensor(figure1.GROUND_TRUTHS_XYXY, dtype=torch.float64),
        background_cost=figure1.BACKGROUND_COST,
    )
    scene = load_configured(DEMO, demo_config()).dataset.scene(7)
    coins = build_matching_problem(scene, CostSettings()).cost
    queries = simulate_detr(
        scene.ground_truths, (scene.width, scene.height), num_queries=300, seed=0
    )
    detr = build_matching_problem(scene, CostSettings(), queries).cost
    return [
        ("Figure 1", fig1.to(device)),
        ("coins", coins.to(device)),
        ("coins 300q", detr.to(device)),
    ]


def sweep_benchmark(device: str, repeats: int) -> None:
    """A slider's walk (every position of its scale, the others fixed) solved as one batch and
    as a chain of warm-started solves (:func:`uotviz.sweep.plans_along`'s two ways), in the same
    run; ``auto`` names the way the app takes."""
    header = (
        f"{'cost':10s} {'N x M+1':>8s} {'slider':>6s} {'fixed (eps, tau1, tau2)':>24s} "
        f"{'batch':>10s} {'chain':>10s} {'ratio':>6s} {'auto':>6s} {'max diff':>9s}"
    )
    print(header)
    print("-" * len(header))
    worst = {"batch": 0.0, "chain": 0.0, "auto": 0.0}
    for name, cost in sweep_costs(device):
        for slider, fixed in [
            ("eps", (0.05, INF, INF)),
            ("tau2", (0.05, INF, INF)),
            ("tau1", (0.0, 1.0, INF)),
            ("tau2", (0.0, 1.0, 1.0)),
            ("tau1", (0.01, 1.0, INF)),
            ("tau1", (1.0, 1.0, INF)),
            ("tau2", (1.0, 1.0, 1.0)),
        ]:
            points = slider_walk(fixed, slider)
            seconds = {}
            plans = {}
            for how in ("batch", "chain"):
                run = functools.partial(plans_along, cost, points, how=how)
                plans[how] = run()
                seconds[how] = median_time(run, repeats if cost.numel() < 2000 else 3)
            auto = "chain" if solves_as_chain(cost, points) else "batch"
            for how in ("batch", "chain"):
                worst[how] = max(worst[how], seconds[how])
            worst["auto"] = max(worst["auto"], seconds[auto])
            diff = max(
                float((a - b).abs().max())
                for a, b in zip(plans["batch"], plans["chain"], strict=True)
            )
            fixed_text = ", ".join("inf" if v == INF else f"{v:g}" for v in fixed)
            print(
                f"{name:10s} {f'{cost.shape[0]}x{cost.shape[1]}':>8s} {slider:>6s} "
                f"{f'({fixed_text})':>24s} {seconds['batch'] * 1e3:8.1f}ms "
                f"{seconds['chain'] * 1e3:8.1f}ms {seconds['batch'] / seconds['chain']:6.2f} "
                f"{auto:>6s} {diff:9.1e}",
                flush=True,
            )
    print(
        "\nslowest walk: batch {batch:.0f} ms, chain {chain:.0f} ms, the app's choice "
        "{auto:.0f} ms".format(**{k: v * 1e3 for k, v in worst.items()})
    )


def _spin() -> None:
    while True:
        pass


def app_threads_benchmark(repeats: int, busy: int) -> None:
    """What a slider step and a drag solve in the app, with torch's default CPU threads and with
    the app's (``uotviz.app.SOLVER_THREADS``), alternately in one run: one solve at the default
    position, and each slider's sweep (every position, one batched solve). ``busy`` processes
    keep cores busy meanwhile, as the browsers and the other sessions of a server do."""
    import multiprocessing

    from uotviz.app import SOLVER_THREADS
    from uotviz.sliders import PARAMETER_LABELS, SCALES

    default_threads = torch.get_num_threads()
    fixed = (0.05, INF, INF)
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(busy)]
    for spinner in spinners:
        spinner.start()
    print(
        f"torch's default: {default_threads} threads; the app: {SOLVER_THREADS}; "
        f"{busy} busy processes beside"
    )
    print(f"{'cost':10s} {'N x M+1':>8s} {'what':>10s} {'default':>10s} {'app':>10s} {'ratio':>6s}")
    for name, cost in sweep_costs("cpu"):
        jobs = {"one step": functools.partial(solve, cost, *fixed)}
        for key, scale in SCALES.items():
            label = PARAMETER_LABELS[key]
            jobs[f"{label} drag"] = functools.partial(sweep_plans, cost, label, scale, fixed)
        for what, job in jobs.items():
            times = {default_threads: [], SOLVER_THREADS: []}
            for _ in range(repeats):
                for threads in times:
                    torch.set_num_threads(threads)
                    times[threads].append(median_time(job, 1))
            torch.set_num_threads(default_threads)
            ours_s = statistics.median(times[SOLVER_THREADS])
            theirs_s = statistics.median(times[default_threads])
            print(
                f"{name:10s} {f'{cost.shape[0]}x{cost.shape[1]}':>8s} {what:>10s} "
                f"{theirs_s * 1e3:8.2f}ms {ours_s * 1e3:8.2f}ms {ours_s / theirs_s:6.3f}",
                flush=True,
            )
    for spinner in spinners:
        spinner.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="DETR sizes only")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--accuracy", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)"
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="only slider walks: one batched solve against a chain of warm-started ones",
    )
    parser.add_argument(
        "--app-threads",
        action="store_true",
        help="only the app's solves: torch's default threads against the app's, alternately",
    )
    parser.add_argument(
        "--busy", type=int, default=0, help="with --app-threads: processes keeping cores busy"
    )
    args = parser.parse_args()
    if args.app_threads:
        app_threads_benchmark(max(args.repeats, 7), args.busy)
        return
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, POT {ot.__version__}, device {args.device}, "
        f"{torch.get_num_threads()} threads, accuracy {args.accuracy:g} per plan entry"
    )
    try:
        import uotod  # noqa: F401

        print("uotod is installed but not benchmarked here (see README)")
    except ImportError:
        print("uotod: not installed (it requires torchvision), not compared")
    if args.sweep:
        sweep_benchmark(args.device, max(args.repeats, 15))
        return

    header = f"{'problem':30s} {'tau':>7s} {'eps':>6s} {'uotviz':>10s} {'POT':>10s} {'ratio':>7s}"
    print(header)
    print("-" * len(header))
    ratios, pot_failures = [], 0
    for problem in make_problems(args.quick):
        for tau1, tau2, tau_name in [(INF, INF, "bal"), (1.0, 1.0, "1,1")]:
            for eps in (0.05, 0.01, 0.001):
                reference = ours(problem, eps, tau1, tau2, 1e-11, "cpu")
                ours(problem, eps, tau1, tau2, 1e-3, args.device)  # warm-up
                mine = time_to_accuracy(
                    functools.partial(ours, problem, eps, tau1, tau2, device=args.device),
                    OURS_TOLS,
                    reference,
                    args.accuracy,
                    args.repeats,
                )
                best = None
                for method in POT_METHODS:
                    found = time_to_accuracy(
                        functools.partial(
                            pot, problem, eps, tau1, tau2, method=method, device=args.device
                        ),
                        POT_THRESHOLDS,
                        reference,
                        args.accuracy,
                        max(1, args.repeats // 2),
                    )
                    if found and (best is None or found[0] < best[0]):
                        best = (found[0], method)
                mine_text = "fail" if mine is None else f"{mine[0] * 1e3:8.2f}ms"
                pot_text = "fail" if best is None else f"{best[0] * 1e3:8.2f}ms"
                if best is None:
                    pot_failures += 1
                    ratio_text = "-"
                elif mine is None:
                    ratio_text = "inf"
                    ratios.append(INF)
                else:
                    ratio = mine[0] / best[0]
                    ratios.append(ratio)
                    ratio_text = f"{ratio:6.3f}"
                print(
                    f"{problem.name:30s} {tau_name:>7s} {eps:6g} {mine_text:>10s} "
                    f"{pot_text:>10s} {ratio_text:>7s}",
                    flush=True,
                )
    finite = [r for r in ratios if math.isfinite(r)]
    if finite:
        geo = math.exp(sum(math.log(r) for r in finite) / len(finite))
        print(
            f"\ngeometric-mean time ratio uotviz/POT over {len(finite)} problems where both "
            f"converge: {geo:.3f}"
        )
    print(
        f"problems where POT did not reach the accuracy: {pot_failures}; "
        f"where uotviz did not: {sum(1 for r in ratios if not math.isfinite(r))}"
    )


if __name__ == "__main__":
    main()
