"""Checking a rule before it is saved or run: every mistake gets a message a marketer can act on.

`rule_clean` returns the rule in its canonical form (only the keys each condition uses, values
of the right type) or raises `ValidationError` with one message per mistake, each naming the
condition by its position ("condition 2.1" is the first condition of the group in position 2).
"""

import contextlib
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from segments.rules.catalogue import (
    ATTRIBUTE,
    CHOICE,
    COUNT,
    DATE,
    EXPIRY,
    FIELDS,
    MATCHES,
    NUMBER,
    RELATION,
    UNITS,
    VALUELESS_OPERATORS,
)

MAX_DEPTH = 5
MAX_CONDITIONS = 100
MAX_PERIOD = 10_000  # days, weeks or months: "within the last 10,000 days" is already 27 years
MAX_INT = 2_000_000_000  # fits the database's integer columns


class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.conditions = 0

    def add(self, position: str, message: str) -> None:
        where = _("Condition %(position)s") % {"position": position} if position else _("Rule")
        self.messages.append(f"{where}: {message}")


def rule_clean(rule: Any, *, segment_id: int | None = None) -> dict:
    """Validate `rule` and return its canonical form; raise ValidationError listing the mistakes.

    `segment_id` is the segment the rule belongs to (None for a new one): a rule may not use
    that segment, directly or through the segments it uses.
    """
    errors = _Errors()
    if not isinstance(rule, dict) or "match" not in rule:
        raise ValidationError(_("The rule must be a group of conditions."))
    cleaned = _clean_group(rule, position="", depth=1, errors=errors)
    if errors.conditions > MAX_CONDITIONS:
        errors.add("", _("at most %(max)d conditions.") % {"max": MAX_CONDITIONS})
    if not errors.messages:
        _check_references(cleaned, segment_id=segment_id, errors=errors)
    if errors.messages:
        raise ValidationError(errors.messages)
    return cleaned


def _clean_group(group: dict, *, position: str, depth: int, errors: _Errors) -> dict:
    match = group.get("match")
    if not _is_name_in(match, MATCHES):
        errors.add(position, _("a group must match “all” or “any” of its conditions."))
    if depth > MAX_DEPTH:
        errors.add(position, _("groups can be nested %(max)d deep at most.") % {"max": MAX_DEPTH})
        return {"match": match, "conditions": []}
    items = group.get("conditions")
    if not isinstance(items, list):
        errors.add(position, _("a group must hold a list of conditions."))
        return {"match": match, "conditions": []}
    if not items and position:
        errors.add(position, _("this group is empty: add a condition or remove the group."))
    cleaned = []
    for index, item in enumerate(items, start=1):
        item_position = f"{position}.{index}" if position else str(index)
        if isinstance(item, dict) and "match" in item:
            cleaned.append(
                _clean_group(item, position=item_position, depth=depth + 1, errors=errors)
            )
        elif isinstance(item, dict):
            errors.conditions += 1
            condition = _clean_condition(item, position=item_position, errors=errors)
            if condition is not None:
                cleaned.append(condition)
        else:
            errors.add(item_position, _("not a condition."))
    return {"match": match, "conditions": cleaned}


def _is_name_in(value: Any, names: dict) -> bool:
    # A raw rule may hold a list or an object where a name belongs: unhashable, no KeyError.
    return isinstance(value, str) and value in names


