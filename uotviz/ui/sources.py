"""The data-source panel: the demo, a configured dataset, or uploaded files.

Datasets are loaded once per content (``st.cache_resource``, keyed by paths and modification
times, or by upload content hashes). A configured dataset that cannot be used (a file or folder
that went away, a file that is not COCO) is reported in place of the picture, and the URL keeps
naming it, so that a reload shows it again once it is back; uploads that cannot be used are
reported and the demo is shown instead. Skipped records are counted in a warning whose expander
lists them.
No path typed in the browser is ever opened: the only paths are the demo's and the configured
ones, and uploads stay in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from uotviz.data import DataConfig, LoadReport, config_from
from uotviz.data.config import check_upload_size
from uotviz.readout import escape_markdown
from uotviz.sources import (
    CONFIGURED,
    DEMO,
    UPLOAD,
    DataSource,
    UploadedFile,
    config_key,
    demo_config,
    load_configured,
    load_uploads,
    upload_key,
)
from uotviz.ui.state import note_url_problem

__all__ = ["choose_source"]

IMAGE_TYPES = ["jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "webp"]


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=8)
def _cached_configured(key: str, kind: str, _config: DataConfig) -> DataSource:
    """One load per (paths, modification times); ``key`` names them."""
    return load_configured(kind, _config)


@st.cache_resource(show_spinner="Reading the uploaded files…", max_entries=4)
def _cached_uploads(
    key: str,
    _annotations: UploadedFile,
    _predictions: UploadedFile | None,
    _images: tuple[UploadedFile, ...],
) -> DataSource:
    """One load per set of uploaded contents; ``key`` holds their hashes."""
    return load_uploads(_annotations, _predictions, _images, key=key)


def _demo() -> DataSource:
    config = demo_config()
    return _cached_configured(config_key(DEMO, config), DEMO, config)


def _configured(argv: Sequence[str], environ: Mapping[str, str]) -> DataSource | ValueError | None:
    """The dataset named by the arguments or environment; the error that keeps it from being
    used now (a missing file, a file that is not COCO); None when none is configured."""
    try:
        config = config_from(argv, environ)
    except ValueError as error:  # something is configured, and cannot be used
        return error
    if config.annotations is None:
        return None
    try:
        return _cached_configured(config_key(CONFIGURED, config), CONFIGURED, config)
    except ValueError as error:
        return error


def _show_demo() -> None:
    st.session_state.source_kind = DEMO


def _unavailable(error: ValueError) -> None:
    """The configured dataset cannot be used: say why in place of the picture, offer the demo,
    and stop the run, so that the URL keeps naming the dataset and its image."""
    st.error(
        f"The configured dataset cannot be used: {escape_markdown(str(error))}. Once it is "
        "back, this page shows it again (the address keeps its source and image)."
    )
    st.button("Show the demo meanwhile", on_click=_show_demo, key="show_demo")
    st.stop()


def _upload(kind: str, file) -> UploadedFile | None:
    """An uploaded file within its size limit, or None (with st.error)."""
    try:
        check_upload_size(file.name, file.size, kind=kind)
    except ValueError as error:
        st.error(escape_markdown(str(error)))  # it names the uploaded file
        return None
    return UploadedFile(file.name, file.getvalue())


def _uploads() -> DataSource | None:
    """The upload widgets (sidebar) and the dataset they make, or None."""
    sidebar = st.sidebar
    annotations = sidebar.file_uploader(
        "Annotations (COCO instances JSON)", type=["json"], key="upload_annotations"
    )
    predictions = sidebar.file_uploader(
        "Predictions (optional: COCO results JSON or .npz)",
        type=["json", "npz"],
        key="upload_predictions",
    )
    images = sidebar.file_uploader(
        "Images (matched to the annotations by file name)",
        type=IMAGE_TYPES,
        accept_multiple_files=True,
        key="upload_images",
    )
    if annotations is None:
        st.info("Upload a COCO annotations file in the sidebar; the demo is shown meanwhile.")
        return None
    ann = _upload("annotations", annotations)
    if ann is None:
        return None
    pred = _upload("predictions", predictions) if predictions is not None else None
    pictures = tuple(
        picture for picture in (_upload("image", f) for f in images or []) if picture is not None
    )
    try:
        return _cached_uploads(upload_key(ann, pred, pictures), ann, pred, pictures)
    except ValueError as error:
        _cannot_use("The uploaded files", error)
        return None


def _cannot_use(what: str, error: ValueError) -> None:
    """Say that ``what`` cannot be used and why; the reason quotes file names and records,
    which are shown as text."""
    st.error(f"{what} cannot be used: {escape_markdown(str(error))}. Showing the demo instead.")


def _show_report(source: DataSource) -> None:
    """Skipped records: a warning with their count and an expander listing the messages."""
    report: LoadReport = source.report
    for refusal in report.refused:
        st.error(f"{escape_markdown(refusal)}. The annotations are shown without them.")
    if report.skipped:
        st.warning(
            f"{source.kind}: {report.skipped:,} record(s) skipped, {report.loaded:,} loaded. "
            "The rest of the data is shown."
        )
    if report.messages:
        with st.expander(f"Load messages ({len(report.messages):,})"):
            st.code("\n".join(report.messages), language=None, wrap_lines=True)
    if not report.skipped:
        st.sidebar.caption(f"{report.loaded:,} records loaded, none skipped.")


def choose_source(argv: Sequence[str], environ: Mapping[str, str]) -> DataSource:
    """The sidebar's source choice; always returns a usable source (the demo at worst)."""
    configured = _configured(argv, environ)
    options = [DEMO, *([CONFIGURED] if configured is not None else []), UPLOAD]
    wanted = st.session_state.get("source_kind")
    if wanted not in options:
        st.session_state.source_kind = CONFIGURED if configured is not None else DEMO
        if wanted is not None:  # asked for by a shared URL
            note_url_problem(
                f"URL parameter source: {wanted!r} is not available here; showing "
                f"{st.session_state.source_kind!r}."
            )
    kind = st.sidebar.radio(
        "Data source",
        options,
        key="source_kind",
        help="Demo: seven photographs shipped with uotviz (image 1 is the scene of the paper's "
        "Figure 1). Configured dataset: the files given with `streamlit run app.py -- "
        "--annotations A.json --images DIR [--predictions P]` or the UOTVIZ_* variables. "
        "Upload: files from this browser, kept in memory.",
    )
    source = None
    if kind == CONFIGURED:
        if isinstance(configured, ValueError):
            _unavailable(configured)
        source = configured
    elif kind == UPLOAD:
        source = _uploads()
    if source is None:
        try:
            source = _demo()
        except ValueError as error:  # the shipped files were removed or damaged
            st.error(f"The demo cannot be loaded: {error}")
            st.stop()
    if source.kind == kind:  # not the demo's report under the upload widgets
        _show_report(source)
    return source
