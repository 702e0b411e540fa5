"""The engine's guarantees: exits, each block once per enrollment under retried and failing
ticks, and enrollments that move on continuing in the same tick."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from campaigns.models import Message
from contacts.models import ActivityKind, Channel, Contact, EmailStatus, SmsStatus
from scenarios.blocks import REGISTRY
from scenarios.engine import scenarios_tick
from scenarios.models import Block, Enrollment, EnrollmentStep, Scenario
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    SegmentFactory,
    SegmentMembershipFactory,
)
from tests.scenarios.factories import ScenarioCampaignFactory, enroll, scenario_build

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def tick(at: datetime, **kwargs):
    with time_machine.travel(at, tick=False):
        return scenarios_tick(**kwargs)


def send_then_wait(segment=None):
    campaign = ScenarioCampaignFactory()
    return scenario_build(
        [
            {
                "key": "entry",
                "kind": "entry",
                "config": {"segment": segment.pk if segment else 1},
                "next": {"next": "mail"},
            },
            {"key": "mail", "kind": "send_email", "campaign": campaign, "next": {"next": "wait"}},
            {"key": "wait", "kind": "wait", "config": {"days": 7}, "next": {"next": "tag"}},
            {"key": "tag", "kind": "score", "config": {"delta": 1}, "next": {"next": "end"}},
            {"key": "end", "kind": "end", "config": {"outcome": "let go"}},
        ]
    ), campaign


def test_enrollments_run_every_block_up_to_the_first_wait_in_one_tick():
    scenario, campaign = send_then_wait()
    enroll(scenario, ContactFactory.create_batch(5), at=T0)

    result = tick(T0, batch_size=2)

    assert (result.advanced, result.waiting, result.completed) == (10, 5, 0)
    assert set(Enrollment.objects.values_list("block__key", "state")) == {("wait", "waiting")}
    assert Message.objects.filter(campaign=campaign).count() == 5


def test_the_same_tick_run_twice_runs_each_block_once():
    scenario, campaign = send_then_wait()
    enroll(scenario, ContactFactory.create_batch(3), at=T0)

    tick(T0)
    again = tick(T0)

    assert (again.advanced, again.waiting) == (0, 0)
    assert Message.objects.count() == 3
    assert EnrollmentStep.objects.count() == 6


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: not an error a block can catch."""


def test_a_worker_killed_midway_changes_nothing(monkeypatch):
    scenario, campaign = send_then_wait()
    enrollments = enroll(scenario, ContactFactory.create_batch(3), at=T0)
    wait = REGISTRY["wait"]

    def killed(**kwargs):
        raise WorkerKilled

    # The send block runs first, then the worker dies in the wait block.
    monkeypatch.setattr(wait, "run", killed)
    with pytest.raises(WorkerKilled):
        tick(T0)

    assert not Message.objects.exists()
    assert not EnrollmentStep.objects.exists()
    for enrollment in enrollments:
        assert Enrollment.objects.filter(
            pk=enrollment.pk, block__key="entry", state="active", steps=0
        ).exists()

    monkeypatch.undo()
    tick(T0)
    assert Message.objects.count() == 3
    assert EnrollmentStep.objects.count() == 6


def test_a_failing_block_holds_only_its_own_enrollments(monkeypatch, caplog):
    scenario, campaign = send_then_wait()
    stuck = enroll(scenario, ContactFactory.create_batch(2), at=T0)
    healthy_scenario, _ = send_then_wait()
    # The other scenario has a score block where this one waits.
    Block.objects.filter(scenario=healthy_scenario, key="wait").update(
        kind="score", config={"delta": 2}
    )
    (moving,) = enroll(healthy_scenario, [ContactFactory(score=0)], at=T0)

    def broken(**kwargs):
        raise ValueError("a bug in the wait block")

    monkeypatch.setattr(REGISTRY["wait"], "run", broken)
    result = tick(T0)

    # The other scenario's contact went all the way; the failing block's enrollments stand
    # after the send (its message and log kept) and before the wait, retried in 10 minutes.
    moving.refresh_from_db()
    assert (moving.state, moving.outcome) == ("completed", "let go")
    assert result.failed == 2
    assert "a bug in the wait block" in caplog.text
    for enrollment in stuck:
        enrollment.refresh_from_db()
        assert (enrollment.block.key, enrollment.state, enrollment.steps) == ("wait", "active", 2)
        assert enrollment.wake_at == T0 + timedelta(minutes=10)
    assert Message.objects.filter(campaign=campaign).count() == 2

    monkeypatch.undo()
    assert tick(T0 + timedelta(minutes=5)).advanced == 0
    assert tick(T0 + timedelta(minutes=10)).waiting == 2


