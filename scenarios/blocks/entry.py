from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scenarios.blocks import NEXT, BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, choice, integer
from scenarios.blocks._forms import BlockSettingsForm, number
from segments.models import Segment

REENTRY_NEVER = "never"
REENTRY_AFTER_DAYS = "after_days"


class EntrySettingsForm(BlockSettingsForm):
    segment = forms.ModelChoiceField(
        label=gettext_lazy("Trigger segment"),
        queryset=Segment.objects.order_by("name"),
        help_text=gettext_lazy("Contacts entering this segment start the scenario."),
    )
    reentry = forms.ChoiceField(
        label=gettext_lazy("Re-entry"),
        choices=[
            (REENTRY_NEVER, gettext_lazy("Never: a contact goes through the scenario once")),
            (REENTRY_AFTER_DAYS, gettext_lazy("Again, N days after its last enrollment ended")),
        ],
        widget=forms.RadioSelect,
    )
    reentry_days = number(gettext_lazy("N days"), minimum=0, maximum=3650, required=False)

    def config(self) -> dict:
        data = self.cleaned_data
        return {
            "segment": data["segment"].pk,
            "reentry": data["reentry"],
            "reentry_days": data.get("reentry_days") or 0,
        }


@block_kind
class EntryBlock(BlockHandler):
    """Where contacts entering the trigger segment start; the re-entry policy is applied when
    they are enrolled (see `scenarios.enrollment`)."""

    kind = "entry"
    label = gettext_lazy("Entry (segment)")
    settings_form = EntrySettingsForm

    def config_summary(self, config: dict) -> str:
        segment = Segment.objects.filter(pk=config.get("segment")).first()
        summary = _("segment: %(name)s") % {"name": segment.name if segment else "?"}
        if config.get("reentry") == REENTRY_AFTER_DAYS:
            summary += ", " + _("re-entry after %(days)s days") % {"days": config["reentry_days"]}
        return summary

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        segment = integer(config, "segment", errors, minimum=1, label=_("segment"))
        reentry = choice(
            config,
            "reentry",
            errors,
            (REENTRY_NEVER, REENTRY_AFTER_DAYS),
            default=REENTRY_NEVER,
            label=_("re-entry"),
        )
        days = integer(
            config, "reentry_days", errors, default=0, minimum=0, maximum=3650, label=_("days")
        )
        if reentry == REENTRY_AFTER_DAYS and days is not None and days < 1:
            errors.add(_("days: re-entry after N days needs at least 1 day."))
        errors.raise_any()
        return {"segment": segment, "reentry": reentry, "reentry_days": days}

    def references(self, config: dict) -> dict[str, list]:
        segment = config.get("segment")
        return {"segments": [segment] if segment else []}

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        return {enrollment.pk: Move(NEXT) for enrollment in enrollments}
