"""Cost-quality plots: files are written, offline, and every name is escaped."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from slicewise.evaluation.curves import Point, zero_router
from slicewise.evaluation.plot import ORACLE, ZERO_ROUTER, plot_html, plot_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NASTY = '<script>alert("x")</script> & $math$'

SINGLES = {
    "openai/gpt-4o": Point(0.01, 0.8),
    "openai/gpt-4o-mini": Point(0.001, 0.6),
    NASTY: Point(0.004, 0.65),
}
CURVES = {
    "knn": [Point(0.006, 0.8), Point(0.001, 0.6), Point(0.003, 0.72)],
    ZERO_ROUTER: zero_router(list(SINGLES.values())),
    ORACLE: [Point(0.003, 0.9)],
}
BASELINE = SINGLES["openai/gpt-4o"]


def _svg(page: str) -> ET.Element:
    """The page's SVG, parsed: it must be well-formed XML."""
    return ET.fromstring(page[page.index("<svg") : page.index("</svg>") + len("</svg>")])


@pytest.mark.parametrize("baseline", [None, BASELINE])
def test_png_is_written(tmp_path: Path, baseline: Point | None) -> None:
    path = tmp_path / "curves.png"
    plot_png(CURVES, SINGLES, path, title=f"routers {NASTY}", baseline=baseline)
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_png_of_nothing_is_still_a_plot(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    plot_png({}, {}, path, title="nothing yet")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_png_keeps_names_starting_with_an_underscore(tmp_path: Path) -> None:
    path = tmp_path / "underscore.png"
    plot_png({"_hidden": [Point(1.0, 0.5)]}, {}, path, title="t")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("baseline", [None, BASELINE])
def test_html_is_an_offline_page_with_svg(tmp_path: Path, baseline: Point | None) -> None:
    path = tmp_path / "curves.html"
    plot_html(CURVES, SINGLES, path, title="routers", baseline=baseline)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "<script" not in page
    assert "http" not in page
    assert "<table>" in page
    assert _svg(page).tag == "svg"


def test_html_escapes_every_name(tmp_path: Path) -> None:
    path = tmp_path / "curves.html"
    curves = {**CURVES, NASTY: [Point(0.002, 0.7)]}
    plot_html(curves, SINGLES, path, title=NASTY, baseline=BASELINE)
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; $math$" in page
    _svg(page)


def test_html_draws_each_kind_of_curve(tmp_path: Path) -> None:
    path = tmp_path / "curves.html"
    plot_html(CURVES, SINGLES, path, title="routers", baseline=BASELINE)
    svg = _svg(path.read_text(encoding="utf-8"))
    lines = svg.findall("polyline")
    assert len(lines) == len(CURVES)
    assert lines[0].get("stroke-dasharray") is None
    assert lines[1].get("stroke-dasharray") == "6 4"
    assert len(svg.findall("polygon")) == len(CURVES[ORACLE])
    hovers = [title.text or "" for title in svg.iter("title")]
    assert "openai/gpt-4o: cost 0.01 USD (1 of baseline), quality 0.8" in hovers
    assert any(hover.startswith("knn: cost 0.003 USD (0.3 of baseline)") for hover in hovers)


def test_html_table_lists_every_point(tmp_path: Path) -> None:
    path = tmp_path / "curves.html"
    plot_html(CURVES, SINGLES, path, title="routers", baseline=BASELINE)
    page = path.read_text(encoding="utf-8")
    rows = page[page.index("<tbody>") :].count("<tr>")
    assert rows == sum(len(points) for points in CURVES.values()) + len(SINGLES)
    assert "cost share of baseline" in page


def test_html_axis_is_in_usd_without_a_baseline(tmp_path: Path) -> None:
    path = tmp_path / "curves.html"
    plot_html(CURVES, SINGLES, path, title="routers")
    page = path.read_text(encoding="utf-8")
    assert "mean cost per prompt (USD)" in page
    assert "cost share of baseline" not in page


@pytest.mark.parametrize(
    ("curves", "singles"),
    [({}, {}), ({"one": [Point(0.0, 0.0)]}, {}), ({}, {"one": Point(2.0, 0.5)})],
)
def test_html_of_few_points_is_well_formed(
    tmp_path: Path, curves: dict[str, list[Point]], singles: dict[str, Point]
) -> None:
    path = tmp_path / "few.html"
    plot_html(curves, singles, path, title="few")
    page = path.read_text(encoding="utf-8")
    assert "nan" not in page
    assert "inf" not in page
    _svg(page)


@pytest.mark.parametrize("plot", [plot_png, plot_html])
def test_plots_reject_a_free_baseline(tmp_path: Path, plot: Callable[..., None]) -> None:
    with pytest.raises(ValueError, match="baseline cost"):
        plot(CURVES, SINGLES, tmp_path / "x", title="t", baseline=Point(0.0, 0.8))


@pytest.mark.parametrize("plot", [plot_png, plot_html])
def test_plots_reject_a_non_finite_point(tmp_path: Path, plot: Callable[..., None]) -> None:
    with pytest.raises(ValueError, match="not finite"):
        plot({"knn": [Point(float("nan"), 0.5)]}, {}, tmp_path / "x", title="t")


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = (
        "import sys, slicewise.evaluation.curves; before = set(sys.modules); "
        "import slicewise.evaluation.plot; "
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('matplotlib')))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
