"""The campaigns' part of a contact's GDPR export and erasure (see contacts.privacy): its
messages. Erasure keeps every message, so that the campaign reports keep their numbers; only
the contact's address or number quoted in a delivery error is cut out."""

from typing import Any

from campaigns.models import Message
from contacts.models import Contact
from contacts.privacy import privacy_jsonable
from contacts.services.privacy import text_redactor

MESSAGE_EXPORT_FIELDS = (
    "campaign__name",
    "campaign__channel",
    "status",
    "created_at",
    "sent_at",
    "delivered_at",
    "opened_at",
    "machine_opened_at",
    "clicked_at",
    "unsubscribed_at",
    "bounced_at",
    "complained_at",
    "error",
)


def messages_privacy_export(contact: Contact) -> list[dict[str, Any]]:
    rows = (
        Message.objects.filter(contact=contact)
        .order_by("created_at", "pk")
        .values(*MESSAGE_EXPORT_FIELDS)
    )
    return privacy_jsonable(
        [
            {
                "campaign": row.pop("campaign__name"),
                "channel": row.pop("campaign__channel"),
                **row,
            }
            for row in rows
        ]
    )


def messages_privacy_erase(contact: Contact) -> None:
    """Cut the contact's address and number out of its messages' errors (an SMTP server's
    "550 <ann@example.com>: no such user"); a handful of rows per contact."""
    redact = text_redactor([contact.email, contact.phone])
    if redact is None:
        return
    changed = []
    for message in Message.objects.filter(contact=contact).exclude(error="").only("pk", "error"):
        redacted = redact(message.error)
        if redacted != message.error:
            message.error = redacted
            changed.append(message)
    Message.objects.bulk_update(changed, ["error"])
