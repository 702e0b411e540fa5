from django.urls import reverse
from django.utils.translation import gettext_lazy

from contacts.models import Contact
from scenarios.blocks import BlockHandler, Move, block_kind
from scenarios.blocks._forms import BlockSettingsForm
from segments.forms import RuleField, rule_editor_catalogue
from segments.models import default_rule
from segments.rules import rule_clean, rule_q, rule_relations

YES = "yes"
NO = "no"


class ConditionSettingsForm(BlockSettingsForm):
    rule = RuleField(
        label=gettext_lazy("Rule"),
        help_text=gettext_lazy(
            "Contacts who match take the “yes” branch, the others “no”; any segment rule works."
        ),
    )

    def __init__(self, *args, block, **kwargs):
        super().__init__(*args, block=block, **kwargs)
        widget = self.fields["rule"].widget
        widget.catalogue = rule_editor_catalogue(segment_id=None)
        widget.preview_url = reverse("admin:segments_segment_preview")

    def initial_from(self, config: dict) -> dict:
        return {"rule": config.get("rule") or default_rule()}


@block_kind
class ConditionBlock(BlockHandler):
    """Yes or no, by any segment rule, evaluated for the whole batch in one query."""

    kind = "condition"
    label = gettext_lazy("Condition")
    branches = (YES, NO)
    settings_form = ConditionSettingsForm

    def config_clean(self, config: dict) -> dict:
        return {"rule": rule_clean(config.get("rule"))}

    def references(self, config: dict) -> dict[str, list]:
        try:
            relations = rule_relations(config.get("rule") or {})
        except (KeyError, TypeError, AttributeError):
            return {}
        return {"segments": sorted(relations.get("segment", []))}

    def run(self, *, block, enrollments: list, now) -> dict[int, Move]:
        contact_ids = [enrollment.contact_id for enrollment in enrollments]
        matched = set(
            Contact.objects.filter(
                rule_q(block.config["rule"], now=now), pk__in=contact_ids
            ).values_list("pk", flat=True)
        )
        return {
            enrollment.pk: Move(YES if enrollment.contact_id in matched else NO)
            for enrollment in enrollments
        }
