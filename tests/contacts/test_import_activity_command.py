"""`import_activity`: a history from another tool, loaded once, statuses and rollups updated."""

from datetime import datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from contacts.models import Activity, ActivityKind, Channel, Contact, EmailStatus
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")

HISTORY = (
    "email,kind,occurred_at,campaign,channel,amount,external_id,machine\n"
    "ann@example.com,sent,2025-01-10 09:00,Janvier,,,,\n"
    "ann@example.com,open,2025-01-10 09:01,Janvier,,,,yes\n"
    "ANN@example.com,open,11/01/2025 18:30,Janvier,,,,no\n"
    'ann@example.com,purchase,2025-01-12,,store,"49,90",order-1,\n'
    "bob@example.com,complaint,2025-01-11,Janvier,,,,\n"
    "cid@example.com,unsubscribe,2025-01-11,Janvier,sms,,,\n"
    "nobody@example.com,open,2025-01-11,,,,,\n"
    "ann@example.com,teleport,2025-01-11,,,,,\n"
    "ann@example.com,open,someday,,,,,\n"
    "ann@example.com,open,2025-01-11,,,,,maybe\n"
)


def run(path, *args):
    out, err = StringIO(), StringIO()
    call_command("import_activity", str(path), *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY, encoding="utf-8")
    return path


@pytest.fixture
def people():
    return {
        name: ContactFactory(email=f"{name}@example.com", sms_status="subscribed")
        for name in ("ann", "bob", "cid")
    }


def test_records_events_and_reports_bad_rows(history, people):
    summary, errors = run(history)

    assert summary == "recorded 6, duplicates 0, rejected 4"
    assert "line 8: unknown contact nobody@example.com" in errors
    assert "line 9: unknown activity kind 'teleport'" in errors
    assert "line 10: unreadable date 'someday'" in errors
    assert "line 11: machine must be yes or no" in errors
    purchase = Activity.objects.get(kind=ActivityKind.PURCHASE)
    assert (purchase.amount, purchase.channel, purchase.external_id) == (
        Decimal("49.90"),
        Channel.STORE,
        "order-1",
    )


def test_running_the_same_file_again_adds_nothing(history, people):
    run(history)
    summary, _ = run(history)
    assert summary == "recorded 0, duplicates 6, rejected 4"
    assert Activity.objects.count() == 6


def test_rollups_ignore_machine_opens_and_statuses_follow_the_history(history, people):
    run(history)
    ann, bob, cid = (Contact.objects.get(pk=people[n].pk) for n in ("ann", "bob", "cid"))
    assert ann.last_open_at == datetime(2025, 1, 11, 18, 30, tzinfo=PARIS)
    assert ann.last_targeted_at == datetime(2025, 1, 10, 9, 0, tzinfo=PARIS)
    assert ann.last_purchase_at == datetime(2025, 1, 12, tzinfo=PARIS)
    assert bob.email_status == EmailStatus.COMPLAINED
    assert (cid.email_status, cid.sms_status) == (EmailStatus.SUBSCRIBED, "unsubscribed")


def test_soft_bounces_do_not_suppress_but_hard_ones_do(tmp_path, people):
    path = tmp_path / "bounces.csv"
    path.write_text(
        "email,type,date,bounce_type\n"
        "ann@example.com,soft_bounce,2025-01-11,\n"
        "bob@example.com,bounce,2025-01-11,soft\n"
        "cid@example.com,hard_bounce,2025-01-11,\n",
        encoding="utf-8",
    )
    run(path)
    statuses = dict(Contact.objects.values_list("email", "email_status"))
    assert statuses == {
        "ann@example.com": EmailStatus.SUBSCRIBED,
        "bob@example.com": EmailStatus.SUBSCRIBED,
        "cid@example.com": EmailStatus.BOUNCED,
    }


def test_fails_clearly_when_a_required_column_is_missing(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("email,campaign\nann@example.com,x\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing column"):
        run(path)
