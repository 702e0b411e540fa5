"""Evaluating a segment: who matches its rule now, written as entries and exits.

An evaluation is set-based: one UPDATE closes the stays of the members who no longer match, one
INSERT ... SELECT opens a stay for each contact who matches and was not a member. Both run in
one transaction with the signal to the apps that react to entries, so a crash part-way leaves
the previous membership as it was.

Two evaluations of one segment never overlap: each starts with a conditional update of
`Segment.evaluation_started_at` (the lock) and acts only when it took it.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from segments.models import Segment, SegmentEvaluation, SegmentMembership
from segments.rules import rule_clean, rule_contacts
from segments.signals import segment_entered

logger = logging.getLogger(__name__)


class SegmentBusy(Exception):
    """Another worker is evaluating this segment right now."""


@dataclass(frozen=True)
class EvaluationResult:
    segment: Segment
    entered: int
    exited: int
    members: int
    duration: timedelta
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error)


def evaluation_lock_expiry() -> timedelta:
    """How old a lock must be before another worker takes it over: the worker was killed.

    A task cannot run longer than django-q2's timeout, so an older lock has no living owner.
    """
    return timedelta(seconds=settings.Q_CLUSTER.get("timeout", 3600) + 60)


def segments_due(*, now: datetime | None = None) -> QuerySet[Segment]:
    """Active segments whose interval has elapsed since their last evaluation (or activation)."""
    now = now or timezone.now()
    return Segment.objects.filter(is_active=True).filter(
        Q(next_evaluation_at__isnull=True) | Q(next_evaluation_at__lte=now)
    )


def segment_schedule(*, segment: Segment, was_active: bool, now: datetime | None = None) -> None:
    """After a save: an activated segment is due now, then every interval; inactive, never."""
    now = now or timezone.now()
    if segment.is_active and (not was_active or segment.next_evaluation_at is None):
        next_at = now
    elif segment.is_active and segment.last_evaluated_at:
        next_at = segment.last_evaluated_at + segment.evaluation_interval
    else:
        next_at = segment.next_evaluation_at if segment.is_active else None
    Segment.objects.filter(pk=segment.pk).update(next_evaluation_at=next_at)
    segment.next_evaluation_at = next_at


def segment_members(segment: Segment) -> QuerySet[SegmentMembership]:
    """The open stays: the segment's current members."""
    return SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)


def segment_evaluate(*, segment_id: int, now: datetime | None = None) -> EvaluationResult:
    """Evaluate one segment now and return what changed.

    1. Take the segment's lock (raise SegmentBusy when another worker holds it,
       Segment.DoesNotExist when the segment was deleted).
    2. Validate the rule as it is stored now; a rule that no longer holds (a tag it used was
       deleted, ...) is a failed evaluation that changes no membership.
    3. In one transaction: close the stays of members who no longer match, open stays for
       contacts who match and were not members, count the members, announce the entries.
    4. Record the evaluation, schedule the next one, release the lock.
    """
    now = now or timezone.now()
    if not _lock_take(segment_id=segment_id, now=now):
        if not Segment.objects.filter(pk=segment_id).exists():
            raise Segment.DoesNotExist(f"no segment #{segment_id}")
        raise SegmentBusy(segment_id)
    started = time.monotonic()
    segment = Segment.objects.get(pk=segment_id)
    try:
        rule = rule_clean(segment.rule, segment_id=segment.pk)
        with transaction.atomic():
            _tune_session()
            matching = rule_contacts(rule, now=now)
            # A first evaluation (no member yet) needs no anti-join: its plan, on statistics
            # that still say "empty", could be a nested loop over the whole membership table.
            newcomers = matching
            exited = 0
            if segment_members(segment).exists():
                exited = _members_exit(segment=segment, matching=matching, now=now)
                is_member = segment_members(segment).filter(contact_id=OuterRef("pk"))
                newcomers = matching.filter(~Exists(is_member))
            entered = _members_insert(segment=segment, contacts=newcomers, now=now)
            members = segment_members(segment).count()
            if _membership_changed_much(before=segment.member_count, changed=entered + exited):
                _membership_analyze()
            if entered:
                segment_entered.send(sender=Segment, segment=segment, entered_at=now, count=entered)
            result = _finish(
                segment, now=now, started=started, entered=entered, exited=exited, members=members
            )
    except ValidationError as error:
        return _finish(segment, now=now, started=started, error=" ".join(error.messages))
    except BaseException as error:
        _finish(segment, now=now, started=started, error=repr(error))
        raise
    # Every evaluation is also kept as a SegmentEvaluation; this line is for a worker's log.
    logger.debug(
        "segment %s: entered %d, exited %d, members %d in %.2f s",
        segment.slug,
        result.entered,
        result.exited,
        result.members,
        result.duration.total_seconds(),
    )
    return result


