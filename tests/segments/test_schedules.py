"""The recurring worker jobs: created by `migrate`, once each, whatever runs them again."""

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from config.schedules import RECURRING_JOBS, schedules_ensure

pytestmark = pytest.mark.django_db


def rows() -> list[tuple]:
    return list(
        Schedule.objects.filter(name__in=[job.name for job in RECURRING_JOBS])
        .order_by("name")
        .values_list("name", "func", "schedule_type", "minutes", "repeats")
    )


EXPECTED = sorted(
    (
        job.name,
        job.func,
        Schedule.MINUTES if job.minutes else Schedule.DAILY,
        job.minutes,
        -1,
    )
    for job in RECURRING_JOBS
)


def test_every_recurring_job_exists_once_when_the_database_was_migrated():
    assert rows() == EXPECTED


def test_segment_tick_is_scheduled_when_migrated():
    assert Schedule.objects.filter(func="segments.tasks.segments_evaluate_due").count() == 1


def test_jobs_stay_one_row_each_when_ensured_again():
    schedules_ensure()
    schedules_ensure()

    assert rows() == EXPECTED


def test_jobs_stay_one_row_each_when_migrate_runs_again():
    call_command("migrate", verbosity=0)

    assert rows() == EXPECTED


def test_job_is_restored_when_someone_edited_or_deleted_it():
    first = RECURRING_JOBS[0]
    Schedule.objects.filter(name=first.name).update(minutes=999, func="x.y")
    for job in RECURRING_JOBS[1:]:
        Schedule.objects.filter(name=job.name).delete()

    schedules_ensure()

    assert rows() == EXPECTED


def test_every_job_names_a_function_that_exists():
    from django.utils.module_loading import import_string

    for job in RECURRING_JOBS:
        assert callable(import_string(job.func))
