"""Putting contacts into scenarios: on entry into the trigger segment, and on activation.

Enrollment is one INSERT ... SELECT per scenario, whatever the number of contacts; the partial
unique constraint on open enrollments has the last word, so two evaluations (or an evaluation
and an activation) racing never enrol a contact twice.
"""

from datetime import datetime, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import Contact, ListMembership
from scenarios.blocks.entry import REENTRY_AFTER_DAYS
from scenarios.models import Block, Enrollment, Scenario
from segments.models import Segment, SegmentMembership


def scenario_entry_block(scenario: Scenario) -> Block | None:
    return Block.objects.filter(scenario=scenario, kind="entry").order_by("position", "pk").first()


def enrollments_create(*, scenario: Scenario, contacts: QuerySet, now: datetime) -> int:
    """Enrol `contacts` (a Contact queryset, or a values("pk") one) into `scenario` at its entry
    block; returns how many were enrolled.

    Left out: contacts outside the scenario's contact base (its list, when it has one), those
    with an open enrollment in it, and those the entry block's re-entry policy refuses (never:
    any earlier enrollment; after N days: one finished less than N days ago).
    """
    entry = scenario_entry_block(scenario)
    if entry is None:
        return 0
    candidates = Contact.objects.filter(pk__in=contacts)
    if scenario.contact_list_id:
        candidates = candidates.filter(
            Exists(
                ListMembership.objects.filter(
                    contact_list_id=scenario.contact_list_id, contact_id=OuterRef("pk")
                )
            )
        )
    earlier = Enrollment.objects.filter(scenario_id=scenario.pk, contact_id=OuterRef("pk"))
    if entry.config.get("reentry") == REENTRY_AFTER_DAYS:
        since = now - timedelta(days=int(entry.config.get("reentry_days") or 0))
        earlier = earlier.filter(state__in=Enrollment.OPEN_STATES) | earlier.filter(
            finished_at__gt=since
        )
    candidates = candidates.filter(~Exists(earlier))
    try:
        select_sql, params = (
            candidates.order_by().values(candidate_id=F("pk")).query.sql_with_params()
        )
    except EmptyResultSet:
        return 0
    table = connection.ops.quote_name(Enrollment._meta.db_table)
    at = Enrollment._meta.get_field("entered_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scenario_id, contact_id, block_id, state, wake_at,"
            " waiting_since, branch, entered_at, finished_at, outcome, steps)"
            " SELECT %s, candidate.candidate_id, %s, %s, %s, NULL, '', %s, NULL, '', 0"
            f" FROM ({select_sql}) candidate WHERE true"
            " ON CONFLICT (scenario_id, contact_id) WHERE state IN ('active', 'waiting')"
            " DO NOTHING",
            [scenario.pk, entry.pk, Enrollment.State.ACTIVE, at, at, *params],
        )
        return cursor.rowcount


def scenarios_for_segment(segment_id: int) -> QuerySet[Scenario]:
    """The active scenarios triggered by entry into the segment."""
    return Scenario.objects.filter(
        status=Scenario.Status.ACTIVE,
        pk__in=Block.objects.filter(kind="entry", config__segment=segment_id).values("scenario_id"),
    ).order_by("pk")


def segment_entrants_enroll(*, segment: Segment, entered_at: datetime) -> int:
    """Enrol the contacts who entered `segment` at `entered_at` (and are still in it) into
    every active scenario it triggers; returns the number of enrollments."""
    entrants = SegmentMembership.objects.filter(
        segment_id=segment.pk, entered_at=entered_at, exited_at__isnull=True
    ).values("contact_id")
    return sum(
        enrollments_create(scenario=scenario, contacts=entrants, now=entered_at)
        for scenario in scenarios_for_segment(segment.pk)
    )


def segment_members_enroll(
    *, scenario: Scenario, now: datetime, entered_since: datetime | None = None
) -> int:
    """Enrol the contacts in the scenario's trigger segment (those who entered it since
    `entered_since`, when given), once, like any entry: the re-entry policy and the
    open-enrollment constraint apply."""
    entry = scenario_entry_block(scenario)
    segment_id = (entry.config or {}).get("segment") if entry else None
    if not segment_id:
        return 0
    members = SegmentMembership.objects.filter(segment_id=segment_id, exited_at__isnull=True)
    if entered_since is not None:
        members = members.filter(entered_at__gte=entered_since)
    return enrollments_create(scenario=scenario, contacts=members.values("contact_id"), now=now)


def scenario_members_enroll(
    *, scenario_id: int, entered_since: datetime | None = None, now: datetime | None = None
) -> int | None:
    """The worker's part of activation (and of resuming): enrol the trigger segment's members
    into the scenario if it is still active. On activation (`entered_since` None) the scenario
    records when and how many, for its page; on resuming, only those who entered the segment
    while it was paused are looked at. Run again (a retried task), it enrols nobody twice."""
    now = now or timezone.now()
    scenario = Scenario.objects.filter(pk=scenario_id, status=Scenario.Status.ACTIVE).first()
    if scenario is None:
        return None
    enrolled = segment_members_enroll(scenario=scenario, now=now, entered_since=entered_since)
    if entered_since is None:
        Scenario.objects.filter(pk=scenario_id).update(
            existing_enrolled_at=timezone.now(),
            existing_enrolled=Coalesce("existing_enrolled", 0) + enrolled,
        )
    return enrolled
