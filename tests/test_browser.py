"""The app in a real browser: Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.streamlit_harness import CHROMIUM_ARGS, restarted, streamlit_servers

pytestmark = pytest.mark.browser

SCREENSHOT_DIR = Path("/tmp/uotviz-screens")
TIMEOUT_MS = 60_000


@contextmanager
def _app_page(
    chromium_executable: str,
    url: str,
    init_script: str | None = None,
    viewport: tuple[int, int] = (1400, 900),
):
    """A Chromium page (1400 × 900 by default) showing the app at ``url``, idle; closed on
    exit."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.set_default_timeout(TIMEOUT_MS)
            if init_script is not None:
                page.add_init_script(init_script)
            page.goto(url)
            _wait_idle(page)
            yield page
        finally:
            browser.close()


def _wait_idle(page: Page) -> None:
    page.wait_for_selector(
        "[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS
    )


def _charts(page: Page):
    """The Plotly graph divs of the page."""
    return page.locator(GRAPH_DIVS)


def _preset_selector(page: Page):
    """The preset selector (a native select in the sliders' element)."""
    return page.get_by_role("combobox", name="Preset (panel of Figure 1)", exact=True)


def _plan_chart(page: Page):
    return _charts(page).filter(has=page.locator(".gtitle", has_text="Plan N·P̂"))


def _catch_up(page: Page) -> None:
    """Bring the pointer onto every live chart, then away: a slider step's figure is painted
    over the last one drawn, and plotly.js draws it (its layout, its heatmap's cells) when the
    pointer comes onto the chart (see ``uotviz/ui/js/chart_host.js``)."""
    for chart in page.locator(".uotviz-chart").all():
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        if box is not None:
            page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)


def _expect_chart_title(page: Page, text: str) -> None:
    """Wait until a chart whose title contains ``text`` is shown.

    During a rerender the previous copy of a chart may linger for a moment, so the title is
    looked up by its new text rather than by the chart's position.
    """
    expect(_charts(page).locator(".gtitle", has_text=text).first).to_be_visible()


def _click_cell(page: Page, row: int, column: int) -> None:
    """Click the centre of a cell of the plan heatmap (row and column indices as drawn)."""
    _wait_idle(page)
    chart = _plan_chart(page).first
    chart.scroll_into_view_if_needed()
    x, y = chart.evaluate(
        """(gd, [row, column]) => {
            const box = gd.getBoundingClientRect();
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            return [box.left + xa._offset + xa.c2p(column), box.top + ya._offset + ya.c2p(row)];
        }""",
        [row, column],
    )
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def _hover_scene_gt(page: Page, label: str) -> tuple[float, float]:
    """Move the pointer to the middle of the top edge of the ground truth lettered ``label`` on
    the scene (its edges are hoverable); returns where that is."""
    _wait_idle(page)
    scene = _charts(page).first
    scene.scroll_into_view_if_needed()
    x, y = scene.evaluate(
        """(gd, label) => {
            const column = label.charCodeAt(0) - 'A'.charCodeAt(0);
            const trace = gd._fullData.find((t) => t.name === 'ground-truth edges');
            const mine = trace.customdata.flatMap((ids, i) => (ids[1] === column ? [i] : []));
            const top = mine.filter((i) => trace.y[i] === trace.y[mine[0]]);
            const i = top[Math.floor(top.length / 2)];
            const box = gd.getBoundingClientRect();
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            return [box.left + xa._offset + xa.l2p(trace.x[i]),
                    box.top + ya._offset + ya.l2p(trace.y[i])];
        }""",
        label,
    )
    page.mouse.move(x, y)
    return x, y


def _expect_highlight(page: Page, prediction: str, ground_truth: str) -> None:
    """The highlight popover's selectboxes show ``prediction`` and ``ground_truth`` (they are
    drawn only while it is open: it is opened, and closed again)."""
    page.get_by_role("button", name="Highlight", exact=True).click()
    expect(page.get_by_role("combobox", name="Highlight prediction")).to_have_value(prediction)
    expect(page.get_by_role("combobox", name="Highlight ground truth")).to_have_value(ground_truth)
    page.keyboard.press("Escape")
    expect(page.get_by_role("combobox", name="Highlight prediction")).to_have_count(0)
    _wait_idle(page)


