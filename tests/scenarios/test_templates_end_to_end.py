"""Each Essentials template end to end: created from the catalogue, activated on contacts
already in its segment, moved by engine ticks with time moved over the waits."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Message, SenderProfile
from campaigns.outcomes import message_outcome_mark
from contacts.models import ActivityKind, Contact, EmailStatus, SmsStatus
from contacts.services import ActivityEvent, activities_record
from scenarios.engine import scenarios_tick
from scenarios.models import Enrollment, GenericChannelEntry, ScenarioTemplate
from scenarios.services import scenario_activate, scenario_create_from_template
from segments.models import Segment, SegmentMembership
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# A Tuesday, inside the templates' sending window (10:00-12:00 on weekdays).
TUESDAY_10_30 = datetime(2026, 11, 24, 10, 30, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def sender_profile():
    return SenderProfile.objects.create(
        name="Réactivation",
        purpose=SenderProfile.Purpose.REACTIVATION,
        from_name="La Boutique",
        from_email="bonjour@relance.example",
    )


def in_segment(slug: str, count: int, **contact_fields) -> list[Contact]:
    contacts = ContactFactory.create_batch(
        count, phone="+33612345678", sms_status=SmsStatus.SUBSCRIBED, **contact_fields
    )
    segment = Segment.objects.get(slug=slug)
    for contact in contacts:
        SegmentMembership.objects.create(
            segment=segment, contact=contact, entered_at=timezone.now()
        )
    return contacts


@pytest.fixture
def activated(django_capture_on_commit_callbacks):
    """Activates a scenario made from a template; the worker task it queues (enrolling the
    segment's members) runs when the activation commits, as it would in production."""

    def activate(slug: str):
        scenario = scenario_create_from_template(
            template=ScenarioTemplate.objects.get(slug=slug), name=f"{slug} test"
        )
        with django_capture_on_commit_callbacks(execute=True):
            scenario_activate(scenario=scenario, now=TUESDAY_10_30)
        return scenario

    return activate


def messages_of(enrollment: Enrollment) -> list[Message]:
    return list(Message.objects.filter(origin__startswith=f"{enrollment.pk}:"))


def test_inactivity_sends_by_channel_then_wins_back_clickers_and_lets_others_go(activated):
    in_segment("inactive", 12)
    with time_machine.travel(TUESDAY_10_30, tick=False):
        scenario = activated("inactivity")
        scenarios_tick(now=TUESDAY_10_30)

    enrollments = list(scenario.enrollments.all())
    assert len(enrollments) == 12
    by_branch = {branch: [e for e in enrollments if e.branch == branch] for branch in "ab"}
    assert by_branch["a"] and by_branch["b"]
    # One message each, on its branch's channel.
    for enrollment in enrollments:
        (message,) = messages_of(enrollment)
        expected = "sms" if enrollment.branch == "a" else "email"
        assert message.campaign.channel == expected
    # SMS branch: done; e-mail branch: waiting for a click.
    assert {e.state for e in by_branch["a"]} == {Enrollment.State.COMPLETED}
    assert {e.state for e in by_branch["b"]} == {Enrollment.State.WAITING}

    clicker, *others = by_branch["b"]
    message_outcome_mark(
        message_id=messages_of(clicker)[0].pk, outcome="clicked_at", at=TUESDAY_10_30
    )
    later = TUESDAY_10_30 + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        scenarios_tick(now=later)
    clicker.refresh_from_db()
    assert clicker.state == Enrollment.State.COMPLETED and clicker.outcome == "reactivated"

    after_timeout = TUESDAY_10_30 + timedelta(days=15)
    with time_machine.travel(after_timeout, tick=False):
        scenarios_tick(now=after_timeout)
    for enrollment in others:
        enrollment.refresh_from_db()
        assert enrollment.state == Enrollment.State.COMPLETED
        assert enrollment.outcome == "let go"
    assert GenericChannelEntry.objects.filter(scenario=scenario).count() == len(others)


def test_we_miss_you_keeps_who_clicks_to_stay_and_unsubscribes_the_rest(activated):
    stays, goes = in_segment("inactive", 2, score=0)
    with time_machine.travel(TUESDAY_10_30, tick=False):
        scenario = activated("we-miss-you")
        scenarios_tick(now=TUESDAY_10_30)
    click_block = scenario.blocks.get(kind="wait_for_click")
    url = click_block.config["url"]
    assert url in scenario.blocks.get(kind="send_email").campaign.html_body

    clicked_at = TUESDAY_10_30 + timedelta(days=2)
    activities_record(
        events=[
            ActivityEvent(
                contact_id=stays.pk,
                kind=ActivityKind.CLICK,
                occurred_at=clicked_at,
                metadata={"url": url},
            )
        ]
    )
    with time_machine.travel(clicked_at + timedelta(minutes=1), tick=False):
        scenarios_tick(now=clicked_at + timedelta(minutes=1))
    after_timeout = TUESDAY_10_30 + timedelta(days=15)
    with time_machine.travel(after_timeout, tick=False):
        scenarios_tick(now=after_timeout)

    stays.refresh_from_db()
    goes.refresh_from_db()
    stayed = scenario.enrollments.get(contact=stays)
    gone = scenario.enrollments.get(contact=goes)
    assert stayed.outcome == "reactivated"
    assert stays.email_status == EmailStatus.SUBSCRIBED
    assert stays.tags.filter(name="reactive").exists() and stays.score == 10
    assert gone.state == Enrollment.State.COMPLETED
    assert goes.email_status == EmailStatus.UNSUBSCRIBED
    assert goes.activities.filter(kind=ActivityKind.UNSUBSCRIBE).count() == 1


def test_loyalty_expiry_reminds_by_sms_only_who_did_not_buy_within_the_week(activated):
    buyer, sleeper = in_segment("loyalty-expiring", 2, loyalty_points=1200)
    with time_machine.travel(TUESDAY_10_30, tick=False):
        scenario = activated("loyalty-expiry")
        scenarios_tick(now=TUESDAY_10_30)
    for enrollment in scenario.enrollments.all():
        (reminder,) = messages_of(enrollment)
        assert reminder.campaign.channel == "email"
    assert "loyalty_points" in scenario.blocks.get(kind="send_email").campaign.html_body

    bought_at = TUESDAY_10_30 + timedelta(days=3)
    activities_record(
        events=[
            ActivityEvent(contact_id=buyer.pk, kind=ActivityKind.PURCHASE, occurred_at=bought_at)
        ]
    )
    # Before the 7 days: nothing moves.
    day_5 = TUESDAY_10_30 + timedelta(days=5)
    with time_machine.travel(day_5, tick=False):
        scenarios_tick(now=day_5)
    assert set(scenario.enrollments.values_list("state", flat=True)) == {"waiting"}

    day_8 = TUESDAY_10_30 + timedelta(days=8)
    with time_machine.travel(day_8, tick=False):
        scenarios_tick(now=day_8)

    bought = scenario.enrollments.get(contact=buyer)
    slept = scenario.enrollments.get(contact=sleeper)
    assert bought.state == Enrollment.State.COMPLETED and len(messages_of(bought)) == 1
    assert slept.state == Enrollment.State.COMPLETED
    channels = sorted(message.campaign.channel for message in messages_of(slept))
    assert channels == ["email", "sms"]
