"""`rule_preview`: how many contacts a rule matches, a sample, and the split by lead source."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments.rules import rule_clean
from segments.selectors import rule_preview
from tests.factories import ContactFactory, LeadSourceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZoneInfo("UTC"))
HIGH = rule_clean(
    {"match": "all", "conditions": [{"field": "score", "operator": "gte", "value": 10}]}
)


def test_counts_samples_and_splits_by_source_when_contacts_match():
    fair, web = LeadSourceFactory(name="Fair"), LeadSourceFactory(name="Web")
    for _ in range(3):
        ContactFactory(score=10, lead_source=web)
    ContactFactory(score=10, lead_source=fair)
    newest = ContactFactory(email="newest@example.com", score=10, lead_source=None)
    ContactFactory(score=0, lead_source=fair)

    with CaptureQueriesContext(connection) as queries:
        preview = rule_preview(rule=HIGH, now=NOW, sample_size=2)

    assert preview.count == 5
    assert preview.by_source == [("Web", 3), ("Fair", 1), ("", 1)]
    assert len(preview.sample) == 2
    assert preview.sample[0]["email"] == newest.email
    assert len(queries) == 2


def test_ties_between_sources_come_in_the_same_order_when_on_any_database():
    # given as many matches without a source as from "Fair"
    fair = LeadSourceFactory(name="Fair")
    ContactFactory(score=10, lead_source=fair)
    ContactFactory(score=10, lead_source=None)

    preview = rule_preview(rule=HIGH, now=NOW)

    # then the named source first, "no source" last, on SQLite as on PostgreSQL
    assert preview.by_source == [("Fair", 1), ("", 1)]


def test_preview_is_empty_when_nobody_matches():
    ContactFactory(score=0)

    preview = rule_preview(rule=HIGH, now=NOW)

    assert (preview.count, preview.sample, preview.by_source) == (0, [], [])
