"""The unsubscribe page: confirmation on GET, unsubscribe on POST (a form or RFC 8058
one-click), "stay subscribed", and forged links."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from campaigns.models import Message
from campaigns.tracking import open_url, unsubscribe_url
from contacts.models import Activity, ActivityKind, Channel, EmailStatus
from tests.factories import ContactFactory, MessageFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 14, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def message() -> Message:
    contact = ContactFactory(email="ann@example.com", language="en")
    return MessageFactory(contact=contact, status=Message.Status.SENT, sent_at=NOW)


def page(message: Message) -> str:
    return unsubscribe_url(message).removeprefix(settings.RELANCE_PUBLIC_URL)


def unsubscribes():
    return Activity.objects.filter(kind=ActivityKind.UNSUBSCRIBE)


def email_status(message: Message) -> str:
    message.contact.refresh_from_db()
    return message.contact.email_status


def test_link_shows_a_confirmation_and_changes_nothing(client, message):
    response = client.get(page(message))

    assert response.status_code == 200
    html = response.content.decode()
    assert "ann@example.com" in html
    assert 'name="action" value="unsubscribe"' in html
    assert 'name="action" value="stay"' in html
    assert "no-store" in response["Cache-Control"]
    assert email_status(message) == EmailStatus.SUBSCRIBED
    assert not unsubscribes().exists()


def test_confirming_unsubscribes_and_records_it_once_with_the_campaign(client, message):
    response = client.post(page(message), {"action": "unsubscribe"})

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert email_status(message) == EmailStatus.UNSUBSCRIBED
    activity = unsubscribes().get()
    assert (activity.contact_id, activity.channel, activity.campaign) == (
        message.contact_id,
        Channel.EMAIL,
        message.campaign.key,
    )
    assert activity.occurred_at == NOW
    message.refresh_from_db()
    assert message.unsubscribed_at == NOW


def test_one_click_post_without_csrf_token_unsubscribes(message):
    provider = Client(enforce_csrf_checks=True)

    response = provider.post(page(message), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert email_status(message) == EmailStatus.UNSUBSCRIBED
    assert unsubscribes().get().campaign == message.campaign.key


def test_unsubscribing_twice_records_it_once(client, message, frozen_now):
    client.post(page(message), {"List-Unsubscribe": "One-Click"})
    frozen_now.shift(60)

    response = client.post(page(message), {"action": "unsubscribe"})

    assert response.status_code == 200
    assert unsubscribes().count() == 1
    assert email_status(message) == EmailStatus.UNSUBSCRIBED


def test_link_after_unsubscribing_says_so(client, message):
    client.post(page(message), {"action": "unsubscribe"})

    response = client.get(page(message))

    assert "You are unsubscribed" in response.content.decode()
    assert 'value="unsubscribe"' not in response.content.decode()


def test_staying_subscribed_changes_nothing(client, message):
    response = client.post(page(message), {"action": "stay"})

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    assert email_status(message) == EmailStatus.SUBSCRIBED
    assert not unsubscribes().exists()
    message.refresh_from_db()
    assert message.unsubscribed_at is None


def test_forged_or_foreign_tokens_are_not_found_and_change_nothing(client, message):
    open_token = open_url(message).rsplit("/", 1)[1].removesuffix(".gif")
    signed = page(message).removeprefix("/u/").rstrip("/")
    forged = [
        f"/u/{message.token}/",
        f"/u/{signed[:-3]}/",
        f"/u/{open_token}/",
        f"/u/{MessageFactory().token}.{signed.split('.')[1]}/",
    ]

    for path in forged:
        assert client.get(path).status_code == 404
        assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 404

    assert email_status(message) == EmailStatus.SUBSCRIBED
    assert not unsubscribes().exists()


def test_page_speaks_the_contacts_language(client):
    contact = ContactFactory(language="fr-FR")
    message = MessageFactory(contact=contact)

    response = client.get(page(message), headers={"Accept-Language": "en"})

    assert response["Content-Language"] == "fr"
    assert '<html lang="fr">' in response.content.decode()


def test_page_follows_the_browser_when_the_contact_has_no_language(client):
    message = MessageFactory(contact=ContactFactory(language=""))

    response = client.get(page(message), headers={"Accept-Language": "fr"})

    assert response["Content-Language"] == "fr"
