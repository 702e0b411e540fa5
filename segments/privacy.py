"""The segments' part of a contact's GDPR export (see contacts.privacy): its stays in segments
and the cleanings that suppressed it. Nothing here is personal once the contact is anonymised,
so the erasure keeps it all for the statistics."""

from typing import Any

from contacts.models import Contact
from contacts.privacy import privacy_jsonable
from segments.models import CleanedContact, SegmentMembership


def segments_privacy_export(contact: Contact) -> dict[str, Any]:
    memberships = (
        SegmentMembership.objects.filter(contact=contact)
        .order_by("entered_at", "pk")
        .values("segment__name", "entered_at", "exited_at")
    )
    cleanings = (
        CleanedContact.objects.filter(contact=contact)
        .order_by("pk")
        .values("cleaning__criterion", "cleaning__created_at", "previous_status")
    )
    return privacy_jsonable(
        {
            "memberships": [
                {"segment": row["segment__name"], **_without(row, "segment__name")}
                for row in memberships
            ],
            "cleanings": [
                {
                    "criterion": row["cleaning__criterion"],
                    "cleaned_at": row["cleaning__created_at"],
                    "previous_email_status": row["previous_status"],
                }
                for row in cleanings
            ],
        }
    )


def _without(row: dict, *names: str) -> dict:
    return {key: value for key, value in row.items() if key not in names}
