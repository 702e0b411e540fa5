"""Counts of events in the activity log: "at least N" / "fewer than N", in a window or ever.

Opens and clicks count human events only unless the condition includes machine events; clicks
include SMS clicks.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contacts.models import ActivityKind
from segments.rules import rule_clean, rule_contacts
from tests.factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZoneInfo("UTC"))


def selected(condition: dict) -> set[str]:
    rule = rule_clean({"match": "all", "conditions": [condition]})
    return set(rule_contacts(rule, now=NOW).values_list("email", flat=True))


def events(contact, kind: str, *ages: timedelta, machine: bool = False) -> None:
    for age in ages:
        ActivityFactory(contact=contact, kind=kind, occurred_at=NOW - age, is_machine=machine)


def days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.fixture
def senders():
    """Contacts who received 0, 1, 2 and 3 e-mails in the last 30 days, plus old ones."""
    none = ContactFactory(email="none@example.com")
    one = ContactFactory(email="one@example.com")
    two = ContactFactory(email="two@example.com")
    three = ContactFactory(email="three@example.com")
    old = ContactFactory(email="old@example.com")
    events(one, ActivityKind.SENT, days(1))
    events(two, ActivityKind.SENT, days(1), days(29))
    events(three, ActivityKind.SENT, days(1), days(2), days(30))  # 30 days ago: in the window
    events(old, ActivityKind.SENT, days(31), days(40), days(50))
    # other kinds of event do not count as e-mails received
    events(none, ActivityKind.OPEN, days(1), days(2))
    events(none, ActivityKind.SMS_SENT, days(1), days(2))
    return none, one, two, three, old


def test_at_least_counts_events_in_the_window_when_within_is_given(senders):
    condition = {"field": "emails_received", "operator": "at_least", "within": 30, "unit": "days"}

    assert selected(condition | {"value": 1}) == {
        "one@example.com",
        "two@example.com",
        "three@example.com",
    }
    assert selected(condition | {"value": 2}) == {"two@example.com", "three@example.com"}
    assert selected(condition | {"value": 3}) == {"three@example.com"}
    assert selected(condition | {"value": 4}) == set()


def test_fewer_than_keeps_contacts_without_any_event_when_within_is_given(senders):
    condition = {"field": "emails_received", "operator": "fewer_than", "within": 30, "unit": "days"}

    assert selected(condition | {"value": 1}) == {"none@example.com", "old@example.com"}
    assert selected(condition | {"value": 2}) == {
        "none@example.com",
        "one@example.com",
        "old@example.com",
    }
    assert selected(condition | {"value": 3}) == {
        "none@example.com",
        "one@example.com",
        "two@example.com",
        "old@example.com",
    }


def test_counts_every_event_ever_when_no_window(senders):
    assert selected({"field": "emails_received", "operator": "at_least", "value": 3}) == {
        "three@example.com",
        "old@example.com",
    }
    assert selected({"field": "emails_received", "operator": "fewer_than", "value": 1}) == {
        "none@example.com"
    }


def test_window_in_months_is_calendar_months_when_unit_is_months():
    contact = ContactFactory(email="a@example.com")
    # 15 June minus 1 month is 15 May, same hour
    events(contact, ActivityKind.PURCHASE, NOW - datetime(2025, 5, 15, 10, tzinfo=NOW.tzinfo))
    late = ContactFactory(email="b@example.com")
    events(late, ActivityKind.PURCHASE, NOW - datetime(2025, 5, 15, 9, 59, tzinfo=NOW.tzinfo))

    assert selected(
        {"field": "purchases", "operator": "at_least", "value": 1, "within": 1, "unit": "months"}
    ) == {"a@example.com"}


def test_machine_opens_are_left_out_when_include_machine_is_not_set():
    human = ContactFactory(email="human@example.com")
    machine = ContactFactory(email="machine@example.com")
    mixed = ContactFactory(email="mixed@example.com")
    events(human, ActivityKind.OPEN, days(1), days(2))
    events(machine, ActivityKind.OPEN, days(1), days(2), machine=True)
    events(mixed, ActivityKind.OPEN, days(1))
    events(mixed, ActivityKind.OPEN, days(2), machine=True)
    condition = {"field": "opens", "operator": "at_least", "value": 2, "within": 7, "unit": "days"}

    assert selected(condition) == {"human@example.com"}
    assert selected(condition | {"include_machine": True}) == {
        "human@example.com",
        "machine@example.com",
        "mixed@example.com",
    }
    assert selected(condition | {"value": 1}) == {"human@example.com", "mixed@example.com"}
    assert selected(condition | {"operator": "fewer_than", "value": 1}) == {"machine@example.com"}


def test_clicks_include_sms_clicks_and_leave_out_machine_clicks_when_counted():
    email_click = ContactFactory(email="email@example.com")
    sms_click = ContactFactory(email="sms@example.com")
    scanner = ContactFactory(email="scanner@example.com")
    events(email_click, ActivityKind.CLICK, days(3))
    events(sms_click, ActivityKind.SMS_CLICK, days(3))
    events(scanner, ActivityKind.CLICK, days(3), machine=True)
    condition = {
        "field": "clicks",
        "operator": "at_least",
        "value": 1,
        "within": 1,
        "unit": "weeks",
    }

    assert selected(condition) == {"email@example.com", "sms@example.com"}
    assert selected(condition | {"include_machine": True}) == {
        "email@example.com",
        "sms@example.com",
        "scanner@example.com",
    }


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("purchases", ActivityKind.PURCHASE),
        ("visits", ActivityKind.VISIT),
        ("sms_received", ActivityKind.SMS_SENT),
    ],
)
def test_each_count_field_counts_its_own_kind_when_events_of_every_kind_exist(field, kind):
    counted = ContactFactory(email="counted@example.com")
    other = ContactFactory(email="other@example.com")
    events(counted, kind, days(1), days(2))
    for other_kind in ActivityKind.values:
        if other_kind != kind:
            events(other, other_kind, days(1), days(2))

    assert selected({"field": field, "operator": "at_least", "value": 2}) == {"counted@example.com"}
    assert selected({"field": field, "operator": "fewer_than", "value": 2}) == {"other@example.com"}