def _screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    # Streamlit scrolls inside its main block, not the page: grow the window to show it all.
    viewport = page.viewport_size
    height = page.evaluate(
        "() => document.querySelector('[data-testid=stMain]')?.scrollHeight ?? 0"
    )
    page.set_viewport_size({"width": viewport["width"], "height": min(max(height, 900), 4000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)
    try:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOT_DIR / name)
    except OSError:
        pass  # the copy is for people to look at; the test does not depend on it
    return path


def test_slider_preset_and_next_image(
    chromium_executable: str, app_server: str, tmp_path: Path
) -> None:
    with _app_page(chromium_executable, app_server) as page:
        expect(_charts(page)).to_have_count(3)
        _expect_chart_title(page, "figure1_coffee.jpg")
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = ∞")
        picture = _charts(page).first.locator(".imagelayer image")
        expect(picture).to_have_count(1)
        # the picture is served by the media endpoint, not embedded in every figure sent
        href = picture.get_attribute("href") or ""
        assert href.startswith("/media/") and href.endswith(".jpg"), href
        served = page.request.get(app_server + href)
        assert served.status == 200 and served.headers["content-type"] == "image/jpeg"
        assert served.body()[:2] == b"\xff\xd8"  # a JPEG
        _screenshot(page, tmp_path, "demo-figure1.png")

        preset = _preset_selector(page)
        expect(preset).to_have_value("OT (g)")

        eps = page.locator('input[type=range][aria-label="ε"]')
        before = int(eps.input_value())
        eps.focus()
        eps.press("ArrowRight")
        expect(eps).to_have_attribute("aria-valuetext", "0.06")
        assert int(eps.input_value()) == before + 1
        expect(preset).to_have_value("Custom")
        _expect_chart_title(page, "ε = 0.06, τ1 = ∞, τ2 = ∞")
        _wait_idle(page)
        _screenshot(page, tmp_path, "eps-arrow-right.png")

        preset.select_option("Hungarian (d)")
        expect(preset).to_have_value("Hungarian (d)")
        expect(eps).to_have_attribute("aria-valuetext", "0")
        _expect_chart_title(page, "ε = 0, τ1 = ∞, τ2 = ∞")
        expect(page.get_by_text("method hungarian")).to_be_visible()
        _wait_idle(page)
        # Custom moves no slider: the selector goes back to the preset the sliders are at
        preset.select_option("Custom")
        expect(preset).to_have_value("Hungarian (d)")
        expect(eps).to_have_attribute("aria-valuetext", "0")
        screenshot = _screenshot(page, tmp_path, "preset-hungarian.png")

        assert screenshot.stat().st_size > 10_000
        expect(page.locator("[data-testid=stException]")).to_have_count(0)
        hungarian_plan = (
            _charts(page)
            .filter(has=page.locator(".gtitle", has_text="Plan N·P̂ at ε = 0, τ1 = ∞, τ2 = ∞"))
            .first
        )
        _catch_up(page)
        heatmap = hungarian_plan.locator(".heatmaplayer")
        expect(heatmap).to_be_visible()
        # the Hungarian plan of Figure 1(d) has five ones (4 -> A, 5 -> B, 1, 2, 3 -> ∅)
        cells = hungarian_plan.locator(".heatmaplayer text")
        expect(cells).to_have_count(15)
        assert [text.strip() for text in cells.all_text_contents()].count("1.000") == 5

        # a click on a cell of the plan highlights its prediction and ground truth
        _click_cell(page, row=3, column=0)
        _wait_idle(page)
        _expect_highlight(page, "4 cup", "A cup")
        _screenshot(page, tmp_path, "cell-click-highlight.png")

        # hovering a ground truth's edge shows what it receives at this step, in the scene's
        # own tooltip; a click highlights that ground truth alone
        x, y = _hover_scene_gt(page, "B")
        tooltip = page.locator(".uotviz-tooltip").first
        expect(tooltip).to_be_visible()
        expect(tooltip).to_contain_text("B saucer")
        expect(tooltip).to_contain_text("receives 1.000")
        # the hoverable points are found from the data: the only points drawn in the scene
        # are the two ground truths' centres
        expect(_charts(page).first.locator(".scatterlayer path.point")).to_have_count(2)
        page.mouse.click(x, y)
        _wait_idle(page)
        _expect_highlight(page, "none", "B saucer")

        page.get_by_role("button", name="next image").click()
        _expect_chart_title(page, "astronaut.jpg")
        _wait_idle(page)
        expect(_charts(page)).to_have_count(3)
        _expect_chart_title(page, "ε = 0, τ1 = ∞, τ2 = ∞")
        _screenshot(page, tmp_path, "next-image.png")
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


# Counts, per Plotly chart, its full drawings ('plotly_afterplot' events) in `gd.__draws`.
# Plotly attaches `emit` to a graph div when it first draws it; the setter installed here on
# the prototype catches that moment and wraps it.
GRAPH_DIVS = ".js-plotly-plot"

COUNT_DRAWS_JS = """(() => {
    Object.defineProperty(HTMLElement.prototype, 'emit', {
        configurable: true,
        set(emit) {
            const gd = this;
            gd.__draws = 0;
            Object.defineProperty(gd, 'emit', {
                configurable: true,
                writable: true,
                value(name, ...args) {
                    if (name === 'plotly_afterplot') gd.__draws += 1;
                    return emit.call(gd, name, ...args);
                },
            });
        },
    });
})();"""

# Every chart drawn at the width of the element that holds it (its column).
FITTED_JS = """(selector) => {
    const gds = [...document.querySelectorAll(selector)];
    return gds.length === 3 && gds.every((gd) => gd.layout?.width
        === Math.floor(gd.parentElement.getBoundingClientRect().width));
}"""


# What plotly.js holds of each chart: its title, the draws counted by COUNT_DRAWS_JS, its order
# when the counting began, its width, whether its traces were computed again, its column's width.
_CHART_STATE = """(selector) => [...document.querySelectorAll(selector)].map((gd) => ({
    title: gd.layout.title.text, draws: gd.__draws, before: gd.__before,
    width: gd.layout.width, computed: gd.calcdata !== gd.__calcdata,
    column: Math.floor(gd.parentElement.getBoundingClientRect().width),
}))"""


def test_a_slider_step_redraws_the_scene_and_the_plan_once_in_place(
    chromium_executable: str, app_server: str
) -> None:
    """The scene and the plan stay mounted; a slider step is painted over them, and plotly.js
    draws it once when the pointer comes onto them, the cost not at all, each at its column's
    width, also after the window is resized (see ``uotviz.ui.charts.live_chart``)."""
    with _app_page(chromium_executable, app_server, COUNT_DRAWS_JS) as page:
        page.wait_for_function(FITTED_JS, arg=GRAPH_DIVS)
        _wait_idle(page)
        page.wait_for_timeout(500)
        page.evaluate(
            """(selector) => document.querySelectorAll(selector).forEach((gd, i) => {
                gd.__draws = 0;
                gd.__before = i;
                gd.__calcdata = gd.calcdata;
            })""",
            GRAPH_DIVS,
        )
        history = page.evaluate("() => history.length")
        eps = page.locator('input[type=range][aria-label="ε"]')
        eps.focus()
        eps.press("ArrowRight")
        _expect_chart_title(page, "ε = 0.06, τ1 = ∞, τ2 = ∞")
        _wait_idle(page)
        page.wait_for_timeout(1000)
        # the address bar says what is shown, without a history entry per step
        assert "eps=0.06&" in page.url or page.url.endswith("eps=0.06"), page.url
        assert page.evaluate("() => history.length") == history
        charts = page.evaluate(_CHART_STATE, GRAPH_DIVS)
        assert [chart["before"] for chart in charts] == [0, 1, 2], charts  # the same elements
        # the step is painted over the charts (plotly.js draws nothing), the plan's new title
        # among what is painted
        assert [chart["draws"] for chart in charts] == [0, 0, 0], charts
        expect(_plan_chart(page).locator(".gtitle")).to_have_text(re.compile("ε = 0.06,"))
        assert page.locator(".js-plotly-plot g.uotviz-frame").count() > 0
        # plotly.js draws it once the pointer comes onto the charts
        _catch_up(page)
        assert page.locator(".js-plotly-plot g.uotviz-frame").count() == 0
        charts = page.evaluate(_CHART_STATE, GRAPH_DIVS)
        scene, cost, plan = charts
        assert "figure1_coffee.jpg" in scene["title"] and "ε = 0.06" in plan["title"], charts
        assert (scene["draws"], cost["draws"], plan["draws"]) == (1, 0, 1), charts
        # the scene's traces stay as they were: only its shapes are redrawn (the plan's heatmap
        # is computed again)
        assert (scene["computed"], plan["computed"]) == (False, True), charts
        for chart in charts:
            assert chart["width"] == chart["column"], chart

        # a narrower window: the charts follow their columns
        page.set_viewport_size({"width": 1100, "height": 900})
        page.wait_for_function(
            """([fitted, selector, before]) => eval(fitted)(selector)
                && [...document.querySelectorAll(selector)]
                    .every((gd, i) => gd.layout.width < before[i])""",
            arg=[FITTED_JS, GRAPH_DIVS, [chart["width"] for chart in charts]],
        )
        _wait_idle(page)
        expect(page.locator("[data-testid=stException]")).to_have_count(0)

        # the address bar's URL opens the same view
        page.goto(page.url)
        _wait_idle(page)
        _expect_chart_title(page, "ε = 0.06, τ1 = ∞, τ2 = ∞")
        expect(page.locator('input[type=range][aria-label="ε"]')).to_have_attribute(
            "aria-valuetext", "0.06"
        )


def _plan_titles_during_drag(page: Page, label: str, *, left_to_right: bool) -> list[str]:
    """Drag the slider ``label`` with the mouse across its track in about two seconds, and
    return the distinct plan titles drawn while the button was still down, in order."""
    page.evaluate(
        """(selector) => {
            window.__planTitles = [];
            const record = () => {
                const title = [...document.querySelectorAll(selector)]
                    .map((gd) => gd.querySelector('.gtitle')?.textContent ?? '')
                    .find((text) => text.startsWith('Plan'));
                const seen = window.__planTitles;
                if (title && seen[seen.length - 1] !== title) seen.push(title);
            };
            window.__planObserver?.disconnect();
            window.__planObserver = new MutationObserver(record);
            window.__planObserver.observe(document.body, {subtree: true, childList: true,
                                                          characterData: true});
        }""",
        GRAPH_DIVS,
    )
    box = page.locator(f'input[type=range][aria-label="{label}"]').bounding_box()
    y = box["y"] + box["height"] / 2
    ends = (box["x"] + 4, box["x"] + box["width"] - 4)
    start, end = ends if left_to_right else ends[::-1]
    page.mouse.move(start, y)
    page.mouse.down()
    for k in range(1, 41):
        page.mouse.move(start + (end - start) * k / 40, y)
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)
    titles = page.evaluate("() => window.__planTitles")
    page.mouse.up()
    return titles


