"""The Dataset page: the matching statistics of every image of the loaded dataset.

The table is :func:`uotviz.stats.compute_stats`'s, computed under the app's cost settings and
(ε, τ1, τ2) (the session values the Image page uses), or with COCOeval's matching, and
optionally compared with a preset of the paper's Figure 1. It is computed once per dataset and
settings (``st.cache_data``, keyed by the source's key and the options), with a progress bar.
Selecting a row opens that image on the Image page with the same settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.navigation.page import StreamlitPage

from uotviz.data.config import ENV_PREDICTIONS
from uotviz.data.dataset import Dataset
from uotviz.matching import CostSettings
from uotviz.overview import NUMERIC_COLUMNS, Headline, PlanDistributions, filter_rows, headline
from uotviz.plots.dataset import (
    background_mass_figure,
    plan_difference_figure,
    predictions_per_gt_figure,
)
from uotviz.readout import escape_markdown
from uotviz.sliders import CUSTOM, format_value, preset_by_name, preset_names
from uotviz.sources import DataSource
from uotviz.stats import STRATEGIES, Setting, StatsOptions, compute_stats, images_with_predictions
from uotviz.ui import params
from uotviz.ui.image_page import keep_image_page_state
from uotviz.ui.picker import open_image
from uotviz.ui.state import (
    DATASET_PAGE,
    IOU_RANGE,
    NO_COMPARISON,
    show_url_notice,
    write_url,
)
from uotviz.ui.view import solve_device

__all__ = ["STRATEGY_LABELS", "TABLE_KEY", "dataset_page"]

STRATEGY_LABELS = {
    "uot": "Transport plan at the setting",
    "coco-eval": "COCOeval's matching",
}
"""How the page names each of :data:`uotviz.stats.STRATEGIES`."""

TABLE_KEY = "dataset_table"
"""The per-image table's key (its selection is ``st.session_state[TABLE_KEY]``)."""

_NO_MINIMUM = "no minimum"
_MASS_COLUMNS = ("mass_to_background", "unmatched_gt_mass", "plan_difference")
_COLUMN_HELP = {
    "n_predictions": "N: the predictions kept by the score threshold and top-k",
    "n_ground_truths": "M: the ground truths matched (crowd regions left out)",
    "mass_to_background": "The mass the predictions send to ∅ (units of one prediction)",
    "unmatched_gt_mass": "Σ over ground truths of max(0, 1 − what it receives)",
    "gt_multi": "Ground truths receiving ≥ 0.5 from each of two or more predictions",
    "plan_difference": "½ Σ|P − Q| between the plan and the comparison's, ∅ included",
    "image_index": "The image's position in the annotations' images list",
    "ignored_predictions": "Predictions COCOeval does not count (matched to a crowd region, "
    "or beyond its 100 per category)",
}
_TABLE_HEIGHT_PX = 420