@dataclass(frozen=True)
class EvaluationChange:
    entered: int
    exited: int
    members: int


def segment_evaluation_dry_run(
    *, segment: Segment, now: datetime | None = None
) -> EvaluationChange:
    """What an evaluation would change now, counted without writing anything."""
    now = now or timezone.now()
    matching = rule_contacts(rule_clean(segment.rule, segment_id=segment.pk), now=now)
    members = segment_members(segment)
    exited = members.filter(~Exists(matching.filter(pk=OuterRef("contact_id")))).count()
    entered = matching.filter(~Exists(members.filter(contact_id=OuterRef("pk")))).count()
    return EvaluationChange(entered=entered, exited=exited, members=matching.count())


def _tune_session() -> None:
    if connection.vendor == "postgresql":
        # The anti-joins hash a segment's members (a few hundred thousand ids): with the
        # default 4 MB they spill to disk in batches.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '128MB'")


def _membership_changed_much(*, before: int, changed: int) -> bool:
    return changed >= 1000 and changed * 5 >= before


def _membership_analyze() -> None:
    """Refresh the planner's statistics after a big change (a first evaluation inserts the
    whole segment at once): with the old ones, the next evaluation's anti-joins would be
    planned as hundreds of thousands of index probes instead of two hash joins."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(SegmentMembership._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")


def _lock_take(*, segment_id: int, now: datetime) -> bool:
    free_or_stale = Q(evaluation_started_at__isnull=True) | Q(
        evaluation_started_at__lt=now - evaluation_lock_expiry()
    )
    return bool(
        Segment.objects.filter(free_or_stale, pk=segment_id).update(evaluation_started_at=now)
    )


def _members_exit(*, segment: Segment, matching: QuerySet, now: datetime) -> int:
    # NOT EXISTS, which PostgreSQL runs as one hash anti-join (NOT IN would not scale).
    still_matching = matching.filter(pk=OuterRef("contact_id"))
    return segment_members(segment).filter(~Exists(still_matching)).update(exited_at=now)


def _members_insert(*, segment: Segment, contacts: QuerySet, now: datetime) -> int:
    """Open a stay for each of `contacts` (none of them a member): one INSERT ... SELECT."""
    newcomers = contacts.order_by().values(newcomer_id=F("pk"))
    try:
        select_sql, params = newcomers.query.sql_with_params()
    except EmptyResultSet:  # Django's shortcut for a rule that matches no one ("any of" nothing)
        return 0
    entered_at = SegmentMembership._meta.get_field("entered_at").get_db_prep_value(now, connection)
    table = connection.ops.quote_name(SegmentMembership._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (segment_id, contact_id, entered_at, exited_at) "
            f"SELECT %s, newcomer.newcomer_id, %s, NULL FROM ({select_sql}) newcomer",
            [segment.pk, entered_at, *params],
        )
        return cursor.rowcount


def _finish(
    segment: Segment,
    *,
    now: datetime,
    started: float,
    entered: int = 0,
    exited: int = 0,
    members: int | None = None,
    error: str = "",
) -> EvaluationResult:
    duration = timedelta(seconds=time.monotonic() - started)
    if members is None:
        members = segment.member_count
    SegmentEvaluation.objects.create(
        segment=segment,
        started_at=now,
        duration=duration,
        status=SegmentEvaluation.Status.FAILED if error else SegmentEvaluation.Status.DONE,
        entered=entered,
        exited=exited,
        members=members,
        error=error,
    )
    fields = {
        "evaluation_started_at": None,
        "next_evaluation_at": now + segment.evaluation_interval if segment.is_active else None,
    }
    if not error:
        fields |= {
            "member_count": members,
            "last_evaluated_at": now,
            "last_evaluation_duration": duration,
        }
    Segment.objects.filter(pk=segment.pk).update(**fields)
    for name, value in fields.items():
        setattr(segment, name, value)
    return EvaluationResult(
        segment=segment,
        entered=entered,
        exited=exited,
        members=members,
        duration=duration,
        error=error,
    )
