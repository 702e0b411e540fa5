"""The built-in segments: installed by migration, valid, and selecting the right contacts."""

import importlib
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.db import connection

from contacts.models import ActivityKind, EmailStatus, EngagementLevel
from contacts.services import ActivityEvent, activities_record
from segments.models import Segment
from segments.rules import rule_clean, rule_contacts
from segments.services import segment_evaluate
from tests.factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db

builtin = importlib.import_module("segments.migrations.0002_builtin_segments")

PARIS = ZoneInfo("Europe/Paris")
# Noon in Paris, as timezone.now() gives it.
NOW = datetime(2025, 9, 15, 12, 0, tzinfo=PARIS).astimezone(ZoneInfo("UTC"))
SLUGS = {
    "inactive",
    "lapsed-buyers",
    "never-opened",
    "never-clicked",
    "engaged",
    "recent-activity",
    "disengaged",
    "inactive-30d",
    "loyalty-expiring",
}


def ago(**kwargs) -> datetime:
    """So long before NOW on the Paris calendar (months are calendar months there)."""
    return NOW.astimezone(PARIS) - relativedelta(**kwargs)


def selected(slug: str) -> set[str]:
    segment = Segment.objects.get(slug=slug)
    rule = rule_clean(segment.rule, segment_id=segment.pk)
    return set(rule_contacts(rule, now=NOW).values_list("email", flat=True))


def test_migration_installed_every_builtin_segment_when_database_was_created():
    installed = Segment.objects.filter(slug__in=SLUGS)

    assert {s.slug for s in installed} == SLUGS
    assert all(s.is_builtin and s.is_active for s in installed)
    assert {spec["slug"] for spec in builtin.BUILTIN_SEGMENTS} == SLUGS


@pytest.mark.parametrize("slug", sorted(SLUGS))
def test_builtin_rule_is_already_canonical_when_cleaned(slug):
    segment = Segment.objects.get(slug=slug)

    assert rule_clean(segment.rule, segment_id=segment.pk) == segment.rule


def test_install_creates_nothing_and_keeps_staff_edits_when_run_again():
    # given staff edited the inactive segment and deactivated another
    inactive = Segment.objects.get(slug="inactive")
    edited_rule = {"match": "all", "conditions": [{"field": "score", "operator": "lt", "value": 0}]}
    Segment.objects.filter(pk=inactive.pk).update(
        name="Dormant", description="ours", rule=edited_rule, evaluation_interval_hours=24
    )
    Segment.objects.filter(slug="engaged").update(is_active=False)
    count = Segment.objects.count()

    # when the install runs again (twice)
    schema_editor = SimpleNamespace(connection=connection)
    builtin.install(apps, schema_editor)
    builtin.install(apps, schema_editor)

    assert Segment.objects.count() == count
    inactive.refresh_from_db()
    assert (inactive.name, inactive.description, inactive.rule) == ("Dormant", "ours", edited_rule)
    assert inactive.evaluation_interval_hours == 24
    assert not Segment.objects.get(slug="engaged").is_active


def inactive_candidate(email: str, **overrides):
    """A contact the inactive definition selects, unless `overrides` break one clause."""
    fields = {
        "email_status": EmailStatus.SUBSCRIBED,
        "created_at": ago(years=1),
        "last_targeted_at": ago(months=1),
        "last_open_at": ago(months=7),
        "last_click_at": None,
    }
    return ContactFactory(email=email, **(fields | overrides))


def test_inactive_selects_subscribed_long_standing_targeted_unresponsive_contacts():
    inactive_candidate("matches@example.com")
    inactive_candidate("never-engaged@example.com", last_open_at=None)
    inactive_candidate("clicked-long-ago@example.com", last_click_at=ago(months=8))
    inactive_candidate("opened-exactly-6-months-ago@example.com", last_open_at=ago(months=6))
    inactive_candidate("in-base-exactly-6-months@example.com", created_at=ago(months=6))
    inactive_candidate("targeted-exactly-3-months-ago@example.com", last_targeted_at=ago(months=3))
    # each of these breaks one clause
    inactive_candidate("unsubscribed@example.com", email_status=EmailStatus.UNSUBSCRIBED)
    inactive_candidate("cleaned@example.com", email_status=EmailStatus.CLEANED)
    inactive_candidate("new@example.com", created_at=ago(months=5))
    inactive_candidate("not-targeted-lately@example.com", last_targeted_at=ago(months=4))
    inactive_candidate("never-targeted@example.com", last_targeted_at=None)
    inactive_candidate("opened@example.com", last_open_at=ago(months=5))
    inactive_candidate("clicked@example.com", last_click_at=ago(days=3))

    assert selected("inactive") == {
        "matches@example.com",
        "never-engaged@example.com",
        "clicked-long-ago@example.com",
        "targeted-exactly-3-months-ago@example.com",
    }


