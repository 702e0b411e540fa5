"""Segment rules: the catalogue of conditions, their validation and their compilation to SQL."""

from segments.rules.catalogue import FIELDS, catalogue_for_editor
from segments.rules.compiler import period_before, rule_contacts, rule_q
from segments.rules.validation import rule_clean, rule_relations

__all__ = [
    "FIELDS",
    "catalogue_for_editor",
    "period_before",
    "rule_clean",
    "rule_contacts",
    "rule_q",
    "rule_relations",
]
