"""The evaluation lock: one evaluation of a segment at a time; a dead worker's lock expires."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from segments.models import Segment, SegmentEvaluation, SegmentMembership
from segments.services import SegmentBusy, evaluation_lock_expiry, segment_evaluate
from segments.tasks import segment_evaluate as segment_evaluate_task
from tests.factories import ContactFactory, SegmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("UTC"))


def test_second_evaluation_raises_busy_when_another_holds_the_lock():
    # given a worker started evaluating a minute ago and is still at it
    segment = SegmentFactory(evaluation_started_at=NOW - timedelta(minutes=1))
    ContactFactory()

    with time_machine.travel(NOW, tick=False), pytest.raises(SegmentBusy):
        segment_evaluate(segment_id=segment.pk)

    assert SegmentMembership.objects.count() == 0
    assert not SegmentEvaluation.objects.filter(segment=segment).exists()
    segment.refresh_from_db()
    assert segment.evaluation_started_at == NOW - timedelta(minutes=1)


def test_lock_is_still_held_when_exactly_as_old_as_the_expiry():
    segment = SegmentFactory(evaluation_started_at=NOW - evaluation_lock_expiry())

    with time_machine.travel(NOW, tick=False), pytest.raises(SegmentBusy):
        segment_evaluate(segment_id=segment.pk)


def test_stale_lock_is_taken_over_when_older_than_the_expiry():
    # given a worker was killed mid-evaluation long ago
    segment = SegmentFactory(
        evaluation_started_at=NOW - evaluation_lock_expiry() - timedelta(seconds=1)
    )
    ContactFactory()

    with time_machine.travel(NOW, tick=False):
        result = segment_evaluate(segment_id=segment.pk)

    assert (result.entered, result.members) == (1, 1)
    segment.refresh_from_db()
    assert segment.evaluation_started_at is None
    assert segment.last_evaluated_at == NOW


def test_lock_expiry_outlasts_the_task_timeout_when_read_from_settings(settings):
    assert evaluation_lock_expiry() > timedelta(seconds=settings.Q_CLUSTER["timeout"])


def test_lock_is_released_when_the_evaluation_is_done():
    segment = SegmentFactory()

    with time_machine.travel(NOW, tick=False):
        segment_evaluate(segment_id=segment.pk)
        segment_evaluate(segment_id=segment.pk)  # would raise SegmentBusy if still held

    assert SegmentEvaluation.objects.filter(segment=segment).count() == 2


def test_task_leaves_a_busy_segment_to_its_worker_when_locked():
    segment = SegmentFactory(evaluation_started_at=NOW - timedelta(minutes=1))

    with time_machine.travel(NOW, tick=False):
        segment_evaluate_task(segment.pk)  # does not raise: the other worker has it

    assert not SegmentEvaluation.objects.filter(segment=segment).exists()


def test_evaluation_says_the_segment_is_gone_when_it_was_deleted():
    segment = SegmentFactory()
    segment_id = segment.pk
    segment.delete()

    with time_machine.travel(NOW, tick=False), pytest.raises(Segment.DoesNotExist):
        segment_evaluate(segment_id=segment_id)


def test_task_does_nothing_when_the_segment_was_deleted():
    segment = SegmentFactory()
    segment_id = segment.pk
    segment.delete()

    with time_machine.travel(NOW, tick=False):
        segment_evaluate_task(segment_id)

    assert not SegmentEvaluation.objects.filter(segment_id=segment_id).exists()
