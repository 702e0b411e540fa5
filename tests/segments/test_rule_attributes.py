"""Custom attributes (JSON keys) compared as text: equals (any case), contains, set, not set."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from segments.rules import rule_clean, rule_contacts
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZoneInfo("UTC"))


def selected(condition: dict) -> set[str]:
    rule = rule_clean({"match": "all", "conditions": [{"field": "attribute", **condition}]})
    return set(rule_contacts(rule, now=NOW).values_list("email", flat=True))


@pytest.fixture
def cities():
    ContactFactory(email="paris@example.com", attributes={"city": "Paris"})
    ContactFactory(email="upper@example.com", attributes={"city": "PARIS"})
    ContactFactory(email="suburb@example.com", attributes={"city": "Paris-Saclay"})
    ContactFactory(email="lyon@example.com", attributes={"city": "Lyon", "code": "C1"})
    ContactFactory(email="empty@example.com", attributes={})
    ContactFactory(email="null@example.com", attributes={"city": None})


def test_equals_ignores_case_when_value_differs_only_in_case(cities):
    assert selected({"operator": "equals", "key": "city", "value": "paris"}) == {
        "paris@example.com",
        "upper@example.com",
    }


def test_contains_matches_part_of_the_text_in_any_case_when_value_is_inside(cities):
    assert selected({"operator": "contains", "key": "city", "value": "aris"}) == {
        "paris@example.com",
        "upper@example.com",
        "suburb@example.com",
    }


def test_is_set_and_is_not_set_split_contacts_by_the_key_when_some_lack_it(cities):
    assert selected({"operator": "is_set", "key": "city"}) == {
        "paris@example.com",
        "upper@example.com",
        "suburb@example.com",
        "lyon@example.com",
    }
    assert selected({"operator": "is_not_set", "key": "city"}) == {
        "empty@example.com",
        "null@example.com",
    }
    assert selected({"operator": "is_set", "key": "code"}) == {"lyon@example.com"}


def test_numeric_attribute_compares_as_text_when_stored_as_a_number():
    ContactFactory(email="42@example.com", attributes={"age": 42})
    ContactFactory(email="142@example.com", attributes={"age": 142})
    ContactFactory(email="text@example.com", attributes={"age": "42"})
    ContactFactory(email="none@example.com", attributes={})

    assert selected({"operator": "equals", "key": "age", "value": 42}) == {
        "42@example.com",
        "text@example.com",
    }
    assert selected({"operator": "contains", "key": "age", "value": "42"}) == {
        "42@example.com",
        "142@example.com",
        "text@example.com",
    }
    assert selected({"operator": "is_set", "key": "age"}) == {
        "42@example.com",
        "142@example.com",
        "text@example.com",
    }


def test_contains_treats_percent_and_underscore_literally_when_value_has_them():
    ContactFactory(email="discount@example.com", attributes={"offer": "50% off"})
    ContactFactory(email="number@example.com", attributes={"offer": "5000 off"})
    ContactFactory(email="snake@example.com", attributes={"offer": "a_b"})
    ContactFactory(email="plain@example.com", attributes={"offer": "axb"})

    assert selected({"operator": "contains", "key": "offer", "value": "0%"}) == {
        "discount@example.com"
    }
    assert selected({"operator": "contains", "key": "offer", "value": "a_b"}) == {
        "snake@example.com"
    }


def test_equals_matches_accented_text_when_written_as_stored():
    # given a French city with an accent, as a marketer types it
    ContactFactory(email="orleans@example.com", attributes={"city": "Orléans"})
    ContactFactory(email="lower@example.com", attributes={"city": "orléans"})

    assert selected({"operator": "equals", "key": "city", "value": "Orléans"}) == {
        "orleans@example.com",
        "lower@example.com",
    }
    assert selected({"operator": "contains", "key": "city", "value": "léans"}) == {
        "orleans@example.com",
        "lower@example.com",
    }


def test_key_is_read_literally_when_it_has_a_dot():
    ContactFactory(email="dotted@example.com", attributes={"a.b": "x"})
    ContactFactory(email="nested@example.com", attributes={"a": {"b": "x"}})

    assert selected({"operator": "equals", "key": "a.b", "value": "x"}) == {"dotted@example.com"}
