"""The scenarios' part of a contact's GDPR export and erasure (see contacts.privacy): its
enrollments, with the blocks they ran, and its entries in generic channels.

Erasure keeps the enrollments for the scenario results (the engine exits the open ones at its
next tick: the erased contact is unsubscribed everywhere) and drops the generic channel
entries not yet exported, which would hand an advertising audience a placeholder address."""

from typing import Any

from contacts.models import Contact
from contacts.privacy import privacy_jsonable
from scenarios.models import Enrollment, EnrollmentStep, GenericChannelEntry


def scenarios_privacy_export(contact: Contact) -> dict[str, Any]:
    enrollments = list(
        Enrollment.objects.filter(contact=contact)
        .order_by("entered_at", "pk")
        .values("pk", "scenario__name", "state", "branch", "entered_at", "finished_at", "outcome")
    )
    steps: dict[int, list[dict]] = {}
    for row in (
        EnrollmentStep.objects.filter(enrollment__contact=contact)
        .order_by("enrollment", "step")
        .values("enrollment_id", "step", "kind", "result", "executed_at")
    ):
        steps.setdefault(row.pop("enrollment_id"), []).append(row)
    entries = (
        GenericChannelEntry.objects.filter(contact=contact)
        .order_by("added_at", "pk")
        .values("channel", "added_at", "exported_at")
    )
    return privacy_jsonable(
        {
            "enrollments": [
                {
                    "scenario": row.pop("scenario__name"),
                    **{key: value for key, value in row.items() if key != "pk"},
                    "steps": steps.get(row["pk"], []),
                }
                for row in enrollments
            ],
            "generic_channels": list(entries),
        }
    )


def scenarios_privacy_erase(contact: Contact) -> None:
    GenericChannelEntry.objects.filter(contact=contact, exported_at__isnull=True).delete()
