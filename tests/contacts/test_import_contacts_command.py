"""`import_contacts`: what real exports look like, what is rejected, what an import may change."""

import csv
from datetime import date, datetime
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from contacts.models import Contact, ContactList, EmailStatus, LeadSource, SmsStatus
from tests.factories import ContactFactory, LeadSourceFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(path: Path, *args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("import_contacts", str(path), *args, stdout=out, stderr=err)
    return out.getvalue().strip().splitlines()[-1]


def test_prints_the_summary_and_creates_contacts_when_file_is_clean(tmp_path):
    path = write(tmp_path, "email,first_name,last_name\nA@Example.com,Ann,Lee\nb@example.com,,\n")

    assert run(path) == "created 2, updated 0, unchanged 0, rejected 0"
    assert list(Contact.objects.order_by("email").values_list("email", "first_name")) == [
        ("a@example.com", "Ann"),
        ("b@example.com", ""),
    ]


def test_reads_every_oddity_of_real_exports_at_once(tmp_path):
    # BOM, semicolons, CRLF, French headers, quoted delimiter and newline, blank lines,
    # an extra column, day-first dates, a duplicate in another case, and bad rows.
    text = (
        "\ufeffAdresse e-mail;Prénom;Nom;Téléphone;Date d'inscription;Source;Code client\r\n"
        "Jean.Dupont@Example.com;Jean;Dupont;06 12 34 56 78;31/12/2023;Salon;C1\r\n"
        "\r\n"
        'marie@example.fr;Marie;"Curie; née\r\nSkłodowska";+33 1 23 45 67 89;2024-01-05;;C2\r\n'
        "not-an-email;X;Y;;;;\r\n"
        ";Nobody;;;;;\r\n"
        "zed@example.org;Zed;;12;;;\r\n"
        "late@example.org;Late;;;32/13/2024;;\r\n"
        "JEAN.DUPONT@example.com;;Dupond;;;;C1b\r\n"
    )
    path = write(tmp_path, text)
    rejects = tmp_path / "rejects.csv"

    summary = run(path, "--rejects", str(rejects))

    assert summary == "created 2, updated 0, unchanged 0, rejected 4"
    jean = Contact.objects.get(email="jean.dupont@example.com")
    assert (jean.first_name, jean.last_name, jean.phone) == ("Jean", "Dupond", "+33612345678")
    assert jean.created_at == datetime(2023, 12, 31, tzinfo=PARIS)
    assert jean.lead_source.name == "Salon"
    assert jean.attributes == {"Code client": "C1b"}
    marie = Contact.objects.get(email="marie@example.fr")
    assert marie.last_name == "Curie; née\r\nSkłodowska"
    assert marie.phone == "+33123456789"
    with rejects.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    reasons = {int(row[0]): row[1] for row in rows[1:]}
    assert set(reasons) == {6, 7, 8, 9}
    assert "invalid e-mail address 'not-an-email'" in reasons[6]
    assert "missing e-mail address" in reasons[7]
    assert "invalid phone number '12'" in reasons[8] and "Téléphone" in reasons[8]
    assert "unreadable date '32/13/2024'" in reasons[9] and "Date d'inscription" in reasons[9]


def test_reads_windows_1252_tab_separated_files(tmp_path):
    path = write(
        tmp_path, "E-mail\tPrénom\tNom\nelise@example.com\tÉlise\tLefèvre\n", encoding="cp1252"
    )
    run(path)
    elise = Contact.objects.get()
    assert (elise.first_name, elise.last_name) == ("Élise", "Lefèvre")


def test_reads_utf16_files_from_spreadsheet_unicode_export(tmp_path):
    path = write(tmp_path, "Email\tFirst Name\nzoe@example.com\tZoé\n", encoding="utf-16")
    run(path)
    assert Contact.objects.get().first_name == "Zoé"


@pytest.mark.parametrize(
    "header",
    ["Email", "E-mail", "Email Address", "Adresse e-mail", "Courriel", "EMAIL", "mail"],
)
def test_finds_the_email_column_when_header_is_an_alias(tmp_path, header):
    path = write(tmp_path, f"{header},Prénom\nx@example.com,Xavier\n")
    assert run(path) == "created 1, updated 0, unchanged 0, rejected 0"


def test_reads_iso_and_day_first_dates_with_times(tmp_path):
    path = write(
        tmp_path,
        "email,created_at,points expire on,loyalty points\n"
        "a@example.com,2024-03-01T10:30:00+00:00,2025-06-30,120\n"
        "b@example.com,01/03/2024 10:30,30/06/2025,1 200\n",
    )
    run(path)
    a, b = Contact.objects.order_by("email")
    assert a.created_at == datetime(2024, 3, 1, 10, 30, tzinfo=ZoneInfo("UTC"))
    assert b.created_at == datetime(2024, 3, 1, 10, 30, tzinfo=PARIS)
    assert (a.loyalty_points_expire_on, b.loyalty_points_expire_on) == (date(2025, 6, 30),) * 2
    assert (a.loyalty_points, b.loyalty_points) == (120, 1200)


def test_leaves_existing_contacts_alone_without_update_existing(tmp_path):
    ContactFactory(email="ann@example.com", first_name="Ann")
    path = write(tmp_path, "email,first_name\nANN@example.com,Anne\n")

    assert run(path) == "created 0, updated 0, unchanged 1, rejected 0"
    assert Contact.objects.get().first_name == "Ann"


def test_updates_existing_contacts_with_update_existing_but_keeps_what_the_file_leaves_empty(
    tmp_path,
):
    ContactFactory(
        email="ann@example.com", first_name="Ann", last_name="Lee", attributes={"vip": "yes"}
    )
    ContactFactory(email="same@example.com", first_name="Sam", last_name="")
    path = write(
        tmp_path,
        "email,first_name,last_name,Shoe size\nann@example.com,Anne,,38\nsame@example.com,Sam,,\n",
    )

    assert run(path, "--update-existing") == "created 0, updated 1, unchanged 1, rejected 0"
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name) == ("Anne", "Lee")
    assert ann.attributes == {"vip": "yes", "Shoe size": "38"}


