from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from contacts.models import ActivityKind, Channel, Contact
from tests.factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
ROLLUPS = ["last_targeted_at", "last_open_at", "last_click_at", "last_purchase_at", "last_visit_at"]


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=PARIS)


def rebuild_rollups(*args: str) -> str:
    out = StringIO()
    call_command("rebuild_rollups", *args, stdout=out)
    return out.getvalue()


def test_rollups_follow_the_log_when_they_drifted():
    # Given events written straight into the log (as an external load would), and stale rollups
    alice, bob, carol = (ContactFactory(last_open_at=at(30), last_click_at=at(30)) for _ in "abc")
    ActivityFactory(contact=alice, kind=ActivityKind.SENT, occurred_at=at(2))
    ActivityFactory(contact=alice, kind=ActivityKind.SENT, occurred_at=at(9))
    ActivityFactory(contact=alice, kind=ActivityKind.OPEN, occurred_at=at(3))
    ActivityFactory(contact=alice, kind=ActivityKind.OPEN, occurred_at=at(9), is_machine=True)
    ActivityFactory(
        contact=bob, kind=ActivityKind.SMS_CLICK, channel=Channel.SMS, occurred_at=at(4)
    )
    ActivityFactory(contact=bob, kind=ActivityKind.PURCHASE, occurred_at=at(5))
    ActivityFactory(contact=bob, kind=ActivityKind.VISIT, channel=Channel.WEB, occurred_at=at(6))

    output = rebuild_rollups("--chunk-size", "2")

    rollups = {c.pk: [getattr(c, name) for name in ROLLUPS] for c in Contact.objects.all()}
    assert rollups[alice.pk] == [at(9), at(3), None, None, None]  # the machine open is ignored
    assert rollups[bob.pk] == [None, None, at(4), at(5), at(6)]
    assert rollups[carol.pk] == [None] * 5
    assert output.splitlines()[-1] == "rebuilt rollups of 3 contacts"


def test_progress_is_printed_per_chunk_when_the_base_spans_several():
    ContactFactory.create_batch(5)

    lines = rebuild_rollups("--chunk-size", "2").splitlines()

    assert lines == ["2 contacts", "4 contacts", "5 contacts", "rebuilt rollups of 5 contacts"]


def test_only_the_summary_is_printed_when_quiet():
    ContactFactory.create_batch(3)

    assert rebuild_rollups("--chunk-size", "2", "-v0") == "rebuilt rollups of 3 contacts\n"


def test_nothing_to_do_when_the_base_is_empty():
    assert rebuild_rollups() == "rebuilt rollups of 0 contacts\n"


def test_refuses_a_chunk_size_below_one():
    with pytest.raises(CommandError, match="--chunk-size"):
        rebuild_rollups("--chunk-size", "0")


def test_demo_rollups_come_back_when_wiped():
    with time_machine.travel(datetime(2026, 3, 14, 9, tzinfo=PARIS), tick=False):
        call_command("seed_demo", "--contacts", "200", stdout=StringIO())
    seeded = list(Contact.objects.order_by("pk").values_list("pk", *ROLLUPS))
    Contact.objects.update(**dict.fromkeys(ROLLUPS))

    output = rebuild_rollups("--chunk-size", "64")

    assert list(Contact.objects.order_by("pk").values_list("pk", *ROLLUPS)) == seeded
    assert output.splitlines()[-1] == "rebuilt rollups of 200 contacts"
