"""GDPR erasure: the contact's personal data is removed from the contact, its activity and its
messages; what the statistics count is kept; the address can never come back silently."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from campaigns.audience import campaign_audience
from campaigns.delivery import suppression_reason
from campaigns.models import Message
from campaigns.reports import campaign_report
from contacts import privacy
from contacts.models import (
    Activity,
    ActivityKind,
    Channel,
    Contact,
    EmailStatus,
    EngagementChange,
    ErasedAddress,
    SmsStatus,
)
from contacts.privacy import address_digest, address_is_erased, phone_is_erased
from contacts.services import contact_erase
from scenarios.models import GenericChannelEntry
from segments.models import SegmentMembership
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
    LeadSourceFactory,
    MessageFactory,
    SegmentMembershipFactory,
    TagFactory,
)
from tests.scenarios.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 14, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))
EMAIL = "ann.lee@example.com"
PHONE = "+33612345678"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def contact():
    contact = ContactFactory(
        email=EMAIL,
        phone=PHONE,
        first_name="Ann",
        last_name="Lee",
        language="en",
        time_zone="Europe/London",
        attributes={"city": "Leeds", "birthday": "1990-01-01"},
        loyalty_points=120,
        score=35,
        sms_status=SmsStatus.SUBSCRIBED,
        lead_source=LeadSourceFactory(name="Shop"),
    )
    contact.lists.add(ContactListFactory(name="Newsletter"))
    contact.tags.add(TagFactory(name="vip"))
    return contact


@pytest.fixture
def campaign():
    return CampaignFactory()


@pytest.fixture
def history(contact, campaign):
    """Two messages (one sent, opened and clicked; one failed naming the address) and their
    activity, with personal details in the metadata."""
    sent = MessageFactory(
        campaign=campaign,
        contact=contact,
        status=Message.Status.SENT,
        sent_at=NOW,
        opened_at=NOW,
        clicked_at=NOW,
    )
    MessageFactory(
        campaign=CampaignFactory(),
        contact=contact,
        status=Message.Status.FAILED,
        error=f"550 5.1.1 <{EMAIL.upper()}>: Recipient address rejected",
    )
    ActivityFactory(
        contact=contact,
        kind=ActivityKind.CLICK,
        campaign=campaign.key,
        metadata={
            "message": sent.pk,
            "url": "https://shop.example.com/account?email=ann.lee%40example.com&utm=mail",
        },
    )
    ActivityFactory(
        contact=contact,
        kind=ActivityKind.UNSUBSCRIBE,
        channel=Channel.SMS,
        occurred_at=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
        metadata={"phone": PHONE, "text": "STOP Ann", "provider_message_id": "p-1"},
    )
    return sent


def test_personal_fields_are_blanked_and_the_contact_is_unreachable(contact):
    erased = contact_erase(contact, by_user=None)

    assert erased.email == f"erased-{contact.pk}@erased.invalid"
    assert (erased.phone, erased.first_name, erased.last_name) == ("", "", "")
    assert (erased.language, erased.time_zone, erased.attributes) == ("", "", {})
    assert erased.loyalty_points == 0
    assert erased.email_status == EmailStatus.UNSUBSCRIBED
    assert erased.email_status_reason == "erased"
    assert erased.sms_status == SmsStatus.UNSUBSCRIBED
    assert erased.erased_at == NOW
    assert not erased.lists.exists() and not erased.tags.exists()


def test_what_the_statistics_count_is_kept(contact):
    SegmentMembershipFactory(contact=contact)
    EngagementChange.objects.create(
        contact=contact, from_level="never", to_level="engaged", score_delta=10
    )

    erased = contact_erase(contact, by_user=None)

    assert (erased.score, erased.lead_source.name, erased.created_at) == (
        35,
        "Shop",
        contact.created_at,
    )
    assert erased.engagement_changes.count() == 1
    assert SegmentMembership.objects.filter(contact=contact).count() == 1


def test_activities_are_kept_without_personal_payload(contact, history):
    count = Activity.objects.filter(contact=contact).count()

    contact_erase(contact, by_user=None)

    assert Activity.objects.filter(contact=contact).count() == count
    click = Activity.objects.get(contact=contact, kind=ActivityKind.CLICK)
    assert click.metadata["message"] == history.pk
    assert click.metadata["url"] == "https://shop.example.com/account?email=[erased]&utm=mail"
    stop = Activity.objects.get(contact=contact, kind=ActivityKind.UNSUBSCRIBE)
    assert stop.metadata == {"provider_message_id": "p-1"}
    everything = json.dumps(list(Activity.objects.values("metadata", "external_id")))
    assert EMAIL not in everything.lower() and PHONE not in everything


def test_messages_are_kept_without_the_address(contact, history):
    contact_erase(contact, by_user=None)

    errors = list(Message.objects.filter(contact=contact).values_list("error", flat=True))
    assert len(errors) == 2
    assert "550 5.1.1 <[erased]>: Recipient address rejected" in errors
    assert all(EMAIL not in error.lower() for error in errors)


def test_campaign_report_numbers_are_unchanged(contact, campaign, history):
    others = [MessageFactory(campaign=campaign, status=Message.Status.SENT) for _ in range(2)]
    Message.objects.filter(pk=others[0].pk).update(opened_at=NOW)
    before = campaign_report(campaign)

    contact_erase(contact, by_user=None)

    after = campaign_report(campaign)
    assert (after.by_status, after.outcomes) == (before.by_status, before.outcomes)
    # The link is counted as before; only the address it carried is gone from it.
    assert [count for _, count in after.top_links] == [count for _, count in before.top_links]
    assert after.sent == 3 and after.outcomes["opened"] == 2 and after.outcomes["clicked"] == 1


def test_only_fingerprints_of_the_address_and_phone_are_kept(contact):
    contact_erase(contact, by_user=None)

    stored = set(ErasedAddress.objects.values_list("kind", "digest"))
    assert stored == {
        (ErasedAddress.Kind.EMAIL, address_digest(EMAIL)),
        (ErasedAddress.Kind.PHONE, address_digest(PHONE)),
    }
    assert address_is_erased(" Ann.Lee@Example.COM ")
    assert address_is_erased(f"erased-{contact.pk}@erased.invalid")
    assert phone_is_erased(PHONE)
    assert not address_is_erased("someone.else@example.com")


def test_pending_generic_channel_entries_are_dropped_exported_ones_kept(contact):
    enrollment = EnrollmentFactory(contact=contact)
    pending = GenericChannelEntry.objects.create(
        channel="Ads", contact=contact, scenario=enrollment.scenario, enrollment=enrollment
    )
    exported = GenericChannelEntry.objects.create(
        channel="Postal", contact=contact, scenario=enrollment.scenario, exported_at=NOW
    )

    contact_erase(contact, by_user=None)

    remaining = set(GenericChannelEntry.objects.values_list("pk", flat=True))
    assert remaining == {exported.pk} and pending.pk not in remaining


def test_admin_log_entries_no_longer_name_the_address(contact, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw")
    LogEntry.objects.log_actions(user.pk, [contact], CHANGE, change_message="Changed email.")

    contact_erase(contact, by_user=user)

    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Contact), object_id=str(contact.pk)
    )
    assert entry.object_repr == f"erased-{contact.pk}@erased.invalid"
    assert ErasedAddress.objects.filter(erased_by=user).count() == 2


def test_erasing_twice_is_refused_and_changes_nothing(contact, frozen_now):
    contact_erase(contact, by_user=None)
    frozen_now.shift(60)

    with pytest.raises(ValidationError):
        contact_erase(contact, by_user=None)

    contact.refresh_from_db()
    assert contact.erased_at == NOW
    assert ErasedAddress.objects.count() == 2


def test_a_failing_section_leaves_everything_as_it_was(contact, monkeypatch):
    def broken(contact):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        privacy._SECTIONS, "broken", privacy.PrivacySection("broken", export=list, erase=broken)
    )

    with pytest.raises(RuntimeError):
        contact_erase(contact, by_user=None)

    contact.refresh_from_db()
    assert (contact.email, contact.erased_at) == (EMAIL, None)
    assert not ErasedAddress.objects.exists()


def test_an_erased_contact_is_left_out_of_every_audience(contact):
    membership = SegmentMembershipFactory(contact=contact)
    campaign = CampaignFactory(target_segments=[membership.segment])
    assert campaign_audience(campaign=campaign).active == 1

    contact_erase(contact, by_user=None)

    audience = campaign_audience(campaign=campaign)
    assert audience.active == 0
    assert not audience.inactive_candidate_contacts.filter(pk=contact.pk).exists()
    contact.refresh_from_db()
    assert suppression_reason(campaign, contact)
