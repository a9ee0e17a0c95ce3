"""The slider scales: ten positions per decade, exact ends, the paper's presets and the old 1-2-5
values on them, snapping any value to the nearest position, and the walks Play takes from one
preset to another."""

from __future__ import annotations

import doctest
import itertools
import math

import pytest

import uotviz.sliders as sliders_module
from uotviz.figure1 import PRESETS
from uotviz.sliders import (
    DEFAULT_PLAY,
    EPS_VALUES,
    SCALES,
    TAU_VALUES,
    log_scale,
    matching_preset,
    play_label,
    point_at,
    positions,
    preset_by_name,
    preset_values,
    slider_walk,
    snap,
    walk,
    walk_segments,
)

INF = math.inf

# Written out by hand, not generated: what the scales must hold.
EPS_EXPECTED = (
    "0 0.001 0.0012 0.0015 0.002 0.0025 0.003 0.004 0.005 0.006 0.008 "
    "0.01 0.012 0.015 0.02 0.025 0.03 0.04 0.05 0.06 0.08 "
    "0.1 0.12 0.15 0.2 0.25 0.3 0.4 0.5 0.6 0.8 1"
)
TAU_EXPECTED = (
    "0 0.01 0.012 0.015 0.02 0.025 0.03 0.04 0.05 0.06 0.08 "
    "0.1 0.12 0.15 0.2 0.25 0.3 0.4 0.5 0.6 0.8 "
    "1 1.2 1.5 2 2.5 3 4 5 6 8 "
    "10 12 15 20 25 30 40 50 60 80 100 inf"
)
# The scales before they had ten positions per decade: every value must stay on them exactly.
OLD_EPS = (0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1)
OLD_TAU = (0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, INF)


def _decades(scale: tuple[float, ...]) -> dict[int, int]:
    """Positive finite positions per decade [10**k, 10**(k+1)), keyed by k."""
    counts: dict[int, int] = {}
    for value in scale:
        if 0 < value < INF:
            decade = math.floor(math.log10(value) + 1e-9)
            counts[decade] = counts.get(decade, 0) + 1
    return counts


def test_the_scales_are_the_written_out_values() -> None:
    assert EPS_VALUES == tuple(float(text) for text in EPS_EXPECTED.split())
    assert TAU_VALUES == tuple(float(text) for text in TAU_EXPECTED.split())


@pytest.mark.parametrize("scale", [EPS_VALUES, TAU_VALUES], ids=["eps", "tau"])
def test_every_decade_spanned_has_at_least_8_positions(scale) -> None:
    counts = _decades(scale)
    low, high = min(counts), max(counts)
    full = range(low, high)  # the top decade holds only its first value (1 or 100)
    assert list(counts)[:-1] == list(full)
    assert all(counts[decade] >= 8 for decade in full), counts
    assert all(a < b for a, b in zip(scale, scale[1:], strict=False))  # strictly increasing


def test_the_ends_are_exact() -> None:
    assert EPS_VALUES[0] == 0.0 and EPS_VALUES[1] == 0.001 and EPS_VALUES[-1] == 1.0
    assert TAU_VALUES[0] == 0.0 and TAU_VALUES[1] == 0.01
    assert TAU_VALUES[-2] == 100.0 and TAU_VALUES[-1] == INF
    assert INF not in EPS_VALUES


@pytest.mark.parametrize("preset", PRESETS, ids=lambda preset: preset.panel)
def test_every_preset_lies_exactly_on_the_scales(preset) -> None:
    assert preset.eps in EPS_VALUES
    assert preset.tau1 in TAU_VALUES and preset.tau2 in TAU_VALUES
    assert matching_preset(preset.eps, preset.tau1, preset.tau2) == preset.name


def test_the_paper_values_are_the_floats_of_their_decimal_text() -> None:
    assert 0.05 in EPS_VALUES and 0.05 in TAU_VALUES
    assert 0.01 in TAU_VALUES and 100.0 in TAU_VALUES
    # why the scales parse decimal text: 3 * 10**-1 is 0.30000000000000004, not 0.3
    assert 3 * 10**-1 != 0.3 and 0.3 in EPS_VALUES and 3 * 10**-1 not in EPS_VALUES
    assert 0.15 in EPS_VALUES and 0.6 in TAU_VALUES


def test_every_old_1_2_5_value_is_on_the_new_scales() -> None:
    assert set(OLD_EPS) <= set(EPS_VALUES)
    assert set(OLD_TAU) <= set(TAU_VALUES)


