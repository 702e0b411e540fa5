"""Signing up again: never a second contact, never a silent resubscription of a bounced or
complained address, never a degraded subscribed contact; an unsubscribed contact who confirms
is subscribed again (a new, explicit consent)."""

import pytest

from contacts.models import Contact, EmailStatus, ListMembership
from signups.models import ConsentRecord, PendingSignup
from tests.factories import ContactFactory, ContactListFactory
from tests.signups.conftest import confirmation_path

pytestmark = pytest.mark.django_db


def _confirm(client, mail):
    return client.post(confirmation_path(mail))


def test_existing_contact_joins_the_list_without_a_duplicate_or_overwrite(
    signup_form, submit, sink, client
):
    other_list = ContactListFactory()
    contact = ContactFactory(email="ann@example.com", first_name="Anne", last_name="")
    contact.lists.add(other_list)

    submit(signup_form, email="ANN@example.com", first_name="Ann", last_name="Martin")
    _confirm(client, sink.received[0])

    contact.refresh_from_db()
    assert Contact.objects.filter(email="ann@example.com").count() == 1
    assert (contact.first_name, contact.last_name) == ("Anne", "Martin")
    assert contact.email_status == EmailStatus.SUBSCRIBED
    assert set(contact.lists.all()) == {other_list, signup_form.contact_list}


def test_signing_up_twice_keeps_one_pending_sign_up_and_one_link(signup_form, submit, sink, client):
    submit(signup_form, first_name="Ann")
    submit(signup_form, first_name="Annie")

    pending = PendingSignup.objects.get()
    assert pending.data["first_name"] == "Annie"
    assert len(sink.received) == 2
    _confirm(client, sink.received[0])
    assert _confirm(client, sink.received[1]).status_code == 200
    assert Contact.objects.get().first_name == "Annie"
    assert ConsentRecord.objects.count() == 1


def test_confirming_again_on_a_list_already_joined_adds_nothing(signup_form, submit, sink, client):
    submit(signup_form)
    _confirm(client, sink.received[0])
    submit(signup_form)
    _confirm(client, sink.received[1])

    assert Contact.objects.count() == 1
    assert ListMembership.objects.count() == 1
    assert ConsentRecord.objects.count() == 2


def test_a_pending_sign_up_leaves_a_subscribed_contact_as_it_is(signup_form, submit):
    contact = ContactFactory(email="ann@example.com", email_status=EmailStatus.SUBSCRIBED)

    submit(signup_form)

    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED
    assert not contact.lists.exists()


@pytest.mark.parametrize("status", [EmailStatus.UNSUBSCRIBED, EmailStatus.CLEANED])
def test_an_unsubscribed_contact_who_confirms_is_subscribed_again(
    signup_form, submit, sink, client, status
):
    contact = ContactFactory(email="ann@example.com", email_status=status)

    submit(signup_form)
    contact.refresh_from_db()
    assert contact.email_status == status  # Not before the confirmation.
    _confirm(client, sink.received[0])

    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED
    assert contact.email_status_reason == "sign-up form"


@pytest.mark.parametrize("status", [EmailStatus.COMPLAINED, EmailStatus.BOUNCED])
def test_a_complained_or_bounced_address_gets_the_same_page_and_nothing_else(
    signup_form, submit, sink, status
):
    contact = ContactFactory(email="ann@example.com", email_status=status)
    fresh = submit(signup_form, email="new@example.com").content.decode()

    response = submit(signup_form, email="ann@example.com")

    assert response.status_code == 200
    assert response.content.decode() == fresh
    contact.refresh_from_db()
    assert contact.email_status == status
    assert not contact.lists.exists()
    assert not PendingSignup.objects.filter(email="ann@example.com").exists()
    assert sink.recipients() == ["new@example.com"]


def test_an_address_that_complains_before_confirming_is_not_resubscribed(
    signup_form, submit, sink, client
):
    contact = ContactFactory(email="ann@example.com", email_status=EmailStatus.UNSUBSCRIBED)
    submit(signup_form)
    Contact.objects.filter(pk=contact.pk).update(email_status=EmailStatus.COMPLAINED)

    response = _confirm(client, sink.received[0])

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.COMPLAINED
    assert not contact.lists.exists()
    assert not ConsentRecord.objects.exists()


def test_an_address_erased_under_gdpr_is_not_signed_up_again(signup_form, submit, sink):
    from contacts.services import contact_erase

    contact_erase(ContactFactory(email="ann@example.com"), by_user=None)
    fresh = submit(signup_form, email="new@example.com").content.decode()

    response = submit(signup_form, email="Ann@Example.com")

    # The same neutral page, no e-mail, nothing recorded.
    assert response.content.decode() == fresh
    assert not PendingSignup.objects.filter(email="ann@example.com").exists()
    assert sink.recipients() == ["new@example.com"]
