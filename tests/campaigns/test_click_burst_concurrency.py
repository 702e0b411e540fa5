"""A scanner following two links of a message at once (PostgreSQL: SQLite has one writer)."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from campaigns.models import Message
from campaigns.tracking import click_url, message_click_track
from contacts.models import Activity, ActivityKind
from tests.factories import MessageFactory
from tests.row_locks import release_once_blocked

NOW = datetime(2026, 3, 14, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def signed(message: Message, url: str) -> str:
    return click_url(message, url).removeprefix(settings.RELANCE_PUBLIC_URL + "/t/c/").rstrip("/")


def test_second_click_waits_for_the_first_and_both_are_flagged():
    # Given a click on one link whose request has not committed yet
    message = MessageFactory(status=Message.Status.SENT, sent_at=NOW - timedelta(hours=1))
    clicked, release = threading.Event(), threading.Event()

    def first_request() -> None:
        try:
            with transaction.atomic():
                message_click_track(
                    signed=signed(message, "https://a.example.com/"), user_agent=CHROME, now=NOW
                )
                clicked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_request)
    thread.start()
    assert clicked.wait(timeout=10)

    watcher = release_once_blocked(release)

    # When a click on another link arrives meanwhile
    url = message_click_track(
        signed=signed(message, "https://b.example.com/"),
        user_agent=CHROME,
        now=NOW + timedelta(milliseconds=200),
    )
    watcher.join()
    thread.join()

    # Then it waited for the first one, saw it, and the burst is flagged whole
    assert url == "https://b.example.com/"
    clicks = Activity.objects.filter(contact=message.contact, kind=ActivityKind.CLICK)
    assert sorted(click.metadata["url"] for click in clicks) == [
        "https://a.example.com/",
        "https://b.example.com/",
    ]
    assert all(click.is_machine for click in clicks)
    message.contact.refresh_from_db()
    assert message.contact.last_click_at is None
