"""Relative-date conditions: "more than N ago", "within the last N", "not within", never, ever.

A rule is compiled at an explicit `now`; the boundaries are exact instants: a date exactly N
units ago is "within the last N" and not "more than N ago". Months are calendar months.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from segments.rules import rule_clean, rule_contacts
from segments.rules.catalogue import DATE, FIELDS
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
# Noon in Paris on 31 August, in UTC as timezone.now() gives it.
NOW = datetime(2025, 8, 31, 12, 0, tzinfo=PARIS).astimezone(UTC)
DATE_FIELDS = [name for name, f in FIELDS.items() if f.kind == DATE]
ROLLUPS = [name for name in DATE_FIELDS if name != "created_at"]


def selected(condition: dict, *, now: datetime = NOW) -> set[str]:
    rule = rule_clean({"match": "all", "conditions": [condition]})
    return set(rule_contacts(rule, now=now).values_list("email", flat=True))


def date(field: str, operator: str, value: int | None = None, unit: str | None = None) -> dict:
    condition = {"field": field, "operator": operator}
    if value is not None:
        condition |= {"value": value, "unit": unit}
    return condition


@pytest.mark.parametrize("field", DATE_FIELDS)
def test_more_than_selects_only_dates_before_the_cutoff_when_n_days_ago(field):
    # given one contact each side of "10 days ago", one exactly on it, and one never
    cutoff = NOW - timedelta(days=10)
    ContactFactory(email="before@example.com", **{field: cutoff - timedelta(seconds=1)})
    ContactFactory(email="exact@example.com", **{field: cutoff})
    ContactFactory(email="after@example.com", **{field: cutoff + timedelta(seconds=1)})
    if field != "created_at":
        ContactFactory(email="never@example.com", created_at=NOW - timedelta(days=900))

    assert selected(date(field, "more_than", 10, "days")) == {"before@example.com"}


@pytest.mark.parametrize("field", DATE_FIELDS)
def test_within_selects_dates_on_or_after_the_cutoff_when_n_days_ago(field):
    cutoff = NOW - timedelta(days=10)
    ContactFactory(email="before@example.com", **{field: cutoff - timedelta(seconds=1)})
    ContactFactory(email="exact@example.com", **{field: cutoff})
    ContactFactory(email="after@example.com", **{field: cutoff + timedelta(seconds=1)})
    if field != "created_at":
        ContactFactory(email="never@example.com", created_at=NOW - timedelta(days=900))

    assert selected(date(field, "within", 10, "days")) == {
        "exact@example.com",
        "after@example.com",
    }


@pytest.mark.parametrize("field", ROLLUPS)
def test_not_within_selects_never_and_before_the_cutoff_when_rollup_date(field):
    cutoff = NOW - timedelta(weeks=2)
    ContactFactory(email="before@example.com", **{field: cutoff - timedelta(seconds=1)})
    ContactFactory(email="exact@example.com", **{field: cutoff})
    ContactFactory(email="after@example.com", **{field: NOW})
    ContactFactory(email="never@example.com", **{field: None})

    assert selected(date(field, "not_within", 2, "weeks")) == {
        "before@example.com",
        "never@example.com",
    }


@pytest.mark.parametrize("field", ROLLUPS)
def test_never_and_ever_split_contacts_by_whether_the_date_is_set(field):
    ContactFactory(email="long-ago@example.com", **{field: NOW - timedelta(days=4000)})
    ContactFactory(email="just-now@example.com", **{field: NOW})
    ContactFactory(email="never@example.com", **{field: None})

    assert selected(date(field, "never")) == {"never@example.com"}
    assert selected(date(field, "ever")) == {"long-ago@example.com", "just-now@example.com"}


def test_exactly_six_calendar_months_ago_is_within_but_not_more_than_when_created_then():
    # given 31 August minus 6 months: 28 February (there is no 31 February), noon in Paris
    # although Paris changed from summer to winter time in between
    ContactFactory(email="exact@example.com", created_at=datetime(2025, 2, 28, 12, tzinfo=PARIS))
    ContactFactory(
        email="second-before@example.com",
        created_at=datetime(2025, 2, 28, 11, 59, 59, tzinfo=PARIS),
    )
    ContactFactory(email="march@example.com", created_at=datetime(2025, 3, 1, tzinfo=PARIS))

    assert selected(date("created_at", "more_than", 6, "months")) == {"second-before@example.com"}
    assert selected(date("created_at", "within", 6, "months")) == {
        "exact@example.com",
        "march@example.com",
    }


def test_months_are_calendar_months_not_thirty_days_when_february_is_short():
    # given now is 31 March: one month ago is 28 February, 30 days ago is 1 March
    now = datetime(2025, 3, 31, 12, tzinfo=UTC)
    ContactFactory(
        email="first-of-march@example.com", last_open_at=datetime(2025, 3, 1, tzinfo=UTC)
    )

    assert selected(date("last_open_at", "more_than", 30, "days"), now=now) == {
        "first-of-march@example.com"
    }
    assert selected(date("last_open_at", "more_than", 1, "months"), now=now) == set()
    assert selected(date("last_open_at", "within", 1, "months"), now=now) == {
        "first-of-march@example.com"
    }


def test_leap_day_minus_twelve_months_is_the_last_day_of_february_when_year_is_common():
    now = datetime(2024, 2, 29, 12, tzinfo=UTC)
    ContactFactory(
        email="exact@example.com", last_purchase_at=datetime(2023, 2, 28, 12, tzinfo=UTC)
    )
    ContactFactory(
        email="before@example.com", last_purchase_at=datetime(2023, 2, 28, 11, tzinfo=UTC)
    )

    assert selected(date("last_purchase_at", "more_than", 12, "months"), now=now) == {
        "before@example.com"
    }


def test_weeks_count_seven_days_each_when_unit_is_weeks():
    ContactFactory(email="exact@example.com", last_visit_at=NOW - timedelta(days=21))
    ContactFactory(email="older@example.com", last_visit_at=NOW - timedelta(days=21, seconds=1))

    assert selected(date("last_visit_at", "more_than", 3, "weeks")) == {"older@example.com"}
    assert selected(date("last_visit_at", "within", 3, "weeks")) == {"exact@example.com"}


def test_months_are_counted_on_the_paris_calendar_when_now_is_just_after_midnight():
    # given it is 1 March 00:30 in Paris (still 28 February in UTC, as timezone.now() gives it)
    now = datetime(2025, 3, 1, 0, 30, tzinfo=PARIS).astimezone(UTC)
    ContactFactory(
        email="30-january@example.com", created_at=datetime(2025, 1, 30, 12, tzinfo=PARIS)
    )
    ContactFactory(
        email="1-february@example.com", created_at=datetime(2025, 2, 1, 0, 30, tzinfo=PARIS)
    )

    # then one month ago is 1 February 00:30, Paris time, as a marketer in Paris counts it
    assert selected(date("created_at", "more_than", 1, "months"), now=now) == {
        "30-january@example.com"
    }
    assert selected(date("created_at", "within", 1, "months"), now=now) == {
        "1-february@example.com"
    }


def test_created_at_offers_no_never_ever_or_not_within_when_always_set():
    assert FIELDS["created_at"].allowed_operators() == ("more_than", "within")
