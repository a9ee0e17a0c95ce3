"""What the matching picture shows (uotviz.plots.picture), checked on the paper's Figure 1.

The plans are the paper's own numbers (De Plaen et al., CVPR 2023, Figure 1 (c)-(h)), written
out here, not computed by the package's solver: the encodings are tested against what the
published panels show.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.test_scene import make_problem
from uotviz import figure1
from uotviz.matching import MIN_MASS
from uotviz.plots.picture import BACKGROUND_GREY, GT_PALETTE, describe_picture, link_width
from uotviz.plots.scene import PRESENTATION, SceneStyle

WIDTH, HEIGHT = 480, 430
RED, BLUE = GT_PALETTE[0], GT_PALETTE[1]

# Figure 1's plans N·P̂ (rows: predictions 1-5; columns: A, B, ∅).
PANELS = {
    # (c) ε = 0, τ1 = ∞, τ2 = 0: each prediction to its cheapest column
    "c": [[1, 0, 0], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]],
    # (d) Hungarian: 4→A, 5→B, the rest to ∅
    "d": [[0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]],
    # (e) as the published panel draws it: A and B both from 4, ∅ on those that took nothing
    "e": [[0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 1, 0], [0, 0, 1]],
    "f": [[0.964, 0.001, 0.030], [0.000, 0.145, 0.848], [0.126, 0.113, 0.754],
          [0.989, 0.007, 0.000], [0.000, 0.788, 0.205]],
    "g": [[0.250, 0.012, 0.738], [0.000, 0.071, 0.929], [0.002, 0.062, 0.936],
          [0.748, 0.224, 0.028], [0.000, 0.631, 0.369]],
    "h": [[0.016, 0.002, 0.628], [0.000, 0.010, 0.630], [0.000, 0.008, 0.630],
          [0.981, 0.769, 0.490], [0.000, 0.205, 0.601]],
}  # fmt: skip

BADGES = {
    "c": ["1→A", "2→∅", "3→∅", "4→A", "5→B"],
    "d": ["1→∅", "2→∅", "3→∅", "4→A", "5→B"],
    "e": ["1→∅", "2→∅", "3→∅", "4→A,B", "5→∅"],
    "f": ["1→A", "2→∅", "3→∅", "4→A", "5→B"],
    "g": ["1→∅", "2→∅", "3→∅", "4→A", "5→B"],
    "h": ["1→∅", "2→∅", "3→∅", "4→A,B", "5→∅"],
}


@pytest.fixture(scope="module")
def problem():
    return make_problem(figure1.PREDICTIONS_XYXY, figure1.GROUND_TRUTHS_XYXY)


def picture(problem, panel: str, **options):
    return describe_picture(problem, np.array(PANELS[panel]), WIDTH, HEIGHT, **options)


@pytest.mark.parametrize("panel", list(PANELS))
def test_every_badge_says_where_its_mass_goes(problem, panel):
    shown = picture(problem, panel)
    assert [mark.badge for mark in shown.predictions] == BADGES[panel]
    for mark in shown.predictions:
        if mark.badge.endswith("∅"):
            assert mark.colour == BACKGROUND_GREY and mark.mostly_background
        else:  # the colour of the ground truth it sends most to
            main = "AB".index(mark.badge.split("→")[1][0])
            assert mark.colour == GT_PALETTE[main] and not mark.mostly_background


def _visual(shown) -> tuple:
    """What the eye reads of a panel: badges, colours, strengths to 0.1, and the lines of at
    least 0.05 with their widths."""
    marks = tuple((m.badge, m.colour, round(m.strength, 1)) for m in shown.predictions)
    links = tuple(
        (link.row, link.column, float(link_width(link.mass)))
        for link in shown.links
        if link.mass >= 0.05
    )
    return marks, links


def test_the_six_panels_are_told_apart(problem):
    visuals = {panel: _visual(picture(problem, panel)) for panel in PANELS}
    for a, b in itertools.combinations(PANELS, 2):
        assert visuals[a] != visuals[b], (a, b)
    # (c) and (d) differ in their badges alone, as do (d) and (e)
    assert BADGES["c"] != BADGES["d"] != BADGES["e"]


def test_strong_matches_are_the_most_visible(problem):
    """In (d), 4→A and 5→B are full-strength outlines in A's and B's colours, with badges
    written; the predictions sent to ∅ are grey and dashed."""
    shown = picture(problem, "d", units_per_px=WIDTH / 300, font_px=SceneStyle().font_px)
    marks = {mark.row: mark for mark in shown.predictions}
    assert (marks[3].colour, marks[3].strength) == (RED, 1.0)
    assert (marks[4].colour, marks[4].strength) == (BLUE, 1.0)
    assert all(mark.badge_at is not None for mark in shown.predictions)  # at a 300 px panel
    assert {link.row for link in shown.links} == {3, 4}


def test_a_background_disc_does_not_hide_the_lines(problem):
    """(e): prediction 4 sends to A and B; its lines start at its centre, far from its ∅
    disc, which sits inside its lower right corner."""
    shown = picture(problem, "h")
    four = next(mark for mark in shown.predictions if mark.row == 3)
    starts = {link.start for link in shown.links if link.row == 3}
    assert starts == {four.centre}
    x1, y1, x2, y2 = four.box
    disc_radius = PRESENTATION.disc_px * np.sqrt(four.to_background) / 2 + 3
    assert (x2 - four.centre[0]) > 2 * disc_radius and (y2 - four.centre[1]) > 2 * disc_radius


def test_small_masses_draw_no_line(problem):
    shown = picture(problem, "f")
    assert all(link.mass >= MIN_MASS for link in shown.links)
    assert (0, 1) not in {(link.row, link.column) for link in shown.links}  # 0.001


def _random_boxes(rng, count, size):
    xy = rng.uniform(0, size - 60, size=(count, 2))
    return np.concatenate([xy, xy + rng.uniform(20, 60, size=(count, 2))], axis=1)


@pytest.mark.parametrize("units_per_px", [0.5, 1.0, 2.0])
def test_labels_never_cover_each_other(units_per_px):
    """A crowded image (20 ground truths, 17 predictions, as on COCO): the labels that are
    written do not overlap at the picture's scale, and every ground truth keeps its letter."""
    rng = np.random.default_rng(7)
    gts, preds = _random_boxes(rng, 20, 400), _random_boxes(rng, 17, 400)
    problem = make_problem(preds, gts)
    plan = np.zeros((17, 21))
    plan[np.arange(17), rng.integers(0, 21, size=17)] = 1.0
    shown = describe_picture(problem, plan, 400, 400, units_per_px=units_per_px, font_px=14)
    assert all(mark.label_at is not None for mark in shown.ground_truths)
    rects = []
    for mark in shown.predictions:
        if mark.badge_at is not None:
            rects.append((*mark.badge_at, mark.badge))
    for mark in shown.ground_truths:
        rects.append((*mark.label_at, mark.label))
    sizes = [
        ((len(text) * 0.62 * 14 + 4) * units_per_px, 1.35 * 14 * units_per_px) for *_, text in rects
    ]
    boxes = [(x, y, x + w, y + h) for (x, y, _), (w, h) in zip(rects, sizes, strict=True)]
    badges, letters = boxes[: len(rects) - 20], boxes[len(rects) - 20 :]
    pairs = itertools.chain(itertools.combinations(badges, 2), itertools.product(badges, letters))
    for p, q in pairs:  # no badge covers another badge or a letter
        assert not (p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3])
    hidden = sum(mark.badge_at is None for mark in shown.predictions)
    assert ("badge(s) not written" in shown.note) == bool(hidden)


