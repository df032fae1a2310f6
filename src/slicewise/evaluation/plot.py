"""Cost-quality plots: a PNG for reports and a self-contained HTML page for a browser.

Both draw one picture: mean cost per prompt across, mean quality per prompt up; each router's
points as a line with markers, the zero router (the curve named ``ZERO_ROUTER``) dashed, the
oracle (named ``ORACLE``) as stars, the single models as labelled dots. Costs are shown as a
share of a baseline's cost (usually best single's) when a baseline is given, in USD otherwise.

The HTML page works offline: the plot is inline SVG written here, hover text comes from SVG
``<title>`` elements, and the page holds no script and no link. Every name is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from slicewise.evaluation.curves import Point

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ORACLE = "oracle"
"""Name of the curve drawn as stars."""

ZERO_ROUTER = "zero router"
"""Name of the curve drawn dashed."""

PALETTE = ("#2b6cb0", "#c05621", "#2f855a", "#b83280", "#6b46c1", "#975a16", "#2c7a7b", "#c53030")
ZERO_COLOR = "#718096"
ORACLE_COLOR = "#d69e2e"
SINGLE_COLOR = "#1a202c"
Y_LABEL = "mean quality per prompt"

# SVG geometry in pixels: the plot area spans LEFT..RIGHT and TOP..BOTTOM; the legend sits to
# the right of it.
WIDTH, HEIGHT = 760, 460
LEFT, RIGHT, TOP, BOTTOM = 76, 560, 20, 400
LEGEND_CHARS = 26

Kind = Literal["router", "zero", "oracle"]
KIND_LABELS = {
    "router": "router",
    "zero": "zero router",
    "oracle": "oracle",
    "single": "single model",
}


@dataclass(frozen=True)
class _Series:
    name: str
    kind: Kind
    color: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class _Frame:
    """What both renderers draw, with costs already checked."""

    series: tuple[_Series, ...]
    singles: tuple[tuple[str, Point], ...]
    baseline: Point | None

    def x(self, point: Point) -> float:
        return point.cost if self.baseline is None else point.cost / self.baseline.cost

    @property
    def x_label(self) -> str:
        unit = "USD" if self.baseline is None else "share of baseline cost"
        return f"mean cost per prompt ({unit})"


@dataclass(frozen=True)
class _Scale:
    """Maps data coordinates to SVG pixels."""

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float

    def px(self, x: float) -> float:
        return LEFT + (x - self.x_lo) / (self.x_hi - self.x_lo) * (RIGHT - LEFT)

    def py(self, y: float) -> float:
        return BOTTOM - (y - self.y_lo) / (self.y_hi - self.y_lo) * (BOTTOM - TOP)


def plot_png(
    curves: Mapping[str, Sequence[Point]],
    singles: Mapping[str, Point],
    path: Path,
    *,
    title: str,
    baseline: Point | None = None,
) -> None:
    """Write the cost-quality plot to ``path`` as a PNG image.

    matplotlib is imported here so that importing this module stays cheap. The figure is drawn
    on an Agg canvas without pyplot: no global figure registry is touched, nothing is shown, and
    the figure is freed with its last reference. Raises ``ValueError`` for a non-finite point or
    a baseline that costs nothing.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    frame = _frame(curves, singles, baseline)
    figure = Figure(figsize=(8.0, 5.5), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for series in frame.series:
        _draw_series(axes, frame, series)
    _draw_singles(axes, frame)

    axes.set_title(_mpl_text(title))
    axes.set_xlabel(frame.x_label)
    axes.set_ylabel(Y_LABEL)
    axes.grid(alpha=0.3)
    if frame.series or frame.singles:
        axes.legend(loc="lower right", fontsize=8)
    figure.savefig(path, format="png")


def plot_html(
    curves: Mapping[str, Sequence[Point]],
    singles: Mapping[str, Point],
    path: Path,
    *,
    title: str,
    baseline: Point | None = None,
) -> None:
    """Write the cost-quality plot to ``path`` as one offline HTML page: SVG and a point table.

    Raises ``ValueError`` for a non-finite point or a baseline that costs nothing.
    """
    frame = _frame(curves, singles, baseline)
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{_svg(frame, title)}\n{_table(frame)}\n</body>\n</html>\n"
    )
    path.write_text(page, encoding="utf-8")


_CSS = (
    "body{font-family:sans-serif;margin:1.5em;color:#1a202c}"
    "table{border-collapse:collapse;font-size:13px;margin-top:1em}"
    "th,td{border:1px solid #cbd5e0;padding:2px 8px}td.n{text-align:right}"
)


