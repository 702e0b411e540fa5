"""`manage.py run_scenarios --once`: one tick, and what it did."""

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from scenarios.models import Enrollment
from tests.factories import ContactFactory
from tests.scenarios.factories import enroll, scenario_build

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("UTC"))


def test_once_runs_one_tick_and_prints_the_counts():
    scenario = scenario_build(
        [
            {
                "key": "split",
                "kind": "split",
                "config": {"weights": {"a": 1, "b": 0}},
                "next": {"a": "wait"},
            },
            {"key": "wait", "kind": "wait", "config": {"hours": 1}, "next": {"next": "end"}},
            {"key": "end", "kind": "end", "config": {"outcome": "let go"}},
        ]
    )
    enroll(scenario, ContactFactory.create_batch(3), at=T0)
    out = StringIO()

    with time_machine.travel(T0, tick=False):
        call_command("run_scenarios", "--once", stdout=out)

    assert out.getvalue().strip() == "advanced 3, waiting 3, completed 0, exited 0"
    assert Enrollment.objects.filter(state="waiting").count() == 3


def test_schedule_runs_the_tick_every_minute():
    from config.schedules import RECURRING_JOBS

    job = next(job for job in RECURRING_JOBS if job.func == "scenarios.tasks.scenarios_tick")
    assert job.minutes == 1
