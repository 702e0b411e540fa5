"""Groups: "all of" / "any of", nesting, the empty rule, and negations that must agree."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import ActivityKind, Contact, EmailStatus
from segments.rules import rule_clean, rule_contacts
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    LeadSourceFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZoneInfo("UTC"))


def selected(rule: dict) -> set[str]:
    return set(rule_contacts(rule_clean(rule), now=NOW).values_list("email", flat=True))


def everyone() -> set[str]:
    return set(Contact.objects.values_list("email", flat=True))


SUBSCRIBED = {"field": "email_status", "operator": "is", "value": ["subscribed"]}
SCORE_HIGH = {"field": "score", "operator": "gte", "value": 10}
OPENED_RECENTLY = {"field": "last_open_at", "operator": "within", "value": 7, "unit": "days"}


@pytest.fixture
def base():
    """Every combination of subscribed / high score / opened recently."""
    for subscribed in (True, False):
        for high in (True, False):
            for opened in (True, False):
                ContactFactory(
                    email=f"{'s' if subscribed else 'u'}{'h' if high else 'l'}"
                    f"{'o' if opened else 'n'}@example.com",
                    email_status=EmailStatus.SUBSCRIBED if subscribed else EmailStatus.BOUNCED,
                    score=20 if high else 0,
                    last_open_at=NOW - timedelta(days=1) if opened else None,
                )


def emails(*prefixes: str) -> set[str]:
    return {f"{prefix}@example.com" for prefix in prefixes}


def test_all_requires_every_condition_when_match_is_all(base):
    assert selected({"match": "all", "conditions": [SUBSCRIBED, SCORE_HIGH]}) == emails(
        "sho", "shn"
    )


def test_any_requires_one_condition_when_match_is_any(base):
    assert selected({"match": "any", "conditions": [SUBSCRIBED, SCORE_HIGH]}) == emails(
        "sho", "shn", "slo", "sln", "uho", "uhn"
    )


def test_nested_any_inside_all_combines_both_when_groups_are_nested(base):
    rule = {
        "match": "all",
        "conditions": [SUBSCRIBED, {"match": "any", "conditions": [SCORE_HIGH, OPENED_RECENTLY]}],
    }

    assert selected(rule) == emails("sho", "shn", "slo")


def test_nested_all_inside_any_combines_both_when_groups_are_nested(base):
    rule = {
        "match": "any",
        "conditions": [
            {"match": "all", "conditions": [SUBSCRIBED, SCORE_HIGH]},
            {
                "match": "all",
                "conditions": [
                    OPENED_RECENTLY,
                    {
                        "match": "any",
                        "conditions": [
                            {"field": "email_status", "operator": "is", "value": ["bounced"]},
                        ],
                    },
                ],
            },
        ],
    }

    assert selected(rule) == emails("sho", "shn", "uho", "ulo")


def test_empty_rule_selects_everyone_when_top_level_group_has_no_condition(base):
    assert selected({"match": "all", "conditions": []}) == everyone()
    assert len(everyone()) == 8


def test_empty_any_rule_selects_no_one_when_top_level_group_has_no_condition(base):
    assert selected({"match": "any", "conditions": []}) == set()


def test_any_of_negations_is_the_complement_of_all_when_de_morgan_applies(base):
    vip, lapsed = TagFactory(name="vip"), TagFactory(name="lapsed")
    source = LeadSourceFactory(name="Fair")
    contacts = list(Contact.objects.order_by("pk"))
    for i, contact in enumerate(contacts):
        if i % 2 == 0:
            contact.tags.add(vip)
        if i % 3:
            contact.tags.add(lapsed)
        if i % 4:
            Contact.objects.filter(pk=contact.pk).update(lead_source=source)
    positive = [
        SUBSCRIBED,
        {"field": "tag", "operator": "is", "value": [vip.pk]},
        {"field": "tag", "operator": "is", "value": [lapsed.pk]},
        {"field": "lead_source", "operator": "is", "value": [source.pk]},
        {"field": "last_open_at", "operator": "ever"},
    ]
    negative = [
        {"field": "email_status", "operator": "is_not", "value": ["subscribed"]},
        {"field": "tag", "operator": "is_not", "value": [vip.pk]},
        {"field": "tag", "operator": "is_not", "value": [lapsed.pk]},
        {"field": "lead_source", "operator": "is_not", "value": [source.pk]},
        {"field": "last_open_at", "operator": "never"},
    ]

    all_of = selected({"match": "all", "conditions": positive})
    any_not = selected({"match": "any", "conditions": negative})

    assert all_of  # the check below would hold vacuously otherwise
    assert any_not == everyone() - all_of
    assert selected({"match": "all", "conditions": negative}) == everyone() - selected(
        {"match": "any", "conditions": positive}
    )


def test_complements_agree_for_counts_and_segments_when_negated():
    segment = SegmentFactory()
    contacts = [ContactFactory(email=f"c{i}@example.com") for i in range(6)]
    for i, contact in enumerate(contacts):
        for day in range(i):
            ActivityFactory(
                contact=contact, kind=ActivityKind.OPEN, occurred_at=NOW - timedelta(days=day)
            )
        if i % 2:
            SegmentMembershipFactory(segment=segment, contact=contact, entered_at=NOW)
    at_least = {"field": "opens", "operator": "at_least", "value": 3, "within": 4, "unit": "days"}
    fewer = at_least | {"operator": "fewer_than"}
    in_segment = {"field": "segment", "operator": "is", "value": [segment.pk]}
    not_in_segment = in_segment | {"operator": "is_not"}

    assert selected({"match": "all", "conditions": [at_least, in_segment]}) == {
        "c3@example.com",
        "c5@example.com",
    }
    assert selected({"match": "any", "conditions": [fewer, not_in_segment]}) == everyone() - {
        "c3@example.com",
        "c5@example.com",
    }


def test_whole_rule_runs_as_one_query_when_it_uses_every_kind_of_condition():
    tag = TagFactory()
    rule = rule_clean(
        {
            "match": "all",
            "conditions": [
                SUBSCRIBED,
                OPENED_RECENTLY,
                {
                    "field": "opens",
                    "operator": "at_least",
                    "value": 2,
                    "within": 1,
                    "unit": "months",
                },
                {"field": "clicks", "operator": "fewer_than", "value": 3},
                {"field": "tag", "operator": "is_not", "value": [tag.pk]},
                {"field": "attribute", "operator": "contains", "key": "city", "value": "par"},
                {"field": "loyalty_points_expire_on", "operator": "within_next", "value": 3},
                {
                    "match": "any",
                    "conditions": [
                        SCORE_HIGH,
                        {"field": "segment", "operator": "is", "value": [SegmentFactory().pk]},
                    ],
                },
            ],
        }
    )

    with CaptureQueriesContext(connection) as queries:
        list(rule_contacts(rule, now=NOW))

    assert len(queries) == 1
