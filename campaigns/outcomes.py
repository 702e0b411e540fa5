"""What happened to a sent message, first time each: the columns the campaign report counts.

Tracking endpoints and provider webhooks record the event itself in the activity log (through
`contacts.services.activity.activities_record`) and mark the message here. The update is
conditional, so a second open keeps the first one's time and a replayed webhook changes nothing.
"""

from datetime import datetime

from campaigns.models import Message

OUTCOMES = frozenset(
    {
        "delivered_at",
        "opened_at",
        "machine_opened_at",
        "clicked_at",
        "unsubscribed_at",
        "bounced_at",
        "complained_at",
    }
)


def message_outcome_mark(*, message_id: int, outcome: str, at: datetime) -> bool:
    """Set `outcome` (one of `OUTCOMES`) on the message unless it is set already; returns
    whether it was the first time."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown message outcome: {outcome}")
    return bool(
        Message.objects.filter(pk=message_id, **{f"{outcome}__isnull": True}).update(
            **{outcome: at}
        )
    )