@st.cache_data(show_spinner=False, max_entries=16)
def _statistics(
    key: str, _dataset: Dataset, _options: StatsOptions
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The table and the plans' distributions (:class:`uotviz.overview.PlanDistributions`),
    once per ``key`` (the source's key and the options), with a progress bar meanwhile."""
    total = len(images_with_predictions(_dataset))
    bar = st.progress(0.0, text=f"Computing the matching of {total:,} images…")
    done = 0

    def advance(images: int) -> None:
        nonlocal done
        done += images
        bar.progress(min(done / max(total, 1), 1.0), text=f"{done:,} of {total:,} images…")

    distributions = PlanDistributions()
    frame = compute_stats(_dataset, _options, progress=advance, each_plan=distributions.add)
    bar.empty()
    return (frame, *distributions.arrays())


def _setting_chosen() -> None:
    """A preset chosen on this page: the session's (ε, τ1, τ2) move to it (Custom: unchanged)."""
    state = st.session_state
    if preset_by_name(state.dataset_setting) is not None:
        state.preset = state.dataset_setting
        params.apply_preset()


def _controls() -> tuple[str, float, Setting | None]:
    """The setting, the strategy, the IoU threshold and the comparison; returns (strategy,
    IoU threshold, comparison setting or None)."""
    state = st.session_state
    params.init_params()
    params.slider_moved()  # the preset named is the one the parameters match
    state.dataset_setting = state.preset  # the selector shows the session's setting
    state.setdefault("dataset_iou", StatsOptions.iou)
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    row.selectbox(
        "Setting (panel of Figure 1)",
        preset_names(),
        key="dataset_setting",
        on_change=_setting_chosen,
        width=260,
        help="The (ε, τ1, τ2) of the Image page's sliders; choosing a preset here moves them.",
    )
    strategy = row.radio(
        "Matching",
        STRATEGIES,
        format_func=STRATEGY_LABELS.get,
        key="dataset_strategy",
        horizontal=True,
        persist_state="session",
        help="The entropic unbalanced transport plan at the setting, or pycocotools' own "
        "evaluation matching (per category, by decreasing score, at an IoU threshold).",
    )
    iou = row.number_input(
        "IoU threshold (COCOeval)",
        min_value=IOU_RANGE.low,
        max_value=IOU_RANGE.high,
        step=0.05,
        key="dataset_iou",
        width=170,
        persist_state="session",
        disabled=strategy != "coco-eval",
    )
    names = [NO_COMPARISON, *(name for name in preset_names() if name != CUSTOM)]
    compare = row.selectbox(
        "Compare with",
        names,
        key="dataset_compare",
        width=260,
        persist_state="session",
        help="A second setting: adds plan_difference, ½ Σ|P − Q| per image.",
    )
    preset = preset_by_name(compare)
    return strategy, float(iou), None if preset is None else Setting.of(preset)


def _settings_caption(source: DataSource, settings: CostSettings, strategy: str) -> str:
    state = st.session_state
    values = ", ".join(
        f"{label} = {format_value(state[name])}"
        for name, label in (("eps", "ε"), ("tau1", "τ1"), ("tau2", "τ2"))
    )
    kept = f"score ≥ {settings.score_threshold:g}" + (
        f", top {settings.top_k}" if settings.top_k else ""
    )
    matching = values if strategy == "uot" else "COCOeval's matching"
    return (
        f"{source.kind}: {matching}; cost {state.get('cost_preset', CUSTOM)}, "
        f"c∅ = {settings.background_cost:g}; predictions with {kept} (the cost settings in "
        "the sidebar, shared with the Image page). Masses are in units of one prediction."
    )


def _unusable(source: DataSource, settings: CostSettings) -> str | None:
    """Why the statistics cannot be computed for this source and settings, or None."""
    if not source.has_predictions:
        return (
            f"The statistics need predictions, and the {source.kind.lower()} has none: give a "
            f"predictions file (`--predictions P` or `{ENV_PREDICTIONS}`), or upload one. The "
            "Image page can still show simulated predictions image by image."
        )
    if settings.anchors is not None:
        return (
            "The statistics are computed on the predictions, not on anchors: set the anchor "
            "mode to None in the cost settings."
        )
    if not images_with_predictions(source.dataset):
        return f"No image of the {source.kind.lower()} has predictions."
    return None


def _show_headline(summary: Headline) -> None:
    row = st.container(horizontal=True, gap="large")
    row.metric("Images", f"{summary.images:,}")
    row.metric("Predictions", f"{summary.predictions:,}")
    row.metric("Ground truths", f"{summary.ground_truths:,}")
    row.metric("Mass to ∅", f"{summary.mass_to_background:,.2f}")
    row.metric(
        "Images with gt_multi ≥ 1",
        f"{summary.images_with_multi:,}",
        help="Images where a ground truth receives ≥ 0.5 from each of two or more predictions",
    )
    if summary.images_differing is not None:
        row.metric(
            "Images that differ",
            f"{summary.images_differing:,}",
            help="Images whose plan_difference exceeds 0.001",
        )
    if summary.most_different:
        items = "; ".join(
            f"{image_id} · {escape_markdown(name)} ({difference:.3f})"
            for image_id, name, difference in summary.most_different
        )
        st.markdown(f"**Images that differ most:** {items}")


def _filters(frame: pd.DataFrame) -> pd.DataFrame:
    """The filter widgets; returns the rows they keep."""
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    multi = row.checkbox("gt_multi ≥ 1", key="dataset_only_multi", persist_state="session")
    compared = "plan_difference" in frame
    differ = row.checkbox(
        "plans differ (plan_difference > 0.001)",
        key="dataset_only_differ",
        persist_state="session",
        disabled=not compared,
    )
    columns = [_NO_MINIMUM, *(c for c in NUMERIC_COLUMNS if c in frame)]
    column = row.selectbox(
        "Minimum of", columns, key="dataset_min_column", width=220, persist_state="session"
    )
    minimum = row.number_input(
        "at least",
        min_value=0.0,
        step=1.0,
        key="dataset_min_value",
        width=140,
        persist_state="session",
        disabled=column == _NO_MINIMUM,
    )
    return filter_rows(
        frame,
        multi=multi,
        differ=differ and compared,
        column=None if column == _NO_MINIMUM else column,
        minimum=minimum,
    )


def _table(shown: pd.DataFrame, total: int, source: DataSource, image_page: StreamlitPage) -> None:
    """The rows (sortable by their headers); a selected row opens its image on the Image page."""
    st.caption(
        f"{len(shown):,} of {total:,} images. Click a header to sort; select a row (the box at "
        "its left) to open that image on the Image page with these settings."
    )
    config = {
        column: st.column_config.NumberColumn(
            column, help=_COLUMN_HELP[column], format="%.3f" if column in _MASS_COLUMNS else None
        )
        for column in shown.columns
        if column in _COLUMN_HELP
    }
    event = st.dataframe(
        shown,
        key=TABLE_KEY,
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        column_config=config,
        height=min(_TABLE_HEIGHT_PX, 38 + 35 * max(len(shown), 1)),
    )
    rows = event.selection.rows
    if rows and rows[0] < len(shown):
        open_image(source, int(shown.iloc[rows[0]]["image_id"]))
        st.switch_page(image_page)


def _histograms(frame: pd.DataFrame, per_gt: np.ndarray, per_prediction: np.ndarray) -> None:
    figures = [predictions_per_gt_figure(per_gt), background_mass_figure(per_prediction)]
    if "plan_difference" in frame:
        figures.append(plan_difference_figure(frame["plan_difference"].to_numpy()))
    for column, figure in zip(st.columns(len(figures)), figures, strict=True):
        column.plotly_chart(figure, config={"displaylogo": False})


def dataset_page(
    header: DeltaGenerator,
    source: DataSource,
    settings: CostSettings,
    image_page: StreamlitPage,
) -> None:
    """The page, for ``source`` under ``settings``; the title goes to ``header`` (above the data
    source's messages); a selected row switches to ``image_page``."""
    keep_image_page_state()
    _page(header, source, settings, image_page)
    write_url(DATASET_PAGE)  # the settings shown, so that the address opens this page as it is


def _page(
    header: DeltaGenerator,
    source: DataSource,
    settings: CostSettings,
    image_page: StreamlitPage,
) -> None:
    header.title("Dataset: the matching of every image")
    header.markdown(
        "One row per image with predictions: how many predictions and ground truths it has, the "
        "mass sent to the background ∅, the ground-truth mass left unmatched and the ground "
        "truths matched by several predictions, under the cost settings and the transport "
        "parameters of the Image page, or with COCOeval's matching. A comparison setting adds "
        "how much the two plans differ."
    )
    show_url_notice()
    strategy, iou, compare = _controls()
    st.caption(_settings_caption(source, settings, strategy))
    reason = _unusable(source, settings)
    if reason is not None:
        st.info(reason)
        return
    state = st.session_state
    options = StatsOptions(
        strategy=strategy,
        setting=Setting(state.eps, state.tau1, state.tau2),
        compare=compare,
        iou=iou,
        cost=settings,
        device=str(solve_device()),
    )
    try:
        frame, per_gt, per_prediction = _statistics(
            f"{source.key}|{options!r}", source.dataset, options
        )
    except ValueError as error:
        st.error(f"The statistics cannot be computed: {escape_markdown(str(error))}")
        return
    _show_headline(headline(frame))
    _table(_filters(frame), len(frame), source, image_page)
    st.download_button(
        f"Download the table (CSV, {len(frame):,} rows)",
        data=frame.to_csv(index=False),
        file_name="uotviz_stats.csv",
        mime="text/csv",
        key="dataset_csv",
        on_click="ignore",
    )
    _histograms(frame, per_gt, per_prediction)
