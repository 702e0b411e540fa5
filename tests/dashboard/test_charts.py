"""The server-side SVG charts: one mark per value, labels escaped, numbers in the language."""

import re

import pytest
from django.utils import translation

from dashboard.charts import (
    BarRow,
    Reference,
    Series,
    bar_list_chart,
    count_text,
    line_chart,
    nice_ceiling,
    percent_text,
    stacked_bar_chart,
)

SERIES = [Series("a", "Alpha", "#111111"), Series("b", "Beta", "#222222")]


def stacked(values, series=SERIES, **kwargs):
    columns = [f"d{i}" for i in range(len(values))]
    return stacked_bar_chart(
        chart_id="stack",
        title="Title",
        description="Description",
        columns=columns,
        column_titles=columns,
        series=series,
        values=values,
        **kwargs,
    )


def line(values, **kwargs):
    columns = [f"d{i}" for i in range(len(values))]
    return line_chart(
        chart_id="line",
        title="Title",
        description="Description",
        columns=columns,
        column_titles=columns,
        values=values,
        value_text=count_text,
        **kwargs,
    )


def bars(rows, **kwargs):
    return bar_list_chart(
        chart_id="bars", title="Title", description="Description", rows=rows, **kwargs
    )


def heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]


def test_stacked_chart_draws_a_rectangle_per_nonzero_value():
    svg = stacked([[3, 1], [0, 2], [4, 0]])

    assert svg.count('<rect class="bar"') == 4
    assert svg.count('data-series="a"') == 2
    assert svg.count('data-series="b"') == 2


def test_stacked_chart_heights_are_proportional_to_the_values():
    svg = stacked([[10, 0], [5, 0]])

    first, second = heights(svg)
    assert first == pytest.approx(2 * second, rel=0.01)


def test_stacked_chart_is_an_accessible_image():
    svg = stacked([[1, 1]])

    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" id="stack"')
    assert 'role="img"' in svg
    assert '<title id="stack-title">Title</title>' in svg
    assert '<desc id="stack-desc">Description</desc>' in svg
    assert 'aria-labelledby="stack-title stack-desc"' in svg


def test_stacked_chart_escapes_series_labels():
    svg = stacked([[1]], series=[Series("x", "<script>alert(1)</script>", "#000")])

    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_stacked_chart_labels_a_few_columns_only_when_there_are_many():
    svg = stacked([[1, 1]] * 90)

    labels = re.findall(r'class="x-label"[^>]*>([^<]*)<', svg)
    assert 2 <= len(labels) <= 10
    assert labels[-1] == "d89"


def test_line_chart_draws_a_point_per_known_value_and_breaks_at_unknown_ones():
    svg = line([1, 2, None, 4, 5, 6])

    assert svg.count('<circle class="point"') == 5
    assert svg.count('<polyline class="line"') == 2
    first, second = re.findall(r'<polyline class="line" points="([^"]*)"', svg)
    assert len(first.split()) == 2
    assert len(second.split()) == 3


def test_line_chart_draws_a_lone_point_without_a_line():
    svg = line([7])

    assert svg.count('<circle class="point"') == 1
    assert "<polyline" not in svg


def test_line_chart_puts_higher_values_higher():
    svg = line([1, 10])

    low, high = (
        float(y) for y in re.findall(r'<circle class="point" cx="[\d.]+" cy="([\d.]+)"', svg)
    )
    assert high < low  # SVG's y grows downwards


def test_bar_list_draws_a_bar_per_row_with_markers_and_reference():
    rows = [
        BarRow(label="One", value=5, text="5 %", marker=5, marker_text="cap"),
        BarRow(label="Two", value=2, text="2 %"),
        BarRow(label="Three", value=12, text="12 %", marker=5, marker_text="cap", alert=True),
    ]

    svg = bars(rows, scale_max=10, reference=Reference(value=4, text="Goal: 4"))

    assert svg.count('<rect class="bar') == 3
    assert svg.count('<rect class="bar alert"') == 1
    assert svg.count('<line class="marker"') == 2
    assert svg.count('<line class="reference"') == 1
    assert "Goal: 4" in svg


def test_bar_list_keeps_bars_within_the_track_when_over_the_scale():
    svg = bars(
        [BarRow(label="Half", value=5, text=""), BarRow(label="Over", value=50, text="")],
        scale_max=10,
    )

    half, over = (
        float(w)
        for w in re.findall(r'<rect class="bar[^"]*" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)
    )
    track = float(re.search(r'<rect class="track" [^>]*width="([\d.]+)"', svg).group(1))
    assert half == pytest.approx(track / 2)
    assert over == pytest.approx(track)


def test_bar_list_escapes_labels_typed_by_people():
    svg = bars(
        [BarRow(label="<script>x</script>", value=1, text="<b>1</b>", marker=1, marker_text="<i>")],
        scale_max=1,
        reference=Reference(value=1, text="<svg onload=alert(1)>"),
    )

    assert "<script>" not in svg
    assert "<b>" not in svg
    assert "<i>" not in svg
    assert "<svg onload" not in svg
    assert "&lt;script&gt;x&lt;/script&gt;" in svg


def test_bar_list_shortens_long_labels_but_keeps_them_whole_in_the_tooltip():
    name = "A lead source with a remarkably long name indeed"

    svg = bars([BarRow(label=name, value=1, text="1")], scale_max=1)

    assert f"<title>{name}: 1</title>" in svg
    assert re.search(r'class="row-label">A lead source with a remarka[^<]*…</text>', svg)


def test_numbers_follow_the_language():
    with translation.override("fr"):
        assert percent_text(12.345) == "12,3 %"
        assert count_text(1234567).replace("\u202f", " ").replace("\xa0", " ") == "1 234 567"
    with translation.override("en"):
        assert percent_text(12.345) == "12.3 %"
        assert count_text(1234567) == "1,234,567"
    assert percent_text(None) == "–"


def test_coordinates_keep_a_dot_in_french():
    with translation.override("fr"):
        svg = stacked([[3, 1], [2, 2]])

    assert re.search(r'<rect class="bar"[^>]* y="\d+\.\d"', svg)
    assert not re.search(r'(x|y|width|height)="\d+,\d', svg)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 1), (0.7, 1), (1, 1), (1.2, 2), (3, 5), (7, 10), (180, 200), (2300, 2500)],
)
def test_nice_ceiling_rounds_up_to_a_round_number(value, expected):
    assert nice_ceiling(value) == expected
