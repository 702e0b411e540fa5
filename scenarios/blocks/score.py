from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Contact
from scenarios.blocks import NEXT, BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, integer
from scenarios.blocks._forms import BlockSettingsForm, number


class ScoreSettingsForm(BlockSettingsForm):
    delta = number(
        gettext_lazy("Change"),
        minimum=-10000,
        maximum=10000,
        help_text=gettext_lazy("Added to the contact's score; negative to lower it."),
    )


@block_kind
class ScoreBlock(BlockHandler):
    """Raises or lowers the contact's score."""

    kind = "score"
    label = gettext_lazy("Change score")
    settings_form = ScoreSettingsForm

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        delta = integer(config, "delta", errors, minimum=-10000, maximum=10000, label=_("change"))
        if delta == 0:
            errors.add(_("change: a score change of 0 does nothing."))
        errors.raise_any()
        return {"delta": delta}

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        delta = int(block.config["delta"])
        Contact.objects.filter(pk__in=[enrollment.contact_id for enrollment in enrollments]).update(
            score=F("score") + delta
        )
        return {enrollment.pk: Move(NEXT, detail={"delta": delta}) for enrollment in enrollments}
