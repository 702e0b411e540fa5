"""The dashboard's charts, drawn server-side as inline SVG: no JavaScript, nothing fetched from a
CDN, and the labels are already in the page's language (translated and localised by the caller).

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>`; each bar or point carries
its own `<title>` (a tooltip, read by screen readers). The numbers are also in a table beside
each chart (see the templates). Every text is escaped: lead source, campaign and scenario
names are typed by people. Coordinates are written with a dot whatever the language.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Geometry, in SVG user units; the CSS scales each chart to its panel's width.
WIDTH = 720
PLOT_LEFT = 64  # room for the y-axis labels
PLOT_RIGHT = 16
LEGEND_HEIGHT = 26
AXIS_LABELS_HEIGHT = 24
X_LABEL_SPACING = 72  # at least this far apart, so that dates never overlap
LABEL_CHARS = 30
BAR_HEIGHT = 20
BAR_GAP = 10
TRACK_COLOUR = "#eef0f2"
BAR_COLOUR = "#447e9b"
OVER_COLOUR = "#ba2121"
MARKER_COLOUR = "#1f2328"


@dataclass(frozen=True)
class Series:
    """One layer of a stacked chart."""

    key: str  # a CSS-safe name
    label: str
    colour: str


@dataclass(frozen=True)
class BarRow:
    """One horizontal bar. `value` and `marker` are in the chart's unit (see `scale_max`)."""

    label: str
    value: float
    text: str  # what the bar says at its end, e.g. "12.5 %"
    # A tick across this bar (a campaign's cap), and what it means.
    marker: float | None = None
    marker_text: str = ""
    # Drawn in the warning colour (over its cap, under its goal...).
    alert: bool = False


@dataclass(frozen=True)
class Reference:
    """A vertical line across every bar (a scenario's goal)."""

    value: float
    text: str


def count_text(value: float) -> str:
    """A count, with the language's thousands separator."""
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def percent_text(value: float | None, decimal_pos: int = 1) -> str:
    """A percentage (`value` from 0 to 100) with the language's decimal separator."""
    if value is None:
        return "–"
    return f"{number_format(value, decimal_pos=decimal_pos, use_l10n=True)} %"


def _n(value: float) -> str:
    return f"{value:.1f}"


