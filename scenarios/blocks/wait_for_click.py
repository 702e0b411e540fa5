from datetime import timedelta

from django import forms
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Message
from contacts.models import Activity, ActivityKind
from scenarios.blocks import BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, integer
from scenarios.blocks._forms import BlockSettingsForm, number

CLICKED = "clicked"
TIMEOUT = "timeout"


class WaitForClickSettingsForm(BlockSettingsForm):
    block = forms.ChoiceField(
        label=gettext_lazy("A click in the e-mail sent by"),
        required=False,
        help_text=gettext_lazy("An earlier send block of this scenario; or give a link below."),
    )
    url = forms.URLField(
        label=gettext_lazy("Or a click on this link"),
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"size": 60}),
    )
    timeout_days = number(
        gettext_lazy("Timeout (days)"),
        minimum=1,
        maximum=365,
        help_text=gettext_lazy("No click by then: the enrollment takes the “timeout” branch."),
    )

    def __init__(self, *args, block, **kwargs):
        super().__init__(*args, block=block, **kwargs)
        from scenarios.models import Block

        senders = Block.objects.filter(
            scenario_id=block.scenario_id, kind__in=["send_email", "send_sms"]
        ).order_by("position", "pk")
        self.fields["block"].choices = [("", "---------")] + [
            (send.key, f"{send.name or send.key} ({send.key})") for send in senders
        ]

    def initial_from(self, config: dict) -> dict:
        return {**config, "timeout_days": config.get("timeout_days", 14)}

    def config(self) -> dict:
        data = self.cleaned_data
        return {"block": data["block"], "url": data["url"], "timeout_days": data["timeout_days"]}


@block_kind
class WaitForClickBlock(BlockHandler):
    """Holds each enrollment until the contact clicks, or until the timeout: a click in the
    message an earlier send block sent it (any click on that message, which is at most as old as
    the send), or a human click on a given link after the wait began."""

    kind = "wait_for_click"
    label = gettext_lazy("Wait for a click")
    branches = (CLICKED, TIMEOUT)
    waits = True
    settings_form = WaitForClickSettingsForm

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        block = str(config.get("block") or "").strip()
        url = str(config.get("url") or "").strip()
        if bool(block) == bool(url):
            errors.add(
                _("Wait for a click either in an earlier send block's message or on a link.")
            )
        if url and not url.startswith(("http://", "https://")):
            errors.add(_("link: a full address starting with https:// or http://."))
        timeout = integer(
            config,
            "timeout_days",
            errors,
            default=14,
            minimum=1,
            maximum=365,
            label=_("timeout (days)"),
        )
        errors.raise_any()
        cleaned = {"block": block} if block else {"url": url}
        cleaned["timeout_days"] = timeout
        return cleaned

    def references(self, config: dict) -> dict[str, list]:
        return {"blocks": [config["block"]]} if config.get("block") else {}

    def wake_condition(self, block) -> Q | None:
        if block.config.get("block"):
            from scenarios.models import Block

            send = (
                Block.objects.filter(scenario_id=block.scenario_id, key=block.config["block"])
                .values("pk", "campaign_id")
                .first()
            )
            if send is None or send["campaign_id"] is None:
                return Q(pk__in=[])
            origin = Concat(
                Cast(OuterRef("pk"), CharField()), Value(f":{send['pk']}"), output_field=CharField()
            )
            return Q(
                Exists(
                    Message.objects.filter(
                        campaign_id=send["campaign_id"],
                        contact_id=OuterRef("contact_id"),
                        origin=origin,
                        clicked_at__isnull=False,
                    )
                )
            )
        return Q(
            Exists(
                Activity.objects.filter(
                    contact_id=OuterRef("contact_id"),
                    kind__in=[ActivityKind.CLICK, ActivityKind.SMS_CLICK],
                    is_machine=False,
                    metadata__url=block.config.get("url", ""),
                    occurred_at__gte=OuterRef("waiting_since"),
                )
            )
        )

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        from scenarios.models import Enrollment

        timeout = timedelta(days=int(block.config.get("timeout_days") or 14))
        waiting = [enrollment.pk for enrollment in enrollments if enrollment.state == "waiting"]
        # Clicks are looked for once the enrollment waits here (its row then says since when);
        # one that just arrived waits first, and the engine wakes it when the click comes.
        clicked = set()
        if waiting:
            clicked = set(
                Enrollment.objects.filter(pk__in=waiting)
                .filter(self.wake_condition(block))
                .values_list("pk", flat=True)
            )
        moves = {}
        for enrollment in enrollments:
            if enrollment.pk in clicked:
                moves[enrollment.pk] = Move(CLICKED)
                continue
            since = enrollment.waiting_since if enrollment.state == "waiting" else now
            until = (since or now) + timeout
            moves[enrollment.pk] = Move(TIMEOUT) if until <= now else Move("", wake_at=until)
        return moves
