"""Choice, number and loyalty-expiry conditions."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from contacts.models import EmailStatus, EngagementLevel, SmsStatus
from segments.rules import rule_clean, rule_contacts
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
NOW = datetime(2025, 6, 15, 10, 0, tzinfo=UTC)


def selected(condition: dict, *, now: datetime = NOW) -> set[str]:
    rule = rule_clean({"match": "all", "conditions": [condition]})
    return set(rule_contacts(rule, now=now).values_list("email", flat=True))


@pytest.mark.parametrize(
    ("field", "choices"),
    [
        ("email_status", EmailStatus.values),
        ("sms_status", SmsStatus.values),
        ("engagement_level", EngagementLevel.values),
    ],
)
def test_is_and_is_not_split_contacts_by_value_when_several_values_are_chosen(field, choices):
    for value in choices:
        ContactFactory(email=f"{value}@example.com", **{field: value})
    chosen = choices[:2]

    assert selected({"field": field, "operator": "is", "value": chosen}) == {
        f"{value}@example.com" for value in chosen
    }
    assert selected({"field": field, "operator": "is_not", "value": chosen}) == {
        f"{value}@example.com" for value in choices[2:]
    }


def test_is_accepts_a_single_value_when_given_as_text():
    ContactFactory(email="bounced@example.com", email_status=EmailStatus.BOUNCED)
    ContactFactory(email="subscribed@example.com", email_status=EmailStatus.SUBSCRIBED)

    assert selected({"field": "email_status", "operator": "is", "value": "bounced"}) == {
        "bounced@example.com"
    }


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("lt", {"9"}),
        ("lte", {"9", "10"}),
        ("eq", {"10"}),
        ("gte", {"10", "11"}),
        ("gt", {"11"}),
    ],
)
@pytest.mark.parametrize("field", ["score", "loyalty_points"])
def test_number_comparison_selects_the_right_side_of_ten_when_compared(field, operator, expected):
    for value in (9, 10, 11):
        ContactFactory(email=f"{value}@example.com", **{field: value})

    assert selected({"field": field, "operator": operator, "value": 10}) == {
        f"{value}@example.com" for value in expected
    }


def test_negative_numbers_compare_when_score_is_below_zero():
    ContactFactory(email="minus-20@example.com", score=-20)
    ContactFactory(email="minus-5@example.com", score=-5)
    ContactFactory(email="zero@example.com", score=0)

    assert selected({"field": "score", "operator": "lt", "value": -5}) == {"minus-20@example.com"}


def test_points_expire_within_next_days_from_today_to_today_plus_n_when_compared_by_date():
    # given today is 15 June
    ContactFactory(email="yesterday@example.com", loyalty_points_expire_on=date(2025, 6, 14))
    ContactFactory(email="today@example.com", loyalty_points_expire_on=date(2025, 6, 15))
    ContactFactory(email="in-30-days@example.com", loyalty_points_expire_on=date(2025, 7, 15))
    ContactFactory(email="in-31-days@example.com", loyalty_points_expire_on=date(2025, 7, 16))
    ContactFactory(email="no-expiry@example.com", loyalty_points_expire_on=None)

    assert selected(
        {"field": "loyalty_points_expire_on", "operator": "within_next", "value": 30}
    ) == {"today@example.com", "in-30-days@example.com"}


def test_points_expire_today_only_when_within_next_zero_days():
    ContactFactory(email="today@example.com", loyalty_points_expire_on=date(2025, 6, 15))
    ContactFactory(email="tomorrow@example.com", loyalty_points_expire_on=date(2025, 6, 16))

    assert selected(
        {"field": "loyalty_points_expire_on", "operator": "within_next", "value": 0, "unit": "days"}
    ) == {"today@example.com"}


def test_today_is_the_paris_date_when_utc_is_still_on_the_day_before():
    # given 22:30 UTC on 10 June is 00:30 on 11 June in Paris
    now = datetime(2025, 6, 10, 22, 30, tzinfo=UTC)
    ContactFactory(email="10-june@example.com", loyalty_points_expire_on=date(2025, 6, 10))
    ContactFactory(email="11-june@example.com", loyalty_points_expire_on=date(2025, 6, 11))
    ContactFactory(email="18-june@example.com", loyalty_points_expire_on=date(2025, 6, 18))
    ContactFactory(email="19-june@example.com", loyalty_points_expire_on=date(2025, 6, 19))

    assert selected(
        {
            "field": "loyalty_points_expire_on",
            "operator": "within_next",
            "value": 1,
            "unit": "weeks",
        },
        now=now,
    ) == {"11-june@example.com", "18-june@example.com"}


def test_points_expire_within_calendar_months_when_unit_is_months():
    # given today is 31 January: one month on is 28 February
    now = datetime(2025, 1, 31, 10, tzinfo=PARIS)
    ContactFactory(email="28-february@example.com", loyalty_points_expire_on=date(2025, 2, 28))
    ContactFactory(email="1-march@example.com", loyalty_points_expire_on=date(2025, 3, 1))

    assert selected(
        {
            "field": "loyalty_points_expire_on",
            "operator": "within_next",
            "value": 1,
            "unit": "months",
        },
        now=now,
    ) == {"28-february@example.com"}