def _short(text: str, size: int = LABEL_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _text(x: float, y: float, content: str, css: str = "", anchor: str = "start") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" class="{css}">'
        f"{escape(content)}</text>"
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value`: a round top for an axis."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power


def _open(
    *, chart_id: str, css: str, width: float, height: float, title: str, description: str
) -> list[str]:
    chart_id = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="dashboard-chart {css}" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def _close(parts: list[str]) -> SafeString:
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above went through escape()


def _x_labels(
    parts: list[str],
    columns: Sequence[str],
    centre: Callable[[int], float],
    *,
    y: float,
    width: float,
) -> None:
    """Labels under the plot, evenly spread and far enough apart, the last one always shown."""
    if not columns:
        return
    most = max(int((width - PLOT_LEFT - PLOT_RIGHT) // X_LABEL_SPACING), 1)
    every = math.ceil(len(columns) / most)
    shown = set(range(len(columns) - 1, -1, -every))
    for index in sorted(shown):
        x = centre(index)
        # A label at the right edge ends there rather than running out of the picture.
        anchor = "end" if x > width - X_LABEL_SPACING / 2 else "middle"
        parts.append(_text(x, y, columns[index], "x-label", anchor))


def _y_axis(
    parts: list[str],
    *,
    width: float,
    top: float,
    bottom: float,
    highest: float,
    label: Callable[[float], str],
) -> None:
    """Grid lines at 0, half and the top of the scale, labelled on the left."""
    for fraction in (0, 0.5, 1):
        y = bottom - (bottom - top) * fraction
        parts.append(
            f'<line class="grid" x1="{PLOT_LEFT}" y1="{_n(y)}" x2="{_n(width - PLOT_RIGHT)}" '
            f'y2="{_n(y)}" stroke="#d0d7de" stroke-width="1"/>'
        )
        parts.append(_text(PLOT_LEFT - 6, y + 4, label(highest * fraction), "y-label", "end"))


def stacked_bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    columns: Sequence[str],
    column_titles: Sequence[str],
    series: Sequence[Series],
    values: Sequence[Sequence[int]],
    width: float = WIDTH,
    height: float = 280,
) -> SafeString:
    """One stacked bar per column (a day), one layer per series, a legend on top.

    `values[i][j]` is series j in column i; a zero draws no rectangle. `columns` label the
    x-axis (a few of them), `column_titles` name each column in the tooltips.
    """
    parts = _open(
        chart_id=chart_id,
        css="stacked-bars",
        width=width,
        height=height,
        title=title,
        description=description,
    )
    # Legend: a swatch and a label per series, left to right.
    x = PLOT_LEFT
    for item in series:
        parts.append(
            f'<rect class="swatch" x="{_n(x)}" y="6" width="12" height="12" '
            f'fill="{escape(item.colour)}"/>'
        )
        parts.append(_text(x + 16, 16, item.label, "legend"))
        x += 24 + 7.5 * len(item.label)
    top = LEGEND_HEIGHT + 8
    bottom = height - AXIS_LABELS_HEIGHT
    highest = nice_ceiling(max((sum(column) for column in values), default=0))
    _y_axis(parts, width=width, top=top, bottom=bottom, highest=highest, label=count_text)
    step = (width - PLOT_LEFT - PLOT_RIGHT) / max(len(values), 1)
    bar_width = max(step * 0.8, 1)
    scale = (bottom - top) / highest
    for index, column in enumerate(values):
        left = PLOT_LEFT + index * step + (step - bar_width) / 2
        base = bottom
        for item, value in zip(series, column, strict=True):
            if value <= 0:
                continue
            bar_height = value * scale
            base -= bar_height
            tooltip = f"{column_titles[index]} – {item.label}: {count_text(value)}"
            parts.append(
                f'<rect class="bar" data-series="{escape(item.key)}" x="{_n(left)}" '
                f'y="{_n(base)}" width="{_n(bar_width)}" height="{_n(bar_height)}" '
                f'fill="{escape(item.colour)}"><title>{escape(tooltip)}</title></rect>'
            )
    _x_labels(parts, columns, lambda i: PLOT_LEFT + (i + 0.5) * step, y=height - 6, width=width)
    return _close(parts)


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    columns: Sequence[str],
    column_titles: Sequence[str],
    values: Sequence[float | None],
    value_text: Callable[[float], str],
    colour: str = BAR_COLOUR,
    width: float = WIDTH,
    height: float = 200,
) -> SafeString:
    """A line through one point per column, from a zero baseline; None leaves a gap."""
    parts = _open(
        chart_id=chart_id,
        css="line",
        width=width,
        height=height,
        title=title,
        description=description,
    )
    top = 12
    bottom = height - AXIS_LABELS_HEIGHT
    highest = nice_ceiling(max((v for v in values if v is not None), default=0))
    _y_axis(parts, width=width, top=top, bottom=bottom, highest=highest, label=value_text)
    count = len(values)
    inner = width - PLOT_LEFT - PLOT_RIGHT

    def centre(index: int) -> float:
        return PLOT_LEFT + inner / 2 if count == 1 else PLOT_LEFT + inner * index / (count - 1)

    points = [
        (centre(index), bottom - (bottom - top) * value / highest, index, value)
        for index, value in enumerate(values)
        if value is not None
    ]
    # One polyline per run of consecutive known values: an unknown day is a gap, not a zero.
    runs: list[list[str]] = []
    previous = None
    for x, y, index, _value in points:
        if previous is None or index != previous + 1:
            runs.append([])
        runs[-1].append(f"{_n(x)},{_n(y)}")
        previous = index
    parts.extend(_polyline(run, colour) for run in runs if len(run) > 1)
    radius = 3 if count <= 31 else 2  # a dot per day, not a blot
    for x, y, index, value in points:
        tooltip = f"{column_titles[index]}: {value_text(value)}"
        parts.append(
            f'<circle class="point" cx="{_n(x)}" cy="{_n(y)}" r="{radius}" '
            f'fill="{escape(colour)}">'
            f"<title>{escape(tooltip)}</title></circle>"
        )
    _x_labels(parts, columns, centre, y=height - 6, width=width)
    return _close(parts)


def _polyline(points: list[str], colour: str) -> str:
    return (
        f'<polyline class="line" points="{" ".join(points)}" fill="none" '
        f'stroke="{escape(colour)}" stroke-width="2"/>'
    )


def bar_list_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[BarRow],
    scale_max: float,
    reference: Reference | None = None,
    label_width: float = 220,
    text_width: float = 150,
    width: float = WIDTH,
) -> SafeString:
    """Horizontal bars, one per row, their length `value / scale_max` of the track; an optional
    tick per row (`marker`) and an optional line across all of them (`reference`)."""
    top = 22 if reference is not None else 4
    height = top + max(len(rows), 1) * (BAR_HEIGHT + BAR_GAP)
    parts = _open(
        chart_id=chart_id,
        css="bar-list",
        width=width,
        height=height,
        title=title,
        description=description,
    )
    track = width - label_width - text_width
    scale = track / scale_max if scale_max > 0 else 0

    def x_of(value: float) -> float:
        return label_width + min(max(value, 0) * scale, track)

    for index, row in enumerate(rows):
        y = top + index * (BAR_HEIGHT + BAR_GAP)
        text_y = y + BAR_HEIGHT * 0.72
        colour = OVER_COLOUR if row.alert else BAR_COLOUR
        parts.append(f'<g class="row"><title>{escape(row.label)}: {escape(row.text)}</title>')
        parts.append(_text(label_width - 8, text_y, _short(row.label), "row-label", "end"))
        parts.append(
            f'<rect class="track" x="{_n(label_width)}" y="{_n(y)}" width="{_n(track)}" '
            f'height="{BAR_HEIGHT}" fill="{TRACK_COLOUR}"/>'
        )
        parts.append(
            f'<rect class="bar{" alert" if row.alert else ""}" x="{_n(label_width)}" '
            f'y="{_n(y)}" width="{_n(x_of(row.value) - label_width)}" height="{BAR_HEIGHT}" '
            f'fill="{colour}"/>'
        )
        if row.marker is not None:
            x = x_of(row.marker)
            parts.append(
                f'<line class="marker" x1="{_n(x)}" y1="{_n(y - 3)}" x2="{_n(x)}" '
                f'y2="{_n(y + BAR_HEIGHT + 3)}" stroke="{MARKER_COLOUR}" stroke-width="2">'
                f"<title>{escape(row.marker_text)}</title></line>"
            )
        parts.append(_text(label_width + track + 8, text_y, row.text, "row-value"))
        parts.append("</g>")
    if reference is not None:
        x = x_of(reference.value)
        parts.append(
            f'<line class="reference" x1="{_n(x)}" y1="14" x2="{_n(x)}" y2="{_n(height)}" '
            f'stroke="{MARKER_COLOUR}" stroke-width="2" stroke-dasharray="5 3">'
            f"<title>{escape(reference.text)}</title></line>"
        )
        parts.append(_text(x, 11, reference.text, "reference-label", "middle"))
    return _close(parts)
