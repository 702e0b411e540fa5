"""Who a campaign targets: lists, segments, exclusions, and suppression on each channel."""

import pytest
from django.utils import timezone

from campaigns.audience import NO_PHONE, campaign_audience
from campaigns.models import Campaign
from contacts.models import EmailStatus, SmsStatus
from segments.models import Segment, SegmentMembership
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
    SegmentFactory,
    SegmentMembershipFactory,
)

pytestmark = pytest.mark.django_db


def emails(contacts) -> set[str]:
    return set(contacts.values_list("email", flat=True))


def on_list(*contacts, name: str | None = None):
    contact_list = ContactListFactory(**({"name": name} if name else {}))
    contact_list.contacts.add(*contacts)
    return contact_list


def in_segment(*contacts, segment=None):
    segment = segment or SegmentFactory()
    for contact in contacts:
        SegmentMembershipFactory(segment=segment, contact=contact)
    return segment


def make_inactive(*contacts) -> None:
    inactive = Segment.objects.get(slug="inactive")
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=inactive, contact=contact, entered_at=timezone.now())
        for contact in contacts
    )


def test_list_members_are_targeted_when_the_campaign_targets_a_list():
    ann, bob = ContactFactory(email="ann@example.com"), ContactFactory(email="bob@example.com")
    ContactFactory(email="off@example.com")
    campaign = CampaignFactory(target_lists=[on_list(ann, bob)])

    audience = campaign_audience(campaign=campaign)

    assert audience.targeted == 2
    assert audience.active == audience.recipients == 2
    assert emails(audience.active_contacts) == {"ann@example.com", "bob@example.com"}


def test_only_current_members_are_targeted_when_the_campaign_targets_a_segment():
    current, former = ContactFactory(email="now@example.com"), ContactFactory()
    segment = in_segment(current)
    SegmentMembershipFactory(segment=segment, contact=former, exited_at=timezone.now())
    campaign = CampaignFactory(target_segments=[segment])

    audience = campaign_audience(campaign=campaign)

    assert audience.targeted == 1
    assert emails(audience.active_contacts) == {"now@example.com"}


def test_each_contact_counts_once_when_lists_and_segments_overlap():
    ann, bob, cat = (ContactFactory(email=f"{n}@example.com") for n in ("ann", "bob", "cat"))
    campaign = CampaignFactory(
        target_lists=[on_list(ann, bob), on_list(bob)], target_segments=[in_segment(bob, cat)]
    )

    audience = campaign_audience(campaign=campaign)

    assert audience.targeted == audience.recipients == 3
    assert emails(audience.active_contacts) == {
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
    }


def test_nobody_is_targeted_when_the_campaign_has_no_target():
    ContactFactory()
    campaign = CampaignFactory()

    audience = campaign_audience(campaign=campaign)

    assert (audience.targeted, audience.recipients) == (0, 0)
    assert not audience.active_contacts.exists()


def test_excluded_contacts_are_dropped_when_in_an_excluded_list_or_segment():
    keep, by_list, by_segment = (ContactFactory(email=f"{n}@example.com") for n in "abc")
    campaign = CampaignFactory(
        target_lists=[on_list(keep, by_list, by_segment)],
        exclude_lists=[on_list(by_list)],
        exclude_segments=[in_segment(by_segment)],
    )

    audience = campaign_audience(campaign=campaign)

    assert (audience.targeted, audience.excluded, audience.recipients) == (3, 2, 1)
    assert emails(audience.active_contacts) == {"a@example.com"}


@pytest.mark.parametrize(
    "status",
    [
        EmailStatus.UNSUBSCRIBED,
        EmailStatus.BOUNCED,
        EmailStatus.COMPLAINED,
        EmailStatus.CLEANED,
    ],
)
def test_email_is_suppressed_by_status_when_the_contact_is_not_subscribed(status):
    ok = ContactFactory(email="ok@example.com")
    suppressed = ContactFactory(email_status=status)
    campaign = CampaignFactory(target_lists=[on_list(ok, suppressed)])

    audience = campaign_audience(campaign=campaign)

    assert audience.suppressed_by_reason == {status: 1}
    assert audience.suppressed == 1
    assert emails(audience.active_contacts) == {"ok@example.com"}


def test_email_suppression_ignores_sms_status_when_the_channel_is_email():
    contact = ContactFactory(phone="", sms_status=SmsStatus.UNSUBSCRIBED)
    campaign = CampaignFactory(target_lists=[on_list(contact)])

    assert campaign_audience(campaign=campaign).recipients == 1


@pytest.mark.parametrize(
    ("phone", "sms_status", "reason"),
    [
        ("", SmsStatus.SUBSCRIBED, NO_PHONE),
        ("+33612345678", SmsStatus.NO_CONSENT, SmsStatus.NO_CONSENT),
        ("+33612345678", SmsStatus.UNSUBSCRIBED, SmsStatus.UNSUBSCRIBED),
        ("+33612345678", SmsStatus.BOUNCED, SmsStatus.BOUNCED),
        ("+33612345678", SmsStatus.COMPLAINED, SmsStatus.COMPLAINED),
        ("+33612345678", SmsStatus.CLEANED, SmsStatus.CLEANED),
    ],
)
def test_sms_is_suppressed_with_its_reason_when_no_phone_or_no_consent(phone, sms_status, reason):
    ok = ContactFactory(email="ok@example.com", phone="+33600000000", sms_status="subscribed")
    suppressed = ContactFactory(phone=phone, sms_status=sms_status)
    campaign = CampaignFactory(channel=Campaign.Channel.SMS, target_lists=[on_list(ok, suppressed)])

    audience = campaign_audience(campaign=campaign)

    assert audience.suppressed_by_reason == {reason: 1}
    assert emails(audience.active_contacts) == {"ok@example.com"}


def test_sms_ignores_email_status_when_the_channel_is_sms():
    contact = ContactFactory(
        phone="+33600000000", sms_status=SmsStatus.SUBSCRIBED, email_status=EmailStatus.BOUNCED
    )
    campaign = CampaignFactory(channel=Campaign.Channel.SMS, target_lists=[on_list(contact)])

    assert campaign_audience(campaign=campaign).recipients == 1


def test_suppressed_contacts_are_counted_once_when_also_excluded():
    contact = ContactFactory(email_status=EmailStatus.BOUNCED)
    campaign = CampaignFactory(target_lists=[on_list(contact)], exclude_lists=[on_list(contact)])

    audience = campaign_audience(campaign=campaign)

    assert (audience.excluded, audience.suppressed) == (1, 0)


def test_inactive_contacts_are_not_regular_recipients_when_the_campaign_is_regular():
    active, inactive = ContactFactory(email="active@example.com"), ContactFactory()
    make_inactive(inactive)
    campaign = CampaignFactory(target_lists=[on_list(active, inactive)])

    audience = campaign_audience(campaign=campaign)

    assert (audience.active, audience.inactive, audience.inactive_candidates) == (1, 1, 1)
    assert emails(audience.active_contacts) == {"active@example.com"}


def test_inactive_contacts_are_recipients_without_dilution_when_the_campaign_is_a_scenario():
    active, inactive = ContactFactory(), ContactFactory()
    make_inactive(inactive)
    campaign = CampaignFactory(
        kind=Campaign.Kind.SCENARIO, target_lists=[on_list(active, inactive)]
    )

    audience = campaign_audience(campaign=campaign)

    assert (audience.active, audience.inactive, audience.inactive_limit) == (2, 0, 0)
    assert audience.recipients == 2