@pytest.mark.parametrize("label", ["ε", "τ1", "τ2"])
def test_a_mouse_drag_redraws_the_plan_while_it_moves(
    chromium_executable: str, app_server: str, label: str
) -> None:
    with _app_page(chromium_executable, app_server) as page:
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = ∞")
        slider = page.get_by_role("slider", name=label)  # an accessible slider, named exactly
        expect(slider).to_have_count(1)
        titles = _plan_titles_during_drag(page, label, left_to_right=label == "ε")
        # the plan was drawn at several positions before the mouse button was released
        assert len(set(titles)) >= 4, titles
        _wait_idle(page)
        # the last position of the drag is the one drawn, and the URL says so
        end = "1" if label == "ε" else "0"
        expect(slider).to_have_attribute("aria-valuetext", end)
        expected = {"ε": "ε = 1,", "τ1": "τ1 = 0,", "τ2": "τ2 = 0"}[label]
        _expect_chart_title(page, expected)
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


# Whether every live chart holding frames holds those of slider `name` (chart_host.js says).
_FRAMES_HELD = """(name) => {
    const charts = Object.values(window.__uotvizFramesHeld ?? {});
    return charts.length >= 2 && charts.every((chart) => name in chart);
}"""


def test_a_pointer_resting_on_a_slider_brings_its_frames_before_the_press(
    chromium_executable: str, app_server: str
) -> None:
    """The pointer rests on τ1's thumb: the scene and the plan receive τ1's frames without a
    press, and a drag then draws its positions from them at once, the app asked for nothing
    until the release (which it draws as a step)."""
    with _app_page(chromium_executable, app_server) as page:
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = ∞")
        sent: list[str] = []
        page.on(
            "websocket",
            lambda socket: socket.on("framesent", lambda frame: sent.append(str(frame))),
        )
        slider = page.get_by_role("slider", name="τ1")
        last = int(slider.get_attribute("max"))
        box = slider.bounding_box()
        y = box["y"] + box["height"] / 2

        def x_at(position: int) -> float:
            return box["x"] + 4 + (box["width"] - 8) * position / last

        page.mouse.move(x_at(last), y)
        page.wait_for_function(_FRAMES_HELD, arg="tau1")
        _wait_idle(page)
        page.wait_for_timeout(300)
        asked_before = len(sent)
        page.mouse.down()
        drawn = set()
        for position in range(last - 1, last - 7, -1):
            page.mouse.move(x_at(position), y)
            reached = slider.input_value()
            if reached == str(last):
                continue  # the thumb has not moved yet (it was pressed off its centre)
            page.wait_for_function(
                "(k) => document.querySelector('g.uotviz-frame[data-position]')"
                "?.getAttribute('data-position') === k",
                arg=reached,
            )
            drawn.add(reached)
        value = slider.get_attribute("aria-valuetext")
        assert len(drawn) >= 4, drawn
        assert len(sent) == asked_before  # every position drawn from the frames held
        page.mouse.up()
        _wait_idle(page)
        _expect_chart_title(page, f"τ1 = {value},")
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