@pytest.mark.parametrize(
    "status",
    [
        EmailStatus.UNSUBSCRIBED,
        EmailStatus.BOUNCED,
        EmailStatus.COMPLAINED,
        EmailStatus.CLEANED,
    ],
)
def test_never_resubscribes_a_suppressed_contact(tmp_path, status):
    ContactFactory(email="gone@example.com", email_status=status)
    path = write(tmp_path, "email,status,first_name\ngone@example.com,subscribed,Back\n")

    run(path, "--update-existing")

    gone = Contact.objects.get()
    assert (gone.email_status, gone.first_name) == (status, "Back")


def test_file_status_applies_to_new_and_subscribed_contacts(tmp_path):
    ContactFactory(email="sub@example.com")
    path = write(
        tmp_path,
        "email,statut,SMS opt-in,phone\n"
        "sub@example.com,désabonné,,\n"
        "new@example.com,bounced,oui,0612345678\n",
    )
    run(path, "--update-existing")
    statuses = dict(Contact.objects.values_list("email", "email_status"))
    assert statuses == {
        "sub@example.com": EmailStatus.UNSUBSCRIBED,
        "new@example.com": EmailStatus.BOUNCED,
    }
    assert Contact.objects.get(email="new@example.com").sms_status == SmsStatus.SUBSCRIBED


def test_rejects_an_unknown_status_naming_the_column(tmp_path):
    path = write(tmp_path, "email,Statut\na@example.com,peut-être\n")
    out = StringIO()
    err = StringIO()
    call_command("import_contacts", str(path), stdout=out, stderr=err)
    assert "rejected 1" in out.getvalue()
    assert "unknown status 'peut-être' in column Statut" in err.getvalue()


def test_merges_duplicates_spread_over_several_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr("contacts.importing.contacts.CHUNK_SIZE", 2)
    path = write(
        tmp_path,
        "email,first_name,last_name\n"
        "a@example.com,Ann,\n"
        "b@example.com,Bob,\n"
        "c@example.com,Cid,\n"
        "A@EXAMPLE.COM,,Lee\n"
        "b@example.com,Robert,\n",
    )
    out = StringIO()
    call_command("import_contacts", str(path), stdout=out, stderr=StringIO())

    assert "created 3, updated 0, unchanged 0, rejected 0" in out.getvalue()
    assert "2 duplicate rows merged" in out.getvalue()
    names = dict(Contact.objects.values_list("email", "last_name"))
    assert names["a@example.com"] == "Lee"
    assert Contact.objects.get(email="b@example.com").first_name == "Robert"


def test_counts_an_existing_contact_once_when_it_appears_twice(tmp_path, monkeypatch):
    monkeypatch.setattr("contacts.importing.contacts.CHUNK_SIZE", 1)
    ContactFactory(email="old@example.com", first_name="Old")
    path = write(tmp_path, "email,first_name\nold@example.com,New\nold@example.com,Newer\n")

    assert run(path, "--update-existing") == "created 0, updated 1, unchanged 0, rejected 0"
    assert Contact.objects.get().first_name == "Newer"


