"""The contact page in the admin: fields, lists and tags, activity timeline, saving."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import ActivityKind, Contact, EmailStatus, ListMembership
from tests.factories import ActivityFactory, ContactFactory, ContactListFactory, TagFactory

pytestmark = pytest.mark.django_db


def page_url(contact: Contact) -> str:
    return reverse("admin:contacts_contact_change", args=[contact.pk])


def test_page_groups_fields_in_sections_when_staff_opens_a_contact(staff_client):
    contact = ContactFactory(email="ann@example.com", loyalty_points=120)

    page = staff_client.get(page_url(contact)).content.decode()

    for section in ("Identity", "Channels and statuses", "Loyalty", "Engagement and score"):
        assert section in page
    assert "Activity rollups" in page and "Custom attributes" in page
    assert 'value="ann@example.com"' in page and 'value="120"' in page


def test_page_shows_the_contact_lists_and_tags_when_it_has_some(staff_client):
    contact = ContactFactory()
    ListMembership.objects.create(contact=contact, contact_list=ContactListFactory(name="Weekly"))
    contact.tags.add(TagFactory(name="vip-2024"))

    page = staff_client.get(page_url(contact)).content.decode()

    assert "Weekly" in page and "vip-2024" in page


def test_timeline_lists_recent_activity_newest_first_when_contact_has_events(staff_client):
    contact = ContactFactory()
    now = timezone.now()
    ActivityFactory(contact=contact, kind=ActivityKind.SENT, occurred_at=now - timedelta(days=3))
    ActivityFactory(
        contact=contact,
        kind=ActivityKind.OPEN,
        occurred_at=now - timedelta(days=2),
        campaign="Spring sale",
        is_machine=True,
    )
    ActivityFactory(
        contact=contact, kind=ActivityKind.PURCHASE, occurred_at=now - timedelta(days=1)
    )
    ActivityFactory(kind=ActivityKind.CLICK)  # someone else's

    response = staff_client.get(page_url(contact))

    timeline = response.context["activity_timeline"]
    assert [event.kind for event in timeline] == ["purchase", "open", "sent"]
    page = response.content.decode()
    assert "Spring sale" in page and "Machine open" in page


def test_timeline_stops_at_fifty_events_when_contact_has_more(staff_client):
    contact = ContactFactory()
    now = timezone.now()
    for minutes in range(55):
        ActivityFactory(contact=contact, occurred_at=now - timedelta(minutes=minutes))

    timeline = staff_client.get(page_url(contact)).context["activity_timeline"]

    assert len(timeline) == 50
    assert timeline[0].occurred_at == now


def test_page_escapes_user_data_when_name_and_campaign_hold_html(staff_client):
    contact = ContactFactory(first_name="<script>alert(1)</script>")
    ActivityFactory(contact=contact, campaign="<script>alert(2)</script>")

    page = staff_client.get(page_url(contact)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "<script>alert(2)</script>" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_saving_stores_normalised_email_and_phone_when_typed_loosely(staff_client):
    contact = ContactFactory(email="ann@example.com")
    response = staff_client.get(page_url(contact))
    data = form_data(response)
    data.update(email="  Ann.Lee@Example.COM ", phone="06 12 34 56 78")

    response = staff_client.post(page_url(contact), data)

    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.email, contact.phone) == ("ann.lee@example.com", "+33612345678")


def test_saving_is_refused_when_email_is_taken_in_another_case(staff_client):
    ContactFactory(email="taken@example.com")
    contact = ContactFactory(email="ann@example.com")
    data = form_data(staff_client.get(page_url(contact)))
    data["email"] = "TAKEN@example.com"

    response = staff_client.post(page_url(contact), data)

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.email == "ann@example.com"


def test_status_change_is_dated_when_staff_resubscribes_a_contact(staff_client):
    contact = ContactFactory(email_status=EmailStatus.UNSUBSCRIBED)
    data = form_data(staff_client.get(page_url(contact)))
    data["email_status"] = EmailStatus.SUBSCRIBED

    staff_client.post(page_url(contact), data)

    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED
    assert contact.email_status_changed_at is not None


def form_data(response) -> dict:
    """The values the change form would post back unchanged, inline management included."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if name == "tags":
            data[name] = [tag.pk for tag in value or []]
        elif name == "attributes":
            data[name] = field.prepare_value(value)
        elif hasattr(value, "pk"):
            data[name] = value.pk
        elif value is None:
            data[name] = ""
        else:
            data[name] = value
    created_at = timezone.localtime(form.initial["created_at"])
    data["created_at_0"] = created_at.strftime("%Y-%m-%d")
    data["created_at_1"] = created_at.strftime("%H:%M:%S")
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, "")
        for index, inline_form in enumerate(formset.formset.forms):
            for name, field in inline_form.fields.items():
                value = inline_form.initial.get(name, field.initial)
                data[f"{inline_form.prefix}-{name}"] = getattr(value, "pk", value) or ""
            del index
    return data