# What a chart shows of a drag's frame: the scene's labels (text and top-left corner in the
# chart) and its count of drawn shapes, the plan's title and sums; painted (frame_painter.js)
# or drawn by plotly.js, whichever is on screen.
_FRAME_SHOWN = """([scene, plan]) => {
    const origin = scene.getBoundingClientRect();
    const painted = scene.querySelector('.infolayer > g.uotviz-frame');
    const labelGroups = painted
        ? [...painted.children]
        : [...scene.querySelectorAll('.infolayer > g.annotation')];
    const labels = labelGroups.flatMap((group) => {
        const background = group.querySelector('rect');
        if (!background) return [];
        const box = background.getBoundingClientRect();
        return [[group.textContent, Math.round(box.left - origin.left),
                 Math.round(box.top - origin.top)]];
    });
    const shapes = painted
        ? scene.querySelectorAll('.layer-between > g.uotviz-frame > :not(text)').length
        : scene.querySelectorAll('.layer-between > .shapelayer path').length;
    const texts = (selector) => [...plan.querySelectorAll(selector)].map((t) => t.textContent);
    return {
        painted: Boolean(painted),
        cells: Boolean(plan.querySelector('canvas.uotviz-frame-cells')),
        labels: labels.sort(),
        shapes,
        title: plan.querySelector('.gtitle').textContent,
        sums: texts('.scatterlayer .textpoint text'),
    };
}"""


