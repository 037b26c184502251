"""Charts drawn on the server as inline SVG: no script, no style attribute, no <style> (the CSP forbids them).

Colours are SVG presentation attributes (``fill=``), so the same markup works on the
page and in the WeasyPrint PDF; classes (static/css/site.css) only refine the page.
Every chart is a picture of numbers that sit in a table next to it, so the SVG is
``aria-hidden`` and the table is what a screen reader reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

BLUE = "#0b4f8a"
GREEN = "#1e7b3c"
RED = "#b3261e"
GREY = "#6c757d"
AMBER = "#9a6700"
SERIES_COLOURS = (BLUE, GREEN, AMBER, RED, GREY)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bar_chart(rows: Sequence[tuple[str, float]], *, unit: str = "", colour: str = BLUE, maximum=None) -> SafeString:
    """Horizontal bars, one per (label, value), the value written at the end of each bar."""
    label_width, bar_width, row_height = 170, 260, 26
    height = max(1, len(rows)) * row_height + 6
    top = maximum if maximum is not None else max([value for _, value in rows] + [0])
    parts = []
    for index, (label, value) in enumerate(rows):
        y = 4 + index * row_height
        width = 0 if not top else round(bar_width * value / top, 1)
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" class="chart-label" font-size="12" fill="#1a1a1a">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="18" rx="2" fill="{}" class="chart-bar"></rect>'
                '<text x="{}" y="{}" font-size="12" fill="#1a1a1a" class="chart-value">{}{}</text>',
                label_width - 6,
                y + 13,
                _truncate(label, 26),
                label_width,
                y,
                width,
                colour,
                label_width + width + 4,
                y + 13,
                _number(value),
                unit,
            )
        )
    return _svg(label_width + bar_width + 60, height, mark_safe("".join(parts)))


def share_bar(on_time: int, late: int) -> SafeString:
    """One bar split into kept (green) and broken (red) promises."""
    total = on_time + late
    width = 420
    kept = 0 if not total else round(width * on_time / total, 1)
    body = format_html(
        '<rect x="0" y="0" width="{}" height="20" fill="{}" class="chart-on-time"></rect>'
        '<rect x="{}" y="0" width="{}" height="20" fill="{}" class="chart-late"></rect>',
        kept,
        GREEN,
        kept,
        round(width - kept, 1) if total else 0,
        RED,
    )
    if not total:
        body = format_html('<rect x="0" y="0" width="{}" height="20" fill="#e9ecef"></rect>', width)
    return _svg(width, 20, body)


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, top=100) -> SafeString:
    """Lines over months (percentages by default); a gap where a month has no value."""
    left, right, top_pad, bottom = 34, 24, 10, 26
    width, height = 640, 220
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [v for _, points in series for v in points if v is not None]
    top = top if top is not None else max([*values, 1])
    step = plot_w / max(1, len(labels) - 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return round(left + index * step, 1), round(top_pad + plot_h - plot_h * value / top, 1)

    parts = []
    for fraction in (0, 0.5, 1):
        _, y = xy(0, top * fraction)
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#dee2e6" stroke-width="1"></line>'
                '<text x="{}" y="{}" text-anchor="end" font-size="10" fill="#555">{}</text>',
                left,
                y,
                width - right,
                y,
                left - 4,
                y + 3,
                _number(round(top * fraction, 1)),
            )
        )
    for index, label in enumerate(labels):
        x, _ = xy(index, 0)
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="#555">{}</text>', x, height - 8, label
            )
        )
    for number, (_, points) in enumerate(series):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        segments, current = [], []
        for index, value in enumerate(points):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append(xy(index, value))
        if current:
            segments.append(current)
        for segment in segments:
            path = " ".join(f"{x},{y}" for x, y in segment)
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"></polyline>', path, colour
                )
            )
            parts.append(
                format_html_join(
                    "", '<circle cx="{}" cy="{}" r="3" fill="{}"></circle>', ((x, y, colour) for x, y in segment)
                )
            )
    return _svg(width, height, mark_safe("".join(parts)))


def legend(names: Sequence[str]) -> list[tuple[str, str]]:
    """(name, colour) of each series of a line chart, for the key under it."""
    return [(name, SERIES_COLOURS[index % len(SERIES_COLOURS)]) for index, name in enumerate(names)]


def swatch(colour: str) -> SafeString:
    return format_html(
        '<svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" focusable="false">'
        '<rect width="12" height="12" fill="{}"></rect></svg>',
        colour,
    )


def _svg(width: float, height: float, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="report-chart" viewBox="0 0 {} {}" width="{}" height="{}" preserveAspectRatio="xMinYMin meet"'
        ' aria-hidden="true" focusable="false" font-family="Liberation Sans, Arial, Helvetica, sans-serif">{}</svg>',
        width,
        height,
        width,
        height,
        body,
    )


def _truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
