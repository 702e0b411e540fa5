"""The daily engagement job: its task and its schedule."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_q.models import Schedule
from django_q.tasks import async_task, result

from config.schedules import RECURRING_JOBS, RecurringJob, schedules_ensure
from contacts.models import EngagementLevel
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
JOB_NAME = "contacts: update engagement levels"


def test_task_updates_levels_and_reports_counts_when_a_worker_runs_it():
    contact = ContactFactory(last_open_at=datetime.now(tz=PARIS) - timedelta(days=2))

    task_id = async_task("contacts.tasks.engagement_levels_update")

    contact.refresh_from_db()
    assert contact.engagement_level == EngagementLevel.RECENT
    report = result(task_id)
    assert report["examined"] == 1 and report["changed"]["recent"] == 1


def test_schedule_runs_daily_at_half_past_three_paris_time_when_created():
    Schedule.objects.filter(name=JOB_NAME).delete()

    schedules_ensure(now=datetime(2026, 3, 14, 12, tzinfo=PARIS))

    schedule = Schedule.objects.get(name=JOB_NAME)
    assert schedule.func == "contacts.tasks.engagement_levels_update"
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats == -1
    assert schedule.next_run == datetime(2026, 3, 15, 3, 30, tzinfo=PARIS)


def test_schedule_runs_the_same_day_when_created_before_the_hour():
    Schedule.objects.filter(name=JOB_NAME).delete()

    schedules_ensure(now=datetime(2026, 3, 14, 1, tzinfo=PARIS))

    assert Schedule.objects.get(name=JOB_NAME).next_run == datetime(
        2026, 3, 14, 3, 30, tzinfo=PARIS
    )


def test_schedule_keeps_its_next_run_when_ensured_again():
    Schedule.objects.filter(name=JOB_NAME).delete()
    schedules_ensure(now=datetime(2026, 3, 14, 1, tzinfo=PARIS))

    # A deployment just after the hour, before the worker picked the run up.
    schedules_ensure(now=datetime(2026, 3, 14, 3, 31, tzinfo=PARIS))

    schedules = Schedule.objects.filter(name=JOB_NAME)
    assert schedules.count() == 1
    assert schedules.get().next_run == datetime(2026, 3, 14, 3, 30, tzinfo=PARIS)


def test_schedule_moves_to_the_new_hour_when_it_was_set_at_another():
    Schedule.objects.filter(name=JOB_NAME).update(
        next_run=datetime(2026, 3, 20, 5, 0, tzinfo=PARIS)
    )

    schedules_ensure(now=datetime(2026, 3, 14, 12, tzinfo=PARIS))

    assert Schedule.objects.get(name=JOB_NAME).next_run == datetime(
        2026, 3, 15, 3, 30, tzinfo=PARIS
    )


def test_next_daily_run_stays_at_half_past_three_across_the_spring_dst_change():
    schedule = Schedule.objects.get(name=JOB_NAME)
    schedule.next_run = datetime(2026, 3, 28, 3, 30, tzinfo=PARIS)

    with time_machine.travel(datetime(2026, 3, 28, 3, 31, tzinfo=PARIS), tick=False):
        following = schedule.calculate_next_run()

    assert following.astimezone(PARIS) == datetime(2026, 3, 29, 3, 30, tzinfo=PARIS)


def test_minute_jobs_still_run_every_n_minutes_when_ensured():
    schedules_ensure()

    for job in RECURRING_JOBS:
        schedule = Schedule.objects.get(name=job.name)
        if job.minutes is not None:
            assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, job.minutes)
        else:
            assert schedule.schedule_type == Schedule.DAILY


def test_a_job_needs_either_minutes_or_a_daily_time():
    with pytest.raises(ValueError, match="either"):
        RecurringJob("both", "x.y", minutes=5, daily_at=time(3, 30))
    with pytest.raises(ValueError, match="either"):
        RecurringJob("neither", "x.y")
