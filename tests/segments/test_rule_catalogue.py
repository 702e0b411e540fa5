"""The catalogue as a whole: every field and operator it offers is accepted and runs."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from segments.rules import FIELDS, catalogue_for_editor, rule_clean, rule_contacts
from segments.rules.catalogue import (
    ATTRIBUTE,
    CHOICE,
    COUNT,
    DATE,
    EXPIRY,
    NUMBER,
    RELATION,
    VALUELESS_OPERATORS,
)
from tests.factories import (
    ContactFactory,
    ContactListFactory,
    LeadSourceFactory,
    SegmentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZoneInfo("UTC"))
RELATED = {
    "tag": TagFactory,
    "lead_source": LeadSourceFactory,
    "list": ContactListFactory,
    "segment": SegmentFactory,
}
EVERY_OPERATOR = [(name, op) for name, f in FIELDS.items() for op in f.allowed_operators()]


def sample_condition(name: str, operator: str) -> dict:
    field = FIELDS[name]
    condition = {"field": name, "operator": operator}
    if operator in VALUELESS_OPERATORS:
        return condition | ({"key": "city"} if field.kind == ATTRIBUTE else {})
    if field.kind == CHOICE:
        return condition | {"value": [field.choices[0][0]]}
    if field.kind == RELATION:
        return condition | {"value": [RELATED[field.relation]().pk]}
    values = {
        DATE: {"value": 3, "unit": "days"},
        COUNT: {"value": 2, "within": 3, "unit": "days"},
        NUMBER: {"value": 5},
        EXPIRY: {"value": 10, "unit": "days"},
        ATTRIBUTE: {"key": "city", "value": "Paris"},
    }
    return condition | values[field.kind]


@pytest.mark.parametrize(("name", "operator"), EVERY_OPERATOR)
def test_every_operator_is_accepted_and_runs_when_offered_by_the_catalogue(name, operator):
    ContactFactory()
    rule = rule_clean({"match": "all", "conditions": [sample_condition(name, operator)]})

    assert rule_contacts(rule, now=NOW).count() in (0, 1)


def test_editor_catalogue_lists_every_field_and_operator_when_built():
    tag = TagFactory(name="vip")

    catalogue = catalogue_for_editor(relation_options={"tag": [(tag.pk, "vip")]})

    offered = [(f["name"], op["name"]) for f in catalogue["fields"] for op in f["operators"]]
    assert offered == EVERY_OPERATOR
    by_name = {f["name"]: f for f in catalogue["fields"]}
    assert by_name["tag"]["choices"] == [[tag.pk, "vip"]]
    assert [op["label"] for op in by_name["tag"]["operators"]] == [
        "has one of the tags",
        "has none of the tags",
    ]
    assert ["subscribed", "Subscribed"] in by_name["email_status"]["choices"]
    assert by_name["opens"]["machine_events"] and not by_name["emails_received"]["machine_events"]
    assert [u[0] for u in catalogue["units"]] == ["days", "weeks", "months"]
