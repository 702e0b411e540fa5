"""Contact export from the admin: spreadsheet-safe CSV that imports back."""

import csv
import io

import pytest
from django.urls import reverse

from contacts.admin import ContactAdmin
from contacts.models import EmailStatus
from contacts.resources import EXPORT_FIELDS, ContactCsvFormat, ContactResource
from tests.factories import ContactFactory, LeadSourceFactory

pytestmark = pytest.mark.django_db

EXPORT_URL = reverse("admin:contacts_contact_export")


def export_form() -> dict[str, str]:
    """The export form as posted with every column ticked."""
    return {
        "format": "0",
        "resource": "0",
        **{f"contactresource_{name}": "on" for name in EXPORT_FIELDS},
    }


def export(client, params: str = "") -> list[dict[str, str]]:
    response = client.post(f"{EXPORT_URL}{params}", export_form())
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("payload", ["=1+2", "+33 cmd", "-2+3", "@SUM(A1)", "\t=evil"])
def test_export_escapes_formulas_when_a_cell_starts_like_one(staff_client, payload):
    ContactFactory(email="ann@example.com", first_name=payload, last_name="Lee")

    (row,) = export(staff_client)

    assert row["first_name"] == "'" + payload
    assert row["last_name"] == "Lee"


def test_export_keeps_negative_numbers_as_numbers_when_score_is_negative(staff_client):
    ContactFactory(score=-5)

    (row,) = export(staff_client)

    assert row["score"] == "-5"


def test_export_escapes_formulas_in_lead_source_names(staff_client):
    ContactFactory(lead_source=LeadSourceFactory(name='=HYPERLINK("http://x")'))

    (row,) = export(staff_client)

    assert row["source"].startswith("'=")


def test_export_follows_changelist_filters_when_filtered(staff_client):
    ContactFactory(email="gone@example.com", email_status=EmailStatus.UNSUBSCRIBED)
    ContactFactory(email="here@example.com")

    rows = export(staff_client, f"?email_status__exact={EmailStatus.UNSUBSCRIBED}")

    assert [row["email"] for row in rows] == ["gone@example.com"]


def test_exported_file_reads_back_with_the_import_format(staff_client):
    ContactFactory(email="ann@example.com", first_name="Anne-Sophie", phone="+33612345678")
    response = staff_client.post(EXPORT_URL, export_form())

    dataset = ContactCsvFormat().create_dataset(response.content)

    assert dataset.dict[0]["email"] == "ann@example.com"
    assert dataset.dict[0]["first_name"] == "Anne-Sophie"
    assert "engagement_level" in dataset.headers


def test_resource_export_holds_one_row_per_contact_with_source_name():
    ContactFactory(email="a@example.com", lead_source=LeadSourceFactory(name="Web"))
    ContactFactory(email="b@example.com")

    dataset = ContactResource().export()

    assert sorted(dataset["email"]) == ["a@example.com", "b@example.com"]
    assert sorted(dataset["source"]) == ["", "Web"]
    assert "attributes" not in dataset.headers


def test_export_is_refused_when_more_contacts_match_than_the_limit(staff_client, monkeypatch):
    monkeypatch.setattr(ContactAdmin, "export_max_rows", 2)
    ContactFactory.create_batch(3)
    ContactFactory(email="gone@example.com", email_status=EmailStatus.UNSUBSCRIBED)

    refused = staff_client.post(EXPORT_URL, export_form(), follow=True)
    narrowed = export(staff_client, f"?email_status__exact={EmailStatus.UNSUBSCRIBED}")

    assert refused.redirect_chain[-1][0].startswith(reverse("admin:contacts_contact_changelist"))
    assert "narrow the list" in [str(m) for m in refused.context["messages"]][0]
    assert [row["email"] for row in narrowed] == ["gone@example.com"]
