"""Server-rendered SVG charts of indicator figures: a cascade funnel, a 12-month trend, institution bars.

Pure functions from plain numbers to an SVG string: no Flask, no database, no JavaScript. Every label
is a real ``<text>`` element in "Noto Sans CJK SC", so a browser, a screen reader's text search and the
PDF renderer (WeasyPrint, which the monthly report uses with these very functions) all read Chinese as
text. The caller passes labels already translated and shows the same numbers in a table beside the
chart; the chart carries a ``<title>`` and ``role="img"`` for assistive technology.

Stable signatures (the monthly report depends on them):

- ``cascade_funnel(title, stages)`` with stages ``[(label, count), ...]`` from the widest stage down;
- ``trend_line(title, points, *, target=None, unit="%", empty_label=None)`` with points
  ``[(label, value or None), ...]``, a missing value leaves a gap in the line;
- ``institution_bars(title, bars, *, target=None, unit="%")`` with bars ``[(label, value or None), ...]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

FONT_FAMILY = "Noto Sans CJK SC, Noto Sans SC, sans-serif"
BAR_COLOUR = "#2f6f9f"
TARGET_COLOUR = "#b3261e"
TEXT_COLOUR = "#1f1f1f"
GRID_COLOUR = "#d0d0d0"

Number = int | float | Decimal


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _num(value: Number) -> str:
    """Format a coordinate: two decimals at most, no trailing zeros."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _value_label(value: Number | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{float(value):.1f}{unit}"


def _svg(title: str, width: int, height: int, body: list[str]) -> str:
    safe = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{_attr(title)}" font-family="{_attr(FONT_FAMILY)}" '
        f'font-size="12" fill="{TEXT_COLOUR}"><title>{safe}</title>'
        f'<text x="0" y="16" font-size="14" font-weight="bold">{safe}</text>' + "".join(body) + "</svg>"
    )


def _text(x: Number, y: Number, label: str, *, anchor: str = "start", size: int | None = None) -> str:
    extra = f' font-size="{size}"' if size else ""
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>{escape(label)}</text>'


def cascade_funnel(title: str, stages: Sequence[tuple[str, int]]) -> str:
    """Draw a program's cascade as centred bars, each as wide as its count relative to the first.

    Each stage shows its label, its count and its share of the first stage.
    """
    width, row, top, label_width = 640, 30, 30, 150
    plot = width - label_width - 110
    first = stages[0][1] if stages else 0
    body = []
    for i, (label, count) in enumerate(stages):
        y = top + i * row
        share = count / first if first else 0
        bar = max(plot * share, 1 if count else 0)
        x = label_width + (plot - bar) / 2
        body.append(_text(label_width - 8, y + 17, label, anchor="end"))
        body.append(
            f'<rect x="{_num(x)}" y="{y + 4}" width="{_num(bar)}" height="{row - 8}" fill="{BAR_COLOUR}"/>'
        )
        tail = f"{count}" + (f" ({share * 100:.1f}%)" if first and i else "")
        body.append(_text(label_width + plot + 8, y + 17, tail))
    return _svg(title, width, top + row * max(len(stages), 1) + 6, body)


def _target_line(target: Number | None, x0: Number, x1: Number, y: Number, unit: str) -> list[str]:
    if target is None:
        return []
    return [
        f'<line x1="{_num(x0)}" y1="{_num(y)}" x2="{_num(x1)}" y2="{_num(y)}" stroke="{TARGET_COLOUR}" '
        f'stroke-dasharray="4 3"/>',
        _text(x1, y - 4, f"{float(target):.1f}{unit}", anchor="end", size=11),
    ]


def trend_line(
    title: str,
    points: Sequence[tuple[str, Number | None]],
    *,
    target: Number | None = None,
    unit: str = "%",
    empty_label: str | None = None,
) -> str:
    """Draw values over months as a line with a dot and its value at each month; None leaves a gap.

    The vertical axis runs from 0 to 100 for a percentage (or to the largest value or target). When no month
    has a value, `empty_label` (in the reader's language) says so across the plot, so a blank axis is not
    mistaken for a drawing that failed.
    """
    width, height, left, right, top, bottom = 640, 240, 40, 20, 34, 40
    values = [float(v) for _, v in points if v is not None]
    ceiling = max([*values, float(target) if target is not None else 0.0, 100.0 if unit == "%" else 1.0])
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(points) - 1, 1)

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / ceiling

    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        f'stroke="{GRID_COLOUR}"/>',
        _text(left - 4, top + plot_h, "0", anchor="end", size=10),
        _text(left - 4, top + 8, f"{ceiling:.0f}{unit}", anchor="end", size=10),
    ]
    body += _target_line(target, left, width - right, y_of(float(target)) if target is not None else 0, unit)
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (label, value) in enumerate(points):
        x = left + i * step
        body.append(_text(x, height - bottom + 16, label, anchor="middle", size=10))
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = y_of(float(value))
        segment.append(f"{_num(x)},{_num(y)}")
        body.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{BAR_COLOUR}"/>')
        body.append(_text(x, y - 6, _value_label(value, ""), anchor="middle", size=10))
    if segment:
        segments.append(segment)
    for line in segments:
        if len(line) > 1:
            body.append(
                f'<polyline points="{" ".join(line)}" fill="none" stroke="{BAR_COLOUR}" stroke-width="2"/>'
            )
    if not values and empty_label:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, empty_label, anchor="middle", size=13))
    return _svg(title, width, height, body)


def institution_bars(
    title: str,
    bars: Sequence[tuple[str, Number | None]],
    *,
    target: Number | None = None,
    unit: str = "%",
) -> str:
    """Draw one horizontal bar per institution with its value; a bar without a value reads "—"."""
    width, row, top, label_width, tail = 640, 24, 30, 210, 70
    plot = width - label_width - tail
    values = [float(v) for _, v in bars if v is not None]
    ceiling = max([*values, float(target) if target is not None else 0.0, 100.0 if unit == "%" else 1.0])
    height = top + row * max(len(bars), 1) + 6
    body = []
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        body.append(_text(label_width - 8, y + 15, label, anchor="end"))
        if value is not None:
            bar = plot * float(value) / ceiling
            body.append(
                f'<rect x="{label_width}" y="{y + 3}" width="{_num(bar)}" height="{row - 6}" '
                f'fill="{BAR_COLOUR}"/>'
            )
        body.append(_text(label_width + plot + 6, y + 15, _value_label(value, unit)))
    if target is not None:
        x = label_width + plot * float(target) / ceiling
        body.append(
            f'<line x1="{_num(x)}" y1="{top}" x2="{_num(x)}" y2="{height - 4}" stroke="{TARGET_COLOUR}" '
            f'stroke-dasharray="4 3"/>'
        )
    return _svg(title, width, height, body)
