"""Two workers evaluating one segment at the same moment (PostgreSQL: real concurrent sessions).

Each thread has its own database connection, closed when it ends; the tests commit for real
(`transaction=True`) so that each session sees what the others committed.
"""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.db.models import Count

from segments.models import SegmentEvaluation, SegmentMembership
from segments.services import SegmentBusy, segment_evaluate
from segments.signals import segment_entered
from tests.factories import ContactFactory, SegmentFactory

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("UTC"))
WAIT = 10  # seconds: a bound, never reached when the code is right


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is tested on PostgreSQL")


def in_thread(target, outcomes: list) -> threading.Thread:
    def run():
        try:
            outcomes.append(target())
        except Exception as error:  # the test asserts on it
            outcomes.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def duplicate_open_stays() -> int:
    return (
        SegmentMembership.objects.filter(exited_at__isnull=True)
        .values("segment", "contact")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


def test_second_worker_is_turned_away_when_the_first_is_mid_evaluation():
    # given a segment with members to add, and a first worker paused inside its transaction
    segment = SegmentFactory(slug="shared")
    for _ in range(5):
        ContactFactory()
    inside, second_done = threading.Event(), threading.Event()

    def pause_first(sender, **kwargs):
        inside.set()
        second_done.wait(WAIT)

    segment_entered.connect(pause_first, weak=False)
    outcomes_first: list = []
    outcomes_second: list = []
    try:
        first = in_thread(lambda: segment_evaluate(segment_id=segment.pk, now=NOW), outcomes_first)
        assert inside.wait(WAIT)

        # when a second worker evaluates the same segment meanwhile
        second = in_thread(
            lambda: segment_evaluate(segment_id=segment.pk, now=NOW), outcomes_second
        )
        second.join(WAIT)
        second_done.set()
        first.join(WAIT)
    finally:
        second_done.set()
        segment_entered.disconnect(pause_first)

    # then it is turned away, and the first one's work is all there is
    assert isinstance(outcomes_second[0], SegmentBusy)
    assert outcomes_first[0].entered == 5
    assert SegmentEvaluation.objects.filter(segment=segment).count() == 1
    assert SegmentMembership.objects.filter(segment=segment).count() == 5
    assert duplicate_open_stays() == 0


def test_only_one_of_two_simultaneous_workers_evaluates_when_started_together():
    segment = SegmentFactory(slug="raced")
    for _ in range(20):
        ContactFactory()
    barrier = threading.Barrier(2)
    outcomes: list = []

    def evaluate():
        barrier.wait(WAIT)
        return segment_evaluate(segment_id=segment.pk, now=NOW)

    threads = [in_thread(evaluate, outcomes) for _ in range(2)]
    for thread in threads:
        thread.join(WAIT)

    busy = [o for o in outcomes if isinstance(o, SegmentBusy)]
    done = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(outcomes) == 2
    # one evaluated; the other was turned away, or (if the first had already finished)
    # evaluated afterwards and found nothing new
    assert [o.entered for o in done] in ([20], [20, 0], [0, 20])
    assert len(busy) + len(done) == 2
    assert SegmentMembership.objects.filter(segment=segment).count() == 20
    assert duplicate_open_stays() == 0
