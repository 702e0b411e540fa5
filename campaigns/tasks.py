"""django-q2 entry points for campaigns. Thin: they take ids and call `campaigns.delivery`."""

from django.utils import timezone
from django_q.tasks import async_task

from campaigns import delivery


def campaign_deliver_queue(campaign_id: int) -> None:
    async_task("campaigns.tasks.campaign_deliver", campaign_id, task_name=f"campaign-{campaign_id}")


def campaigns_dispatch() -> int:
    """Every minute: start due scheduled campaigns, and send a worker to each sending campaign
    no worker holds (a killed worker's, one with retries due); returns how many were queued."""
    campaign_ids = delivery.campaigns_dispatch(now=timezone.now())
    for campaign_id in campaign_ids:
        campaign_deliver_queue(campaign_id)
    return len(campaign_ids)


def campaign_deliver(campaign_id: int) -> None:
    delivery.campaign_deliver(campaign_id=campaign_id)