def test_a_dragged_frame_is_painted_as_plotly_draws_it(
    chromium_executable: str, app_server: str
) -> None:
    """While the mouse holds τ2 at a position, the scene and the plan are painted without
    plotly.js (uotviz/ui/js/frame_painter.js); released there, the app's figures are drawn by
    plotly.js. Both show the same labels at the same places (to 2 px), the same number of
    shapes, the same plan title and sums."""
    with _app_page(chromium_executable, app_server) as page:
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = ∞")
        slider = page.get_by_role("slider", name="τ2")
        last = int(slider.get_attribute("max"))
        target = last // 2
        box = slider.bounding_box()
        y = box["y"] + box["height"] / 2

        def x_at(position: int) -> float:
            return box["x"] + 4 + (box["width"] - 8) * position / last

        page.mouse.move(x_at(last), y)
        page.mouse.down()
        for position in range(last - 1, target - 1, -1):
            page.mouse.move(x_at(position), y)
            page.wait_for_timeout(40)
        expect(slider).to_have_value(str(target))
        page.wait_for_function(
            "(k) => document.querySelector('g.uotviz-frame[data-position]')"
            "?.getAttribute('data-position') === String(k)",
            arg=target,
        )
        page.wait_for_timeout(300)
        charts = [_charts(page).first.element_handle(), _plan_chart(page).first.element_handle()]
        during = page.evaluate(_FRAME_SHOWN, charts)
        page.mouse.up()
        _wait_idle(page)
        _expect_chart_title(page, during["title"])
        page.wait_for_timeout(500)
        _catch_up(page)
        charts = [_charts(page).first.element_handle(), _plan_chart(page).first.element_handle()]
        after = page.evaluate(_FRAME_SHOWN, charts)
        assert during["painted"] and during["cells"], during
        assert not after["painted"] and not after["cells"], after
        assert during["title"] == after["title"]
        assert "τ2 = ∞" not in after["title"]
        assert during["sums"] == after["sums"] and len(after["sums"]) == 8
        assert during["shapes"] == after["shapes"] > 0
        assert [label[0] for label in during["labels"]] == [label[0] for label in after["labels"]]
        for (text, x0, y0), (_, x1, y1) in zip(during["labels"], after["labels"], strict=True):
            assert abs(x0 - x1) <= 2 and abs(y0 - y1) <= 2, (text, (x0, y0), (x1, y1))
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_the_sliders_answer_the_keyboard(chromium_executable: str, app_server: str) -> None:
    with _app_page(chromium_executable, app_server) as page:
        tau2 = page.get_by_role("slider", name="τ2")
        tau2.focus()
        tau2.press("Home")
        expect(tau2).to_have_attribute("aria-valuetext", "0")
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = 0")
        tau2.press("ArrowRight")
        expect(tau2).to_have_attribute("aria-valuetext", "0.01")
        _expect_chart_title(page, "τ2 = 0.01")
        tau2.press("End")
        expect(tau2).to_have_attribute("aria-valuetext", "∞")
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = ∞")
        expect(_preset_selector(page)).to_have_value("OT (g)")


