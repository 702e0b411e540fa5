"""When segments are evaluated: the due tick, each segment's interval, activation."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from segments.models import Segment, SegmentEvaluation
from segments.services import segment_evaluate, segment_schedule, segments_due
from segments.tasks import segments_evaluate_due
from tests.factories import SegmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("UTC"))


@pytest.fixture(autouse=True)
def only_these_segments():
    """Given no other segment is active (the built-in ones are, after migrate)."""
    Segment.objects.update(is_active=False)


def runs(segment: Segment) -> int:
    return SegmentEvaluation.objects.filter(segment=segment).count()


def test_tick_queues_each_due_active_segment_once_when_run():
    never_run = SegmentFactory(slug="never-run", is_active=True, next_evaluation_at=None)
    overdue = SegmentFactory(
        slug="overdue", is_active=True, next_evaluation_at=NOW - timedelta(minutes=1)
    )
    due_now = SegmentFactory(slug="due-now", is_active=True, next_evaluation_at=NOW)
    later = SegmentFactory(
        slug="later", is_active=True, next_evaluation_at=NOW + timedelta(hours=1)
    )
    inactive = SegmentFactory(slug="inactive-one", is_active=False, next_evaluation_at=None)
    inactive_overdue = SegmentFactory(
        slug="inactive-overdue", is_active=False, next_evaluation_at=NOW - timedelta(days=1)
    )

    with time_machine.travel(NOW, tick=False):
        queued = segments_evaluate_due()

    assert queued == 3
    assert [runs(s) for s in (never_run, overdue, due_now)] == [1, 1, 1]
    assert [runs(s) for s in (later, inactive, inactive_overdue)] == [0, 0, 0]


def test_tick_queues_nothing_when_run_again_at_once():
    segment = SegmentFactory(is_active=True, next_evaluation_at=None)
    with time_machine.travel(NOW, tick=False):
        segments_evaluate_due()

    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        queued = segments_evaluate_due()

    assert queued == 0
    assert runs(segment) == 1


def test_tick_evaluates_again_when_the_interval_has_elapsed():
    segment = SegmentFactory(is_active=True, evaluation_interval_hours=6)
    with time_machine.travel(NOW, tick=False):
        segments_evaluate_due()

    with time_machine.travel(NOW + timedelta(hours=5, minutes=59), tick=False):
        assert segments_evaluate_due() == 0
    with time_machine.travel(NOW + timedelta(hours=6), tick=False):
        assert segments_evaluate_due() == 1

    assert runs(segment) == 2


def test_segment_is_not_due_when_evaluated_just_now():
    segment = SegmentFactory(is_active=True, next_evaluation_at=None)
    assert list(segments_due(now=NOW)) == [segment]

    with time_machine.travel(NOW, tick=False):
        segment_evaluate(segment_id=segment.pk)

    assert list(segments_due(now=NOW)) == []
    assert list(segments_due(now=NOW + timedelta(hours=12))) == [segment]


def test_activated_segment_is_due_now_when_it_was_inactive():
    segment = SegmentFactory(is_active=True, next_evaluation_at=None)

    segment_schedule(segment=segment, was_active=False, now=NOW)

    segment.refresh_from_db()
    assert segment.next_evaluation_at == NOW


def test_deactivated_segment_is_never_due_when_saved_inactive():
    segment = SegmentFactory(is_active=False, next_evaluation_at=NOW)

    segment_schedule(segment=segment, was_active=True, now=NOW)

    segment.refresh_from_db()
    assert segment.next_evaluation_at is None
    assert list(segments_due(now=NOW + timedelta(days=1))) == []


def test_new_interval_counts_from_the_last_evaluation_when_edited():
    segment = SegmentFactory(
        is_active=True,
        evaluation_interval_hours=2,
        last_evaluated_at=NOW - timedelta(hours=1),
        next_evaluation_at=NOW + timedelta(hours=11),
    )

    segment_schedule(segment=segment, was_active=True, now=NOW)

    segment.refresh_from_db()
    assert segment.next_evaluation_at == NOW + timedelta(hours=1)
