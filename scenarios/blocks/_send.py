"""What the send e-mail and send SMS blocks share (no kind registered here)."""

from campaigns.models import Message
from campaigns.scenario_sends import scenario_messages_create
from scenarios.blocks import NEXT, BlockHandler, Move


def send_origin(*, enrollment_id: int, block_id: int) -> str:
    """The message's origin: one message per (enrollment, send block)."""
    return f"{enrollment_id}:{block_id}"


class SendBlock(BlockHandler):
    """Writes one pending message of the block's campaign per enrollment (none for a contact
    suppressed on the channel); `campaigns.delivery` sends it."""

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        origins = {
            enrollment.pk: send_origin(enrollment_id=enrollment.pk, block_id=block.pk)
            for enrollment in enrollments
        }
        campaign = block.campaign
        if campaign is None:
            return {pk: Move(NEXT, detail={"message": "no campaign"}) for pk in origins}
        scenario_messages_create(
            campaign=campaign,
            rows=[(enrollment.contact_id, origins[enrollment.pk]) for enrollment in enrollments],
            now=now,
        )
        written = set(
            Message.objects.filter(
                campaign_id=campaign.pk,
                contact_id__in=[enrollment.contact_id for enrollment in enrollments],
                origin__in=list(origins.values()),
            ).values_list("origin", flat=True)
        )
        return {
            pk: Move(NEXT, detail={"message": "created" if origin in written else "suppressed"})
            for pk, origin in origins.items()
        }