def test_running_the_same_file_twice_changes_nothing_the_second_time(tmp_path):
    path = write(tmp_path, "email,first_name,Extra\na@example.com,Ann,x\nb@example.com,Bob,y\n")
    run(path)
    assert run(path, "--update-existing") == "created 0, updated 0, unchanged 2, rejected 0"


def test_adds_contacts_to_the_list_and_sets_the_default_source(tmp_path):
    LeadSourceFactory(name="Salon")
    ContactFactory(email="old@example.com")
    path = write(
        tmp_path, "email,source\nold@example.com,\nnew@example.com,\nweb@example.com,Site web\n"
    )

    run(path, "--list", "Printemps", "--source", "Salon")

    members = ContactList.objects.get(name="Printemps").contacts.values_list("email", flat=True)
    assert sorted(members) == ["new@example.com", "old@example.com", "web@example.com"]
    sources = dict(Contact.objects.values_list("email", "lead_source__name"))
    assert sources == {
        "old@example.com": None,
        "new@example.com": "Salon",
        "web@example.com": "Site web",
    }
    assert LeadSource.objects.filter(name="Site web").exists()


def test_dry_run_counts_but_saves_nothing(tmp_path):
    path = write(tmp_path, "email,source\na@example.com,Nouveau\nbad,\n")
    out = StringIO()
    call_command("import_contacts", str(path), "--dry-run", stdout=out, stderr=StringIO())
    assert "created 1, updated 0, unchanged 0, rejected 1" in out.getvalue()
    assert "dry run" in out.getvalue()
    assert not Contact.objects.exists()
    assert not LeadSource.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n\n", "the file is empty"),
        (b"name,phone\nAnn,0612345678\n", "no e-mail column"),
        (b"PK\x03\x04binary-spreadsheet", "not CSV"),
    ],
)
def test_fails_with_a_clear_message_when_the_file_is_unusable(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_contacts", str(path), stdout=StringIO(), stderr=StringIO())
    assert not Contact.objects.exists()


def test_fails_with_a_clear_message_when_the_file_does_not_exist(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_contacts", str(tmp_path / "missing.csv"))


def test_escapes_formulas_in_the_rejects_file(tmp_path):
    path = write(tmp_path, "email,first_name\n=HYPERLINK(1),=cmd\n")
    rejects = tmp_path / "rejects.csv"
    run(path, "--rejects", str(rejects))
    rows = list(csv.reader(rejects.open(encoding="utf-8")))
    assert rows[1][2:] == ["'=HYPERLINK(1)", "'=cmd"]
    assert rows[1][1].startswith("invalid e-mail address")


def test_drops_stray_nul_bytes_instead_of_failing(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"email,first_name\na@example.com,A\x00nn\nb@example.com,Bob\n")
    assert run(path) == "created 2, updated 0, unchanged 0, rejected 0"
    assert Contact.objects.get(email="a@example.com").first_name == "Ann"


@pytest.mark.django_db(transaction=True)
def test_imports_in_chunks_outside_a_transaction_as_the_worker_does(tmp_path, monkeypatch):
    # Outside a transaction on PostgreSQL, chunks are written by a second thread.
    monkeypatch.setattr("contacts.importing.contacts.CHUNK_SIZE", 3)
    lines = [f"c{n}@example.com,Name{n}" for n in range(10)] + ["c0@example.com,Again", "x,y"]
    path = write(tmp_path, "email,first_name\n" + "\n".join(lines) + "\n")

    assert run(path, "--list", "Worker") == "created 10, updated 0, unchanged 0, rejected 1"
    assert Contact.objects.get(email="c0@example.com").first_name == "Again"
    assert ContactList.objects.get(name="Worker").contacts.count() == 10


def test_ignores_the_computed_columns_of_a_relance_export(tmp_path):
    path = write(
        tmp_path,
        "email,engagement_level,last_open_at,Last Click At,Shoe size\n"
        "a@example.com,engaged,2025-01-01,2025-01-02,38\n",
    )
    run(path)
    contact = Contact.objects.get()
    assert contact.attributes == {"Shoe size": "38"}
    assert (contact.engagement_level, contact.last_open_at) == ("never", None)


def test_reports_a_failed_validating_process_as_a_command_error(tmp_path, monkeypatch):
    from contacts.importing import ValidatorError
    from contacts.management.commands import import_contacts

    def fail(**kwargs):
        raise ValidatorError("the validating process was killed by signal 9")

    monkeypatch.setattr(import_contacts, "contacts_import", fail)
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@example.com\n", encoding="utf-8")

    with pytest.raises(CommandError, match="stopped: the validating process was killed"):
        call_command("import_contacts", str(path), stdout=StringIO(), stderr=StringIO())
