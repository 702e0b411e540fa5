"""An address erased under the GDPR never comes back silently: imports reject its rows (with
their line and the reason), and the admin refuses to add it again."""

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from contacts.models import Contact, ErasedAddress
from contacts.services import contact_erase
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
EMAIL = "ann.lee@example.com"
PHONE = "+33612345678"


@pytest.fixture
def erased():
    contact = ContactFactory(email=EMAIL, phone=PHONE, first_name="Ann")
    return contact_erase(contact, by_user=None)


def import_command(tmp_path: Path, text: str, *args: str) -> tuple[str, dict[int, str]]:
    """Run `import_contacts`; returns its summary line and the rejects file's {line: reason}."""
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    out = StringIO()
    call_command("import_contacts", str(path), "--rejects", str(rejects), *args, stdout=out)
    with rejects.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    return out.getvalue().strip().splitlines()[-1], {int(row[0]): row[1] for row in rows}


FILE = (
    "email,first_name,phone\n"
    "new@example.com,New,\n"
    " Ann.Lee@Example.COM ,Ann,\n"
    "other@example.com,Other,06 12 34 56 78\n"
    "erased-1@erased.invalid,Ann,\n"
)


def assert_erased_rows_rejected(summary: str, reasons: dict[int, str]) -> None:
    assert summary == "created 1, updated 0, unchanged 0, rejected 3"
    assert reasons == {
        3: "address erased under GDPR",
        4: "phone number erased under GDPR",
        5: "address erased under GDPR",
    }
    assert set(Contact.objects.filter(erased_at=None).values_list("email", flat=True)) == {
        "new@example.com"
    }


def test_import_rejects_erased_addresses_and_numbers_with_line_and_reason(tmp_path, erased):
    summary, reasons = import_command(tmp_path, FILE, "--update-existing")

    assert_erased_rows_rejected(summary, reasons)
    erased.refresh_from_db()
    assert erased.first_name == "" and erased.email_status == "unsubscribed"


def test_import_validated_in_a_second_process_rejects_them_too(tmp_path, erased, monkeypatch):
    monkeypatch.setattr("contacts.importing.contacts.VALIDATOR_PROCESS_MIN_BYTES", 0)

    summary, reasons = import_command(tmp_path, FILE)

    assert_erased_rows_rejected(summary, reasons)


def test_import_without_erasures_imports_every_row(tmp_path):
    summary, reasons = import_command(tmp_path, FILE.replace("erased-1@erased.invalid", "x@y.fr"))

    assert summary == "created 4, updated 0, unchanged 0, rejected 0"
    assert reasons == {}


def test_admin_import_preview_rejects_an_erased_address(staff_client, erased):
    content = b"email,first_name\nann.lee@example.com,Ann\nbob@example.com,Bob\n"
    response = staff_client.post(
        reverse("admin:contacts_contact_import"),
        {"format": "0", "import_file": SimpleUploadedFile("c.csv", content, "text/csv")},
    )

    rejected = {
        row.number: " ".join(row.error.messages) for row in response.context["result"].invalid_rows
    }
    assert rejected == {2: "address erased under GDPR"}


def test_admin_refuses_to_add_an_erased_address_again(staff_client, erased):
    response = staff_client.post(
        reverse("admin:contacts_contact_add"),
        {
            "email": "Ann.Lee@example.com",
            "created_at_0": "2026-01-01",
            "created_at_1": "10:00:00",
            "email_status": "subscribed",
            "sms_status": "no_consent",
            "loyalty_points": "0",
            "score": "0",
            "attributes": "{}",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "erased under GDPR" in str(response.context["adminform"].form.errors["email"])
    assert not Contact.objects.filter(email="ann.lee@example.com").exists()


def test_deleting_the_fingerprint_lets_the_address_be_imported_again(tmp_path, erased):
    ErasedAddress.objects.filter(kind=ErasedAddress.Kind.EMAIL).delete()

    summary, _ = import_command(tmp_path, "email\nann.lee@example.com\n")

    assert summary == "created 1, updated 0, unchanged 0, rejected 0"


def test_erased_address_admin_finds_a_fingerprint_by_the_address(staff_client, erased):
    url = reverse("admin:contacts_erasedaddress_changelist")

    found = staff_client.get(url, {"q": "ANN.LEE@example.com"})
    missed = staff_client.get(url, {"q": "bob@example.com"})

    assert len(found.context["cl"].result_list) == 1
    assert len(missed.context["cl"].result_list) == 0
