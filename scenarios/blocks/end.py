from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scenarios.blocks import BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, text
from scenarios.blocks._forms import BlockSettingsForm


class EndSettingsForm(BlockSettingsForm):
    outcome = forms.CharField(
        label=gettext_lazy("Outcome"),
        max_length=40,
        help_text=gettext_lazy("The label the results count, e.g. “reactivated” or “let go”."),
        widget=forms.TextInput(attrs={"list": "scenario-outcomes"}),
    )


@block_kind
class EndBlock(BlockHandler):
    """Completes the enrollment with an outcome label ("reactivated", "let go", ...)."""

    kind = "end"
    label = gettext_lazy("End")
    settings_form = EndSettingsForm
    branches = ()
    ends = True

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        outcome = text(config, "outcome", errors, label=_("outcome"), max_length=40)
        errors.raise_any()
        return {"outcome": outcome}

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        outcome = block.config.get("outcome") or "completed"
        return {enrollment.pk: Move("", outcome=outcome) for enrollment in enrollments}
