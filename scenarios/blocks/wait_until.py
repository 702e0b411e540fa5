import functools
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf import settings
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Contact
from scenarios.blocks import NEXT, BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors
from scenarios.blocks._forms import BlockSettingsForm

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = [0, 1, 2, 3, 4]


# Bounded: the names come from contacts' data.
@functools.lru_cache(maxsize=1024)
def zone_named(name: str) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def window_next(*, now: datetime, zone: ZoneInfo, start: time, end: time, weekdays) -> datetime:
    """The first moment at or after `now` inside the window (local `start`–`end` on one of
    `weekdays`, Monday = 0), in `zone`."""
    local = now.astimezone(zone)
    day: date = local.date()
    for offset in range(8):
        current = day + timedelta(days=offset)
        if current.weekday() not in weekdays:
            continue
        opens = datetime.combine(current, start, tzinfo=zone)
        closes = datetime.combine(current, end, tzinfo=zone)
        if local < closes:
            return now if local >= opens else opens
    raise ValueError("a window with no weekday")


WEEKDAY_CHOICES = [
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]


class WaitUntilSettingsForm(BlockSettingsForm):
    start = forms.TimeField(
        label=gettext_lazy("From"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    end = forms.TimeField(
        label=gettext_lazy("To"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy("In the contact's time zone (the site's when it has none)."),
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("On"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )

    def initial_from(self, config: dict) -> dict:
        return {
            "start": config.get("start", "10:00"),
            "end": config.get("end", "12:00"),
            "weekdays": config.get("weekdays", WEEKDAYS),
        }

    def config(self) -> dict:
        data = self.cleaned_data
        return {
            "start": data["start"].strftime("%H:%M"),
            "end": data["end"].strftime("%H:%M"),
            "weekdays": data["weekdays"],
        }


@block_kind
class WaitUntilBlock(BlockHandler):
    """Holds each enrollment until the next moment inside a time window and on given weekdays,
    in the contact's time zone (its `time_zone`, or `attributes["time_zone"]`, when a valid IANA
    name; else the site's)."""

    kind = "wait_until"
    label = gettext_lazy("Wait until (time window)")
    waits = True
    settings_form = WaitUntilSettingsForm

    def config_summary(self, config: dict) -> str:
        days = dict(WEEKDAY_CHOICES)
        weekdays = ", ".join(
            str(days[day])[:3] for day in config.get("weekdays", []) if day in days
        )
        return f"{config.get('start', '')}–{config.get('end', '')}, {weekdays}"

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        cleaned = {}
        for name, default, label in (("start", "10:00", _("from")), ("end", "12:00", _("to"))):
            value = str(config.get(name, default)).strip()
            if not _CLOCK.match(value):
                errors.add(_("%(label)s: a time such as 10:00.") % {"label": label})
            else:
                value = _clock(value).strftime("%H:%M")
            cleaned[name] = value
        weekdays = config.get("weekdays", WEEKDAYS)
        if (
            not isinstance(weekdays, list)
            or not weekdays
            or not all(
                isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in weekdays
            )
        ):
            errors.add(_("weekdays: choose at least one day (0 = Monday … 6 = Sunday)."))
        else:
            cleaned["weekdays"] = sorted(set(weekdays))
        if not errors.messages and cleaned["start"] >= cleaned["end"]:
            errors.add(_("The window must end after it starts, on the same day."))
        errors.raise_any()
        return cleaned

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        start = _clock(block.config.get("start", "10:00"))
        end = _clock(block.config.get("end", "12:00"))
        weekdays = set(block.config.get("weekdays", WEEKDAYS))
        fallback = ZoneInfo(settings.TIME_ZONE)
        zones = {
            pk: zone_named(own or "") or zone_named(attribute or "") or fallback
            for pk, own, attribute in Contact.objects.filter(
                pk__in=[enrollment.contact_id for enrollment in enrollments]
            )
            .annotate(
                attribute_zone=KeyTextTransform("time_zone", "attributes"),
            )
            .values_list("pk", "time_zone", "attribute_zone")
        }
        moves = {}
        for enrollment in enrollments:
            moment = window_next(
                now=now,
                zone=zones.get(enrollment.contact_id, fallback),
                start=start,
                end=end,
                weekdays=weekdays,
            )
            moves[enrollment.pk] = Move(NEXT) if moment <= now else Move("", wake_at=moment)
        return moves