def test_the_highlighted_badge_is_always_written():
    rng = np.random.default_rng(3)
    boxes = _random_boxes(rng, 40, 200)  # far more labels than room
    problem = make_problem(boxes, boxes[:5])
    plan = np.zeros((40, 6))
    plan[:, 0] = 1.0
    plain = describe_picture(problem, plan, 200, 200, units_per_px=2.0)
    hidden = [mark.row for mark in plain.predictions if mark.badge_at is None]
    assert hidden
    shown = describe_picture(problem, plan, 200, 200, units_per_px=2.0, highlight_pred=hidden[0])
    assert next(m for m in shown.predictions if m.row == hidden[0]).badge_at is not None


def test_many_anchors_draw_only_those_carrying_mass():
    rng = np.random.default_rng(0)
    boxes = _random_boxes(rng, 500, 300)
    problem = make_problem(boxes, boxes[:3])
    plan = np.zeros((500, 4))
    plan[:, -1] = 1.0
    plan[[5, 17, 230], [0, 1, 2]] = 1.0
    plan[[5, 17, 230], -1] = 0.0
    shown = describe_picture(problem, plan, 300, 300, max_predictions=40)
    assert [mark.row for mark in shown.predictions] == [5, 17, 230]
    assert shown.note.startswith("497 of 500 predictions not drawn")


def test_badges_keep_their_places_while_the_plan_changes(problem):
    """The badges are laid out in the order of the scores, not of the plan: from one panel to
    another whose badges are as long, none moves (a slider's step does not shuffle labels)."""
    places = {
        panel: [mark.badge_at for mark in picture(problem, panel, units_per_px=1.5).predictions]
        for panel in ("c", "d", "f", "g")
    }
    assert all(len(badge) == 3 for panel in places for badge in BADGES[panel])
    assert places["c"] == places["d"] == places["f"] == places["g"]


def test_category_names_are_text_in_hover_labels():
    """Plotly reads a few HTML tags in hover labels, links among them: a category name is
    escaped, the app's own <b> and <br> are kept."""
    problem = make_problem(
        figure1.PREDICTIONS_XYXY,
        figure1.GROUND_TRUTHS_XYXY,
        pred_names=('<a href="http://127.0.0.1:9/">cup</a>',) * 5,
        gt_names=("<img src=x>", "plate"),
    )
    shown = picture(problem, "g")
    texts = [*shown.pred_hover, *shown.gt_hover]
    assert all("<a " not in text and "<img" not in text for text in texts)
    assert "&lt;a href=" in shown.pred_hover[0] and "&lt;img src=x&gt;" in shown.gt_hover[0]
    assert shown.pred_hover[0].startswith("<b>1</b>") and "<br>" in shown.pred_hover[0]
