"""Double opt-in: a sign-up is e-mailed a signed link (through real SMTP), and only the click
on that link's button subscribes the contact. Forged, expired and reused links change nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from contacts.models import Contact, EmailStatus, ListMembership
from signups.models import ConsentRecord, PendingSignup
from tests.signups.conftest import confirmation_path

pytestmark = pytest.mark.django_db


def test_sign_up_sends_a_confirmation_email_and_subscribes_nobody_yet(signup_form, submit, sink):
    response = submit(signup_form, email="Ann@Example.com ", first_name="Ann")

    assert response.status_code == 200
    assert "Check your mailbox" in response.content.decode()
    assert not Contact.objects.exists()
    pending = PendingSignup.objects.get()
    assert pending.email == "ann@example.com"
    assert pending.data == {"first_name": "Ann", "last_name": ""}
    [mail] = sink.received
    assert mail.rcpt_tos == ["ann@example.com"]
    assert mail.message["From"] == "La Boutique <news@boutique.example>"
    assert mail.message["Subject"] == "Please confirm your subscription"
    assert "/signup/confirm/" in mail.message.get_body(("html",)).get_content()


def test_following_the_link_shows_a_button_and_changes_nothing(signup_form, submit, sink, client):
    submit(signup_form)

    response = client.get(confirmation_path(sink.received[0]))

    assert response.status_code == 200
    assert "Confirm my subscription" in response.content.decode()
    assert not Contact.objects.exists()
    assert PendingSignup.objects.count() == 1


def test_confirming_subscribes_a_new_contact_to_the_list(signup_form, submit, sink, client):
    submit(signup_form, email="ann@example.com", first_name="Ann", last_name="Martin")
    path = confirmation_path(sink.received[0])

    response = client.post(path, REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 200
    assert "Subscription confirmed" in response.content.decode()
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.last_name) == (
        "ann@example.com",
        "Ann",
        "Martin",
    )
    assert contact.email_status == EmailStatus.SUBSCRIBED
    assert contact.language == "en"
    assert ListMembership.objects.filter(
        contact=contact, contact_list=signup_form.contact_list
    ).exists()
    assert not PendingSignup.objects.exists()
    assert ConsentRecord.objects.get().confirmation_ip == "198.51.100.4"


def test_a_second_click_is_a_harmless_no_op(signup_form, submit, sink, client):
    submit(signup_form)
    path = confirmation_path(sink.received[0])
    client.post(path)
    confirmed_at = ConsentRecord.objects.get().confirmed_at

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 200
        assert "Subscription confirmed" in response.content.decode()
    assert Contact.objects.count() == 1
    assert ConsentRecord.objects.get().confirmed_at == confirmed_at


def test_a_forged_link_shows_a_clear_page_and_changes_nothing(signup_form, submit, sink, client):
    submit(signup_form)
    path = confirmation_path(sink.received[0])
    forged = path[:-3] + ("x" if path[-3] != "x" else "y") + path[-2:]

    for response in (client.get(forged), client.post(forged)):
        assert response.status_code == 404
        assert "This link is not valid" in response.content.decode()
    assert not Contact.objects.exists()
    assert PendingSignup.objects.count() == 1


def test_a_link_to_nothing_shows_a_clear_page(client, db):
    response = client.get("/signup/confirm/not-a-token/")

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_an_expired_link_shows_a_clear_page_and_changes_nothing(signup_form, submit, sink, client):
    submit(signup_form)
    path = confirmation_path(sink.received[0])

    with time_machine.travel(timezone.now() + timedelta(days=7, hours=1)):
        responses = [client.get(path), client.post(path)]

    for response in responses:
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
    assert not Contact.objects.exists()


def test_a_link_within_the_forms_delay_still_confirms(signup_form, submit, sink, client):
    submit(signup_form)
    path = confirmation_path(sink.received[0])

    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        response = client.post(path)

    assert response.status_code == 200
    assert Contact.objects.get().email_status == EmailStatus.SUBSCRIBED
