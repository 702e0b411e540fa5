"""Writes of the dashboard: the daily snapshot of the contact base."""

from datetime import date, datetime

from django.db.models import Count
from django.utils import timezone

from contacts.models import Contact, EngagementLevel
from dashboard.models import BaseSnapshot
from segments.models import Segment, SegmentMembership
from segments.reports import INACTIVE_SEGMENT_SLUG

# BaseSnapshot has one column per engagement level, named like the level's value.
LEVEL_FIELDS: tuple[str, ...] = tuple(EngagementLevel.values)
COUNT_FIELDS = (*LEVEL_FIELDS, "total", "inactive_segment_size")


def engagement_level_counts() -> dict[str, int]:
    """Contacts per engagement level (every level present, 0 when none): one GROUP BY."""
    counts = dict.fromkeys(LEVEL_FIELDS, 0)
    rows = (
        Contact.objects.order_by()
        .values_list("engagement_level")
        .annotate(n=Count("pk"))
        .values_list("engagement_level", "n")
    )
    for level, n in rows:
        if level in counts:
            counts[level] = n
    return counts


def inactive_segment_size() -> int | None:
    """Current members of the built-in `inactive` segment, or None while it was never evaluated
    (or was deleted): a count through the open-membership index."""
    segment = Segment.objects.filter(slug=INACTIVE_SEGMENT_SLUG).first()
    if segment is None or segment.last_evaluated_at is None:
        return None
    return SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).count()


def snapshot_day(now: datetime) -> date:
    """The local day (settings.TIME_ZONE) a snapshot taken at `now` describes."""
    return timezone.localdate(now)


def snapshots_upsert(snapshots: list[BaseSnapshot]) -> None:
    """Insert the snapshots, or replace the counts of those whose day already has one."""
    BaseSnapshot.objects.bulk_create(
        snapshots,
        update_conflicts=True,
        unique_fields=["day"],
        update_fields=[*COUNT_FIELDS, "reconstructed", "taken_at"],
    )


def base_snapshot_take(*, now: datetime | None = None) -> BaseSnapshot:
    """Record today's counts of the contact base.

    Steps:
    1. count the contacts per engagement level (one GROUP BY; the levels are the ones the
       03:30 engagement job just set);
    2. count the current members of the `inactive` segment;
    3. upsert them as the snapshot of today's local date: a second run the same day replaces
       the first one's counts, never adds a row.
    """
    now = now or timezone.now()
    counts = engagement_level_counts()
    snapshot = BaseSnapshot(
        day=snapshot_day(now),
        total=sum(counts.values()),
        inactive_segment_size=inactive_segment_size(),
        reconstructed=False,
        taken_at=now,
        **counts,
    )
    snapshots_upsert([snapshot])
    return BaseSnapshot.objects.get(day=snapshot.day)
