"""Small inline SVG charts for the dashboard, drawn on the server: no script, no fonts to fetch.

Every label passes through ``html.escape``; callers hand in plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

FONT = 'font-family="system-ui, sans-serif" font-size="12" fill="#333"'
LABEL_CHARS = 36


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[float]


def columns(
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float], str],
    width: int = 1180,
    height: int = 280,
) -> str:
    """Grouped columns, one group per label (e.g. a day), one column per series."""
    if not labels:
        return _empty(width)
    left, bottom, top = 90, 40, 30
    plot_w, plot_h = width - left - 10, height - bottom - top
    most = max((v for s in series for v in s.values), default=0.0) or 1.0
    slot = plot_w / len(labels)
    column = min(40.0, slot * 0.8 / len(series))
    parts = [_legend(series, left, 16)]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(_line(left, y, width - 10, y, "#e5e5e5"))
        parts.append(_text(left - 6, y + 4, fmt(most * i / 4), "end"))
    step = max(1, len(labels) // 15)  # at most about fifteen labels under the axis
    for i, label in enumerate(labels):
        x0 = left + slot * i + (slot - column * len(series)) / 2
        for j, s in enumerate(series):
            h = plot_h * max(s.values[i], 0.0) / most
            title = f"{label} {s.name}: {fmt(s.values[i])}"
            parts.append(_rect(x0 + j * column, top + plot_h - h, column - 2, h, s.colour, title))
        if i % step == 0:
            parts.append(_text(left + slot * (i + 0.5), height - bottom + 18, label, "middle"))
    parts.append(_line(left, top + plot_h, width - 10, top + plot_h, "#999"))
    return _svg(width, height, parts)


def bars(
    items: Sequence[tuple[str, float, str]], colour: str, width: int = 560, row: int = 26
) -> str:
    """Horizontal bars: (label, value, value as text); negative values extend left of zero."""
    if not items:
        return _empty(width)
    left, right = 240, 120
    plot_w = width - left - right
    low = min(0.0, *(v for _, v, _ in items))
    high = max(0.0, *(v for _, v, _ in items))
    span = (high - low) or 1.0
    zero = left + plot_w * -low / span
    parts = []
    for i, (label, value, shown) in enumerate(items):
        y = 8 + i * row
        w = plot_w * abs(value) / span
        x = zero if value >= 0 else zero - w
        fill = colour if value >= 0 else "#c0392b"
        parts.append(_text(left - 8, y + 14, _clip(label), "end"))
        parts.append(_rect(x, y + 2, max(w, 1.0), row - 8, fill, f"{label}: {shown}"))
        parts.append(_text(left + plot_w + 8, y + 14, shown, "start"))
    height = 16 + len(items) * row
    parts.append(_line(zero, 4, zero, height - 4, "#999"))
    return _svg(width, height, parts)


def _legend(series: Sequence[Series], x: float, y: float) -> str:
    parts = []
    for s in series:
        parts.append(_rect(x, y - 10, 12, 12, s.colour, s.name))
        parts.append(_text(x + 18, y, s.name, "start"))
        x += 30 + 8 * len(s.name)
    return "".join(parts)


def _clip(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _svg(width: int, height: int, parts: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">{"".join(parts)}</svg>'
    )


def _empty(width: int) -> str:
    return _svg(width, 40, [_text(10, 24, "no transactions in this period", "start")])


def _text(x: float, y: float, text: str, anchor: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{escape(fill)}">'
        f"<title>{escape(title)}</title></rect>"
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        f'stroke="{escape(stroke)}" stroke-width="1"/>'
    )