def test_the_ground_truth_table_keeps_its_order_and_follows_the_plan(
    chromium_executable: str, app_server: str
) -> None:
    """The per-ground-truth table (uotviz/ui/js/sortable_table.js) sorts by a clicked header,
    the other way on a second click, and keeps that order when a slider step brings new rows;
    its "received" column then says what the plan's column sums say."""
    with _app_page(chromium_executable, app_server) as page:
        table = page.locator(".uotviz-table table")
        first_cells = table.locator("tbody tr td:first-child")
        expect(first_cells).to_have_count(2)
        table.get_by_role("button", name="GT").click()
        table.get_by_role("button", name="GT").click()  # again: descending
        expect(table.locator("th").first).to_have_attribute("aria-sort", "descending")
        expect(first_cells.first).to_have_text(re.compile("^B"))
        tau2 = page.get_by_role("slider", name="τ2")
        tau2.focus()
        tau2.press("Home")
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = 0")
        _wait_idle(page)
        expect(table.locator("th").first).to_have_attribute("aria-sort", "descending")
        expect(first_cells.first).to_have_text(re.compile("^B"))
        sums = [
            text.strip()
            for text in _charts(page)
            .filter(has=page.locator(".gtitle", has_text="Plan"))
            .locator(".scatterlayer .textpoint text")
            .all_text_contents()
        ]
        column_sums = dict(zip(["A", "B"], sums[-3:-1], strict=True))  # then ∅'s
        received = table.locator("tbody tr td:nth-child(2)").all_text_contents()
        assert received == [column_sums["B"], column_sums["A"]]
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_after_a_server_restart_the_address_bar_wins(chromium_executable: str) -> None:
    """A slider step writes the address bar in the browser; when the server is restarted under
    the page, the page reconnects to a new session, which must show (and keep in the URL) what
    the address bar says, not the older query Streamlit kept."""
    with streamlit_servers(["app.py"]) as (server,):
        query = "/?image=2&eps=0.5&tau1=1&tau2=0.1"
        with _app_page(chromium_executable, server.url + query) as page:
            _expect_chart_title(page, "ε = 0.5, τ1 = 1, τ2 = 0.1")
            tau2 = page.get_by_role("slider", name="τ2")
            tau2.focus()
            tau2.press("ArrowRight")
            _expect_chart_title(page, "τ2 = 0.12")
            expect(page).to_have_url(re.compile(r"tau2=0\.12"))
            session = "() => document.querySelector('.uotviz-sliders').parentNode.__uotvizSliders"
            before = page.evaluate(session + ".session")
            with restarted(server):
                page.wait_for_function(f"old => ({session})().session !== old", arg=before)
                page.wait_for_timeout(1000)
                _wait_idle(page)
                expect(page).to_have_url(re.compile(r"image=2&eps=0\.5&tau1=1&tau2=0\.12"))
                _expect_chart_title(page, "ε = 0.5, τ1 = 1, τ2 = 0.12")
                expect(tau2).to_have_attribute("aria-valuetext", "0.12")
                expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_presentation_mode_fits_a_projector(
    chromium_executable: str, app_server: str, tmp_path: Path
) -> None:
    """At 1280 x 720 the picture, the three sliders and the plan are all on the first screen,
    and the picture's labels are at least 16 px."""
    with _app_page(chromium_executable, app_server + "/?present=1", viewport=(1280, 720)) as page:
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = ∞")
        page.wait_for_timeout(1000)
        expect(page.locator("[data-testid=stSidebar]")).to_be_hidden()
        expect(page.get_by_text("detection matching as unbalanced optimal")).to_have_count(0)
        scene = _charts(page).first
        plan = _plan_chart(page).first
        for element in (
            scene.locator(".imagelayer image"),
            plan.locator(".heatmaplayer"),
            *(page.get_by_role("slider", name=name) for name in ("ε", "τ1", "τ2")),
        ):
            box = element.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 720, box
        sizes = scene.evaluate(
            "(gd) => gd._fullLayout.annotations.filter((a) => a.name && a.name.includes(','))"
            ".map((a) => a.font.size)"
        )
        assert sizes and min(sizes) >= 16, sizes
        page.screenshot(path=str(tmp_path / "presentation-1280x720.png"))
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_clicking_a_badge_highlights_its_prediction(
    chromium_executable: str, app_server: str
) -> None:
    with _app_page(chromium_executable, app_server) as page:
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = ∞")
        badge = _charts(page).first.locator(".annotation", has_text="4→A")
        expect(badge).to_have_count(1)
        badge.click()
        _wait_idle(page)
        _expect_highlight(page, "4 cup", "none")
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_play_walks_the_picture_from_one_limit_case_to_another(
    chromium_executable: str, app_server: str
) -> None:
    """ "Play" from (c) to (h), chosen in the popover: the thumbs walk ε from 0 to 0.05, then τ2
    from 0 to 100, then τ1 from ∞ to 0.01, the picture and the plan are drawn at the points on
    the way, and the app ends on Unbalanced OT (h)."""
    with _app_page(chromium_executable, app_server) as page:
        _expect_chart_title(page, "ε = 0.05, τ1 = ∞, τ2 = ∞")
        page.evaluate(
            """(selector) => {
                window.__planTitles = [];
                window.__badges = [];
                window.__thumbs = [];
                const last = (seen, value) => {
                    if (value && seen[seen.length - 1] !== value) seen.push(value);
                };
                new MutationObserver(() => {
                    const graphs = [...document.querySelectorAll(selector)];
                    last(window.__planTitles, graphs
                        .map((gd) => gd.querySelector('.gtitle')?.textContent ?? '')
                        .find((text) => text.startsWith('Plan')));
                    const scene = graphs[0];
                    // the labels on screen: painted (a frame, a step) or drawn by plotly.js
                    const painted = scene?.querySelector('.infolayer > g.uotviz-frame');
                    const labels = painted
                        ? [...painted.children]
                        : [...(scene?.querySelectorAll('.infolayer > g.annotation') ?? [])];
                    last(window.__badges, labels.map((label) => label.textContent).join('|'));
                    const sliders = document.querySelectorAll('.uotviz-sliders input');
                    last(window.__thumbs, [...sliders]
                        .map((input) => input.getAttribute('aria-valuetext')).join(' '));
                }).observe(document.body, {subtree: true, childList: true, characterData: true,
                                           attributes: true});
            }""",
            GRAPH_DIVS,
        )
        page.get_by_role("button", name="▶ Play").first.click()  # opens the popover
        for label, name in (("From", "Closest ground truth (c)"), ("To", "Unbalanced OT (h)")):
            page.get_by_role("combobox", name=label).click()
            page.get_by_role("option", name=name).click()
            expect(page.get_by_role("combobox", name=label)).to_have_value(name)
            _wait_idle(page)
        expect(page.get_by_text("ε from 0 to 0.05, then τ2 from 0 to 100, then τ1")).to_be_visible()
        page.get_by_role("button", name="▶ Play").last.click()
        preset = _preset_selector(page)
        expect(preset).to_have_value("Unbalanced OT (h)", timeout=TIMEOUT_MS)
        _wait_idle(page)
        for label, value in (("ε", "0.05"), ("τ1", "0.01"), ("τ2", "100")):
            expect(page.get_by_role("slider", name=label)).to_have_attribute(
                "aria-valuetext", value
            )
        _expect_chart_title(page, "ε = 0.05, τ1 = 0.01, τ2 = 100")
        _catch_up(page)
        titles = page.evaluate("() => window.__planTitles")
        thumbs = page.evaluate("() => window.__thumbs")
        badges = page.evaluate("() => window.__badges")
        # the plan drawn along each of the walk's three legs (101 points in all), in order
        legs = [
            [title for title in titles if re.search(pattern, title)]
            for pattern in (
                r"τ1 = ∞, τ2 = 0$",
                r"ε = 0\.05, τ1 = ∞, τ2 = ",
                r"ε = 0\.05, .*τ2 = 100$",
            )
        ]
        assert [len(set(leg)) >= 5 for leg in legs] == [True] * 3, titles
        assert titles.index(legs[0][-1]) < titles.index(legs[1][-1]) < titles.index(legs[2][-1])
        assert "ε = 0, τ1 = ∞, τ2 = 0" in titles[titles.index(legs[0][0])], titles
        # the thumbs moved one slider at a time through the positions on the way
        assert thumbs[-1] == "0.05 0.01 100", thumbs
        assert len(thumbs) >= 50 and "0.02 ∞ 0" in thumbs and "0.05 ∞ 1" in thumbs, thumbs
        # the picture changed while it played
        assert len(set(badges)) >= 3, badges
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_a_class_opening_a_fresh_server_at_once_sees_no_exception(chromium_executable: str) -> None:
    """Sessions whose first runs overlap on a freshly started server: whatever the app (or
    plotly, lazily) imports must be whole before any of them uses it."""
    with streamlit_servers(["app.py"]) as (server,), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        try:
            pages = [browser.new_page(viewport={"width": 1200, "height": 800}) for _ in range(6)]
            assert len(pages) == 6
            for page in pages:  # all navigations start before any page has loaded
                page.set_default_timeout(TIMEOUT_MS * 2)
                page.goto(server.url, wait_until="commit")
            for page in pages:
                _wait_idle(page)
                expect(_charts(page)).to_have_count(3, timeout=TIMEOUT_MS * 2)
            for page in pages:
                expect(page.locator("[data-testid=stException]")).to_have_count(0)
        finally:
            browser.close()


