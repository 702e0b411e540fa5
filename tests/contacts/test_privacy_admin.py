"""The contact page's GDPR buttons: "Export data (JSON)" and "Erase personal data" (a
confirmation, then a POST that needs the permission to delete contacts); both logged."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from contacts.models import Contact, EmailStatus
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact():
    return ContactFactory(email="ann@example.com", first_name="Ann", phone="+33612345678")


def change_url(contact: Contact) -> str:
    return reverse("admin:contacts_contact_change", args=[contact.pk])


def export_url(contact: Contact) -> str:
    return reverse("admin:contacts_contact_privacy_export", args=[contact.pk])


def erase_url(contact: Contact) -> str:
    return reverse("admin:contacts_contact_privacy_erase", args=[contact.pk])


@pytest.fixture
def staff_without_delete(client, django_user_model):
    """Staff who may view and change contacts, but not delete them."""
    user = django_user_model.objects.create_user("marketer", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="contacts", codename__in=["view_contact", "change_contact"]
        )
    )
    client.force_login(user)
    return client


def test_contact_page_offers_both_buttons(staff_client, contact):
    html = staff_client.get(change_url(contact)).content.decode()

    assert export_url(contact) in html and erase_url(contact) in html


def test_export_downloads_the_json_and_logs_it(staff_client, contact):
    response = staff_client.get(export_url(contact))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="contact-{contact.pk}-'
    )
    data = json.loads(response.content)
    assert data["contact"]["email"] == "ann@example.com"
    assert {"activities", "messages", "segments", "scenarios"} <= set(data)
    entry = LogEntry.objects.get(object_id=str(contact.pk))
    assert entry.user == staff_client.user and "Exported" in entry.get_change_message()


def test_erase_asks_for_confirmation_first(staff_client, contact):
    response = staff_client.get(erase_url(contact))

    assert response.status_code == 200
    assert "ann@example.com" in response.content.decode()
    contact.refresh_from_db()
    assert contact.erased_at is None


def test_confirming_erases_logs_and_shows_the_contact_as_erased(staff_client, contact):
    response = staff_client.post(erase_url(contact))

    assert response.status_code == 302 and response["Location"] == change_url(contact)
    contact.refresh_from_db()
    assert contact.erased_at is not None and contact.first_name == ""
    assert contact.email_status == EmailStatus.UNSUBSCRIBED
    entry = LogEntry.objects.get(object_id=str(contact.pk))
    assert "Erased" in entry.get_change_message()
    assert entry.object_repr == contact.email
    page = staff_client.get(change_url(contact))
    html = page.content.decode()
    assert 'id="erased-notice"' in html
    assert erase_url(contact) not in html
    # Read-only from now on: nothing about it is to be edited back.
    assert page.context["has_change_permission"] is False


def test_an_erased_contact_cannot_be_edited_back(staff_client, contact):
    staff_client.post(erase_url(contact))

    staff_client.post(change_url(contact), {"email": "ann@example.com", "first_name": "Ann"})

    contact.refresh_from_db()
    assert contact.email != "ann@example.com" and contact.first_name == ""


def test_erasing_again_changes_nothing_and_says_so(staff_client, contact):
    staff_client.post(erase_url(contact))
    contact.refresh_from_db()
    erased_at = contact.erased_at

    response = staff_client.post(erase_url(contact), follow=True)

    assert "already erased" in " ".join(str(m) for m in response.context["messages"])
    contact.refresh_from_db()
    assert contact.erased_at == erased_at


def test_erasing_needs_the_permission_to_delete_contacts(staff_without_delete, contact):
    page = staff_without_delete.get(change_url(contact)).content.decode()

    assert staff_without_delete.get(erase_url(contact)).status_code == 403
    assert staff_without_delete.post(erase_url(contact)).status_code == 403
    assert erase_url(contact) not in page and export_url(contact) in page
    contact.refresh_from_db()
    assert contact.erased_at is None and contact.email == "ann@example.com"


def test_export_needs_the_permission_to_view_contacts(client, django_user_model, contact):
    user = django_user_model.objects.create_user("other", password="pw", is_staff=True)
    client.force_login(user)

    assert client.get(export_url(contact)).status_code == 403
    assert not LogEntry.objects.exists()


def test_an_unknown_contact_is_not_found(staff_client):
    missing = ContactFactory.build(pk=999)

    assert staff_client.get(export_url(missing)).status_code == 404
    assert staff_client.post(erase_url(missing)).status_code == 404