def _clean_condition(item: dict, *, position: str, errors: _Errors) -> dict | None:
    field = FIELDS[item["field"]] if _is_name_in(item.get("field"), FIELDS) else None
    if field is None:
        errors.add(position, _("unknown field “%(field)s”.") % {"field": item.get("field")})
        return None
    operator = item.get("operator")
    if operator not in field.allowed_operators():
        errors.add(
            position,
            _("“%(operator)s” is not an operator of “%(field)s”.")
            % {"operator": operator, "field": field.label},
        )
        return None
    condition: dict[str, Any] = {"field": field.name, "operator": operator}
    failed = len(errors.messages)

    def whole_number(value: Any, *, minimum: int, maximum: int, what: str) -> int | None:
        if isinstance(value, str):
            # int() itself decides: "--5" or "²" pass a digit test but are no whole number.
            with contextlib.suppress(ValueError):
                value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            errors.add(position, _("%(what)s must be a whole number.") % {"what": what})
            return None
        if not minimum <= value <= maximum:
            errors.add(
                position,
                _("%(what)s must be between %(min)d and %(max)d.")
                % {"what": what, "min": minimum, "max": maximum},
            )
            return None
        return value

    def unit(value: Any) -> str | None:
        if not _is_name_in(value, UNITS):
            errors.add(position, _("choose days, weeks or months."))
            return None
        return value

    value = item.get("value")
    if field.kind == DATE:
        if operator not in VALUELESS_OPERATORS:
            condition["value"] = whole_number(
                value, minimum=1, maximum=MAX_PERIOD, what=_("the number of days, weeks or months")
            )
            condition["unit"] = unit(item.get("unit"))
    elif field.kind == EXPIRY:
        condition["value"] = whole_number(
            value, minimum=0, maximum=MAX_PERIOD, what=_("the number of days, weeks or months")
        )
        condition["unit"] = unit(item.get("unit", "days"))
    elif field.kind == COUNT:
        condition["value"] = whole_number(
            value, minimum=1, maximum=MAX_INT, what=_("the number of events")
        )
        within = item.get("within")
        if within in (None, ""):
            condition["within"] = None
        else:
            condition["within"] = whole_number(
                within, minimum=1, maximum=MAX_PERIOD, what=_("the period")
            )
            condition["unit"] = unit(item.get("unit"))
        if field.machine_events:
            include_machine = item.get("include_machine", False)
            if not isinstance(include_machine, bool):
                errors.add(position, _("“include machine events” must be true or false."))
            condition["include_machine"] = include_machine is True
    elif field.kind == NUMBER:
        condition["value"] = whole_number(
            value, minimum=-MAX_INT, maximum=MAX_INT, what=_("the value")
        )
    elif field.kind == CHOICE:
        values = [value] if isinstance(value, str) else value
        allowed = {choice for choice, _label in field.choices}
        if not isinstance(values, list) or not values:
            errors.add(position, _("choose at least one value."))
        elif unknown := [v for v in values if not isinstance(v, str) or v not in allowed]:
            errors.add(
                position,
                _("“%(value)s” is not a value of “%(field)s”.")
                % {"value": unknown[0], "field": field.label},
            )
        else:
            condition["value"] = sorted(set(values))
    elif field.kind == RELATION:
        values = [value] if isinstance(value, int | str) else value
        if not isinstance(values, list) or not values:
            errors.add(position, _("choose at least one."))
        else:
            ids = []
            for v in values:
                number = whole_number(v, minimum=1, maximum=2**62, what=_("an identifier"))
                if number is not None:
                    ids.append(number)
            condition["value"] = sorted(set(ids))
    elif field.kind == ATTRIBUTE:
        key = item.get("key")
        if not isinstance(key, str) or not key.strip() or len(key) > 100:
            errors.add(position, _("name the attribute (100 characters at most)."))
        elif '"' in key or "\\" in key:
            # SQLite cannot address such a key in a JSON path; no import writes one anyway.
            errors.add(position, _("an attribute name cannot hold a double quote or a backslash."))
        else:
            condition["key"] = key.strip()
        if operator not in VALUELESS_OPERATORS:
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not value or len(value) > 255:
                errors.add(position, _("give the text to compare (255 characters at most)."))
            else:
                condition["value"] = value
    return condition if len(errors.messages) == failed else None


def rule_relations(rule: dict) -> dict[str, set[int]]:
    """The ids each relation field of a (cleaned) rule refers to: {"segment": {3, 5}, ...}."""
    found: dict[str, set[int]] = {}
    for item in rule.get("conditions", []):
        if "match" in item:
            for relation, ids in rule_relations(item).items():
                found.setdefault(relation, set()).update(ids)
        elif (field := FIELDS[item["field"]]).kind == RELATION:
            found.setdefault(field.relation, set()).update(item["value"])
    return found


def _check_references(rule: dict, *, segment_id: int | None, errors: _Errors) -> None:
    from contacts.models import ContactList, LeadSource, Tag
    from segments.models import Segment

    models = {"tag": Tag, "lead_source": LeadSource, "list": ContactList, "segment": Segment}
    labels = {
        "tag": _("tag"),
        "lead_source": _("lead source"),
        "list": _("list"),
        "segment": _("segment"),
    }
    relations = rule_relations(rule)
    for relation, ids in relations.items():
        existing = set(models[relation].objects.filter(pk__in=ids).values_list("pk", flat=True))
        for missing in sorted(ids - existing):
            errors.add(
                "",
                _("the %(what)s #%(id)d does not exist (any more).")
                % {"what": labels[relation], "id": missing},
            )
    if segment_id is None or errors.messages:
        return
    # Walk the segments this rule uses, and the ones they use: none may lead back here.
    seen: set[int] = set()
    pending = set(relations.get("segment", ()))
    while pending:
        if segment_id in pending:
            errors.add("", _("a segment cannot use itself, directly or through other segments."))
            return
        seen |= pending
        next_ids: set[int] = set()
        for other_rule in Segment.objects.filter(pk__in=pending).values_list("rule", flat=True):
            if isinstance(other_rule, dict):
                next_ids |= _segment_ids(other_rule)
        pending = next_ids - seen


def _segment_ids(rule: dict) -> set[int]:
    """Segment ids a stored rule uses, read leniently (stored rules were cleaned when saved)."""
    ids: set[int] = set()
    for item in rule.get("conditions", []) or []:
        if not isinstance(item, dict):
            continue
        if "match" in item:
            ids |= _segment_ids(item)
        elif item.get("field") == "segment" and isinstance(item.get("value"), list):
            ids |= {v for v in item["value"] if isinstance(v, int)}
    return ids