def test_a_shared_link_cannot_inject_images_or_links(
    chromium_executable: str, app_server: str
) -> None:
    """A URL whose values are Markdown (an image that calls a server, a heading, a link) shows
    them as text: no <img> or <a> to that address, no heading, and nothing is fetched."""
    requested: list[str] = []
    payload = "![i](http://127.0.0.1:9/b.png) http://127.0.0.1:9/x [here](http://127.0.0.1:9/)"
    with _app_page(chromium_executable, app_server + "/") as page:
        page.on("request", lambda request: requested.append(request.url))
        page.goto(app_server + "/?" + urlencode({"eps": payload, "tau2": "# Expired"}))
        _wait_idle(page)
        expect(page.get_by_text("is not a", exact=False).first).to_be_visible()
        notice = page.locator("[data-testid=stToast]")  # one notice for both values
        expect(notice).to_have_count(1)
        assert page.locator("img[src*='127.0.0.1:9'], a[href*='127.0.0.1:9']").count() == 0
        assert notice.locator("h1, h2, h3, img, a").count() == 0
        assert notice.locator("li").count() == 2
        shown = notice.inner_text().replace("\u2060", "")  # an invisible word joiner
        assert "![i](http://127.0.0.1:9" in shown  # shown as it was
        page.wait_for_timeout(500)
        assert not [url for url in requested if "127.0.0.1:9/" in url], requested


# ------------------------------------------------------------------------------ the Dataset page

SAW_PROGRESS_JS = """(() => {
    window.uotvizSawProgress = false;
    new MutationObserver(() => {
        if (document.querySelector('[data-testid=stProgress]')) window.uotvizSawProgress = true;
    }).observe(document, {childList: true, subtree: true});
})();"""
"""Notes whether a progress bar was ever drawn (it shows while the table is computed)."""

TABLE_ROWS_JS = """() => Array.from(
    document.querySelectorAll('[data-testid=stDataFrame] [role=row]'),
    (row) => Array.from(row.querySelectorAll('[role=gridcell]'), (cell) => cell.innerText),
).filter((cells) => cells.length)"""
"""The data grid's rows as its accessible copy holds them (the grid itself is a canvas)."""


def _table_rows(page: Page, count: int) -> list[list[str]]:
    """The data grid's rows, once it holds ``count`` of them."""
    page.wait_for_function(f"() => ({TABLE_ROWS_JS})().length === {count}")
    return page.evaluate(TABLE_ROWS_JS)


GRID_HEADER_PX = 35  # Streamlit's data grid: the header's height and each row's
GRID_ROW_MARKER_PX = 32  # the column of row checkboxes at its left


