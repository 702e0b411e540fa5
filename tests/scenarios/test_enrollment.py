"""Contacts enter scenarios: on entry into the trigger segment, on activation, re-entry rules."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from campaigns.registry import reactivation_enrolled_q
from contacts.models import Contact
from scenarios.enrollment import enrollments_create, segment_members_enroll
from scenarios.models import Enrollment, Scenario
from segments.services import segment_evaluate
from tests.factories import ContactFactory, ContactListFactory, SegmentFactory
from tests.scenarios.factories import scenario_build

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
HIGH_SCORE = {"match": "all", "conditions": [{"field": "score", "operator": "gte", "value": 10}]}


@pytest.fixture
def segment():
    return SegmentFactory(slug="high", rule=HIGH_SCORE, evaluation_interval_hours=12)


def scenario_on(segment, *, reentry="never", days=0, **fields) -> Scenario:
    return scenario_build(
        [
            {
                "key": "entry",
                "kind": "entry",
                "config": {"segment": segment.pk, "reentry": reentry, "reentry_days": days},
                "next": {"next": "end"},
            },
            {"key": "end", "kind": "end", "config": {"outcome": "let go"}},
        ],
        **fields,
    )


def evaluate(segment, at):
    with time_machine.travel(at, tick=False):
        return segment_evaluate(segment_id=segment.pk)


def enrolled(scenario) -> set[str]:
    return set(
        Enrollment.objects.filter(scenario=scenario).values_list("contact__email", flat=True)
    )


def test_contacts_entering_the_segment_are_enrolled_at_the_entry_block(segment):
    scenario = scenario_on(segment)
    paused = scenario_on(segment, status=Scenario.Status.PAUSED)
    ContactFactory(email="in@example.com", score=12)
    ContactFactory(email="out@example.com", score=1)

    evaluate(segment, T0)

    enrollment = Enrollment.objects.get(scenario=scenario)
    assert enrollment.contact.email == "in@example.com"
    assert (enrollment.state, enrollment.block.key, enrollment.wake_at, enrollment.entered_at) == (
        "active",
        "entry",
        T0,
        T0,
    )
    assert not Enrollment.objects.filter(scenario=paused).exists()


def test_only_contacts_of_the_scenario_base_are_enrolled(segment):
    base = ContactListFactory()
    scenario = scenario_on(segment, contact_list=base)
    member = ContactFactory(email="member@example.com", score=12)
    member.lists.add(base)
    ContactFactory(email="other@example.com", score=12)

    evaluate(segment, T0)

    assert enrolled(scenario) == {"member@example.com"}


def test_reentry_never_enrols_a_contact_once_even_after_leaving_and_coming_back(segment):
    scenario = scenario_on(segment, reentry="never")
    contact = ContactFactory(score=12)
    evaluate(segment, T0)
    Enrollment.objects.filter(scenario=scenario).update(state="completed", finished_at=T0)

    Contact.objects.filter(pk=contact.pk).update(score=0)
    evaluate(segment, T0 + timedelta(hours=12))
    Contact.objects.filter(pk=contact.pk).update(score=12)
    evaluate(segment, T0 + timedelta(days=400))

    assert Enrollment.objects.filter(scenario=scenario).count() == 1


def test_reentry_after_days_waits_that_long_after_the_last_enrollment_finished(segment):
    scenario = scenario_on(segment, reentry="after_days", days=30)
    contact = ContactFactory(score=12)
    evaluate(segment, T0)
    Enrollment.objects.filter(scenario=scenario).update(state="completed", finished_at=T0)
    contacts = Contact.objects.filter(pk=contact.pk)

    too_soon = enrollments_create(scenario=scenario, contacts=contacts, now=T0 + timedelta(days=29))
    later = enrollments_create(scenario=scenario, contacts=contacts, now=T0 + timedelta(days=31))

    assert (too_soon, later) == (0, 1)
    assert Enrollment.objects.filter(scenario=scenario, state="active").count() == 1


def test_a_contact_with_an_open_enrollment_is_not_enrolled_again(segment):
    scenario = scenario_on(segment, reentry="after_days", days=1)
    contacts = Contact.objects.filter(pk=ContactFactory().pk)

    first = enrollments_create(scenario=scenario, contacts=contacts, now=T0)
    second = enrollments_create(scenario=scenario, contacts=contacts.values("pk"), now=T0)

    assert (first, second) == (1, 0)


def test_activation_enrols_the_contacts_already_in_the_segment_once(segment):
    ContactFactory(email="early@example.com", score=12)
    evaluate(segment, T0)
    scenario = scenario_on(segment)

    first = segment_members_enroll(scenario=scenario, now=T0 + timedelta(minutes=5))
    again = segment_members_enroll(scenario=scenario, now=T0 + timedelta(minutes=6))

    assert (first, again) == (1, 0)
    assert enrolled(scenario) == {"early@example.com"}


def test_open_enrollments_are_left_out_of_campaign_dilution(segment):
    scenario = scenario_on(segment)
    inside, finished = ContactFactory.create_batch(2)
    enrollments_create(scenario=scenario, contacts=Contact.objects.all(), now=T0)
    Enrollment.objects.filter(contact=finished).update(state="completed")

    flagged = set(Contact.objects.filter(reactivation_enrolled_q()).values_list("pk", flat=True))

    assert flagged == {inside.pk}
