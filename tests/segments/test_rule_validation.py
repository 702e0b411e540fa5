"""`rule_clean`: every mistake refused with a message naming the condition; canonical output."""

import pytest
from django.core.exceptions import ValidationError

from segments.rules import rule_clean
from tests.factories import (
    ContactListFactory,
    LeadSourceFactory,
    SegmentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

VALID = {"field": "score", "operator": "gt", "value": 3}


def errors(rule, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        rule_clean(rule, **kwargs)
    return caught.value.messages


def one(condition: dict) -> list[str]:
    """The messages for a rule holding a valid condition, then `condition` (position 2)."""
    return errors({"match": "all", "conditions": [VALID, condition]})


def test_refuses_a_rule_that_is_not_a_group_when_given_a_list_or_text():
    assert errors([VALID]) == ["The rule must be a group of conditions."]
    assert errors("score > 3") == ["The rule must be a group of conditions."]


def test_names_the_position_when_the_field_is_unknown():
    assert one({"field": "shoe_size", "operator": "gt", "value": 3}) == [
        "Condition 2: unknown field “shoe_size”."
    ]


def test_names_the_position_when_the_operator_is_not_one_of_the_field():
    assert one({"field": "score", "operator": "contains", "value": 3}) == [
        "Condition 2: “contains” is not an operator of “Score”."
    ]
    assert one({"field": "created_at", "operator": "never"}) == [
        "Condition 2: “never” is not an operator of “In the base since”."
    ]


@pytest.mark.parametrize("value", ["abc", True, 1.5, "", None, [3], "--5", "²"])
def test_refuses_a_value_that_is_not_a_whole_number_when_field_is_a_number(value):
    assert one({"field": "score", "operator": "gt", "value": value}) == [
        "Condition 2: the value must be a whole number."
    ]


def test_accepts_a_number_written_as_text_when_it_is_whole():
    rule = rule_clean(
        {"match": "all", "conditions": [{"field": "score", "operator": "lt", "value": " -5 "}]}
    )

    assert rule["conditions"][0]["value"] == -5


@pytest.mark.parametrize("value", [0, -3, 10_001])
def test_refuses_a_period_out_of_range_when_date_value_is_zero_negative_or_huge(value):
    assert one({"field": "last_open_at", "operator": "within", "value": value, "unit": "days"}) == [
        "Condition 2: the number of days, weeks or months must be between 1 and 10000."
    ]


@pytest.mark.parametrize("unit", [None, "years", "", "Days"])
def test_refuses_a_relative_date_when_unit_is_missing_or_unknown(unit):
    condition = {"field": "last_open_at", "operator": "more_than", "value": 6}
    if unit is not None:
        condition["unit"] = unit

    assert one(condition) == ["Condition 2: choose days, weeks or months."]


def test_refuses_a_count_when_window_has_no_unit_or_threshold_is_zero():
    assert one({"field": "opens", "operator": "at_least", "value": 2, "within": 3}) == [
        "Condition 2: choose days, weeks or months."
    ]
    assert one({"field": "opens", "operator": "at_least", "value": 0}) == [
        "Condition 2: the number of events must be between 1 and 2000000000."
    ]
    assert one(
        {"field": "opens", "operator": "at_least", "value": 1, "include_machine": "yes"}
    ) == ["Condition 2: “include machine events” must be true or false."]


@pytest.mark.parametrize("value", [["subscribed", "gone"], "gone", [], None, 3])
def test_refuses_choices_when_a_value_is_unknown_or_none_is_given(value):
    messages = one({"field": "email_status", "operator": "is", "value": value})

    assert len(messages) == 1
    assert messages[0].startswith("Condition 2: ")


def test_refuses_choices_when_a_value_is_not_text():
    assert one({"field": "email_status", "operator": "is", "value": [["subscribed"]]}) == [
        "Condition 2: “['subscribed']” is not a value of “E-mail status”."
    ]


def test_refuses_attribute_conditions_when_key_or_text_is_missing():
    assert one({"field": "attribute", "operator": "equals", "value": "x"}) == [
        "Condition 2: name the attribute (100 characters at most)."
    ]
    assert one({"field": "attribute", "operator": "contains", "key": "city", "value": ""}) == [
        "Condition 2: give the text to compare (255 characters at most)."
    ]
    assert one({"field": "attribute", "operator": "equals", "key": "vip", "value": True}) == [
        "Condition 2: give the text to compare (255 characters at most)."
    ]


@pytest.mark.parametrize("key", ['say "hi"', "back\\slash"])
def test_refuses_an_attribute_name_when_it_holds_a_quote_or_backslash(key):
    assert one({"field": "attribute", "operator": "is_set", "key": key}) == [
        "Condition 2: an attribute name cannot hold a double quote or a backslash."
    ]


def test_refuses_an_empty_nested_group_when_it_holds_no_condition():
    assert errors({"match": "all", "conditions": [VALID, {"match": "any", "conditions": []}]}) == [
        "Condition 2: this group is empty: add a condition or remove the group."
    ]


def test_refuses_a_group_when_match_is_neither_all_nor_any():
    assert errors({"match": "some", "conditions": [VALID]}) == [
        "Rule: a group must match “all” or “any” of its conditions."
    ]


def test_refuses_groups_nested_deeper_than_five_when_six_levels_deep():
    def nested(levels: int) -> dict:
        group = {"match": "all", "conditions": [VALID]}
        for _ in range(levels - 1):
            group = {"match": "any", "conditions": [group]}
        return group

    assert rule_clean(nested(5))
    assert errors(nested(6)) == ["Condition 1.1.1.1.1: groups can be nested 5 deep at most."]


def test_lists_every_mistake_with_its_position_when_there_are_several():
    rule = {
        "match": "all",
        "conditions": [
            {"field": "nope", "operator": "is"},
            VALID,
            {
                "match": "any",
                "conditions": [VALID, {"field": "score", "operator": "gt", "value": "x"}],
            },
        ],
    }

    assert errors(rule) == [
        "Condition 1: unknown field “nope”.",
        "Condition 3.2: the value must be a whole number.",
    ]


@pytest.mark.parametrize(
    ("relation", "factory", "label"),
    [
        ("tag", TagFactory, "tag"),
        ("lead_source", LeadSourceFactory, "lead source"),
        ("list", ContactListFactory, "list"),
        ("segment", SegmentFactory, "segment"),
    ],
)
def test_refuses_a_relation_id_when_it_does_not_exist(relation, factory, label):
    existing = factory()

    messages = one({"field": relation, "operator": "is", "value": [existing.pk, 999_999]})

    # (named for the whole rule: the admin's tests rely on this wording)
    assert messages == [f"Rule: the {label} #999999 does not exist (any more)."]


def test_refuses_a_segment_that_uses_itself_when_directly():
    segment = SegmentFactory()

    messages = errors(
        {
            "match": "all",
            "conditions": [{"field": "segment", "operator": "is", "value": [segment.pk]}],
        },
        segment_id=segment.pk,
    )

    assert messages == ["Rule: a segment cannot use itself, directly or through other segments."]


def test_refuses_a_segment_that_uses_itself_when_through_other_segments():
    # given A uses B and B uses C; C's rule may not use A (nor B)
    a, b, c = SegmentFactory(), SegmentFactory(), SegmentFactory()
    a.rule = {
        "match": "all",
        "conditions": [{"field": "segment", "operator": "is", "value": [b.pk]}],
    }
    a.save()
    b.rule = {
        "match": "any",
        "conditions": [
            VALID,
            {
                "match": "all",
                "conditions": [{"field": "segment", "operator": "is_not", "value": [c.pk]}],
            },
        ],
    }
    b.save()
    uses_a = {
        "match": "all",
        "conditions": [VALID, {"field": "segment", "operator": "is", "value": [a.pk]}],
    }

    assert errors(uses_a, segment_id=c.pk) == [
        "Rule: a segment cannot use itself, directly or through other segments."
    ]
    # and a new segment, or one outside the loop, may use A
    assert rule_clean(uses_a)
    assert rule_clean(uses_a, segment_id=SegmentFactory().pk)


def test_canonical_form_drops_unknown_keys_and_sorts_values_when_cleaned():
    tag_a, tag_b = TagFactory(), TagFactory()
    rule = {
        "match": "all",
        "label": "mine",
        "conditions": [
            {
                "field": "email_status",
                "operator": "is",
                "value": ["subscribed", "bounced", "subscribed"],
                "unit": "days",
                "comment": "x",
            },
            {"field": "tag", "operator": "is", "value": [str(tag_b.pk), tag_a.pk, tag_b.pk]},
            {"field": "last_open_at", "operator": "never", "value": 6, "unit": "months"},
            {"field": "opens", "operator": "at_least", "value": "2", "unit": "days"},
            {
                "field": "purchases",
                "operator": "fewer_than",
                "value": 1,
                "within": "3",
                "unit": "weeks",
                "include_machine": True,
            },
            {"field": "loyalty_points_expire_on", "operator": "within_next", "value": 30},
            {"field": "attribute", "operator": "is_set", "key": " city ", "value": "x"},
            {"match": "any", "conditions": [VALID], "extra": 1},
        ],
    }

    cleaned = rule_clean(rule)

    assert cleaned == {
        "match": "all",
        "conditions": [
            {"field": "email_status", "operator": "is", "value": ["bounced", "subscribed"]},
            {"field": "tag", "operator": "is", "value": sorted([tag_a.pk, tag_b.pk])},
            {"field": "last_open_at", "operator": "never"},
            {
                "field": "opens",
                "operator": "at_least",
                "value": 2,
                "within": None,
                "include_machine": False,
            },
            {
                "field": "purchases",
                "operator": "fewer_than",
                "value": 1,
                "within": 3,
                "unit": "weeks",
            },
            {
                "field": "loyalty_points_expire_on",
                "operator": "within_next",
                "value": 30,
                "unit": "days",
            },
            {"field": "attribute", "operator": "is_set", "key": "city"},
            {"match": "any", "conditions": [VALID]},
        ],
    }
    assert rule_clean(cleaned) == cleaned


@pytest.mark.parametrize(
    "rule",
    [
        {"match": ["all"], "conditions": [VALID]},
        {"match": "all", "conditions": [{"field": ["score"], "operator": "gt", "value": 1}]},
        {"match": "all", "conditions": [{"field": {"a": 1}, "operator": "gt", "value": 1}]},
        {"match": "all", "conditions": [{"field": "score", "operator": ["gt"], "value": 1}]},
        {
            "match": "all",
            "conditions": [
                {"field": "last_open_at", "operator": "within", "value": 1, "unit": ["days"]}
            ],
        },
        {"match": "all", "conditions": [{"field": "tag", "operator": "is", "value": [[1]]}]},
    ],
)
def test_refuses_with_a_message_when_a_name_is_a_list_or_object_in_raw_json(rule):
    messages = errors(rule)

    assert len(messages) == 1
    assert messages[0].startswith(("Rule: ", "Condition 1: "))


def test_refuses_a_rule_when_it_has_more_than_a_hundred_conditions():
    assert errors({"match": "any", "conditions": [VALID] * 101}) == [
        "Rule: at most 100 conditions."
    ]
    assert rule_clean({"match": "any", "conditions": [VALID] * 100})


def test_refuses_a_group_when_its_conditions_are_not_a_list():
    assert errors({"match": "all"}) == ["Rule: a group must hold a list of conditions."]
    assert errors({"match": "all", "conditions": [VALID, "score > 3"]}) == [
        "Condition 2: not a condition."
    ]


@pytest.mark.parametrize("relation", ["tag", "lead_source", "list", "segment"])
def test_refuses_a_huge_relation_id_when_it_cannot_exist(relation):
    assert errors(
        {"match": "all", "conditions": [{"field": relation, "operator": "is", "value": [2**40]}]}
    ) == [f"Rule: the {relation.replace('_', ' ')} #{2**40} does not exist (any more)."]
