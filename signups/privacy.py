"""GDPR: a contact's consent records and pending sign-ups, registered with contacts.privacy."""

from contacts.models import Contact
from signups.models import ConsentRecord, PendingSignup


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def signups_privacy_export(contact: Contact) -> dict:
    records = ConsentRecord.objects.filter(contact=contact).select_related("form", "consent_text")
    pending = PendingSignup.objects.filter(email=contact.email).select_related(
        "form", "consent_text"
    )
    return {
        "consent_records": [
            {
                "form": record.form.name,
                "email": record.email,
                "consent_text": record.consent_text.text,
                "consent_text_version": record.consent_text.version,
                "signed_up_at": _iso(record.signed_up_at),
                "ip": record.ip,
                "confirmed_at": _iso(record.confirmed_at),
                "confirmation_ip": record.confirmation_ip,
                "utm": record.utm,
            }
            for record in records
        ],
        "pending_signups": [
            {
                "form": signup.form.name,
                "email": signup.email,
                "answers": signup.data,
                "consent_text_version": signup.consent_text.version,
                "signed_up_at": _iso(signup.created_at),
                "ip": signup.ip,
                "utm": signup.utm,
            }
            for signup in pending
        ],
    }


def signups_privacy_erase(contact: Contact) -> None:
    """Keeps that a consent was given, when, on which form and text (the statistics and the
    proof of lawful sending need no more), and forgets the address and the IP addresses."""
    ConsentRecord.objects.filter(contact=contact).update(email="", ip=None, confirmation_ip=None)
    PendingSignup.objects.filter(email=contact.email).delete()
