"""Shared fixtures: a Chromium executable and a live Streamlit server for the browser tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.streamlit_harness import streamlit_servers


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of Debian's Chromium; skip without it, except in CI (CI=true), where it must exist."""
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires the browser tests to run")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def app_server() -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free local port and yield its base URL."""
    with ExitStack() as stack:
        try:
            (server,) = stack.enter_context(streamlit_servers(["app.py"]))
        except RuntimeError as error:
            pytest.fail(str(error))
        yield server.url
