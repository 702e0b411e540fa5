"""The conditions a segment rule can use: fields, their operators and the values they take.

A rule is a tree stored as JSON:

    {"match": "all", "conditions": [
        {"field": "email_status", "operator": "is", "value": ["subscribed"]},
        {"field": "last_open_at", "operator": "not_within", "value": 6, "unit": "months"},
        {"match": "any", "conditions": [...]}
    ]}

A group has `match` ("all" or "any") and `conditions`; a condition has `field` and `operator`,
and, depending on the field's kind, `value`, `unit`, `within` (a count's window), `key` (a custom
attribute's name) and `include_machine` (count machine opens and clicks too).

Each field has a kind; the kind decides the operators and the shape of the value. The editor in
the admin is built from `catalogue_for_editor()`, so adding a field here is all it takes.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from contacts.models import ActivityKind, EmailStatus, EngagementLevel, SmsStatus

MATCH_ALL = "all"
MATCH_ANY = "any"
MATCHES = {MATCH_ALL: _("all of"), MATCH_ANY: _("any of")}

UNITS = {"days": _("days"), "weeks": _("weeks"), "months": _("months")}

# Kinds of field: each has its own operators and value shape (see segments.rules.validation).
DATE = "date"  # a contact date compared with "now"
COUNT = "count"  # a number of events in the activity log, in a window or ever
CHOICE = "choice"  # one of a field's choices
NUMBER = "number"  # an integer compared with a number
EXPIRY = "expiry"  # a future date: "within the next N days"
RELATION = "relation"  # tags, lead sources, lists, segments: chosen by id
ATTRIBUTE = "attribute"  # a custom attribute (JSON key) compared as text

OPERATORS: dict[str, dict[str, str]] = {
    DATE: {
        "more_than": _("more than … ago"),
        "within": _("within the last …"),
        "not_within": _("not within the last … (or never)"),
        "never": _("never"),
        "ever": _("at least once"),
    },
    COUNT: {"at_least": _("at least"), "fewer_than": _("fewer than")},
    CHOICE: {"is": _("is"), "is_not": _("is not")},
    NUMBER: {"lt": "<", "lte": "≤", "eq": "=", "gte": "≥", "gt": ">"},
    EXPIRY: {"within_next": _("within the next …")},
    RELATION: {"is": _("is one of"), "is_not": _("is none of")},
    ATTRIBUTE: {
        "equals": _("equals"),
        "contains": _("contains"),
        "is_set": _("is set"),
        "is_not_set": _("is not set"),
    },
}

# Operators that take no value.
VALUELESS_OPERATORS = {"never", "ever", "is_set", "is_not_set"}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str
    # DATE: the contact column; NUMBER / CHOICE / EXPIRY: the column compared.
    column: str = ""
    # CHOICE: the allowed values with their labels.
    choices: tuple[tuple[str, str], ...] = ()
    # COUNT: the activity kinds counted; whether machine events can be included.
    activity_kinds: tuple[str, ...] = ()
    machine_events: bool = False
    # RELATION: which model the ids name ("tag", "lead_source", "list", "segment").
    relation: str = ""
    # DATE fields that are always set have no "never" / "ever".
    always_set: bool = False
    operators: tuple[str, ...] = field(default=())

    def allowed_operators(self) -> tuple[str, ...]:
        if self.operators:
            return self.operators
        names = tuple(OPERATORS[self.kind])
        if self.always_set:
            names = tuple(name for name in names if name not in ("never", "ever", "not_within"))
        return names


def _choices(choices) -> tuple[tuple[str, str], ...]:
    return tuple((value, label) for value, label in choices)


FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("created_at", _("In the base since"), DATE, "created_at", always_set=True),
        Field("last_targeted_at", _("Last targeted (e-mail sent)"), DATE, "last_targeted_at"),
        Field("last_open_at", _("Last open"), DATE, "last_open_at"),
        Field("last_click_at", _("Last click"), DATE, "last_click_at"),
        Field("last_purchase_at", _("Last purchase"), DATE, "last_purchase_at"),
        Field("last_visit_at", _("Last visit"), DATE, "last_visit_at"),
        Field(
            "emails_received",
            _("E-mails received"),
            COUNT,
            activity_kinds=(ActivityKind.SENT,),
        ),
        Field(
            "opens",
            _("Opens"),
            COUNT,
            activity_kinds=(ActivityKind.OPEN,),
            machine_events=True,
        ),
        Field(
            "clicks",
            _("Clicks"),
            COUNT,
            activity_kinds=(ActivityKind.CLICK, ActivityKind.SMS_CLICK),
            machine_events=True,
        ),
        Field("purchases", _("Purchases"), COUNT, activity_kinds=(ActivityKind.PURCHASE,)),
        Field("visits", _("Visits"), COUNT, activity_kinds=(ActivityKind.VISIT,)),
        Field("sms_received", _("SMS received"), COUNT, activity_kinds=(ActivityKind.SMS_SENT,)),
        Field(
            "email_status",
            _("E-mail status"),
            CHOICE,
            "email_status",
            choices=_choices(EmailStatus.choices),
        ),
        Field("sms_status", _("SMS status"), CHOICE, "sms_status", _choices(SmsStatus.choices)),
        Field(
            "engagement_level",
            _("Engagement level"),
            CHOICE,
            "engagement_level",
            choices=_choices(EngagementLevel.choices),
        ),
        Field("score", _("Score"), NUMBER, "score"),
        Field("loyalty_points", _("Loyalty points"), NUMBER, "loyalty_points"),
        Field(
            "loyalty_points_expire_on",
            _("Loyalty points expire"),
            EXPIRY,
            "loyalty_points_expire_on",
        ),
        Field("tag", _("Tag"), RELATION, relation="tag"),
        Field("lead_source", _("Lead source"), RELATION, relation="lead_source"),
        Field("list", _("List"), RELATION, relation="list"),
        Field("segment", _("Segment"), RELATION, relation="segment"),
        Field("attribute", _("Custom attribute"), ATTRIBUTE),
    ]
}

# The wording of relation operators depends on the relation ("has tag", "in list").
RELATION_OPERATOR_LABELS = {
    "tag": {"is": _("has one of the tags"), "is_not": _("has none of the tags")},
    "lead_source": {"is": _("is one of"), "is_not": _("is none of")},
    "list": {"is": _("is in one of the lists"), "is_not": _("is in none of the lists")},
    "segment": {"is": _("is in one of the segments"), "is_not": _("is in none of the segments")},
}


def catalogue_for_editor(*, relation_options: dict[str, list[tuple[int, str]]]) -> dict:
    """The catalogue as plain data for the admin's rule editor (labels translated).

    `relation_options` gives, per relation, the (id, name) pairs the editor offers.
    """
    fields = []
    for f in FIELDS.values():
        operator_labels = RELATION_OPERATOR_LABELS.get(f.relation, OPERATORS[f.kind])
        fields.append(
            {
                "name": f.name,
                "label": str(f.label),
                "kind": f.kind,
                "operators": [
                    {
                        "name": name,
                        "label": str(operator_labels[name]),
                        "takes_value": name not in VALUELESS_OPERATORS,
                    }
                    for name in f.allowed_operators()
                ],
                "choices": [[value, str(label)] for value, label in f.choices]
                or [[pk, name] for pk, name in relation_options.get(f.relation, [])],
                "machine_events": f.machine_events,
            }
        )
    return {
        "fields": fields,
        "matches": [[name, str(label)] for name, label in MATCHES.items()],
        "units": [[name, str(label)] for name, label in UNITS.items()],
    }
