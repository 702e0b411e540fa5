"""Two workers ticking at once (PostgreSQL: SKIP LOCKED claims): each block runs once per
enrollment, and each send block writes one message per enrollment."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from campaigns.models import Message
from scenarios.engine import scenarios_tick
from scenarios.models import Enrollment, EnrollmentStep
from tests.factories import ContactFactory
from tests.scenarios.factories import ScenarioCampaignFactory, enroll, scenario_build

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("UTC"))


@pytest.mark.django_db(transaction=True)
def test_two_workers_run_each_block_once_per_enrollment():
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database locks tables between threads")
    campaign = ScenarioCampaignFactory()
    scenario = scenario_build(
        [
            {
                "key": "split",
                "kind": "split",
                "config": {"weights": {"a": 50, "b": 50}},
                "next": {"a": "mail", "b": "mail"},
            },
            {"key": "mail", "kind": "send_email", "campaign": campaign, "next": {"next": "wait"}},
            {"key": "wait", "kind": "wait", "config": {"days": 1}, "next": {"next": "end"}},
            {"key": "end", "kind": "end", "config": {"outcome": "let go"}},
        ]
    )
    enroll(scenario, ContactFactory.create_batch(400), at=T0)
    results, errors = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            results.append(scenarios_tick(now=T0, batch_size=25))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sum(r.advanced for r in results) == 800
    assert Message.objects.filter(campaign=campaign).count() == 400
    assert EnrollmentStep.objects.count() == 800
    assert set(Enrollment.objects.values_list("block__key", "steps")) == {("wait", 2)}
