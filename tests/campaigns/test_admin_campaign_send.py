"""The campaign's Send page (test send, send now, schedule, pause, resume, cancel) and its
report, over real SMTP to a local sink, and who may use them."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Message
from campaigns.services import campaign_schedule
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
    SenderProfileFactory,
)
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def campaign(sink):
    contact_list = ContactListFactory()
    contact_list.contacts.add(*ContactFactory.create_batch(3))
    profile = SenderProfileFactory(
        smtp_host="127.0.0.1", smtp_port=sink.port, smtp_use_tls=False, rate_per_minute=100000
    )
    return CampaignFactory(
        sender_profile=profile,
        subject="Hello {{ first_name }}",
        html_body='<p>Hi {{ first_name }} <a href="https://example.com/a">a</a></p>',
        target_lists=[contact_list],
    )


def send_url(campaign) -> str:
    return reverse("admin:campaigns_campaign_send", args=[campaign.pk])


def report_url(campaign) -> str:
    return reverse("admin:campaigns_campaign_report", args=[campaign.pk])


def test_send_page_lists_what_is_missing_when_the_draft_is_not_ready(staff_client):
    campaign = CampaignFactory(sender_profile=None, subject="")

    response = staff_client.get(send_url(campaign))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Choose a sender profile." in content
    assert "Write a subject." in content
    assert "Choose at least one target list or segment." in content
    assert 'value="send"' not in content


def test_send_now_refuses_a_draft_that_is_not_ready(staff_client, sink):
    campaign = CampaignFactory(sender_profile=None)

    response = staff_client.post(send_url(campaign), {"action": "send"}, follow=True)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert "Choose a sender profile." in response.content.decode()
    assert sink.received == []


def test_a_test_send_reaches_the_address_from_the_send_page(staff_client, sink, campaign):
    contact = ContactFactory(email="camille@example.com", first_name="Camille")

    response = staff_client.post(
        send_url(campaign),
        {"action": "test", "to": "Me@Agency.example", "contact_email": contact.email},
        follow=True,
    )

    assert "Test sent to me@agency.example." in response.content.decode()
    assert sink.recipients() == ["me@agency.example"]
    assert sink.received[0].message["Subject"] == "[Test] Hello Camille"
    assert not Message.objects.exists()


def test_a_test_send_to_a_bad_address_is_refused_with_a_message(staff_client, sink, campaign):
    response = staff_client.post(send_url(campaign), {"action": "test", "to": "not-an-address"})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert sink.received == []


def test_send_now_delivers_to_the_audience_and_the_report_counts_it(staff_client, sink, campaign):
    response = staff_client.post(send_url(campaign), {"action": "send"}, follow=True)

    assert "Sending has started." in response.content.decode()
    campaign.refresh_from_db()
    # Tasks run inline in the test settings: the worker has already delivered.
    assert campaign.status == Campaign.Status.SENT
    assert len(sink.received) == 3
    report = staff_client.get(report_url(campaign)).content.decode()
    assert "Sent" in report and "<td>3</td>" in report


def test_scheduling_in_the_past_is_refused(staff_client, campaign):
    at = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    response = staff_client.post(send_url(campaign), {"action": "schedule", "at": at})

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert "Choose a time in the future" in response.content.decode()


def test_schedule_pause_resume_and_cancel_from_the_send_page(staff_client, sink, campaign):
    at = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    staff_client.post(send_url(campaign), {"action": "schedule", "at": at})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert timezone.localtime(campaign.scheduled_at).strftime("%Y-%m-%dT%H:%M") == at

    staff_client.post(send_url(campaign), {"action": "pause"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED

    staff_client.post(send_url(campaign), {"action": "resume"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED

    staff_client.post(send_url(campaign), {"action": "cancel"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert sink.received == []


def test_an_action_the_status_no_longer_allows_gets_a_message(staff_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT)

    response = staff_client.post(send_url(campaign), {"action": "pause"}, follow=True)

    assert "Only a scheduled or sending campaign can be paused" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT


def test_staff_without_the_send_permission_cannot_send_but_can_test(
    client, django_user_model, sink, campaign
):
    user = django_user_model.objects.create_user("marketer", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="campaigns",
            codename__in=["view_campaign", "change_campaign"],
        )
    )
    client.force_login(user)

    page = client.get(send_url(campaign)).content.decode()
    send = client.post(send_url(campaign), {"action": "send"})
    test = client.post(send_url(campaign), {"action": "test", "to": "me@agency.example"})

    assert 'value="send"' not in page and 'value="test"' in page
    assert send.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert test.status_code == 302 and sink.recipients() == ["me@agency.example"]


def test_report_shows_outcomes_failures_and_the_inactive_share(staff_client, campaign):
    campaign_schedule(campaign=campaign, at=timezone.now() + timedelta(days=1))
    contacts = ContactFactory.create_batch(4)
    now = timezone.now()
    Message.objects.bulk_create(
        [
            Message(
                campaign=campaign,
                contact=contacts[0],
                status="sent",
                opened_at=now,
                clicked_at=now,
                token="t0",
            ),
            Message(
                campaign=campaign, contact=contacts[1], status="sent", opened_at=now, token="t1"
            ),
            Message(
                campaign=campaign,
                contact=contacts[2],
                status="sent",
                machine_opened_at=now,
                unsubscribed_at=now,
                token="t2",
            ),
            Message(
                campaign=campaign,
                contact=contacts[3],
                status="failed",
                error="550 No such user",
                bounced_at=now,
                token="t3",
            ),
        ]
    )
    Campaign.objects.filter(pk=campaign.pk).update(active_count=20, inactive_count=1)

    content = staff_client.get(report_url(campaign)).content.decode()

    assert "550 No such user" in content
    # 2 of 3 sent opened by people: 66.7 %; 1 clicked: 33.3 %.
    assert "66.7 %" in content and "33.3 %" in content
    assert "5.00 %" in content
