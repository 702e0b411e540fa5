"""GDPR export: everything held about one contact, in one JSON document, each app's part in it."""

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Message
from contacts.models import ActivityKind, EngagementChange
from contacts.services import contact_export
from scenarios.models import EnrollmentStep
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    ContactListFactory,
    LeadSourceFactory,
    MessageFactory,
    SegmentMembershipFactory,
    TagFactory,
)
from tests.scenarios.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db
AT = datetime(2026, 2, 1, 9, 30, tzinfo=ZoneInfo("UTC"))


@pytest.fixture
def contact():
    contact = ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        phone="+33612345678",
        attributes={"city": "Lyon"},
        lead_source=LeadSourceFactory(name="Shop"),
    )
    contact.lists.add(ContactListFactory(name="Newsletter"))
    contact.tags.add(TagFactory(name="vip"))
    ActivityFactory(
        contact=contact,
        kind=ActivityKind.PURCHASE,
        occurred_at=AT,
        amount=Decimal("42.50"),
        metadata={"order": "A-1"},
    )
    EngagementChange.objects.create(
        contact=contact, from_level="never", to_level="recent", score_delta=10, changed_at=AT
    )
    SegmentMembershipFactory(contact=contact, segment__name="Spring openers", entered_at=AT)
    MessageFactory(contact=contact, campaign__name="Spring sale", status=Message.Status.SENT)
    enrollment = EnrollmentFactory(contact=contact)
    EnrollmentStep.objects.create(enrollment=enrollment, step=1, kind="entry", result="next")
    return contact


def test_export_holds_every_section_of_the_contact(contact):
    data = contact_export(contact)

    assert data["contact"]["email"] == "ann@example.com"
    assert data["contact"]["phone"] == "+33612345678"
    assert data["contact"]["attributes"] == {"city": "Lyon"}
    assert data["contact"]["lead_source"] == "Shop"
    assert [row["list"] for row in data["lists"]] == ["Newsletter"]
    assert data["tags"] == ["vip"]
    (purchase,) = data["activities"]
    assert (purchase["kind"], purchase["amount"], purchase["metadata"]) == (
        "purchase",
        "42.50",
        {"order": "A-1"},
    )
    assert purchase["occurred_at"] == AT.isoformat()
    assert data["engagement_changes"][0]["to_level"] == "recent"
    assert [row["segment"] for row in data["segments"]["memberships"]] == ["Spring openers"]
    assert [row["campaign"] for row in data["messages"]] == ["Spring sale"]
    (enrollment,) = data["scenarios"]["enrollments"]
    assert [step["kind"] for step in enrollment["steps"]] == ["entry"]


def test_export_is_plain_json(contact):
    data = contact_export(contact)

    assert json.loads(json.dumps(data)) == data


def test_export_holds_nothing_of_other_contacts(contact):
    other = ContactFactory(email="bob@example.com")
    MessageFactory(contact=other)
    ActivityFactory(contact=other)

    data = json.dumps(contact_export(contact))

    assert "bob@example.com" not in data
    assert len(contact_export(contact)["messages"]) == 1
