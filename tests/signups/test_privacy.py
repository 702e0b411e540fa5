"""GDPR: a contact's consent records and pending sign-ups are exported; erasing keeps that
consent was given (form, text, times) and forgets the address and the IP addresses."""

import pytest

from contacts.privacy import privacy_sections
from signups.models import ConsentRecord, PendingSignup
from tests.signups.conftest import confirmation_path

pytestmark = pytest.mark.django_db


def _section():
    return next(section for section in privacy_sections() if section.name == "signups")


@pytest.fixture
def confirmed(signup_form, submit, sink, client):
    submit(signup_form, email="ann@example.com", remote_addr="203.0.113.7", utm_source="blog")
    client.post(confirmation_path(sink.received[0]), REMOTE_ADDR="198.51.100.4")
    return ConsentRecord.objects.select_related("contact").get()


def test_export_lists_consent_records_and_pending_sign_ups(confirmed, signup_form, submit):
    # Signed up again, not confirmed yet.
    submit(signup_form, email="ann@example.com", remote_addr="203.0.113.8")

    data = _section().export(confirmed.contact)

    [record] = data["consent_records"]
    assert record["form"] == "Newsletter"
    assert record["consent_text"] == "I agree to receive the newsletter."
    assert record["consent_text_version"] == 1
    assert (record["ip"], record["confirmation_ip"]) == ("203.0.113.7", "198.51.100.4")
    assert record["utm"] == {"utm_source": "blog"}
    assert record["confirmed_at"] == confirmed.confirmed_at.isoformat()
    [pending] = data["pending_signups"]
    assert pending["ip"] == "203.0.113.8"


def test_erase_anonymises_records_and_drops_pending_sign_ups(confirmed, signup_form, submit):
    submit(signup_form, email="ann@example.com")

    _section().erase(confirmed.contact)

    record = ConsentRecord.objects.get()
    assert (record.email, record.ip, record.confirmation_ip) == ("", None, None)
    assert record.confirmed_at == confirmed.confirmed_at
    assert record.form_id == signup_form.pk
    assert not PendingSignup.objects.exists()
