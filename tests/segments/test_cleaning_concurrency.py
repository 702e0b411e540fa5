"""Two workers handed the same cleaning, or the same revert, at the same moment (PostgreSQL:
real concurrent sessions). Exactly one of them does the work.

Each thread has its own database connection, closed when it ends; the tests commit for real
(`transaction=True`) so that each session sees what the others committed.
"""

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from contacts.models import Contact, EmailStatus
from segments.models import CleanedContact, Cleaning
from segments.services import CleaningKind, cleaning_revert_run, cleaning_run
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC"))
WAIT = 10  # seconds: a bound, never reached when the code is right


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is tested on PostgreSQL")


def run_together(target: Callable[[], object], workers: int = 2) -> list:
    """Start `target` in `workers` threads at the same moment; their results or errors."""
    barrier = threading.Barrier(workers, timeout=WAIT)
    outcomes: list = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(target())
        except Exception as error:  # the test asserts on it
            outcomes.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return outcomes


def pending_cleaning() -> Cleaning:
    # Created directly: requesting it would run it at once (tasks are inline in tests).
    return Cleaning.objects.create(
        criterion="Never opened in the last 90 days",
        kind=CleaningKind.NEVER_OPENED,
        days=90,
        status=Cleaning.Status.PENDING,
    )


def test_only_one_of_two_workers_runs_the_cleaning_when_both_get_the_task():
    for _ in range(20):
        ContactFactory(created_at=LONG_AGO)
    cleaning = pending_cleaning()

    outcomes = run_together(lambda: cleaning_run(cleaning_id=cleaning.pk))

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Cleaning", "NoneType"]
    cleaning.refresh_from_db()
    assert (cleaning.status, cleaning.contact_count) == (Cleaning.Status.DONE, 20)
    assert CleanedContact.objects.filter(cleaning=cleaning).count() == 20


def test_only_one_of_two_workers_runs_the_revert_when_both_get_the_task():
    for _ in range(20):
        ContactFactory(created_at=LONG_AGO)
    cleaning = pending_cleaning()
    cleaning_run(cleaning_id=cleaning.pk)
    Cleaning.objects.filter(pk=cleaning.pk).update(
        revert_status=Cleaning.RevertStatus.PENDING,
        revert_requested_at=LONG_AGO + timedelta(days=1),
    )

    outcomes = run_together(lambda: cleaning_revert_run(cleaning_id=cleaning.pk))

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Cleaning", "NoneType"]
    cleaning.refresh_from_db()
    assert (cleaning.revert_status, cleaning.restored_count) == (Cleaning.RevertStatus.DONE, 20)
    assert Contact.objects.filter(email_status=EmailStatus.SUBSCRIBED).count() == 20
