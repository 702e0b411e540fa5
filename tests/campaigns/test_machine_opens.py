"""Machine opens and clicks (privacy proxies, security scanners): recorded, never engagement."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from campaigns.models import Message
from campaigns.tracking import (
    REASON_APPLE_PROXY,
    REASON_CLICK_BURST,
    REASON_NO_USER_AGENT,
    REASON_SCANNER,
    REASON_TOO_SOON,
    click_machine_reason,
    click_url,
    is_apple_privacy_proxy,
    is_click_burst,
    is_scanner_user_agent,
    open_machine_reason,
    open_url,
)
from contacts.models import Activity, ActivityKind
from contacts.services import ActivityEvent, activities_record
from tests.factories import ContactFactory, MessageFactory

PARIS = ZoneInfo("Europe/Paris")
SENT = datetime(2026, 3, 14, 9, 0, tzinfo=PARIS)
LATER = SENT + timedelta(hours=2)
EARLIER_OPEN = SENT - timedelta(days=30)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
APPLE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
HOME_IP = "203.0.113.9"
APPLE_IP = "17.58.63.1"


# --- The rules, as plain functions ---------------------------------------------------------


def test_apple_proxy_is_its_network_without_a_browser_or_a_bare_mozilla_anywhere():
    assert is_apple_privacy_proxy(user_agent="Mozilla/5.0", ip=APPLE_IP)
    assert is_apple_privacy_proxy(user_agent=APPLE_MAIL, ip=APPLE_IP)
    assert is_apple_privacy_proxy(user_agent="Mozilla/5.0", ip=HOME_IP)
    assert is_apple_privacy_proxy(user_agent="Mozilla/5.0", ip=f"::ffff:{APPLE_IP}")


def test_person_on_apple_mail_or_at_apple_with_a_browser_is_not_the_proxy():
    assert not is_apple_privacy_proxy(user_agent=APPLE_MAIL, ip=HOME_IP)
    assert not is_apple_privacy_proxy(user_agent=SAFARI, ip=APPLE_IP)
    assert not is_apple_privacy_proxy(user_agent=CHROME, ip="")


@pytest.mark.parametrize(
    "user_agent",
    [
        "Barracuda Sentinel (EE)",
        "Mozilla/5.0 (compatible; Mimecast URL Protect)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "python-requests/2.32.3",
        "curl/8.5.0",
        "Microsoft Office Existence Discovery",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
    ],
)
def test_known_scanners_are_recognised(user_agent):
    assert is_scanner_user_agent(user_agent)


@pytest.mark.parametrize(
    "user_agent",
    [
        CHROME,
        SAFARI,
        APPLE_MAIL,
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        "Mozilla/5.0 (Linux; Android 13; CUBOT X30) AppleWebKit/537.36 Chrome/120 Mobile",
    ],
)
def test_browsers_and_mail_apps_are_not_scanners(user_agent):
    assert not is_scanner_user_agent(user_agent)


def test_open_reasons():
    def reason(user_agent=CHROME, ip=HOME_IP, at=LATER):
        return open_machine_reason(user_agent=user_agent, ip=ip, sent_at=SENT, at=at)

    assert reason() == ""
    assert reason(user_agent="") == REASON_NO_USER_AGENT
    assert reason(user_agent="Mozilla/5.0", ip=APPLE_IP) == REASON_APPLE_PROXY
    assert reason(user_agent="Barracuda Sentinel") == REASON_SCANNER
    assert reason(at=SENT + timedelta(seconds=4)) == REASON_TOO_SOON
    assert reason(at=SENT + timedelta(seconds=5)) == ""
    assert open_machine_reason(user_agent=CHROME, ip=HOME_IP, sent_at=None, at=SENT) == ""


def test_delivery_window_is_a_setting(settings):
    settings.RELANCE_MACHINE_OPEN_SECONDS = 60
    at = SENT + timedelta(seconds=30)

    assert open_machine_reason(user_agent=CHROME, ip=HOME_IP, sent_at=SENT, at=at) == (
        REASON_TOO_SOON
    )


def test_click_on_another_link_within_a_second_is_a_burst():
    at = LATER
    earlier = [("https://a.example.com/", at - timedelta(milliseconds=400))]

    assert is_click_burst(url="https://b.example.com/", at=at, recent_clicks=earlier)
    assert not is_click_burst(url="https://a.example.com/", at=at, recent_clicks=earlier)
    assert not is_click_burst(
        url="https://b.example.com/",
        at=at,
        recent_clicks=[("https://a.example.com/", at - timedelta(seconds=2))],
    )
    assert (
        click_machine_reason(
            user_agent=CHROME,
            sent_at=SENT,
            at=at,
            url="https://b.example.com/",
            recent_clicks=earlier,
        )
        == REASON_CLICK_BURST
    )


# --- Through the endpoints -----------------------------------------------------------------


@pytest.fixture
def frozen_now():
    with time_machine.travel(LATER, tick=False) as traveller:
        yield traveller


def sent_message() -> Message:
    """A sent message to a contact who last opened and clicked (as a person) a month ago."""
    contact = ContactFactory()
    activities_record(
        events=[
            ActivityEvent(contact.pk, kind, EARLIER_OPEN, campaign="earlier")
            for kind in (ActivityKind.OPEN, ActivityKind.CLICK)
        ]
    )
    return MessageFactory(contact=contact, status=Message.Status.SENT, sent_at=SENT)


def fetch(client, url: str, *, user_agent: str, ip: str = HOME_IP):
    return client.get(
        url.removeprefix(settings.RELANCE_PUBLIC_URL),
        headers={"User-Agent": user_agent},
        REMOTE_ADDR=ip,
    )


def only_open(message: Message) -> Activity:
    return Activity.objects.get(
        contact=message.contact, kind=ActivityKind.OPEN, campaign=message.campaign.key
    )


def clicks_of(message: Message):
    return Activity.objects.filter(
        contact=message.contact, kind=ActivityKind.CLICK, campaign=message.campaign.key
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("user_agent", "ip"),
    [("Mozilla/5.0", APPLE_IP), ("Mimecast Security Scanner", HOME_IP), ("", HOME_IP)],
)
def test_machine_open_is_recorded_as_such_and_leaves_last_open_alone(
    client, frozen_now, user_agent, ip
):
    message = sent_message()

    response = fetch(client, open_url(message), user_agent=user_agent, ip=ip)

    assert response.status_code == 200
    assert only_open(message).is_machine
    message.contact.refresh_from_db()
    assert message.contact.last_open_at == EARLIER_OPEN
    message.refresh_from_db()
    assert (message.opened_at, message.machine_opened_at) == (None, LATER)


@pytest.mark.django_db
def test_open_right_after_sending_is_a_machine_open(client, frozen_now):
    message = sent_message()
    frozen_now.move_to(SENT + timedelta(seconds=2))

    fetch(client, open_url(message), user_agent=CHROME)

    open_ = only_open(message)
    assert open_.is_machine
    assert open_.metadata["machine"] == REASON_TOO_SOON
    message.contact.refresh_from_db()
    assert message.contact.last_open_at == EARLIER_OPEN


@pytest.mark.django_db
def test_person_opening_a_few_seconds_later_counts(client, frozen_now):
    message = sent_message()
    frozen_now.move_to(SENT + timedelta(seconds=10))

    fetch(client, open_url(message), user_agent=APPLE_MAIL)

    assert not only_open(message).is_machine
    message.contact.refresh_from_db()
    assert message.contact.last_open_at == SENT + timedelta(seconds=10)


@pytest.mark.django_db
def test_scanner_clicking_every_link_is_flagged_with_the_first_click(client, frozen_now):
    message = sent_message()
    links = ["https://a.example.com/", "https://b.example.com/", "https://c.example.com/"]

    for link in links:
        response = fetch(client, click_url(message, link), user_agent=CHROME)
        assert response.status_code == 302
        frozen_now.shift(timedelta(milliseconds=300))

    clicks = clicks_of(message)
    assert clicks.count() == 3
    assert all(click.is_machine for click in clicks)
    message.contact.refresh_from_db()
    assert message.contact.last_click_at == EARLIER_OPEN
    message.refresh_from_db()
    assert message.clicked_at is None


@pytest.mark.django_db
def test_person_clicking_twice_or_seconds_apart_is_no_burst(client, frozen_now):
    message = sent_message()
    first, second = "https://a.example.com/", "https://b.example.com/"

    fetch(client, click_url(message, first), user_agent=CHROME)
    frozen_now.shift(timedelta(milliseconds=300))
    fetch(client, click_url(message, first), user_agent=CHROME)
    frozen_now.shift(timedelta(seconds=5))
    fetch(client, click_url(message, second), user_agent=CHROME)

    clicks = clicks_of(message)
    assert clicks.count() == 3
    assert not any(click.is_machine for click in clicks)
    message.contact.refresh_from_db()
    assert message.contact.last_click_at == LATER + timedelta(seconds=5, milliseconds=300)
    message.refresh_from_db()
    assert message.clicked_at == LATER


@pytest.mark.django_db
def test_clicks_on_another_message_do_not_make_a_burst(client, frozen_now):
    message = sent_message()
    other = MessageFactory(contact=message.contact, status=Message.Status.SENT, sent_at=SENT)

    fetch(client, click_url(message, "https://a.example.com/"), user_agent=CHROME)
    frozen_now.shift(timedelta(milliseconds=300))
    fetch(client, click_url(other, "https://b.example.com/"), user_agent=CHROME)

    assert not Activity.objects.filter(kind=ActivityKind.CLICK, is_machine=True).exists()


@pytest.mark.django_db
def test_scanner_click_leaves_last_click_alone(client, frozen_now):
    message = sent_message()

    response = fetch(client, click_url(message, "https://a.example.com/"), user_agent="curl/8.5.0")

    assert response.status_code == 302
    click = clicks_of(message).get()
    assert click.is_machine
    message.contact.refresh_from_db()
    assert message.contact.last_click_at == EARLIER_OPEN
