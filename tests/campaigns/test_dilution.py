"""Dilution: a regular campaign includes inactive contacts up to a share of its active ones,
never those being won back by a reactivation scenario, rotating through the inactive base."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from campaigns.audience import campaign_audience, inactive_limit_compute
from campaigns.models import Campaign, FrequencyCap, Message
from campaigns.registry import (
    reactivation_enrolled_q,
    reactivation_enrollment_register,
    reactivation_enrollment_unregister,
)
from campaigns.services import campaign_messages_create
from contacts.models import ActivityKind, Contact
from contacts.services import ActivityEvent, activities_record
from segments.models import Segment, SegmentMembership
from tests.factories import CampaignFactory, ContactFactory, ContactListFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.get_fixed_timezone(0))


def base(*, active: int, inactive: int) -> tuple[list[Contact], list[Contact], object]:
    """`active` + `inactive` contacts on one list, the latter in the `inactive` segment."""
    actives = ContactFactory.create_batch(active)
    inactives = ContactFactory.create_batch(inactive)
    contact_list = ContactListFactory()
    contact_list.contacts.add(*actives, *inactives)
    segment = Segment.objects.get(slug="inactive")
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, contact=c, entered_at=timezone.now()) for c in inactives
    )
    return actives, inactives, contact_list


@pytest.mark.parametrize(
    ("active", "share", "limit"),
    [
        (25_000, "5", 1_250),
        (25_000, "5.00", 1_250),
        (40, "5", 2),
        (39, "5", 1),
        (19, "5", 0),
        (20, "5", 1),
        (1_000, "0", 0),
        (0, "5", 0),
        # 0.1 + 0.2 style traps: 3 × 1.1 % would be 3.3000000000000003 in floats.
        (300, "1.10", 3),
        (1_000, "0.29", 2),
        (100, "100", 100),
    ],
)
def test_inactive_limit_is_the_floor_of_the_share_when_computed_in_decimals(active, share, limit):
    assert inactive_limit_compute(active=active, share_percent=Decimal(share)) == limit


@pytest.mark.parametrize(("active", "included"), [(40, 2), (39, 1)])
def test_inactive_recipients_are_five_percent_of_active_when_the_share_is_default(active, included):
    _actives, _inactives, contact_list = base(active=active, inactive=10)
    campaign = CampaignFactory(target_lists=[contact_list])

    audience = campaign_audience(campaign=campaign)

    assert campaign.inactive_share_percent == Decimal("5.00")
    assert (audience.active, audience.inactive_candidates) == (active, 10)
    assert audience.inactive_limit == audience.inactive_included == included
    assert audience.recipients == active + included
    assert audience.inactive_contacts.count() == included


def test_no_inactive_recipient_when_the_share_is_zero():
    _actives, _inactives, contact_list = base(active=40, inactive=5)
    campaign = CampaignFactory(target_lists=[contact_list], inactive_share_percent=Decimal(0))

    audience = campaign_audience(campaign=campaign)

    assert (audience.inactive_limit, audience.inactive_included, audience.recipients) == (0, 0, 40)
    assert campaign_messages_create(campaign=campaign, audience=audience) == 40
    assert not Message.objects.filter(campaign=campaign, is_inactive=True).exists()


def test_every_candidate_is_included_when_fewer_than_the_limit():
    _actives, _inactives, contact_list = base(active=100, inactive=3)
    campaign = CampaignFactory(target_lists=[contact_list])

    audience = campaign_audience(campaign=campaign)

    assert (audience.inactive_limit, audience.inactive_included) == (5, 3)


def test_least_recently_targeted_are_chosen_first_when_diluting():
    _actives, inactives, contact_list = base(active=40, inactive=4)
    never, old, recent, older = inactives
    for contact, days in ((old, 30), (recent, 2), (older, 60)):
        contact.last_targeted_at = timezone.now() - timedelta(days=days)
        contact.save(update_fields=["last_targeted_at"])
    campaign = CampaignFactory(target_lists=[contact_list])

    audience = campaign_audience(campaign=campaign)

    assert list(audience.inactive_contacts) == [never, older]
    assert list(audience.inactive_candidate_contacts) == [never, older, old, recent]


def test_rotation_samples_the_whole_inactive_base_when_campaigns_follow_each_other():
    FrequencyCap.objects.update_or_create(
        pk=1, defaults={"per_day": 0, "per_week": 0, "per_month": 0}
    )
    _actives, inactives, contact_list = base(active=40, inactive=10)
    chosen: list[set[int]] = []
    for day in range(5):
        with time_machine.travel(NOW + timedelta(days=day), tick=False):
            campaign = CampaignFactory(target_lists=[contact_list])
            audience = campaign_audience(campaign=campaign)
            campaign_messages_create(campaign=campaign, audience=audience)
            messages = Message.objects.filter(campaign=campaign)
            # Sending records a `sent` event per message, which moves `last_targeted_at`.
            activities_record(
                events=[
                    ActivityEvent(
                        contact_id=contact_id,
                        kind=ActivityKind.SENT,
                        occurred_at=timezone.now(),
                        campaign=campaign.key,
                    )
                    for contact_id in messages.values_list("contact_id", flat=True)
                ]
            )
            chosen.append(
                set(messages.filter(is_inactive=True).values_list("contact_id", flat=True))
            )

    assert all(len(ids) == 2 for ids in chosen)
    assert set().union(*chosen) == {contact.pk for contact in inactives}


def test_enrolled_contacts_are_skipped_when_a_reactivation_scenario_holds_them():
    _actives, inactives, contact_list = base(active=40, inactive=4)
    enrolled_ids = [inactives[0].pk, inactives[1].pk]

    def enrolled(contact):
        # Stands for the scenarios app's "running enrolments of this contact".
        return Contact.objects.filter(pk=contact, pk__in=enrolled_ids)

    reactivation_enrollment_register(enrolled)
    try:
        audience = campaign_audience(campaign=CampaignFactory(target_lists=[contact_list]))
    finally:
        reactivation_enrollment_unregister(enrolled)

    assert (audience.enrolled_skipped, audience.inactive_candidates) == (2, 2)
    assert set(audience.inactive_contacts) == {inactives[2], inactives[3]}


def test_registry_matches_no_one_when_nothing_is_registered():
    ContactFactory()

    assert not Contact.objects.filter(reactivation_enrolled_q()).exists()
    assert Contact.objects.filter(~reactivation_enrolled_q()).count() == 1


def test_scenario_campaign_does_not_dilute_when_its_kind_is_scenario():
    _actives, _inactives, contact_list = base(active=40, inactive=4)
    campaign = CampaignFactory(kind=Campaign.Kind.SCENARIO, target_lists=[contact_list])

    audience = campaign_audience(campaign=campaign)

    assert campaign_messages_create(campaign=campaign, audience=audience) == 44
    assert not Message.objects.filter(campaign=campaign, is_inactive=True).exists()
