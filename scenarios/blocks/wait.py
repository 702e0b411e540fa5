from datetime import timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scenarios.blocks import NEXT, BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, integer
from scenarios.blocks._forms import BlockSettingsForm, number


def wait_duration(config: dict) -> timedelta:
    return timedelta(
        days=int(config.get("days") or 0),
        hours=int(config.get("hours") or 0),
        minutes=int(config.get("minutes") or 0),
    )


class WaitSettingsForm(BlockSettingsForm):
    days = number(gettext_lazy("Days"), minimum=0, maximum=3650, required=False)
    hours = number(gettext_lazy("Hours"), minimum=0, maximum=23000, required=False)
    minutes = number(gettext_lazy("Minutes"), minimum=0, maximum=59000, required=False)

    def config(self) -> dict:
        return {name: value or 0 for name, value in self.cleaned_data.items()}


@block_kind
class WaitBlock(BlockHandler):
    """Holds each enrollment for a duration from its arrival here."""

    kind = "wait"
    label = gettext_lazy("Wait")
    waits = True
    breaks_cycle = True
    settings_form = WaitSettingsForm

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        cleaned = {
            "days": integer(
                config, "days", errors, default=0, minimum=0, maximum=3650, label=_("days")
            ),
            "hours": integer(
                config, "hours", errors, default=0, minimum=0, maximum=23 * 1000, label=_("hours")
            ),
            "minutes": integer(
                config,
                "minutes",
                errors,
                default=0,
                minimum=0,
                maximum=59 * 1000,
                label=_("minutes"),
            ),
        }
        if not errors.messages and not any(cleaned.values()):
            errors.add(_("Give the wait a duration (days, hours or minutes)."))
        errors.raise_any()
        return cleaned

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        duration = wait_duration(block.config)
        moves = {}
        for enrollment in enrollments:
            arrived = enrollment.waiting_since if enrollment.state == "waiting" else now
            until = (arrived or now) + duration
            moves[enrollment.pk] = Move(NEXT) if until <= now else Move("", wake_at=until)
        return moves
