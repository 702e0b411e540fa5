"""Delivering an SMS campaign through the SMS backend: one SMS per recipient with a phone and
SMS consent, `sms_sent` recorded, provider failures retried or failed."""

from datetime import timedelta

import pytest
import time_machine

from campaigns import delivery
from campaigns.models import Campaign, Message
from campaigns.services import campaign_schedule
from campaigns.sms import SmsSendError
from campaigns.sms.backends.locmem import SmsBackend as LocmemBackend
from contacts.models import Activity, ActivityKind, SmsStatus
from tests.factories import CampaignFactory, ContactFactory, ContactListFactory

pytestmark = pytest.mark.django_db


class RefusingBackend(LocmemBackend):
    """The provider answers with the error set on the class."""

    error: SmsSendError | None = None

    def send_messages(self, messages):
        if RefusingBackend.error is not None:
            raise RefusingBackend.error
        return super().send_messages(messages)


@pytest.fixture
def sms_campaign():
    contact_list = ContactListFactory()
    contact_list.contacts.add(
        ContactFactory(first_name="Ann", phone="+33612345678", sms_status=SmsStatus.SUBSCRIBED),
        ContactFactory(first_name="Bob", phone="+33698765432", sms_status=SmsStatus.SUBSCRIBED),
        ContactFactory(first_name="Cy", phone="+33611111111", sms_status=SmsStatus.NO_CONSENT),
        ContactFactory(first_name="Di", phone="", sms_status=SmsStatus.SUBSCRIBED),
    )
    return CampaignFactory(
        channel=Campaign.Channel.SMS,
        sender_profile=None,
        subject="",
        sms_text="{{ first_name }}, -20% today. STOP au 36111",
        target_lists=[contact_list],
    )


def test_each_consenting_contact_with_a_phone_gets_one_sms(sms_campaign, sms_outbox):
    campaign_schedule(campaign=sms_campaign)

    result = delivery.campaign_deliver(campaign_id=sms_campaign.pk)

    assert result.sent == 2 and result.finished
    assert sorted((sms.to, sms.body) for sms in sms_outbox) == [
        ("+33612345678", "Ann, -20% today. STOP au 36111"),
        ("+33698765432", "Bob, -20% today. STOP au 36111"),
    ]
    tokens = set(Message.objects.values_list("token", flat=True))
    assert {sms.reference for sms in sms_outbox} == tokens
    assert Activity.objects.filter(kind=ActivityKind.SMS_SENT, channel="sms").count() == 2
    assert not Activity.objects.filter(kind=ActivityKind.SENT).exists()


def test_a_provider_outage_is_retried_and_a_refusal_fails(sms_campaign, settings, sms_outbox):
    settings.RELANCE_SMS_BACKEND = f"{__name__}.RefusingBackend"
    RefusingBackend.error = SmsSendError("503 Service Unavailable", transient=True)
    try:
        campaign_schedule(campaign=sms_campaign)
        first = delivery.campaign_deliver(campaign_id=sms_campaign.pk)
        assert first.retried == 2 and sms_outbox == []

        RefusingBackend.error = SmsSendError("400 invalid number", transient=False)
        later = Message.objects.order_by("next_attempt_at").first().next_attempt_at
        with time_machine.travel(later + timedelta(seconds=1)):
            second = delivery.campaign_deliver(campaign_id=sms_campaign.pk)
    finally:
        RefusingBackend.error = None

    assert second.failed == 2 and second.finished
    assert set(Message.objects.values_list("error", flat=True)) == {"400 invalid number"}
    assert not Activity.objects.exists()
