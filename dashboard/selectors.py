"""Reads behind the dashboard. Each composes the report functions of the app that owns the data
(`segments.reports`, `scenarios.reports`, the counts stored on campaigns) and stays cheap at a
million contacts: the snapshots are a few rows, the campaign list one short query, and the two
live aggregates (lead sources, scenario results) are cached for a few minutes.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, IntegerField, Value, When

from campaigns.models import Campaign
from dashboard.models import BaseSnapshot
from scenarios.models import Scenario
from scenarios.reports import Interval, scenario_results
from segments.models import Segment
from segments.reports import INACTIVE_SEGMENT_SLUG, SourceInactivity, inactivity_by_source

HISTORY_DAYS = 90
SOURCES_SHOWN = 10
SCENARIOS_SHOWN = 6
CAMPAIGNS_SHOWN = 8
# How long the live aggregates are reused; RELANCE_DASHBOARD_CACHE_SECONDS overrides it.
CACHE_SECONDS = 300


# The lead-source breakdown is keyed by the segment's evaluation: kept until the next one.
SOURCES_CACHE_SECONDS = 24 * 3600


def cache_seconds() -> int:
    return int(getattr(settings, "RELANCE_DASHBOARD_CACHE_SECONDS", CACHE_SECONDS))


def base_history(*, today: date, days: int = HISTORY_DAYS) -> list[BaseSnapshot]:
    """The snapshots of the last `days` days up to `today`, oldest first."""
    return list(
        BaseSnapshot.objects.filter(day__gt=today - timedelta(days=days), day__lte=today).order_by(
            "day"
        )
    )


@dataclass(frozen=True)
class SourceInactivityData:
    """The lead-source breakdown of the `inactive` segment, worst share first."""

    segment: Segment | None  # None when the built-in segment was deleted
    sources: list[SourceInactivity]

    @property
    def evaluated_at(self) -> datetime | None:
        return self.segment.last_evaluated_at if self.segment else None


def source_inactivity() -> SourceInactivityData:
    """`segments.reports.inactivity_by_source` for the `inactive` segment, cached until its next
    evaluation (the key holds the evaluation's time), at most a day: the aggregate reads the
    whole base (about 0.6 s at a million contacts), and its numbers only move when the segment
    is evaluated again."""
    segment = Segment.objects.filter(slug=INACTIVE_SEGMENT_SLUG).first()
    if segment is None or segment.last_evaluated_at is None:
        return SourceInactivityData(segment=segment, sources=[])
    key = f"dashboard:sources:{segment.pk}:{segment.last_evaluated_at.timestamp()}"
    sources = cache.get(key)
    if sources is None:
        sources = inactivity_by_source(segment=segment)
        cache.set(key, sources, SOURCES_CACHE_SECONDS)
    return SourceInactivityData(segment=segment, sources=sources)


@dataclass(frozen=True)
class ScenarioFunnel:
    """One scenario's reactivation funnel: every enrollment, whatever its A/B branch."""

    scenario_id: int
    name: str
    status: str
    goal_percent: int
    entered: int
    in_progress: int
    reactivated: int
    rate: float | None  # reactivated / entered, 0 to 1
    interval: Interval | None  # its 95 % Wilson interval
    goal_met: bool


def _scenario_funnel(scenario: Scenario) -> ScenarioFunnel:
    results = scenario_results(scenario)
    # The last row is the whole scenario, every branch together (see scenarios.reports).
    total = results.rows[-1]
    return ScenarioFunnel(
        scenario_id=scenario.pk,
        name=scenario.name,
        status=scenario.status,
        goal_percent=results.goal_percent,
        entered=total.entered,
        in_progress=total.in_progress,
        reactivated=total.reactivated,
        rate=total.rate,
        interval=total.interval,
        goal_met=results.goal_met,
    )


def scenario_funnels(*, limit: int = SCENARIOS_SHOWN) -> list[ScenarioFunnel]:
    """The scenarios that ran (not drafts), active ones first, then the latest activated.

    The list is read live (a few rows); each scenario's results (two aggregates over its
    enrollments) are cached per scenario and goal for `cache_seconds()`.
    """
    scenarios = (
        Scenario.objects.exclude(status=Scenario.Status.DRAFT)
        .annotate(
            rank=Case(
                When(status=Scenario.Status.ACTIVE, then=Value(0)),
                When(status=Scenario.Status.PAUSED, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "-activated_at", "-id")
        .only("pk", "name", "status", "goal_percent")[:limit]
    )
    funnels = []
    for scenario in scenarios:
        key = f"dashboard:scenario:{scenario.pk}:{scenario.goal_percent}"
        funnel = cache.get(key)
        if funnel is None:
            funnel = _scenario_funnel(scenario)
            cache.set(key, funnel, cache_seconds())
        # Name and status as they are now, even when the numbers come from the cache.
        funnels.append(replace(funnel, name=scenario.name, status=scenario.status))
    return funnels


def latest_campaigns(*, limit: int = CAMPAIGNS_SHOWN) -> list[Campaign]:
    """The regular campaigns whose audience was computed (dilution applies to them only),
    latest first, with the counts stored when sending started: one short query."""
    return list(
        Campaign.objects.filter(kind=Campaign.Kind.REGULAR, prepared_at__isnull=False)
        .order_by("-prepared_at", "-id")
        .only(
            "pk",
            "name",
            "status",
            "prepared_at",
            "active_count",
            "inactive_count",
            "inactive_share_percent",
        )[:limit]
    )