def test_log_scale_takes_the_mantissas() -> None:
    assert log_scale(-2, 1, (1, 2, 5)) == (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    assert log_scale(0, 10, (1, 3)) == (1.0, 3.0, 10.0)
    assert log_scale(-1, 0.5) == (0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
    for bad in ((), (2, 5), (1, 5, 2), (1, 10)):
        with pytest.raises(ValueError, match="mantissas"):
            log_scale(0, 10, bad)


SNAPS = [
    (0.03, EPS_VALUES, 0.03),  # a position
    (0.031, EPS_VALUES, 0.03),
    (0.035, EPS_VALUES, 0.04),  # log distance: 0.035 / 0.03 = 1.167 > 0.04 / 0.035 = 1.143
    (0.0034, EPS_VALUES, 0.003),  # ... 1.133 < 1.176
    (0.7, EPS_VALUES, 0.8),  # 0.7 / 0.6 = 1.167 > 0.8 / 0.7 = 1.143 (0.7 is nearer 0.6 linearly)
    (0.55, EPS_VALUES, 0.6),  # 1.1 > 1.091
    (0.0005, EPS_VALUES, 0.001),
    (1e-9, EPS_VALUES, 0.001),  # below the smallest positive position: it, not 0
    (5e-324, EPS_VALUES, 0.001),
    (1.5, EPS_VALUES, 1.0),
    (5000.0, EPS_VALUES, 1.0),
    (0.0, EPS_VALUES, 0.0),
    (-0.0, EPS_VALUES, 0.0),
    (0.0, TAU_VALUES, 0.0),
    (0.004, TAU_VALUES, 0.01),
    (0.09, TAU_VALUES, 0.1),  # 0.09 / 0.08 = 1.125 > 0.1 / 0.09 = 1.111
    (7.0, TAU_VALUES, 8.0),
    (110.0, TAU_VALUES, 100.0),
    (1e300, TAU_VALUES, 100.0),  # a finite number, however large, is not inf
    (INF, TAU_VALUES, INF),
]


@pytest.mark.parametrize(("value", "scale", "expected"), SNAPS)
def test_snap_goes_to_the_nearest_position_in_log_distance(value, scale, expected) -> None:
    snapped = snap(value, scale)
    assert snapped == expected
    assert snapped in scale and math.copysign(1.0, snapped) == 1.0  # +0.0, never -0.0


def test_snap_keeps_every_position() -> None:
    for scale in (EPS_VALUES, TAU_VALUES):
        assert [snap(value, scale) for value in scale] == list(scale)


@pytest.mark.parametrize(
    ("value", "scale"), [(-1.0, EPS_VALUES), (-INF, TAU_VALUES), (math.nan, TAU_VALUES)]
)
def test_snap_rejects_negatives_and_nan(value, scale) -> None:
    with pytest.raises(ValueError, match="≥ 0"):
        snap(value, scale)


def test_snap_rejects_inf_where_the_scale_has_no_inf() -> None:
    with pytest.raises(ValueError, match="not on this scale"):
        snap(INF, EPS_VALUES)


def test_the_module_examples_hold() -> None:
    result = doctest.testmod(sliders_module)
    assert result.attempted >= 5 and result.failed == 0


PANEL = {preset.panel: preset for preset in PRESETS}


def _changes(a: tuple, b: tuple) -> list[tuple[str, int]]:
    """The sliders whose positions differ between two points, each with the difference."""
    pa, pb = positions(a), positions(b)
    return [(name, pb[name] - pa[name]) for name in SCALES if pa[name] != pb[name]]


def test_the_walk_from_c_to_h_goes_through_every_position_one_parameter_at_a_time() -> None:
    points = walk(preset_values(PANEL["c"]), preset_values(PANEL["h"]))
    # Written out by hand: ε 0 -> 0.05 at τ1 = ∞, τ2 = 0, then τ2 0 -> 100 at ε = 0.05, τ1 = ∞,
    # then τ1 ∞ -> 0.01 at ε = 0.05, τ2 = 100.
    assert points[0] == (0.0, INF, 0.0) and points[-1] == (0.05, 0.01, 100.0)
    eps_part = [(eps, INF, 0.0) for eps in EPS_VALUES[: EPS_VALUES.index(0.05) + 1]]
    tau2_part = [(0.05, INF, tau2) for tau2 in TAU_VALUES[1 : TAU_VALUES.index(100.0) + 1]]
    tau1_part = [(0.05, tau1, 100.0) for tau1 in TAU_VALUES[-2:0:-1]]
    assert list(points) == eps_part + tau2_part + tau1_part
    assert len(points) == 19 + 41 + 41
    assert (0.05, INF, 0.0) in points and (0.05, INF, 100.0) in points
    assert [_changes(a, b) for a, b in itertools.pairwise(points)] == (
        [[("eps", 1)]] * 18 + [[("tau2", 1)]] * 41 + [[("tau1", -1)]] * 41
    )


@pytest.mark.parametrize(
    ("start", "end"),
    list(itertools.permutations(PRESETS, 2)),
    ids=lambda preset: preset.panel,
)
def test_every_walk_between_two_presets(start, end) -> None:
    a, b = preset_values(start), preset_values(end)
    points = walk(a, b)
    assert points[0] == a and points[-1] == b  # exactly the presets' values
    assert matching_preset(*points[0]) == start.name and matching_preset(*points[-1]) == end.name
    for point in points:  # every point a position of the sliders
        assert point[0] in EPS_VALUES and point[1] in TAU_VALUES and point[2] in TAU_VALUES
        assert point_at(positions(point)) == point
    steps = [_changes(p, q) for p, q in itertools.pairwise(points)]
    assert all(len(step) == 1 and abs(step[0][1]) == 1 for step in steps)  # one position of one
    moved = [name for name, _ in itertools.chain.from_iterable(steps)]
    runs = [name for name, _ in itertools.groupby(moved)]
    assert len(runs) == len(set(runs))  # each parameter moves once, all the way
    assert runs == [name for name, _, _ in walk_segments(a, b)]
    expected = sum(abs(positions(b)[n] - positions(a)[n]) for n in SCALES)
    assert len(points) == 1 + expected  # no detour
    assert walk(b, a) == points[::-1]  # the way back is the same walk


def test_walks_grow_before_they_shrink() -> None:
    # ε grows first and shrinks last: the τ's move at the larger ε
    assert [name for name, _, _ in walk_segments((0.0, INF, 0.0), (0.05, 0.01, 100.0))] == [
        "eps",
        "tau2",
        "tau1",
    ]
    assert [name for name, _, _ in walk_segments((0.05, 0.01, 100.0), (0.0, INF, 0.0))] == [
        "tau1",
        "tau2",
        "eps",
    ]
    # hardening one marginal and freeing the other goes through the balanced corner
    assert preset_values(PANEL["d"]) in walk(preset_values(PANEL["c"]), preset_values(PANEL["e"]))
    assert preset_values(PANEL["g"]) in walk(preset_values(PANEL["d"]), preset_values(PANEL["f"]))
    assert (0.0, 0.0, 0.0) not in walk(preset_values(PANEL["c"]), preset_values(PANEL["e"]))


def test_a_walk_to_the_same_point_is_that_point_alone() -> None:
    d = preset_values(PANEL["d"])
    assert walk(d, d) == (d,) and walk_segments(d, d) == ()
    assert "nothing to play" in play_label(PANEL["d"], PANEL["d"])


def test_walks_refuse_values_off_the_scales() -> None:
    with pytest.raises(ValueError, match="not a position of the ε slider"):
        walk((0.07, INF, INF), (0.05, INF, INF))
    with pytest.raises(ValueError, match="not a position of the τ2 slider"):
        positions((0.05, INF, 1000.0))


def test_play_labels_say_what_moves() -> None:
    assert DEFAULT_PLAY == (PANEL["c"].name, PANEL["d"].name)
    assert (
        play_label(*(preset_by_name(name) for name in DEFAULT_PLAY))
        == "Closest ground truth (c) → Hungarian (d): τ2 from 0 to ∞"
    )
    assert play_label(PANEL["c"], PANEL["h"]) == (
        "Closest ground truth (c) → Unbalanced OT (h): ε from 0 to 0.05, then τ2 from 0 to 100, "
        "then τ1 from ∞ to 0.01"
    )
    assert play_label(PANEL["g"], PANEL["d"]) == "OT (g) → Hungarian (d): ε from 0.05 to 0"


@pytest.mark.parametrize("name", list(SCALES))
def test_a_drag_walks_every_position_of_its_slider(name) -> None:
    at = (0.05, 100.0, 0.01)
    points = slider_walk(at, name)
    index = list(SCALES).index(name)
    assert [point[index] for point in points] == list(SCALES[name])
    assert all(
        point[:index] + point[index + 1 :] == at[:index] + at[index + 1 :] for point in points
    )
    with pytest.raises(ValueError, match="unknown slider"):
        slider_walk(at, "ε")
