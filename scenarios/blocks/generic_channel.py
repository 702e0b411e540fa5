from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scenarios.blocks import NEXT, BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, text
from scenarios.blocks._forms import BlockSettingsForm


class GenericChannelSettingsForm(BlockSettingsForm):
    channel = forms.CharField(
        label=gettext_lazy("Channel"),
        max_length=100,
        help_text=gettext_lazy(
            "A name for the audience, e.g. “Social ads” or “Postal mail”; its contacts are "
            "exported as CSV from Generic channel entries."
        ),
    )


@block_kind
class GenericChannelBlock(BlockHandler):
    """Adds the contact to a generic channel (a social-ads or postal audience named by staff,
    exported as CSV), once per enrollment."""

    kind = "generic_channel"
    label = gettext_lazy("Add to a generic channel")
    settings_form = GenericChannelSettingsForm

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        channel = text(config, "channel", errors, label=_("channel"), max_length=100)
        errors.raise_any()
        return {"channel": channel}

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        from scenarios.models import GenericChannelEntry

        channel = block.config["channel"]
        GenericChannelEntry.objects.bulk_create(
            [
                GenericChannelEntry(
                    channel=channel,
                    contact_id=enrollment.contact_id,
                    scenario_id=enrollment.scenario_id,
                    enrollment_id=enrollment.pk,
                    added_at=now,
                )
                for enrollment in enrollments
            ],
            ignore_conflicts=True,
        )
        return {
            enrollment.pk: Move(NEXT, detail={"channel": channel}) for enrollment in enrollments
        }
