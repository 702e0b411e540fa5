from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import ActivityKind, Channel
from contacts.services.activity import ActivityEvent, activities_record
from scenarios.blocks import NEXT, BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, choice, text
from scenarios.blocks._forms import BlockSettingsForm


class UnsubscribeSettingsForm(BlockSettingsForm):
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"),
        choices=[(Channel.EMAIL, Channel.EMAIL.label), (Channel.SMS, Channel.SMS.label)],
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=100,
        help_text=gettext_lazy("Recorded with the unsubscription, e.g. “inactivity”."),
    )

    def initial_from(self, config: dict) -> dict:
        return {"channel": Channel.EMAIL, "reason": "inactivity", **config}


@block_kind
class UnsubscribeBlock(BlockHandler):
    """Unsubscribes the contact from a channel, as an `unsubscribe` activity (which sets the
    status); the activity's external id makes a replayed block record it once."""

    kind = "unsubscribe"
    label = gettext_lazy("Unsubscribe")
    settings_form = UnsubscribeSettingsForm

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        channel = choice(
            config,
            "channel",
            errors,
            (Channel.EMAIL, Channel.SMS),
            default=Channel.EMAIL,
            label=_("channel"),
        )
        reason = text(
            {"reason": config.get("reason", "inactivity")},
            "reason",
            errors,
            label=_("reason"),
            max_length=100,
        )
        errors.raise_any()
        return {"channel": str(channel), "reason": reason}

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        channel = block.config.get("channel", Channel.EMAIL)
        reason = block.config.get("reason", "inactivity")
        activities_record(
            events=[
                ActivityEvent(
                    contact_id=enrollment.contact_id,
                    kind=ActivityKind.UNSUBSCRIBE,
                    occurred_at=now,
                    channel=channel,
                    external_id=f"scenario:{enrollment.pk}:{block.pk}",
                    metadata={"reason": reason, "scenario": enrollment.scenario_id},
                )
                for enrollment in enrollments
            ]
        )
        return {
            enrollment.pk: Move(NEXT, detail={"channel": channel}) for enrollment in enrollments
        }
