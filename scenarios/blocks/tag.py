from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Contact, Tag
from scenarios.blocks import NEXT, BlockHandler, Move, block_kind
from scenarios.blocks._fields import ConfigErrors, choice, text
from scenarios.blocks._forms import BlockSettingsForm

ADD = "add"
REMOVE = "remove"


class TagSettingsForm(BlockSettingsForm):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        choices=[(ADD, gettext_lazy("Add the tag")), (REMOVE, gettext_lazy("Remove the tag"))],
        widget=forms.RadioSelect,
    )
    tag = forms.CharField(
        label=gettext_lazy("Tag"),
        max_length=100,
        help_text=gettext_lazy("An existing tag, or a new one (created when the block is saved)."),
    )

    def initial_from(self, config: dict) -> dict:
        return {"action": ADD, **config}


@block_kind
class TagBlock(BlockHandler):
    """Adds a tag to the contact (created when missing) or removes it."""

    kind = "tag"
    label = gettext_lazy("Tag / untag")
    settings_form = TagSettingsForm

    def config_clean(self, config: dict) -> dict:
        errors = ConfigErrors()
        name = text(config, "tag", errors, label=_("tag"), max_length=100)
        action = choice(config, "action", errors, (ADD, REMOVE), default=ADD, label=_("action"))
        errors.raise_any()
        return {"tag": name, "action": action}

    def references(self, config: dict) -> dict[str, list]:
        return {"tags": [config["tag"]]} if config.get("tag") else {}

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        through = Contact.tags.through
        contact_ids = [enrollment.contact_id for enrollment in enrollments]
        if block.config.get("action", ADD) == REMOVE:
            through.objects.filter(
                tag__name=block.config["tag"], contact_id__in=contact_ids
            ).delete()
        else:
            tag, _created = Tag.objects.get_or_create(name=block.config["tag"])
            through.objects.bulk_create(
                [through(contact_id=pk, tag_id=tag.pk) for pk in contact_ids],
                ignore_conflicts=True,
            )
        return {enrollment.pk: Move(NEXT) for enrollment in enrollments}
