from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from contacts.models import Contact, EngagementChange
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 14, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def update_engagement_levels(*args: str) -> list[str]:
    out = StringIO()
    call_command("update_engagement_levels", *args, stdout=out)
    return out.getvalue().splitlines()


def base() -> list[Contact]:
    return [
        ContactFactory(last_open_at=NOW - DAY),
        ContactFactory(last_click_at=NOW - 2 * DAY),
        ContactFactory(last_visit_at=NOW - 25 * DAY),
        ContactFactory(last_open_at=NOW - 90 * DAY),
        ContactFactory(),
    ]


def test_levels_change_and_a_summary_per_level_is_printed_when_run():
    base()

    lines = update_engagement_levels()

    assert lines[-1].startswith(
        "changed 4 of 5 contacts (recent 2, engaged 0, disengaged 1, inactive 1, never 0) in "
    )
    assert EngagementChange.objects.count() == 4
    assert set(Contact.objects.values_list("engagement_level", flat=True)) == {
        "recent",
        "disengaged",
        "inactive",
        "never",
    }


def test_dry_run_prints_what_would_change_and_writes_nothing():
    contacts = base()

    lines = update_engagement_levels("--dry-run")

    assert "dry run: nothing was saved" in lines
    assert lines[-1].startswith(
        "would change 4 of 5 contacts (recent 2, engaged 0, disengaged 1, inactive 1, never 0)"
    )
    assert not EngagementChange.objects.exists()
    assert set(Contact.objects.values_list("engagement_level", "score")) == {("never", 0)}
    assert len(contacts) == 5


def test_progress_is_printed_per_batch_when_the_base_spans_several():
    base()

    lines = update_engagement_levels("--batch-size", "2")

    assert lines[:3] == [
        "2 contacts examined, 2 changed",
        "4 contacts examined, 4 changed",
        "5 contacts examined, 4 changed",
    ]


def test_only_the_summary_is_printed_when_quiet():
    base()

    lines = update_engagement_levels("-v0")

    assert len(lines) == 1 and lines[0].startswith("changed 4 of 5 contacts")


def test_nothing_changes_the_second_time():
    base()
    update_engagement_levels()

    lines = update_engagement_levels()

    assert lines[-1].startswith("changed 0 of 5 contacts")
    assert EngagementChange.objects.count() == 4


def test_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError, match="--batch-size"):
        update_engagement_levels("--batch-size", "0")
