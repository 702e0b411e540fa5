"""`export_segment SLUG --output PATH`: the current members, spreadsheet-safe, re-importable."""

import csv
from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from contacts.models import Contact, EmailStatus, EngagementLevel, SmsStatus
from contacts.resources import EXPORT_FIELDS
from segments.services import segment_evaluate
from tests.factories import ContactFactory, LeadSourceFactory, SegmentFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("UTC"))
HIGH = {"match": "all", "conditions": [{"field": "score", "operator": "gte", "value": 10}]}


def export(slug: str, path: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("export_segment", slug, "--output", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def evaluate(segment, at: datetime = NOW) -> None:
    with time_machine.travel(at, tick=False):
        segment_evaluate(segment_id=segment.pk)


def test_writes_the_current_members_with_the_import_columns_when_evaluated(tmp_path):
    segment = SegmentFactory(slug="high", rule=HIGH)
    fair = LeadSourceFactory(name="Fair")
    ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        phone="+33612345678",
        lead_source=fair,
        score=12,
        email_status=EmailStatus.SUBSCRIBED,
        last_open_at=datetime(2025, 1, 2, 9, 30, tzinfo=ZoneInfo("UTC")),
    )
    left = ContactFactory(email="left@example.com", score=10)
    ContactFactory(email="outside@example.com", score=0)
    evaluate(segment)
    Contact.objects.filter(pk=left.pk).update(score=0)
    evaluate(segment, NOW + timedelta(hours=1))  # left is no longer a member
    path = tmp_path / "high.csv"

    out, err = export("high", path)

    assert out.strip() == f"high: 1 members written to {path}"
    assert err == ""
    rows = read(path)
    assert list(rows[0]) == list(EXPORT_FIELDS)
    assert [row["email"] for row in rows] == ["ann@example.com"]
    row = rows[0]
    assert (row["first_name"], row["last_name"], row["source"]) == ("Ann", "Lee", "Fair")
    assert (row["score"], row["email_status"]) == ("12", "subscribed")
    assert row["last_open_at"] == "2025-01-02T10:30:00+01:00"  # local time
    assert row["last_click_at"] == ""


def test_escapes_formulas_when_a_cell_starts_like_one(tmp_path):
    segment = SegmentFactory(slug="all-of-them")
    ContactFactory(
        email="x@example.com",
        first_name='=HYPERLINK("http://evil")',
        last_name="@SUM(A1)",
        language="-1+2",
        score=-5,
    )
    evaluate(segment)
    path = tmp_path / "out.csv"

    export("all-of-them", path)

    row = read(path)[0]
    assert row["first_name"] == '\'=HYPERLINK("http://evil")'
    assert (row["last_name"], row["language"]) == ("'@SUM(A1)", "'-1+2")
    # a number is no formula: kept as the number the import reads back
    assert row["score"] == "-5"


def test_round_trip_reimports_the_same_contacts_when_exported_then_imported(tmp_path):
    # given members with every column the import reads back
    segment = SegmentFactory(slug="movers")
    fair = LeadSourceFactory(name="Fair")
    ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee-Smith",
        phone="+33612345678",
        language="fr",
        time_zone="Europe/Paris",
        lead_source=fair,
        created_at=datetime(2024, 5, 6, 7, 8, 9, tzinfo=PARIS),
        email_status=EmailStatus.SUBSCRIBED,
        sms_status=SmsStatus.SUBSCRIBED,
        loyalty_points=120,
        loyalty_points_expire_on=date(2025, 12, 31),
        score=-5,
        engagement_level=EngagementLevel.DISENGAGED,
    )
    ContactFactory(
        email="bob@example.com",
        first_name="Bob",
        last_name="",
        phone="",
        lead_source=None,
        created_at=datetime(2023, 1, 1, 23, 59, 59, 123456, tzinfo=PARIS),
        email_status=EmailStatus.UNSUBSCRIBED,
        score=0,
    )
    evaluate(segment)
    path = tmp_path / "movers.csv"
    export("movers", path)
    columns = [
        "email",
        "first_name",
        "last_name",
        "phone",
        "language",
        "time_zone",
        "lead_source__name",
        "created_at",
        "email_status",
        "sms_status",
        "loyalty_points",
        "loyalty_points_expire_on",
        "score",
    ]
    before = list(Contact.objects.order_by("email").values_list(*columns))

    # when the base is emptied and the file imported back
    Contact.objects.all().delete()
    out = StringIO()
    call_command("import_contacts", str(path), stdout=out, stderr=StringIO())

    assert out.getvalue().strip().splitlines()[-1] == (
        "created 2, updated 0, unchanged 0, rejected 0"
    )
    assert list(Contact.objects.order_by("email").values_list(*columns)) == before


def test_warns_when_the_segment_was_never_evaluated(tmp_path):
    SegmentFactory(slug="fresh")
    ContactFactory()
    path = tmp_path / "fresh.csv"

    out, err = export("fresh", path)

    assert "fresh was never evaluated: run evaluate_segments fresh first" in err
    assert read(path) == []
    assert out.strip() == f"fresh: 0 members written to {path}"


def test_errors_when_the_slug_is_unknown(tmp_path):
    with pytest.raises(CommandError, match="no segment with the slug 'nope'"):
        export("nope", tmp_path / "x.csv")

    assert not (tmp_path / "x.csv").exists()


def test_errors_clearly_when_the_path_cannot_be_written(tmp_path):
    SegmentFactory(slug="high")

    with pytest.raises(
        CommandError, match="cannot write .*missing/x.csv: No such file or directory"
    ):
        export("high", tmp_path / "missing" / "x.csv")
    with pytest.raises(CommandError, match="cannot write .*: Is a directory"):
        export("high", tmp_path)


def test_writes_members_in_chunks_when_there_are_more_than_a_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr("segments.selectors.EXPORT_CHUNK", 3)
    segment = SegmentFactory(slug="many")
    emails = sorted(ContactFactory().email for _ in range(8))
    evaluate(segment)
    path = tmp_path / "many.csv"

    export("many", path)

    assert sorted(row["email"] for row in read(path)) == emails