def _frame(
    curves: Mapping[str, Sequence[Point]], singles: Mapping[str, Point], baseline: Point | None
) -> _Frame:
    if baseline is not None and not (math.isfinite(baseline.cost) and baseline.cost > 0):
        raise ValueError(f"baseline cost {baseline.cost} is not allowed; need a positive cost")
    series: list[_Series] = []
    for name, points in curves.items():
        kind: Kind = "oracle" if name == ORACLE else "zero" if name == ZERO_ROUTER else "router"
        ordered = sorted(_checked(name, points), key=lambda p: (p.cost, p.quality))
        series.append(_Series(name, kind, _color(kind, len(series)), tuple(ordered)))
    checked = tuple((name, _checked(name, [p])[0]) for name, p in singles.items())
    return _Frame(tuple(series), checked, baseline)


def _color(kind: Kind, index: int) -> str:
    if kind == "router":
        return PALETTE[index % len(PALETTE)]
    return ORACLE_COLOR if kind == "oracle" else ZERO_COLOR


def _checked(name: str, points: Sequence[Point]) -> list[Point]:
    for point in points:
        if not (math.isfinite(point.cost) and math.isfinite(point.quality)):
            raise ValueError(f"{name}: {point} is not finite; only finite points can be drawn")
    return list(points)


# --- PNG ------------------------------------------------------------------------------------


def _draw_series(axes: Axes, frame: _Frame, series: _Series) -> None:
    line, marker, size = {
        "router": ("-", "o", 5),
        "zero": ("--", "o", 4),
        "oracle": (":", "*", 15),
    }[series.kind]
    axes.plot(
        [frame.x(p) for p in series.points],
        [p.quality for p in series.points],
        linestyle=line,
        marker=marker,
        markersize=size,
        color=series.color,
        label=_mpl_label(series.name),
    )


def _draw_singles(axes: Axes, frame: _Frame) -> None:
    if not frame.singles:
        return
    xs = [frame.x(p) for _, p in frame.singles]
    ys = [p.quality for _, p in frame.singles]
    axes.scatter(xs, ys, s=30, color=SINGLE_COLOR, zorder=3, label="single models")
    for (name, _), x, y in zip(frame.singles, xs, ys, strict=True):
        axes.annotate(
            _mpl_text(name), (x, y), xytext=(5, 5), textcoords="offset points", fontsize=8
        )


