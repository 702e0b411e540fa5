"""The activity log in the admin: read-only, filterable, never counted exactly."""

import pytest
from django.urls import reverse

from contacts.admin.pagination import QuickCountPaginator
from contacts.models import Activity, ActivityKind, Channel
from tests.factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db

URL = reverse("admin:contacts_activity_changelist")


def kinds(response) -> list[str]:
    return sorted(event.kind for event in response.context["cl"].result_list)


def test_activity_cannot_be_added_changed_or_deleted_when_staff_is_superuser(staff_client):
    event = ActivityFactory()

    add = staff_client.get(reverse("admin:contacts_activity_add"))
    change = staff_client.post(
        reverse("admin:contacts_activity_change", args=[event.pk]), {"campaign": "edited"}
    )
    delete = staff_client.post(
        reverse("admin:contacts_activity_delete", args=[event.pk]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    event.refresh_from_db()
    assert event.campaign == ""
    assert Activity.objects.count() == 1


def test_activity_page_shows_the_event_read_only_when_opened(staff_client):
    event = ActivityFactory(campaign="Spring <sale>")

    response = staff_client.get(reverse("admin:contacts_activity_change", args=[event.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Spring &lt;sale&gt;" in page
    assert 'name="campaign"' not in page


def test_activity_list_filters_by_kind_channel_and_machine_flag(staff_client):
    ActivityFactory(kind=ActivityKind.OPEN, is_machine=True)
    ActivityFactory(kind=ActivityKind.OPEN)
    ActivityFactory(kind=ActivityKind.SMS_CLICK, channel=Channel.SMS)

    assert kinds(staff_client.get(URL, {"kind__exact": "open"})) == ["open", "open"]
    assert kinds(staff_client.get(URL, {"channel__exact": "sms"})) == ["sms_click"]
    assert len(staff_client.get(URL, {"is_machine__exact": "1"}).context["cl"].result_list) == 1


def test_activity_list_shows_one_contact_when_linked_from_contact_page(staff_client):
    contact = ContactFactory()
    ActivityFactory(contact=contact, kind=ActivityKind.CLICK)
    ActivityFactory(kind=ActivityKind.OPEN)

    response = staff_client.get(URL, {"contact": contact.pk})

    assert kinds(response) == ["click"]


def test_activity_list_is_not_counted_exactly_when_longer_than_cap(staff_client, monkeypatch):
    monkeypatch.setattr(QuickCountPaginator, "cap", 3)
    contact = ContactFactory()
    ActivityFactory.create_batch(5, contact=contact)

    response = staff_client.get(URL, {"contact": contact.pk})

    assert response.context["cl"].result_count == 3
    assert "3+" in response.content.decode()
