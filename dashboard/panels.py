"""The panels of the admin's index page: which ones a user may see, and what each one shows.

Each panel needs the permission to view the model behind it; its numbers come from
`dashboard.selectors`, its charts from `dashboard.charts`, drawn in the request's language.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.models import EngagementLevel
from dashboard import selectors
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
from dashboard.models import BaseSnapshot
from dashboard.services import LEVEL_FIELDS
from scenarios.models import Scenario

# The permission each panel needs, in the order the page shows them.
PANEL_PERMISSIONS = {
    "engagement": "contacts.view_contact",
    "inactive-segment": "segments.view_segment",
    "sources": "segments.view_leadsourceinactivity",
    "scenarios": "scenarios.view_scenario",
    "campaigns": "campaigns.view_campaign",
}
# Healthy levels at the bottom of each stack, in greens; the worrying ones above them.
LEVEL_COLOURS = {
    EngagementLevel.RECENT: "#1a7f37",
    EngagementLevel.ENGAGED: "#6cc070",
    EngagementLevel.DISENGAGED: "#e3b341",
    EngagementLevel.INACTIVE: "#cf222e",
    EngagementLevel.NEVER: "#8c959f",
}
SHARE_COLOUR = "#ba2121"
# The inactive segment's two line charts stand side by side.
PAIR_WIDTH = 360


@dataclass
class Panel:
    key: str  # the panel's HTML id, and its template's name
    title: str
    context: dict = field(default_factory=dict)
    # Shown instead of the charts when there is nothing to draw yet.
    empty_message: str = ""

    @property
    def template(self) -> str:
        return f"dashboard/panels/{self.key}.html"


def _day_label(day) -> str:
    return date_format(day, "j N")


def _day_title(day) -> str:
    return date_format(day, "DATE_FORMAT")


def _period(history: list[BaseSnapshot]) -> str:
    return ngettext(
        "%(count)d day, %(first)s",
        "%(count)d days, from %(first)s to %(last)s",
        len(history),
    ) % {
        "count": len(history),
        "first": _day_title(history[0].day),
        "last": _day_title(history[-1].day),
    }


def engagement_panel(history: list[BaseSnapshot]) -> Panel:
    panel = Panel(key="engagement", title=_("Contacts by engagement level"))
    if not history:
        panel.empty_message = _(
            "No data yet: the base is counted every day at 04:00. The chart starts with the "
            "first count."
        )
        return panel
    series = [
        Series(key=level, label=str(EngagementLevel(level).label), colour=LEVEL_COLOURS[level])
        for level in LEVEL_FIELDS
    ]
    panel.context = {
        "chart": stacked_bar_chart(
            chart_id="engagement-chart",
            title=_("Contacts by engagement level over time"),
            description=_("Contacts in each engagement level, one bar per day: %(period)s.")
            % {"period": _period(history)},
            columns=[_day_label(s.day) for s in history],
            column_titles=[_day_title(s.day) for s in history],
            series=series,
            values=[[getattr(s, level) for level in LEVEL_FIELDS] for s in history],
        ),
        "series": series,
        "rows": [
            (s.day, [getattr(s, level) for level in LEVEL_FIELDS], s.total)
            for s in reversed(history)
        ],
        "latest": history[-1],
    }
    return panel


def inactive_segment_panel(history: list[BaseSnapshot]) -> Panel:
    panel = Panel(key="inactive-segment", title=_("Inactive segment: size and share"))
    known = [s for s in history if s.inactive_segment_size is not None]
    if not known:
        panel.empty_message = _(
            "No data yet: the inactive segment's members are counted every day at 04:00, once "
            "the segment has been evaluated."
        )
        return panel
    columns = [_day_label(s.day) for s in history]
    titles = [_day_title(s.day) for s in history]
    shares = [
        None if s.inactive_segment_share is None else 100 * s.inactive_segment_share
        for s in history
    ]
    panel.context = {
        "size_chart": line_chart(
            chart_id="inactive-size-chart",
            title=_("Members of the inactive segment over time"),
            description=_("Members of the inactive segment each day: %(period)s.")
            % {"period": _period(history)},
            columns=columns,
            column_titles=titles,
            values=[s.inactive_segment_size for s in history],
            value_text=count_text,
            width=PAIR_WIDTH,
        ),
        "share_chart": line_chart(
            chart_id="inactive-share-chart",
            title=_("Share of the base in the inactive segment over time"),
            description=_(
                "Members of the inactive segment as a percentage of all contacts, each day: "
                "%(period)s."
            )
            % {"period": _period(history)},
            columns=columns,
            column_titles=titles,
            values=shares,
            value_text=percent_text,
            colour=SHARE_COLOUR,
            width=PAIR_WIDTH,
        ),
        "rows": [
            (s.day, s.inactive_segment_size, s.total, share)
            for s, share in reversed(list(zip(history, shares, strict=True)))
        ],
        "latest": known[-1],
        "latest_share": 100 * known[-1].inactive_segment_share
        if known[-1].inactive_segment_share is not None
        else None,
    }
    return panel


def sources_panel() -> Panel:
    panel = Panel(key="sources", title=_("Inactivity by lead source"))
    data = selectors.source_inactivity()
    panel.context = {
        "data": data,
        "report_url": reverse("admin:segments_leadsourceinactivity_changelist"),
    }
    if data.segment is None:
        panel.empty_message = _("The built-in segment “inactive” does not exist any more.")
        return panel
    if data.evaluated_at is None:
        panel.empty_message = _(
            "No data yet: the inactive segment has never been evaluated, so nobody is counted "
            "as inactive."
        )
        return panel
    if not data.sources:
        panel.empty_message = _("No data yet: the base has no contact.")
        return panel
    shown = data.sources[: selectors.SOURCES_SHOWN]
    no_source = _("(no source)")
    panel.context.update(
        {
            "chart": bar_list_chart(
                chart_id="sources-chart",
                title=_("Share of inactive contacts by lead source"),
                description=_(
                    "For the %(count)d lead sources with the highest share of inactive contacts, "
                    "worst first: the share of their contacts in the inactive segment (the bar's "
                    "full length is 100 %%)."
                )
                % {"count": len(shown)},
                rows=[
                    BarRow(
                        label=row.name or no_source,
                        value=row.percent,
                        text=f"{percent_text(row.percent)} ({count_text(row.inactive)})",
                        alert=False,
                    )
                    for row in shown
                ],
                scale_max=100,
            ),
            "rows": shown,
            "more": len(data.sources) - len(shown),
        }
    )
    return panel


def scenarios_panel() -> Panel:
    panel = Panel(key="scenarios", title=_("Reactivation scenarios"))
    funnels = selectors.scenario_funnels()
    if not funnels:
        panel.empty_message = _("No data yet: no scenario has been activated.")
        return panel
    items = []
    for funnel in funnels:
        entered = funnel.entered
        rate_percent = None if funnel.rate is None else 100 * funnel.rate
        goal_text = _("Goal: %(goal)s") % {"goal": percent_text(funnel.goal_percent, 0)}
        in_progress_percent = 100 * funnel.in_progress / entered if entered else None
        rows = [
            BarRow(label=_("Entered"), value=entered, text=count_text(entered)),
            BarRow(
                label=_("In progress"),
                value=funnel.in_progress,
                text=f"{count_text(funnel.in_progress)} ({percent_text(in_progress_percent)})",
            ),
            BarRow(
                label=_("Reactivated"),
                value=funnel.reactivated,
                text=f"{count_text(funnel.reactivated)} ({percent_text(rate_percent)})",
                alert=entered > 0 and not funnel.goal_met,
            ),
        ]
        items.append(
            {
                "funnel": funnel,
                "status_label": Scenario.Status(funnel.status).label,
                "url": reverse("admin:scenarios_scenario_change", args=[funnel.scenario_id]),
                "rate_percent": rate_percent,
                "low_percent": None if funnel.interval is None else 100 * funnel.interval.low,
                "high_percent": None if funnel.interval is None else 100 * funnel.interval.high,
                "chart": bar_list_chart(
                    chart_id=f"scenario-funnel-{funnel.scenario_id}",
                    title=_("Reactivation funnel of the scenario “%(name)s”")
                    % {"name": funnel.name},
                    description=_(
                        "%(entered)s contacts entered, %(in_progress)s are in progress, "
                        "%(reactivated)s were reactivated (%(rate)s); the goal is %(goal)s."
                    )
                    % {
                        "entered": count_text(entered),
                        "in_progress": count_text(funnel.in_progress),
                        "reactivated": count_text(funnel.reactivated),
                        "rate": percent_text(rate_percent),
                        "goal": percent_text(funnel.goal_percent, 0),
                    },
                    rows=rows,
                    scale_max=entered,
                    reference=Reference(value=entered * funnel.goal_percent / 100, text=goal_text)
                    if entered
                    else None,
                    label_width=120,
                ),
            }
        )
    panel.context = {"items": items}
    return panel


def campaigns_panel() -> Panel:
    panel = Panel(key="campaigns", title=_("Latest campaigns: inactive recipients"))
    campaigns = selectors.latest_campaigns()
    if not campaigns:
        panel.empty_message = _("No data yet: no regular campaign has been sent.")
        return panel
    rows = []
    for campaign in campaigns:
        share = campaign.inactive_share_actual
        cap = float(campaign.inactive_share_percent)
        rows.append(
            {
                "campaign": campaign,
                "url": reverse("admin:campaigns_campaign_report", args=[campaign.pk]),
                "share": None if share is None else float(share),
                "cap": cap,
                "over": share is not None and float(share) > cap,
            }
        )
    highest = max(max(row["cap"], row["share"] or 0) for row in rows)
    panel.context = {
        "rows": rows,
        "chart": bar_list_chart(
            chart_id="campaigns-chart",
            title=_("Inactive recipients of the latest campaigns, against their cap"),
            description=_(
                "For each of the %(count)d latest campaigns, latest first: inactive recipients "
                "as a percentage of the active ones, and the cap (a tick) set on the campaign."
            )
            % {"count": len(rows)},
            rows=[
                BarRow(
                    label=row["campaign"].name,
                    value=row["share"] or 0,
                    text=_("%(share)s (cap %(cap)s)")
                    % {"share": percent_text(row["share"]), "cap": percent_text(row["cap"])},
                    marker=row["cap"],
                    marker_text=_("Cap: %(cap)s") % {"cap": percent_text(row["cap"])},
                    alert=row["over"],
                )
                for row in rows
            ],
            scale_max=nice_ceiling(highest * 1.25),
        ),
    }
    return panel


def dashboard_panels(
    *, user: AbstractBaseUser | AnonymousUser, now: datetime | None = None
) -> list[Panel]:
    """The panels `user` may see, each with its charts (or the reason it has none yet)."""
    allowed = {key for key, permission in PANEL_PERMISSIONS.items() if user.has_perm(permission)}
    if not allowed:
        return []
    today = timezone.localdate(now or timezone.now())
    history = (
        selectors.base_history(today=today) if allowed & {"engagement", "inactive-segment"} else []
    )
    builders = {
        "engagement": lambda: engagement_panel(history),
        "inactive-segment": lambda: inactive_segment_panel(history),
        "sources": sources_panel,
        "scenarios": scenarios_panel,
        "campaigns": campaigns_panel,
    }
    return [builders[key]() for key in PANEL_PERMISSIONS if key in allowed]
