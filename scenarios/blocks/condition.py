from django.utils.translation import gettext_lazy

from contacts.models import Contact
from scenarios.blocks import BlockHandler, Move, block_kind
from segments.rules import rule_clean, rule_q, rule_relations

YES = "yes"
NO = "no"


@block_kind
class ConditionBlock(BlockHandler):
    """Yes or no, by any segment rule, evaluated for the whole batch in one query."""

    kind = "condition"
    label = gettext_lazy("Condition")
    branches = (YES, NO)

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
