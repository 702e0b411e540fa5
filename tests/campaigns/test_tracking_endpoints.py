"""The open pixel and the click redirect: what a hit records, and what a forged link gets."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.signing import b64_encode

from campaigns.models import Campaign, Message
from campaigns.tracking import click_url, open_url, unsubscribe_url
from contacts.models import Activity, ActivityKind, Channel
from tests.factories import CampaignFactory, ContactFactory, MessageFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
SENT = datetime(2026, 3, 14, 9, 0, tzinfo=PARIS)
LATER = SENT + timedelta(hours=2)
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
GIF_HEADER = b"GIF89a"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(LATER, tick=False) as traveller:
        yield traveller


def sent_message(**fields) -> Message:
    return MessageFactory(status=Message.Status.SENT, sent_at=SENT, **fields)


def path(url: str) -> str:
    return url.removeprefix(settings.RELANCE_PUBLIC_URL)


def get(client, url: str, **headers):
    return client.get(path(url), headers={"User-Agent": BROWSER, **headers})


def test_pixel_is_a_gif_that_is_never_cached(client):
    response = get(client, open_url(sent_message()))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(GIF_HEADER)
    assert response["Cache-Control"] == "no-store"


def test_open_is_recorded_once_per_request_and_moves_last_open(client, frozen_now):
    message = sent_message()

    get(client, open_url(message))
    frozen_now.shift(timedelta(minutes=5))
    get(client, open_url(message))

    opens = Activity.objects.filter(contact=message.contact, kind=ActivityKind.OPEN)
    assert opens.count() == 2
    first = opens.order_by("occurred_at").first()
    assert first.channel == Channel.EMAIL
    assert first.campaign == message.campaign.key
    assert first.metadata == {"message": message.pk}
    assert not first.is_machine
    message.contact.refresh_from_db()
    assert message.contact.last_open_at == LATER + timedelta(minutes=5)
    message.refresh_from_db()
    assert message.opened_at == LATER


def test_head_request_answers_without_recording_an_open(client):
    message = sent_message()

    response = client.head(path(open_url(message)))

    assert response.status_code == 200
    assert not Activity.objects.exists()


def test_message_not_yet_marked_sent_still_records_its_open(client):
    message = MessageFactory(status=Message.Status.SENDING)

    response = get(client, open_url(message))

    assert response.status_code == 200
    assert Activity.objects.filter(contact=message.contact, kind=ActivityKind.OPEN).count() == 1


def test_click_is_recorded_and_redirects_to_the_exact_url(client):
    message = sent_message()
    url = "https://shop.example.com/p/42?utm_source=news&utm_medium=email&q=caf%C3%A9#top"

    response = get(client, click_url(message, url))

    assert response.status_code == 302
    assert response["Location"] == url
    assert response["Cache-Control"] == "no-store"
    click = Activity.objects.get(contact=message.contact, kind=ActivityKind.CLICK)
    assert (click.channel, click.campaign, click.is_machine) == (
        Channel.EMAIL,
        message.campaign.key,
        False,
    )
    assert click.metadata == {"message": message.pk, "url": url}
    message.contact.refresh_from_db()
    assert message.contact.last_click_at == LATER
    message.refresh_from_db()
    assert message.clicked_at == LATER


def test_head_on_a_click_link_answers_without_recording_a_click(client):
    message = sent_message()

    response = client.head(path(click_url(message, "https://example.com/")))

    assert response.status_code == 302
    assert not Activity.objects.exists()


def click_parts(message: Message, url: str) -> tuple[str, str, str]:
    """(token, base64 url, signature) of a click link."""
    signed = path(click_url(message, url)).removeprefix("/t/c/").rstrip("/")
    token, encoded, signature = signed.split(".")
    return token, encoded, signature


def forged_click(token: str, encoded: str, signature: str) -> str:
    return f"/t/c/{token}.{encoded}.{signature}/"


def assert_not_found_and_nothing_recorded(client, forged_path: str) -> None:
    response = client.get(forged_path, headers={"User-Agent": BROWSER})
    assert response.status_code == 404
    assert not Activity.objects.exists()
    assert not Message.objects.filter(clicked_at__isnull=False).exists()


def test_click_link_with_another_url_is_not_found(client):
    message = sent_message()
    token, _, signature = click_parts(message, "https://shop.example.com/")
    evil = b64_encode(b"https://evil.example.com/").decode()

    assert_not_found_and_nothing_recorded(client, forged_click(token, evil, signature))


def test_url_of_another_message_cannot_be_reached_through_this_one(client):
    mine, other = sent_message(), sent_message()
    token, _, _ = click_parts(mine, "https://shop.example.com/")
    _, other_url, other_signature = click_parts(other, "https://elsewhere.example.com/")

    assert_not_found_and_nothing_recorded(client, forged_click(token, other_url, other_signature))


def test_click_link_with_the_token_of_another_message_is_not_found(client):
    mine, other = sent_message(), sent_message()
    _, encoded, signature = click_parts(mine, "https://shop.example.com/")

    assert_not_found_and_nothing_recorded(client, forged_click(other.token, encoded, signature))


def test_click_link_with_a_truncated_signature_is_not_found(client):
    token, encoded, signature = click_parts(sent_message(), "https://shop.example.com/")

    assert_not_found_and_nothing_recorded(client, forged_click(token, encoded, signature[:-4]))
    assert_not_found_and_nothing_recorded(client, f"/t/c/{token}.{encoded}/")


def test_other_kinds_of_link_are_not_click_links(client):
    message = sent_message()
    open_token = path(open_url(message)).removeprefix("/t/o/").removesuffix(".gif")
    unsubscribe_token = path(unsubscribe_url(message)).removeprefix("/u/").rstrip("/")

    assert_not_found_and_nothing_recorded(client, f"/t/c/{open_token}/")
    assert_not_found_and_nothing_recorded(client, f"/t/c/{unsubscribe_token}/")
    assert_not_found_and_nothing_recorded(client, f"/t/o/{unsubscribe_token}.gif")


def test_forged_or_unknown_open_token_is_not_found(client):
    message = sent_message()
    gone = MessageFactory(contact=ContactFactory())
    gone_url = open_url(gone)
    gone.delete()

    assert_not_found_and_nothing_recorded(client, f"/t/o/{message.token}.gif")
    assert_not_found_and_nothing_recorded(client, f"/t/o/{message.token}.AAAA.gif")
    assert_not_found_and_nothing_recorded(client, path(gone_url))


def test_click_link_of_a_deleted_message_is_not_found(client):
    message = sent_message()
    link = path(click_url(message, "https://shop.example.com/"))
    message.delete()

    assert_not_found_and_nothing_recorded(client, link)


def test_click_in_an_sms_is_an_sms_click(client):
    campaign = CampaignFactory(channel=Campaign.Channel.SMS)
    message = sent_message(campaign=campaign)

    response = get(client, click_url(message, "https://shop.example.com/"))

    assert response.status_code == 302
    click = Activity.objects.get(contact=message.contact)
    assert (click.kind, click.channel, click.campaign) == (
        ActivityKind.SMS_CLICK,
        Channel.SMS,
        campaign.key,
    )
