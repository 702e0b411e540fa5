"""Demo history: past snapshots rebuilt from the activity log (`seed_demo_dashboard`)."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from contacts.models import ActivityKind, Channel, EmailStatus, EngagementPolicy
from dashboard.demo import snapshot_moment, snapshot_reconstruct
from dashboard.models import BaseSnapshot
from dashboard.services import LEVEL_FIELDS
from segments.models import Segment
from segments.services import segment_evaluate
from tests.dashboard.conftest import NOW
from tests.factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)
MOMENT = snapshot_moment(DAY)
LONG_AGO = NOW - timedelta(days=800)


def contact_with(*events, **fields):
    """A contact in the base for long, with (kind, when[, machine]) events."""
    contact = ContactFactory(**{"created_at": LONG_AGO, **fields})
    for kind, when, *machine in events:
        ActivityFactory(
            contact=contact,
            kind=kind,
            occurred_at=when,
            is_machine=bool(machine),
            channel=Channel.WEB if kind == ActivityKind.VISIT else Channel.EMAIL,
        )
    return contact


def test_rebuilds_each_level_and_the_inactive_segment_as_of_that_morning(frozen_now):
    sent_lately = (ActivityKind.SENT, MOMENT - timedelta(days=30))
    long_silent = (ActivityKind.OPEN, MOMENT - timedelta(days=240))
    contact_with((ActivityKind.OPEN, MOMENT - timedelta(days=3)))  # recent
    contact_with((ActivityKind.CLICK, MOMENT - timedelta(days=10)))  # engaged
    contact_with((ActivityKind.VISIT, MOMENT - timedelta(days=25)))  # disengaged
    contact_with((ActivityKind.OPEN, MOMENT - timedelta(days=40)), sent_lately)  # inactive
    contact_with((ActivityKind.OPEN, MOMENT - timedelta(days=1), True))  # machine only: never
    contact_with((ActivityKind.OPEN, MOMENT + timedelta(hours=2)))  # opened later: never then
    contact_with(created_at=MOMENT + timedelta(hours=1))  # not in the base yet
    # Inactive segment: silent for 8 months but sent an e-mail last month...
    contact_with(long_silent, sent_lately)
    # ... unless unsubscribed by then; one unsubscribed since was still subscribed.
    contact_with(
        long_silent,
        sent_lately,
        email_status=EmailStatus.UNSUBSCRIBED,
        email_status_changed_at=MOMENT - timedelta(days=2),
    )
    contact_with(
        long_silent,
        sent_lately,
        email_status=EmailStatus.UNSUBSCRIBED,
        email_status_changed_at=MOMENT + timedelta(days=2),
    )

    snapshot = snapshot_reconstruct(day=DAY, policy=EngagementPolicy.load())

    assert [getattr(snapshot, level) for level in LEVEL_FIELDS] == [1, 1, 1, 4, 2]
    assert snapshot.total == 9
    assert snapshot.inactive_segment_size == 2
    assert snapshot.reconstructed is True


def test_follows_the_engagement_policy_periods(frozen_now):
    policy = EngagementPolicy.load()
    policy.recent_days, policy.engaged_days, policy.disengaged_days = 2, 5, 60
    policy.save()
    contact_with((ActivityKind.OPEN, MOMENT - timedelta(days=3)))
    contact_with((ActivityKind.OPEN, MOMENT - timedelta(days=40)))

    snapshot = snapshot_reconstruct(day=DAY, policy=EngagementPolicy.load())

    assert (snapshot.recent, snapshot.engaged, snapshot.disengaged) == (0, 1, 1)


def run(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo_dashboard", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo_base(frozen_now):
    call_command("seed_demo", "--contacts", "150", "--seed", "3", stdout=StringIO())
    segment_evaluate(segment_id=Segment.objects.get(slug="inactive").pk)


def test_fills_the_past_weeks_then_takes_today(demo_base):
    output = run("--weeks", "1")

    days = list(BaseSnapshot.objects.order_by("day").values_list("day", "reconstructed"))
    assert days == [(NOW.date() - timedelta(days=n), True) for n in range(7, 0, -1)] + [
        (NOW.date(), False)
    ]
    assert "rebuilt 7 daily snapshots, and took today's" in output


def test_rebuilds_today_close_to_what_the_daily_job_counts(demo_base):
    run("--weeks", "1")
    live = BaseSnapshot.objects.get(day=NOW.date())

    rebuilt = snapshot_reconstruct(day=NOW.date(), policy=EngagementPolicy.load())

    assert rebuilt.total == live.total == 150
    for field in (*LEVEL_FIELDS, "inactive_segment_size"):
        assert abs(getattr(rebuilt, field) - getattr(live, field)) <= 2, field


def test_gives_the_same_history_when_run_again(demo_base):
    run("--weeks", "1")
    first = list(BaseSnapshot.objects.order_by("day").values(*LEVEL_FIELDS, "total", "day"))

    run("--weeks", "1")

    assert list(BaseSnapshot.objects.order_by("day").values(*LEVEL_FIELDS, "total", "day")) == (
        first
    )


def test_keeps_a_day_the_daily_job_counted(demo_base):
    yesterday = NOW.date() - timedelta(days=1)
    BaseSnapshot.objects.create(day=yesterday, total=12345)

    run("--weeks", "1")

    kept = BaseSnapshot.objects.get(day=yesterday)
    assert (kept.total, kept.reconstructed) == (12345, False)


def test_writes_nothing_when_dry_run(demo_base):
    output = run("--weeks", "1", "--dry-run")

    assert not BaseSnapshot.objects.exists()
    assert "would rebuild 7 daily snapshots" in output


@pytest.mark.parametrize("weeks", ["0", "105", "-3"])
def test_refuses_a_number_of_weeks_out_of_range(weeks):
    with pytest.raises(CommandError, match="--weeks must be between 1 and 104"):
        run("--weeks", weeks)
    assert not BaseSnapshot.objects.exists()