def test_a_step_logged_twice_fails_rather_than_repeats():
    scenario, _ = send_then_wait()
    (enrollment,) = enroll(scenario, [ContactFactory()], at=T0)
    # A stale copy of the enrollment run again (as a second worker without the claim would).
    EnrollmentStep.objects.create(enrollment=enrollment, step=1, kind="entry", result="next")

    with pytest.raises(IntegrityError), transaction.atomic():
        tick(T0)

    assert EnrollmentStep.objects.count() == 1
    assert not Message.objects.exists()


def test_the_wait_ends_and_the_scenario_completes_a_week_later():
    scenario, _ = send_then_wait()
    (enrollment,) = enroll(scenario, [ContactFactory(score=0)], at=T0)

    tick(T0)
    result = tick(T0 + timedelta(days=7, minutes=1))

    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.outcome, enrollment.steps) == ("completed", "let go", 5)
    assert Contact.objects.get(pk=enrollment.contact_id).score == 1
    assert result.completed == 1


def test_contacts_who_unsubscribe_exit_as_unsubscribed():
    scenario, _ = send_then_wait()
    stays, leaves = enroll(scenario, ContactFactory.create_batch(2), at=T0)
    tick(T0)
    Contact.objects.filter(pk=leaves.contact_id).update(email_status=EmailStatus.COMPLAINED)

    result = tick(T0 + timedelta(hours=1))

    leaves.refresh_from_db()
    assert (leaves.state, leaves.outcome) == ("exited", "unsubscribed")
    assert leaves.log.last().kind == "exit"
    assert Enrollment.objects.get(pk=stays.pk).state == "waiting"
    assert result.exited == 1


def test_an_unsubscribe_on_any_channel_since_entry_exits_the_contact():
    scenario, _ = send_then_wait()
    stays, leaves = enroll(scenario, ContactFactory.create_batch(2), at=T0)
    tick(T0)
    # Unsubscribed from SMS once the scenario began: its e-mail status is still subscribed.
    ActivityFactory(
        contact_id=leaves.contact_id,
        kind=ActivityKind.UNSUBSCRIBE,
        channel=Channel.SMS,
        occurred_at=T0 + timedelta(minutes=30),
    )
    # An unsubscribe older than the enrollment (the contact subscribed again since) counts not.
    ActivityFactory(
        contact_id=stays.contact_id,
        kind=ActivityKind.UNSUBSCRIBE,
        occurred_at=T0 - timedelta(days=40),
    )

    tick(T0 + timedelta(hours=1))

    leaves.refresh_from_db()
    assert (leaves.state, leaves.outcome) == ("exited", "unsubscribed")
    assert Enrollment.objects.get(pk=stays.pk).state == "waiting"


def test_a_contact_reachable_by_sms_only_stays_in_the_scenario():
    scenario, _ = send_then_wait()
    sms_only = ContactFactory(
        email_status=EmailStatus.UNSUBSCRIBED, sms_status=SmsStatus.SUBSCRIBED
    )
    nowhere = ContactFactory(email_status=EmailStatus.UNSUBSCRIBED, sms_status=SmsStatus.NO_CONSENT)
    kept, gone = enroll(scenario, [sms_only, nowhere], at=T0)

    tick(T0)

    kept.refresh_from_db()
    gone.refresh_from_db()
    assert kept.state == "waiting"
    assert (gone.state, gone.outcome) == ("exited", "unsubscribed")


def test_contacts_who_engage_and_leave_the_segment_exit_as_reactivated():
    segment = SegmentFactory()
    scenario, _ = send_then_wait(segment)
    engaged, left_only, opened_only = ContactFactory.create_batch(3)
    enrollments = enroll(scenario, [engaged, left_only, opened_only], at=T0)
    SegmentMembershipFactory(segment=segment, contact=engaged, entered_at=T0, exited_at=T0)
    SegmentMembershipFactory(segment=segment, contact=left_only, entered_at=T0, exited_at=T0)
    SegmentMembershipFactory(segment=segment, contact=opened_only, entered_at=T0)
    tick(T0)
    Contact.objects.filter(pk__in=[engaged.pk, opened_only.pk]).update(
        last_open_at=T0 + timedelta(days=1)
    )

    tick(T0 + timedelta(days=2))

    states = [Enrollment.objects.get(pk=e.pk) for e in enrollments]
    assert [(e.state, e.outcome) for e in states] == [
        ("exited", "reactivated"),
        ("waiting", ""),
        ("waiting", ""),
    ]


def test_paused_scenarios_do_not_move():
    scenario, _ = send_then_wait()
    enroll(scenario, [ContactFactory()], at=T0)
    Scenario.objects.filter(pk=scenario.pk).update(status=Scenario.Status.PAUSED)

    result = tick(T0)

    assert result.advanced == 0
    assert Enrollment.objects.get().steps == 0


def test_an_enrollment_at_a_removed_block_exits_with_the_reason():
    scenario, _ = send_then_wait()
    (enrollment,) = enroll(scenario, [ContactFactory()], at=T0, block_key="wait")
    scenario.blocks.get(key="wait").delete()

    tick(T0)

    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.outcome) == ("exited", "block removed")