def _mpl_text(text: str) -> str:
    """Text shown literally: a ``$`` would otherwise start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _mpl_label(text: str) -> str:
    # matplotlib leaves labels starting with "_" out of the legend; a leading space keeps them.
    return _mpl_text(" " + text if text.startswith("_") else text)


# --- SVG ------------------------------------------------------------------------------------


def _svg(frame: _Frame, title: str) -> str:
    points = [p for s in frame.series for p in s.points] + [p for _, p in frame.singles]
    scale = _Scale(*_bounds([frame.x(p) for p in points]), *_bounds([p.quality for p in points]))
    parts = [
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="12">',
        *_svg_axes(scale, frame.x_label),
    ]
    for series in frame.series:
        parts += _svg_series(scale, frame, series)
    parts += _svg_singles(scale, frame)
    parts += _svg_legend(frame)
    parts.append("</svg>")
    return "\n".join(parts)


def _svg_axes(scale: _Scale, x_label: str) -> list[str]:
    grid = 'stroke="#e2e8f0"'
    parts = [
        f'<rect x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" height="{BOTTOM - TOP}" '
        'fill="none" stroke="#a0aec0"/>'
    ]
    for value, label in _ticks(scale.x_lo, scale.x_hi):
        x = scale.px(value)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{BOTTOM}" {grid}/>')
        parts.append(f'<text x="{x:.1f}" y="{BOTTOM + 16}" text-anchor="middle">{label}</text>')
    for value, label in _ticks(scale.y_lo, scale.y_hi):
        y = scale.py(value)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{RIGHT}" y2="{y:.1f}" {grid}/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    middle_x, middle_y = (LEFT + RIGHT) / 2, (TOP + BOTTOM) / 2
    parts.append(f'<text x="{middle_x}" y="{BOTTOM + 40}" text-anchor="middle">{x_label}</text>')
    parts.append(
        f'<text x="18" y="{middle_y}" text-anchor="middle" '
        f'transform="rotate(-90 18 {middle_y})">{Y_LABEL}</text>'
    )
    return parts


def _svg_series(scale: _Scale, frame: _Frame, series: _Series) -> list[str]:
    coords = [(scale.px(frame.x(p)), scale.py(p.quality)) for p in series.points]
    dash = {"router": "", "zero": ' stroke-dasharray="6 4"', "oracle": ' stroke-dasharray="2 3"'}
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts = [
        f'<polyline points="{path}" fill="none" stroke="{series.color}" stroke-width="2"'
        f"{dash[series.kind]}/>"
    ]
    for point, (x, y) in zip(series.points, coords, strict=True):
        hover = f"<title>{_describe(frame, series.name, point)}</title>"
        if series.kind == "oracle":
            parts.append(f'<polygon points="{_star(x, y)}" fill="{series.color}">{hover}</polygon>')
        else:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{series.color}">{hover}</circle>'
            )
    return parts


def _svg_singles(scale: _Scale, frame: _Frame) -> list[str]:
    parts: list[str] = []
    for name, point in frame.singles:
        x, y = scale.px(frame.x(point)), scale.py(point.quality)
        hover = f"<title>{_describe(frame, name, point)}</title>"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{SINGLE_COLOR}">{hover}</circle>'
        )
        parts.append(f'<text x="{x + 6:.1f}" y="{y - 6:.1f}" font-size="11">{escape(name)}</text>')
    return parts


def _svg_legend(frame: _Frame) -> list[str]:
    entries: list[tuple[str, str, str]] = [(s.name, s.color, s.kind) for s in frame.series]
    if frame.singles:
        entries.append(("single models", SINGLE_COLOR, "single"))
    dash = {"zero": ' stroke-dasharray="6 4"', "oracle": ' stroke-dasharray="2 3"'}
    parts: list[str] = []
    x = RIGHT + 16
    for row, (name, color, kind) in enumerate(entries):
        y = TOP + 10 + 18 * row
        if kind != "single":
            parts.append(
                f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{color}" '
                f'stroke-width="2"{dash.get(kind, "")}/>'
            )
        parts.append(f'<circle cx="{x + 12}" cy="{y}" r="3.5" fill="{color}"/>')
        shown = name if len(name) <= LEGEND_CHARS else name[: LEGEND_CHARS - 1] + "…"
        parts.append(
            f'<text x="{x + 32}" y="{y + 4}"><title>{escape(name)}</title>{escape(shown)}</text>'
        )
    return parts


def _table(frame: _Frame) -> str:
    share = "" if frame.baseline is None else "<th>cost share of baseline</th>"
    head = (
        f"<tr><th>curve</th><th>kind</th><th>mean cost (USD)</th>{share}<th>mean quality</th></tr>"
    )
    rows: list[tuple[str, str, Point]] = [
        (s.name, s.kind, p) for s in frame.series for p in s.points
    ]
    rows += [(name, "single", p) for name, p in frame.singles]
    body = [_table_row(frame, name, kind, point) for name, kind, point in rows]
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def _table_row(frame: _Frame, name: str, kind: str, point: Point) -> str:
    numbers = [f"{point.cost:.6g}"]
    if frame.baseline is not None:
        numbers.append(f"{frame.x(point):.4g}")
    numbers.append(f"{point.quality:.4g}")
    cells = "".join(f'<td class="n">{number}</td>' for number in numbers)
    return f"<tr><td>{escape(name)}</td><td>{KIND_LABELS[kind]}</td>{cells}</tr>"


def _describe(frame: _Frame, name: str, point: Point) -> str:
    share = "" if frame.baseline is None else f" ({frame.x(point):.3g} of baseline)"
    return escape(f"{name}: cost {point.cost:.4g} USD{share}, quality {point.quality:.4g}")


def _star(x: float, y: float, outer: float = 8.0, inner: float = 3.4) -> str:
    corners = []
    for k in range(10):
        radius, angle = (outer if k % 2 == 0 else inner), math.pi * (k / 5 - 0.5)
        corners.append(f"{x + radius * math.cos(angle):.1f},{y + radius * math.sin(angle):.1f}")
    return " ".join(corners)


def _bounds(values: Sequence[float]) -> tuple[float, float]:
    """A data range with a margin, never empty: the axis limits."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    margin = (high - low) * 0.06 if high > low else abs(low) * 0.1 or 0.5
    return low - margin, high + margin


def _ticks(low: float, high: float, target: int = 6) -> list[tuple[float, str]]:
    """Round tick values (1, 2 or 5 times a power of ten apart) in [low, high], with labels."""
    rough = (high - low) / target
    power = 10.0 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    decimals = min(10, max(0, -math.floor(math.log10(step))))
    first, last = math.ceil(low / step), math.floor(high / step)
    return [(k * step, f"{k * step:.{decimals}f}") for k in range(first, last + 1)]
