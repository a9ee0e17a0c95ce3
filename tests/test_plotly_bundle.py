"""The plotly.js bundle the live charts load (``uotviz/ui/static``): there, at the version of
the plotly.js that the installed plotly package ships (the version its figures are written
for), and with every trace type and layout component that the app's live figures use.

A bundle registers each trace type and layout component by name, as
``moduleType:"trace",name:"heatmap"`` in its minified text; the tests read those names.
"""

from __future__ import annotations

import re

import plotly.graph_objects as go
import plotly.offline
import pytest

from tests.test_charts import demo_figures  # noqa: F401 - the app's live figures, a fixture
from uotviz.ui.charts import _PLOTLY_JS

_VERSION = re.compile(r"^\* plotly\.js (?:\([^)]*\) )?v(\S+)$", re.M)
_MODULE = re.compile(r'moduleType:"(trace|component)",name:"(\w+)"')
_LAYOUT_COMPONENTS = {"shapes", "annotations", "images"}
"""Layout properties of a figure that are drawn by the bundle's component of the same name."""
_ALWAYS = {"fx", "legend", "modebar", "colorbar"}
"""Components every live chart needs: hover and click events, the legend, the mode bar, and
the heatmaps' colour bars."""


@pytest.fixture(scope="module")
def bundle() -> str:
    return _PLOTLY_JS.read_text(encoding="utf-8")


def _registered(bundle: str, kind: str) -> set[str]:
    return {name for module, name in _MODULE.findall(bundle) if module == kind}


def test_the_bundle_is_vendored_beside_its_license_and_its_origin() -> None:
    static = _PLOTLY_JS.parent
    assert _PLOTLY_JS.stat().st_size > 500_000
    assert "MIT License" in (static / "LICENSE").read_text(encoding="utf-8")
    assert "plotly.js-cartesian-dist-min" in (static / "README.md").read_text(encoding="utf-8")


def test_the_bundle_is_the_plotly_packages_plotly_js_version(bundle: str) -> None:
    found = _VERSION.search(bundle[:500])
    assert found is not None, f"no version in the bundle's header: {bundle[:200]!r}"
    assert found.group(1) == plotly.offline.get_plotlyjs_version()


def test_the_bundle_registers_scatter_and_heatmap_and_its_names_are_read(bundle: str) -> None:
    traces = _registered(bundle, "trace")
    assert {"scatter", "heatmap"} <= traces
    assert "scatter3d" not in traces  # a partial bundle: the names are read, not guessed
    assert _ALWAYS <= _registered(bundle, "component")


def test_the_live_figures_use_only_what_the_bundle_registers(
    bundle: str,
    demo_figures: dict[str, go.Figure],  # noqa: F811 - the fixture imported above
) -> None:
    traces, components = _registered(bundle, "trace"), _registered(bundle, "component")
    for name, fig in demo_figures.items():
        sent = fig.to_plotly_json()
        used = {trace.get("type", "scatter") for trace in sent["data"]}
        assert used <= traces, f"{name}: {used - traces} not in {_PLOTLY_JS.name}"
        needed = {key for key in _LAYOUT_COMPONENTS if sent["layout"].get(key)}
        assert needed <= components, f"{name}: {needed - components} not in {_PLOTLY_JS.name}"
