"""Two writers on the same contacts at once (PostgreSQL: SQLite has a single writer)."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections, transaction
from django.db.models import F

from contacts.models import Contact, EngagementChange, EngagementLevel
from contacts.services import engagement_levels_update
from tests.factories import ContactFactory
from tests.row_locks import release_once_blocked

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_a_change_is_applied_and_logged_once_when_another_run_commits_it_first():
    # Given another run that has already moved the contact, not yet committed
    contact = ContactFactory(last_open_at=NOW - timedelta(days=1))
    moved, release = threading.Event(), threading.Event()

    def other_run() -> None:
        try:
            with transaction.atomic():
                Contact.objects.filter(pk=contact.pk).update(
                    engagement_level=EngagementLevel.RECENT, score=F("score") + 10
                )
                EngagementChange.objects.create(
                    contact=contact, from_level="never", to_level="recent", score_delta=10
                )
                moved.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_run)
    thread.start()
    assert moved.wait(timeout=10)

    watcher = release_once_blocked(release)

    # When this run meets the locked row, then sees it committed
    result = engagement_levels_update(now=NOW)
    watcher.join()
    thread.join()

    # Then the contact is scored and logged once, by the run that got there first
    contact.refresh_from_db()
    assert (contact.engagement_level, contact.score) == ("recent", 10)
    assert EngagementChange.objects.filter(contact=contact).count() == 1
    assert result.changed_total == 0
