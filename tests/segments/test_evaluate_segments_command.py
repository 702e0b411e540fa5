"""`evaluate_segments [SLUG ...] [--dry-run]`."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from contacts.models import Contact
from segments.models import Segment, SegmentEvaluation, SegmentMembership
from tests.factories import ContactFactory, SegmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("UTC"))
HIGH = {"match": "all", "conditions": [{"field": "score", "operator": "gte", "value": 10}]}
LOW = {"match": "all", "conditions": [{"field": "score", "operator": "lt", "value": 10}]}


def run(*args: str, at: datetime = NOW) -> tuple[list[str], str]:
    out, err = StringIO(), StringIO()
    with time_machine.travel(at, tick=False):
        call_command("evaluate_segments", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue()


@pytest.fixture
def segments():
    """Two active segments over three contacts, and an inactive one; built-ins switched off."""
    Segment.objects.update(is_active=False)
    for score in (0, 10, 20):
        ContactFactory(score=score)
    return (
        SegmentFactory(slug="high", rule=HIGH, is_active=True),
        SegmentFactory(slug="low", rule=LOW, is_active=True),
        SegmentFactory(slug="dormant", rule=HIGH, is_active=False),
    )


def test_prints_the_change_of_each_named_segment_in_order_when_slugs_are_given(segments):
    lines, _ = run("low", "high")

    assert lines == [
        "low: entered 1, exited 0, members 1",
        "high: entered 2, exited 0, members 2",
    ]


def test_prints_exits_when_run_again_after_contacts_changed(segments):
    run("high")
    Contact.objects.filter(score=20).update(score=0)

    lines, _ = run("high", at=NOW + timedelta(hours=1))

    assert lines == ["high: entered 0, exited 1, members 1"]


def test_evaluates_every_active_segment_when_no_slug_is_given(segments):
    lines, _ = run()

    assert lines == [
        "high: entered 2, exited 0, members 2",
        "low: entered 1, exited 0, members 1",
    ]
    assert not SegmentEvaluation.objects.filter(segment__slug="dormant").exists()


def test_evaluates_an_inactive_segment_when_named(segments):
    lines, _ = run("dormant")

    assert lines == ["dormant: entered 2, exited 0, members 2"]


def test_says_so_when_no_segment_is_active():
    Segment.objects.update(is_active=False)

    lines, _ = run()

    assert lines == ["no active segment"]


def test_errors_and_evaluates_nothing_when_a_slug_is_unknown(segments):
    with pytest.raises(CommandError, match="no segment with the slug: nope, other"):
        run("high", "nope", "other")

    assert not SegmentEvaluation.objects.exists()


def test_dry_run_counts_and_writes_nothing_when_asked(segments):
    run("high")
    Contact.objects.filter(score=20).update(score=0)
    ContactFactory(score=30)
    ContactFactory(score=40)

    lines, _ = run("high", "--dry-run", at=NOW + timedelta(hours=1))

    assert lines == ["high: would enter 2, would exit 1, members 3"]
    assert SegmentEvaluation.objects.count() == 1
    assert SegmentMembership.objects.filter(exited_at__isnull=True).count() == 2
    high = Segment.objects.get(slug="high")
    assert (high.member_count, high.last_evaluated_at) == (2, NOW)


def test_fails_naming_a_busy_segment_when_another_worker_holds_it(segments):
    Segment.objects.filter(slug="high").update(evaluation_started_at=NOW - timedelta(minutes=1))

    with pytest.raises(CommandError, match="not evaluated: high"):
        run("high", "low")

    assert SegmentEvaluation.objects.filter(segment__slug="low").count() == 1


def test_fails_naming_a_broken_rule_when_its_evaluation_failed(segments):
    Segment.objects.filter(slug="low").update(
        rule={"match": "all", "conditions": [{"field": "tag", "operator": "is", "value": [999]}]}
    )
    out, err = StringIO(), StringIO()

    with (
        time_machine.travel(NOW, tick=False),
        pytest.raises(CommandError, match="not evaluated: low"),
    ):
        call_command("evaluate_segments", "high", "low", stdout=out, stderr=err)

    assert out.getvalue().splitlines() == ["high: entered 2, exited 0, members 2"]
    assert "low: failed: Rule: the tag #999 does not exist" in err.getvalue()


def test_dry_run_fails_cleanly_without_a_traceback_when_a_tag_is_gone(segments):
    Segment.objects.filter(slug="low").update(
        rule={"match": "all", "conditions": [{"field": "tag", "operator": "is", "value": [999]}]}
    )
    out, err = StringIO(), StringIO()

    with (
        time_machine.travel(NOW, tick=False),
        pytest.raises(CommandError, match="not evaluated: low"),
    ):
        call_command("evaluate_segments", "low", "high", "--dry-run", stdout=out, stderr=err)

    assert out.getvalue().splitlines() == ["high: would enter 2, would exit 0, members 2"]
    assert "low: failed: Rule: the tag #999 does not exist" in err.getvalue()
