from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scenarios.blocks import NEXT, BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, choice, integer

REENTRY_NEVER = "never"
REENTRY_AFTER_DAYS = "after_days"


@block_kind
class EntryBlock(BlockHandler):
    """Where contacts entering the trigger segment start; the re-entry policy is applied when
    they are enrolled (see `scenarios.enrollment`)."""

    kind = "entry"
    label = gettext_lazy("Entry (segment)")

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
