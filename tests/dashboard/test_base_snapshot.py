"""The daily snapshot of the base: counts per engagement level and of the inactive segment,
one row per local day whatever the number of runs."""

from datetime import date, time, timedelta

import pytest
from django.core.management import call_command

from config.schedules import RECURRING_JOBS
from contacts.models import EngagementLevel
from dashboard import tasks
from dashboard.models import BaseSnapshot
from dashboard.services import base_snapshot_take
from segments.models import Segment
from tests.dashboard.conftest import NOW
from tests.factories import ContactFactory, SegmentMembershipFactory

pytestmark = pytest.mark.django_db


def contacts(level: str, count: int) -> list:
    return [ContactFactory(engagement_level=level) for _ in range(count)]


@pytest.fixture
def inactive_segment() -> Segment:
    segment = Segment.objects.get(slug="inactive")
    segment.last_evaluated_at = NOW - timedelta(hours=2)
    segment.save()
    return segment


def test_counts_each_level_and_the_total_when_taken(frozen_now, inactive_segment):
    contacts(EngagementLevel.RECENT, 3)
    contacts(EngagementLevel.ENGAGED, 2)
    members = contacts(EngagementLevel.INACTIVE, 4)
    contacts(EngagementLevel.NEVER, 1)
    for contact in members[:3]:
        SegmentMembershipFactory(segment=inactive_segment, contact=contact)
    # A past stay does not count.
    SegmentMembershipFactory(
        segment=inactive_segment, contact=members[3], exited_at=NOW - timedelta(days=1)
    )

    snapshot = base_snapshot_take()

    assert snapshot.day == date(2026, 3, 14)
    assert (snapshot.recent, snapshot.engaged, snapshot.disengaged) == (3, 2, 0)
    assert (snapshot.inactive, snapshot.never, snapshot.total) == (4, 1, 10)
    assert snapshot.inactive_segment_size == 3
    assert snapshot.inactive_segment_share == pytest.approx(0.3)
    assert snapshot.reconstructed is False


def test_replaces_the_days_counts_when_taken_twice_the_same_day(frozen_now, inactive_segment):
    contacts(EngagementLevel.RECENT, 2)
    base_snapshot_take()
    contacts(EngagementLevel.DISENGAGED, 5)
    frozen_now.shift(timedelta(hours=3))

    snapshot = base_snapshot_take()

    assert BaseSnapshot.objects.count() == 1
    assert (snapshot.recent, snapshot.disengaged, snapshot.total) == (2, 5, 7)
    assert snapshot.taken_at == NOW + timedelta(hours=3)


def test_adds_a_row_when_taken_the_next_day(frozen_now, inactive_segment):
    contacts(EngagementLevel.ENGAGED, 1)
    base_snapshot_take()
    frozen_now.shift(timedelta(days=1))

    base_snapshot_take()

    assert list(BaseSnapshot.objects.order_by("day").values_list("day", flat=True)) == [
        date(2026, 3, 14),
        date(2026, 3, 15),
    ]


def test_uses_the_local_day_when_utc_is_still_the_day_before(frozen_now, inactive_segment):
    # 00:30 in Paris on 15 March is 23:30 UTC on 14 March.
    frozen_now.move_to(NOW.replace(day=15, hour=0, minute=30))

    assert base_snapshot_take().day == date(2026, 3, 15)


def test_leaves_the_segment_size_unknown_when_never_evaluated(frozen_now):
    contacts(EngagementLevel.INACTIVE, 2)

    snapshot = base_snapshot_take()

    assert snapshot.inactive_segment_size is None
    assert snapshot.inactive_segment_share is None


def test_leaves_the_segment_size_unknown_when_the_segment_was_deleted(frozen_now):
    Segment.objects.filter(slug="inactive").delete()

    assert base_snapshot_take().inactive_segment_size is None


def test_counts_an_empty_base_as_zeros(frozen_now, inactive_segment):
    snapshot = base_snapshot_take()

    assert snapshot.total == 0
    assert snapshot.inactive_segment_size == 0
    assert snapshot.inactive_segment_share is None


def test_counts_with_one_query_per_count(frozen_now, inactive_segment, django_assert_num_queries):
    contacts(EngagementLevel.RECENT, 3)
    # The levels (one GROUP BY), the segment, its members, the upsert, the read back.
    with django_assert_num_queries(5):
        base_snapshot_take()


def test_task_reports_the_days_counts(frozen_now, inactive_segment):
    contacts(EngagementLevel.ENGAGED, 2)

    assert tasks.base_snapshot_take() == {
        "day": "2026-03-14",
        "total": 2,
        "inactive_segment_size": 0,
    }


def test_command_takes_todays_snapshot(frozen_now, inactive_segment, capsys):
    contacts(EngagementLevel.NEVER, 1)

    call_command("take_base_snapshot")

    assert BaseSnapshot.objects.get().never == 1
    assert "2026-03-14: 1 contacts" in capsys.readouterr().out


def test_runs_daily_after_the_engagement_update():
    jobs = {job.func: job for job in RECURRING_JOBS}
    snapshot = jobs["dashboard.tasks.base_snapshot_take"]
    engagement = jobs["contacts.tasks.engagement_levels_update"]

    assert snapshot.daily_at == time(4, 0)
    assert snapshot.daily_at > engagement.daily_at
