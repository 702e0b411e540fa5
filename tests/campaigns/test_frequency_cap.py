"""The frequency cap: contacts who already got enough marketing messages are skipped."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns.audience import campaign_audience
from campaigns.models import FrequencyCap
from contacts.models import ActivityKind
from segments.models import Segment, SegmentMembership
from tests.factories import ActivityFactory, CampaignFactory, ContactFactory, ContactListFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.get_fixed_timezone(0))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def cap(*, per_day=0, per_week=0, per_month=0) -> None:
    FrequencyCap.objects.update_or_create(
        pk=FrequencyCap.SINGLETON_PK,
        defaults={"per_day": per_day, "per_week": per_week, "per_month": per_month},
    )


def received(contact, *ages: timedelta, kind=ActivityKind.SENT, campaign="older") -> None:
    for age in ages:
        ActivityFactory(contact=contact, kind=kind, occurred_at=NOW - age, campaign=campaign)


def audience_of(*contacts, **campaign_fields):
    contact_list = ContactListFactory()
    contact_list.contacts.add(*contacts)
    return campaign_audience(
        campaign=CampaignFactory(target_lists=[contact_list], **campaign_fields)
    )


def test_contact_is_capped_when_it_got_the_daily_maximum_in_the_last_day():
    cap(per_day=1)
    capped, yesterday, fresh = ContactFactory(), ContactFactory(), ContactFactory()
    received(capped, timedelta(hours=3))
    received(yesterday, timedelta(hours=25))

    audience = audience_of(capped, yesterday, fresh)

    assert (audience.capped, audience.active) == (1, 2)
    assert capped.pk not in set(audience.active_contacts.values_list("pk", flat=True))


def test_sms_sends_count_when_the_cap_is_across_channels():
    cap(per_day=2)
    contact = ContactFactory()
    received(contact, timedelta(hours=1))
    received(contact, timedelta(hours=2), kind=ActivityKind.SMS_SENT)

    assert audience_of(contact).capped == 1


def test_other_activity_is_ignored_when_counting_messages_received():
    cap(per_day=1)
    contact = ContactFactory()
    received(contact, timedelta(hours=1), kind=ActivityKind.OPEN)
    received(contact, timedelta(hours=1), kind=ActivityKind.DELIVERED)

    assert audience_of(contact).capped == 0


def test_contact_is_capped_when_it_got_the_weekly_maximum_in_the_last_seven_days():
    cap(per_week=3)
    capped, under = ContactFactory(), ContactFactory()
    received(capped, timedelta(days=1), timedelta(days=3), timedelta(days=6, hours=23))
    received(under, timedelta(days=1), timedelta(days=3), timedelta(days=7, hours=1))

    audience = audience_of(capped, under)

    assert (audience.capped, audience.active) == (1, 1)


def test_contact_is_capped_when_it_got_the_monthly_maximum_in_the_last_thirty_days():
    cap(per_month=2)
    capped, under = ContactFactory(), ContactFactory()
    received(capped, timedelta(days=2), timedelta(days=29))
    received(under, timedelta(days=2), timedelta(days=31))

    audience = audience_of(capped, under)

    assert (audience.capped, audience.active) == (1, 1)


def test_nobody_is_capped_when_every_limit_is_zero():
    cap(per_day=0, per_week=0, per_month=0)
    contact = ContactFactory()
    received(contact, *(timedelta(hours=hours) for hours in range(1, 20)))

    audience = audience_of(contact)

    assert (audience.capped, audience.active) == (0, 1)


def test_a_zero_limit_is_ignored_when_other_limits_are_set():
    cap(per_day=0, per_week=2)
    once, twice = ContactFactory(), ContactFactory()
    received(once, timedelta(hours=1))
    received(twice, timedelta(hours=1), timedelta(hours=2))

    assert audience_of(once, twice).capped == 1


def test_inactive_candidates_are_capped_when_they_got_the_maximum():
    cap(per_day=1)
    actives = ContactFactory.create_batch(40)
    inactive_capped, inactive_ok = ContactFactory(), ContactFactory()
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=Segment.objects.get(slug="inactive"), contact=c, entered_at=NOW)
        for c in (inactive_capped, inactive_ok)
    )
    received(inactive_capped, timedelta(hours=2))

    audience = audience_of(*actives, inactive_capped, inactive_ok)

    assert (audience.capped_active, audience.capped_inactive) == (0, 1)
    assert audience.inactive_candidates == 1
    assert list(audience.inactive_contacts) == [inactive_ok]
