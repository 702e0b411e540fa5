"""A campaign's report: what its messages became, read from the messages' own columns (one
aggregate over the campaign's index range), and its most clicked links."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q

from campaigns.models import Campaign, Message
from contacts.models import Activity, ActivityKind


@dataclass
class CampaignReport:
    by_status: dict[str, int]
    outcomes: dict[str, int]
    failures: list[tuple[str, int]]
    by_profile: list[dict]
    top_links: list[tuple[str, int]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.by_status.get(Message.Status.SENT, 0)

    def rate(self, outcome: str) -> Decimal | None:
        """`outcome` as a % of the messages sent."""
        if not self.sent:
            return None
        return (Decimal(self.outcomes[outcome]) * 100 / self.sent).quantize(Decimal("0.1"))


OUTCOME_COUNTS = {
    "delivered": "delivered_at",
    "opened": "opened_at",
    "machine_opened": "machine_opened_at",
    "clicked": "clicked_at",
    "unsubscribed": "unsubscribed_at",
    "bounced": "bounced_at",
    "complained": "complained_at",
}


def campaign_report(campaign: Campaign, *, top_links: int = 10) -> CampaignReport:
    messages = Message.objects.filter(campaign_id=campaign.pk)
    by_status = dict(
        messages.order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    outcomes = messages.aggregate(
        **{
            name: Count("pk", filter=Q(**{f"{column}__isnull": False}))
            for name, column in OUTCOME_COUNTS.items()
        }
    )
    failures = list(
        messages.filter(status=Message.Status.FAILED)
        .order_by()
        .values_list("error")
        .annotate(count=Count("pk"))
        .order_by("-count")
        .values_list("error", "count")[:10]
    )
    by_profile = list(
        messages.order_by()
        .values("sender_profile__name", "is_inactive")
        .annotate(messages=Count("pk"), sent=Count("pk", filter=Q(status=Message.Status.SENT)))
        .order_by("is_inactive", "sender_profile__name")
    )
    # Clicks are read only for the contacts who clicked (few), through the contact index.
    clicks = (
        Activity.objects.filter(
            kind=ActivityKind.CLICK,
            campaign=campaign.key,
            is_machine=False,
            contact_id__in=messages.filter(clicked_at__isnull=False).values("contact_id"),
        )
        .order_by()
        .values_list("metadata__url")
        .annotate(count=Count("pk"))
        .order_by("-count")
        .values_list("metadata__url", "count")[:top_links]
    )
    return CampaignReport(
        by_status=by_status,
        outcomes=outcomes,
        failures=failures,
        by_profile=by_profile,
        top_links=[(url, count) for url, count in clicks if url],
    )
