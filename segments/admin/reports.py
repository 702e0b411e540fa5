"""The "Inactivity by lead source" report: the admin page of the `LeadSourceInactivity` proxy.

Read-only: its list page renders the report (see `segments.reports`); nothing is added, changed
or deleted through it. Charts are inline SVG drawn from the server's numbers (no script, no CDN);
labels go through the template's escaping.
"""

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from contacts.admin.readonly import ReadOnlyAdminMixin
from segments.models import LeadSourceInactivity, SegmentEvaluation
from segments.reports import (
    INACTIVE_SEGMENT_SLUG,
    TREND_LENGTH,
    InactivityReport,
    SourceInactivity,
    inactivity_report,
)

# Bar chart geometry, in SVG user units (the chart scales to the page width).
BAR_LABEL_WIDTH = 220
BAR_WIDTH = 420
BAR_HEIGHT = 18
BAR_GAP = 8
# Trend chart geometry.
TREND_WIDTH = 640
TREND_HEIGHT = 160
TREND_MARGIN = 24


@dataclass(frozen=True)
class Bar:
    row: SourceInactivity
    y: str
    text_y: str
    width: str


@dataclass(frozen=True)
class TrendPoint:
    evaluation: SegmentEvaluation
    x: str
    y: str


def _number(value: float) -> str:
    # SVG wants a dot as decimal separator, whatever the page's language.
    return f"{value:.1f}"


def source_bars(sources: list[SourceInactivity]) -> list[Bar]:
    """One horizontal bar per source, its length the share of inactive contacts."""
    bars = []
    for index, row in enumerate(sources):
        y = index * (BAR_HEIGHT + BAR_GAP)
        bars.append(
            Bar(
                row=row,
                y=_number(y),
                text_y=_number(y + BAR_HEIGHT * 0.75),
                width=_number(BAR_WIDTH * row.share),
            )
        )
    return bars


def trend_points(trend: list[SegmentEvaluation]) -> list[TrendPoint]:
    """The segment's size at each evaluation, as points of a line chart starting from zero."""
    if not trend:
        return []
    highest = max(evaluation.members for evaluation in trend) or 1
    inner_width = TREND_WIDTH - 2 * TREND_MARGIN
    inner_height = TREND_HEIGHT - 2 * TREND_MARGIN
    step = inner_width / (len(trend) - 1) if len(trend) > 1 else 0
    return [
        TrendPoint(
            evaluation=evaluation,
            x=_number(TREND_MARGIN + index * step if len(trend) > 1 else TREND_WIDTH / 2),
            y=_number(TREND_MARGIN + inner_height * (1 - evaluation.members / highest)),
        )
        for index, evaluation in enumerate(trend)
    ]


@admin.register(LeadSourceInactivity)
class LeadSourceInactivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def get_urls(self):
        # The report is the only page: no change or history page of a lead source here.
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="segments_leadsourceinactivity_changelist",
            ),
        ]

    def changelist_view(self, request: HttpRequest, extra_context=None) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        report: InactivityReport = inactivity_report()
        points = trend_points(report.trend)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Inactivity by lead source"),
            "report": report,
            "segment_slug": INACTIVE_SEGMENT_SLUG,
            "bars": source_bars(report.sources),
            "bar_label_width": BAR_LABEL_WIDTH,
            "bar_chart_width": BAR_LABEL_WIDTH + BAR_WIDTH + 60,
            "bar_chart_height": max(len(report.sources), 1) * (BAR_HEIGHT + BAR_GAP),
            "bar_height": BAR_HEIGHT,
            "bar_track_width": BAR_WIDTH,
            "bar_value_x": BAR_LABEL_WIDTH + BAR_WIDTH + 6,
            "trend_points": points,
            "trend_polyline": " ".join(f"{point.x},{point.y}" for point in points),
            "trend_width": TREND_WIDTH,
            "trend_height": TREND_HEIGHT,
            "trend_baseline": TREND_HEIGHT - TREND_MARGIN,
            "trend_margin": TREND_MARGIN,
            "trend_right": TREND_WIDTH - TREND_MARGIN,
            "trend_length": TREND_LENGTH,
            "trend_highest": max((e.members for e in report.trend), default=0),
            "can_evaluate": request.user.has_perm("segments.change_segment"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/segments/report/inactivity_by_source.html", context)