def test_inactive_ignores_machine_opens_when_rollups_come_from_the_activity_log():
    # given two contacts whose only recent opens are a privacy proxy's, and a human's
    proxy = inactive_candidate("proxy@example.com", last_open_at=None, last_targeted_at=None)
    human = inactive_candidate("human@example.com", last_open_at=None, last_targeted_at=None)
    events = [
        ActivityEvent(contact_id=c.pk, kind=ActivityKind.SENT, occurred_at=ago(weeks=2))
        for c in (proxy, human)
    ]
    events += [
        ActivityEvent(
            contact_id=proxy.pk, kind=ActivityKind.OPEN, occurred_at=ago(weeks=2), is_machine=True
        ),
        ActivityEvent(contact_id=human.pk, kind=ActivityKind.OPEN, occurred_at=ago(weeks=1)),
    ]
    activities_record(events=events)

    assert selected("inactive") == {"proxy@example.com"}


def test_lapsed_buyers_selects_buyers_without_a_purchase_for_twelve_months():
    ContactFactory(email="lapsed@example.com", last_purchase_at=ago(months=13))
    ContactFactory(email="just-lapsed@example.com", last_purchase_at=ago(months=12, seconds=1))
    ContactFactory(email="exactly-a-year@example.com", last_purchase_at=ago(months=12))
    ContactFactory(email="recent@example.com", last_purchase_at=ago(months=2))
    ContactFactory(email="never-bought@example.com", last_purchase_at=None)

    assert selected("lapsed-buyers") == {"lapsed@example.com", "just-lapsed@example.com"}


def test_never_opened_selects_targeted_contacts_without_open_or_click():
    base = {"created_at": ago(months=4), "last_targeted_at": ago(months=2)}
    ContactFactory(email="matches@example.com", **base)
    ContactFactory(email="new@example.com", **base | {"created_at": ago(months=2)})
    ContactFactory(email="never-sent@example.com", **base | {"last_targeted_at": None})
    ContactFactory(email="opened@example.com", **base | {"last_open_at": ago(months=3)})
    ContactFactory(email="clicked@example.com", **base | {"last_click_at": ago(months=3)})

    assert selected("never-opened") == {"matches@example.com"}


def test_never_clicked_counts_five_sent_emails_in_the_activity_log():
    def contact(email: str, sent: int, **fields):
        c = ContactFactory(email=email, **({"created_at": ago(months=7)} | fields))
        for i in range(sent):
            ActivityFactory(contact=c, kind=ActivityKind.SENT, occurred_at=ago(weeks=i + 1))
        return c

    contact("five@example.com", 5)
    contact("six-opened@example.com", 6, last_open_at=ago(days=1))
    contact("four@example.com", 4)
    contact("new@example.com", 5, created_at=ago(months=5))
    contact("clicked@example.com", 5, last_click_at=ago(months=6))
    # opens and deliveries are not sent e-mails
    other = contact("opens@example.com", 1)
    for i in range(5):
        ActivityFactory(contact=other, kind=ActivityKind.DELIVERED, occurred_at=ago(days=i + 1))

    assert selected("never-clicked") == {"five@example.com", "six-opened@example.com"}


@pytest.mark.parametrize(
    ("slug", "level"),
    [
        ("recent-activity", EngagementLevel.RECENT),
        ("engaged", EngagementLevel.ENGAGED),
        ("disengaged", EngagementLevel.DISENGAGED),
        ("inactive-30d", EngagementLevel.INACTIVE),
    ],
)
def test_engagement_segment_selects_its_level_only(slug, level):
    for value in EngagementLevel.values:
        ContactFactory(email=f"{value}@example.com", engagement_level=value)

    assert selected(slug) == {f"{level}@example.com"}


def test_loyalty_expiring_selects_points_expiring_within_thirty_days():
    today = date(2025, 9, 15)
    ContactFactory(email="today@example.com", loyalty_points=10, loyalty_points_expire_on=today)
    ContactFactory(
        email="in-30-days@example.com",
        loyalty_points=10,
        loyalty_points_expire_on=today + timedelta(days=30),
    )
    ContactFactory(
        email="in-31-days@example.com",
        loyalty_points=10,
        loyalty_points_expire_on=today + timedelta(days=31),
    )
    ContactFactory(
        email="expired@example.com",
        loyalty_points=10,
        loyalty_points_expire_on=today - timedelta(days=1),
    )
    ContactFactory(email="no-points@example.com", loyalty_points=0, loyalty_points_expire_on=today)
    ContactFactory(email="no-date@example.com", loyalty_points=10, loyalty_points_expire_on=None)

    assert selected("loyalty-expiring") == {"today@example.com", "in-30-days@example.com"}


def test_every_builtin_segment_evaluates_when_run_by_a_worker():
    inactive_candidate("inactive@example.com")

    with time_machine.travel(NOW, tick=False):
        results = {
            s.slug: segment_evaluate(segment_id=s.pk)
            for s in Segment.objects.filter(slug__in=SLUGS)
        }

    assert not [slug for slug, result in results.items() if result.failed]
    assert results["inactive"].members == 1
