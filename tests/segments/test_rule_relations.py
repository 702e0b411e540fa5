"""Tags, lead sources, lists and segments: "is one of" / "is none of" by id."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from contacts.models import ListMembership
from segments.rules import rule_clean, rule_contacts
from tests.factories import (
    ContactFactory,
    ContactListFactory,
    LeadSourceFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZoneInfo("UTC"))


def selected(condition: dict) -> set[str]:
    rule = rule_clean({"match": "all", "conditions": [condition]})
    return set(rule_contacts(rule, now=NOW).values_list("email", flat=True))


def test_has_one_of_the_tags_selects_contacts_with_any_of_them_when_several_tags_chosen():
    vip, lapsed, other = TagFactory(name="vip"), TagFactory(name="lapsed"), TagFactory(name="x")
    ContactFactory(email="vip@example.com").tags.add(vip)
    ContactFactory(email="both@example.com").tags.add(vip, lapsed)
    ContactFactory(email="other@example.com").tags.add(other)
    ContactFactory(email="untagged@example.com")

    assert selected({"field": "tag", "operator": "is", "value": [vip.pk, lapsed.pk]}) == {
        "vip@example.com",
        "both@example.com",
    }
    assert selected({"field": "tag", "operator": "is_not", "value": [vip.pk, lapsed.pk]}) == {
        "other@example.com",
        "untagged@example.com",
    }


def test_lead_source_is_not_keeps_contacts_without_a_source_when_negated():
    fair, web, shop = (LeadSourceFactory(name=name) for name in ("Fair", "Web", "Shop"))
    ContactFactory(email="fair@example.com", lead_source=fair)
    ContactFactory(email="web@example.com", lead_source=web)
    ContactFactory(email="shop@example.com", lead_source=shop)
    ContactFactory(email="nosource@example.com", lead_source=None)

    assert selected({"field": "lead_source", "operator": "is", "value": [fair.pk, web.pk]}) == {
        "fair@example.com",
        "web@example.com",
    }
    assert selected({"field": "lead_source", "operator": "is_not", "value": [fair.pk, web.pk]}) == {
        "shop@example.com",
        "nosource@example.com",
    }


def test_in_list_and_not_in_list_split_contacts_by_membership_when_contact_is_on_several():
    newsletter, promo = ContactListFactory(name="Newsletter"), ContactListFactory(name="Promo")
    on_both = ContactFactory(email="both@example.com")
    on_promo = ContactFactory(email="promo@example.com")
    ContactFactory(email="none@example.com")
    for contact, contact_list in [(on_both, newsletter), (on_both, promo), (on_promo, promo)]:
        ListMembership.objects.create(contact=contact, contact_list=contact_list)

    assert selected({"field": "list", "operator": "is", "value": [newsletter.pk]}) == {
        "both@example.com"
    }
    assert selected({"field": "list", "operator": "is", "value": [newsletter.pk, promo.pk]}) == {
        "both@example.com",
        "promo@example.com",
    }
    assert selected({"field": "list", "operator": "is_not", "value": [newsletter.pk]}) == {
        "promo@example.com",
        "none@example.com",
    }


def test_in_segment_counts_current_members_only_when_some_stays_are_closed():
    segment = SegmentFactory()
    member = ContactFactory(email="member@example.com")
    left = ContactFactory(email="left@example.com")
    returned = ContactFactory(email="returned@example.com")
    ContactFactory(email="never@example.com")
    SegmentMembershipFactory(segment=segment, contact=member, entered_at=NOW)
    SegmentMembershipFactory(segment=segment, contact=left, entered_at=NOW, exited_at=NOW)
    SegmentMembershipFactory(segment=segment, contact=returned, entered_at=NOW, exited_at=NOW)
    SegmentMembershipFactory(segment=segment, contact=returned, entered_at=NOW)
    # a stay in another segment does not count
    SegmentMembershipFactory(contact=left, entered_at=NOW)

    assert selected({"field": "segment", "operator": "is", "value": [segment.pk]}) == {
        "member@example.com",
        "returned@example.com",
    }
    assert selected({"field": "segment", "operator": "is_not", "value": [segment.pk]}) == {
        "left@example.com",
        "never@example.com",
    }
