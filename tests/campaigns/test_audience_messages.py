"""Writing a campaign's messages from its audience: once per recipient, through the right
sender profile, with the counts stored on the campaign."""

import pytest
from django.utils import timezone

from campaigns.audience import campaign_audience
from campaigns.models import Message, SenderProfile
from campaigns.services import campaign_messages_create
from contacts.models import Contact, EmailStatus
from segments.models import Segment, SegmentMembership
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
    SenderProfileFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact_list():
    """40 active contacts, 3 inactive ones and one bounced contact, on one list."""
    contact_list = ContactListFactory()
    actives = ContactFactory.create_batch(40)
    inactives = ContactFactory.create_batch(3)
    contact_list.contacts.add(
        *actives, *inactives, ContactFactory(email_status=EmailStatus.BOUNCED)
    )
    SegmentMembership.objects.bulk_create(
        SegmentMembership(
            segment=Segment.objects.get(slug="inactive"), contact=c, entered_at=timezone.now()
        )
        for c in inactives
    )
    contact_list.inactive_ids = {c.pk for c in inactives}
    return contact_list


def test_one_pending_message_per_recipient_when_messages_are_created(contact_list):
    campaign = CampaignFactory(target_lists=[contact_list])
    audience = campaign_audience(campaign=campaign)

    created = campaign_messages_create(campaign=campaign, audience=audience)

    messages = Message.objects.filter(campaign=campaign)
    assert created == messages.count() == 42
    assert set(messages.values_list("status", flat=True)) == {Message.Status.PENDING}
    assert messages.filter(is_inactive=True).count() == 2
    assert set(messages.filter(is_inactive=True).values_list("contact_id", flat=True)) <= (
        contact_list.inactive_ids
    )
    tokens = list(messages.values_list("token", flat=True))
    assert len(set(tokens)) == 42
    assert all(len(token) == 32 for token in tokens)


def test_nothing_is_created_when_messages_are_created_twice(contact_list):
    campaign = CampaignFactory(target_lists=[contact_list])
    audience = campaign_audience(campaign=campaign)
    campaign_messages_create(campaign=campaign, audience=audience)

    again = campaign_messages_create(
        campaign=campaign, audience=campaign_audience(campaign=campaign)
    )

    assert again == 0
    assert Message.objects.filter(campaign=campaign).count() == 42


def test_inactive_limit_holds_when_the_rotation_moved_between_two_calls(contact_list):
    campaign = CampaignFactory(target_lists=[contact_list])
    campaign_messages_create(campaign=campaign, audience=campaign_audience(campaign=campaign))
    # The chosen inactive contacts were just targeted by another campaign: a new audience
    # would now prefer the third one.
    chosen = Message.objects.filter(campaign=campaign, is_inactive=True).values("contact_id")
    Contact.objects.filter(pk__in=chosen).update(last_targeted_at=timezone.now())

    again = campaign_messages_create(
        campaign=campaign, audience=campaign_audience(campaign=campaign)
    )

    assert again == 0
    assert Message.objects.filter(campaign=campaign, is_inactive=True).count() == 2


def test_counts_are_stored_on_the_campaign_when_messages_are_created(contact_list):
    campaign = CampaignFactory(target_lists=[contact_list])

    campaign_messages_create(campaign=campaign, audience=campaign_audience(campaign=campaign))

    campaign.refresh_from_db()
    assert (
        campaign.recipients_count,
        campaign.active_count,
        campaign.inactive_count,
        campaign.suppressed_count,
        campaign.capped_count,
    ) == (42, 40, 2, 1, 0)
    assert str(campaign.inactive_share_actual) == "5.00"


def test_inactive_recipients_go_through_the_reactivation_profile_when_the_campaign_has_one(
    contact_list,
):
    main = SenderProfileFactory(name="Main")
    reactivation = SenderProfileFactory(name="Winback", purpose=SenderProfile.Purpose.REACTIVATION)
    campaign = CampaignFactory(
        target_lists=[contact_list], sender_profile=main, reactivation_profile=reactivation
    )

    campaign_messages_create(campaign=campaign, audience=campaign_audience(campaign=campaign))

    messages = Message.objects.filter(campaign=campaign)
    assert set(messages.filter(is_inactive=False).values_list("sender_profile", flat=True)) == {
        main.pk
    }
    assert set(messages.filter(is_inactive=True).values_list("sender_profile", flat=True)) == {
        reactivation.pk
    }


def test_inactive_recipients_use_the_main_profile_when_no_reactivation_profile_is_set(
    contact_list,
):
    campaign = CampaignFactory(target_lists=[contact_list])

    campaign_messages_create(campaign=campaign, audience=campaign_audience(campaign=campaign))

    profiles = set(
        Message.objects.filter(campaign=campaign).values_list("sender_profile", flat=True)
    )
    assert profiles == {campaign.sender_profile_id}


def test_nothing_is_created_when_the_campaign_targets_no_one():
    campaign = CampaignFactory()

    assert (
        campaign_messages_create(campaign=campaign, audience=campaign_audience(campaign=campaign))
        == 0
    )