def test_the_dataset_page_sorts_its_table_and_a_row_opens_its_image(
    chromium_executable: str, app_server: str, tmp_path: Path
) -> None:
    url = app_server + "/dataset?preset=f"
    with _app_page(chromium_executable, url, viewport=(1500, 1000)) as page:
        grid = page.locator("[data-testid=stDataFrame]")
        expect(grid).to_be_visible()
        expect(page.locator("h1", has_text="Dataset")).to_be_visible()
        expect(page.locator("[data-testid=stProgress]")).to_have_count(0)
        expect(page.locator("[data-testid=stMetricValue]").first).to_have_text("7")
        expect(_charts(page)).to_have_count(2)
        expect(page.locator("[data-testid=stDownloadButton]")).to_have_count(1)
        rows = _table_rows(page, 7)
        assert [int(row[0]) for row in rows] == [1, 2, 3, 4, 5, 6, 7]
        _screenshot(page, tmp_path, "dataset_page.png")

        # two clicks on the image_id header sort by it, decreasing
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        header = (box["x"] + GRID_ROW_MARKER_PX + 30, box["y"] + GRID_HEADER_PX / 2)
        page.mouse.click(*header)
        page.wait_for_timeout(300)
        page.mouse.click(*header)
        page.wait_for_function(f"() => ({TABLE_ROWS_JS})()[0]?.[0] === '7'")
        rows = _table_rows(page, 7)
        assert [int(row[0]) for row in rows] == [7, 6, 5, 4, 3, 2, 1]
        first_file = rows[0][1]

        # the first row shown (image 7 after sorting) opens on the Image page
        page.mouse.click(box["x"] + GRID_ROW_MARKER_PX / 2, box["y"] + GRID_HEADER_PX * 1.5)
        expect(page.locator("h1", has_text="detection matching")).to_be_visible()
        _wait_idle(page)
        _expect_chart_title(page, f"{first_file}: the matching on the image")
        _expect_chart_title(page, "ε = 0.05, τ1 = 100, τ2 = 0.01")  # the same setting, (f)
        expect(page).to_have_url(re.compile(r"/\?.*image=7"))
        expect(page.locator("[data-testid=stException]")).to_have_count(0)


def _large_dataset(folder: Path, images: int = 3000) -> tuple[Path, Path]:
    """Seeded COCO annotations (3 objects per image) and detection results (30 per image, the
    objects jittered plus clutter), large enough that the Dataset page takes a while."""
    rng = np.random.default_rng(0)
    coco = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "thing"}]}
    results = []
    for image_id in range(1, images + 1):
        coco["images"].append(
            {"id": image_id, "file_name": f"{image_id}.jpg", "width": 640, "height": 480}
        )
        corners = rng.uniform(0, 400, (3, 2))
        sizes = rng.uniform(20, 200, (3, 2))
        for k in range(3):
            box = [*corners[k], *sizes[k]]
            coco["annotations"].append(
                {"id": image_id * 10 + k, "image_id": image_id, "category_id": 1,
                 "bbox": [float(v) for v in box], "area": float(box[2] * box[3]), "iscrowd": 0}
            )  # fmt: skip
        for k in range(30):
            base = np.append(corners[k % 3], sizes[k % 3]) + rng.normal(0, 15, 4)
            box = [float(v) for v in np.maximum(base, [0, 0, 5, 5])]
            results.append(
                {"image_id": image_id, "category_id": 1, "bbox": box, "score": float(rng.random())}
            )
    annotations, predictions = folder / "instances.json", folder / "results.json"
    annotations.write_text(json.dumps(coco), encoding="utf-8")
    predictions.write_text(json.dumps(results), encoding="utf-8")
    return annotations, predictions


# A progress bar that shows for a moment is recorded as it appears.
PROGRESS_SEEN_JS = """new MutationObserver(() => {
    if (document.querySelector('[data-testid=stProgress]')) window.__progressSeen = true;
}).observe(document, {subtree: true, childList: true});"""


def test_the_dataset_page_shows_its_progress_while_it_computes(
    chromium_executable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On 3,000 images the page shows a progress bar, then the whole table."""
    annotations, predictions = _large_dataset(tmp_path)
    monkeypatch.setenv("UOTVIZ_ANNOTATIONS", str(annotations))
    monkeypatch.setenv("UOTVIZ_PREDICTIONS", str(predictions))
    with (
        streamlit_servers(["app.py"]) as (server,),
        _app_page(
            chromium_executable, server.url + "/dataset", init_script=PROGRESS_SEEN_JS
        ) as page,
    ):
        expect(page.locator("[data-testid=stDataFrame]")).to_be_visible()
        expect(page.get_by_text("3,000 of 3,000 images", exact=False)).to_be_visible()
        assert page.evaluate("() => window.__progressSeen === true")
        expect(page.locator("[data-testid=stProgress]")).to_have_count(0)  # gone once done
        expect(page.locator("[data-testid=stException]")).to_have_count(0)
