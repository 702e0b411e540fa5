"""Turning a rule into one database query over the contacts.

Dates compare the contact's rollups (`last_open_at`, ...) with cut-offs computed once from
`now`, so the common rules read one row per contact and use the rollup indexes. Counts of events
in a window, tags, lists and other segments become EXISTS / IN subqueries of the same statement.
The SQL is the same on SQLite and PostgreSQL; nothing loops over contacts in Python.
"""

from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import NullIf, Upper
from django.db.models.lookups import Contains, Exact, IsNull
from django.utils import timezone

from contacts.models import Activity, Contact, ListMembership
from segments.rules.catalogue import (
    ATTRIBUTE,
    CHOICE,
    COUNT,
    DATE,
    EXPIRY,
    FIELDS,
    MATCH_ALL,
    NUMBER,
    RELATION,
    Field,
)

_NUMBER_LOOKUPS = {"lt": "lt", "lte": "lte", "eq": "exact", "gte": "gte", "gt": "gt"}


def period_before(now: datetime, *, value: int, unit: str) -> datetime:
    """`now` minus N days, weeks or calendar months (31 March minus 1 month is 28/29 February)."""
    if unit == "months":
        # On the local calendar: at 00:30 on 1 March in Paris (still February in UTC), one
        # month ago is 1 February, not 28 January.
        return timezone.localtime(now) - relativedelta(months=value)
    if unit == "weeks":
        return now - timedelta(weeks=value)
    return now - timedelta(days=value)


def rule_q(rule: dict, *, now: datetime | None = None) -> Q:
    """The filter of a cleaned rule (see `segments.rules.rule_clean`) at `now`."""
    now = now or timezone.now()
    return _group_q(rule, now)


def rule_contacts(rule: dict, *, now: datetime | None = None) -> QuerySet[Contact]:
    """The contacts a cleaned rule matches at `now`, as one unevaluated queryset."""
    return Contact.objects.filter(rule_q(rule, now=now))


def _group_q(group: dict, now: datetime) -> Q:
    parts = [
        _group_q(item, now) if "match" in item else _condition_q(item, now)
        for item in group["conditions"]
    ]
    if not parts:
        # An empty rule matches everyone ("all of" nothing); an empty "any of" matches no one.
        return Q() if group["match"] == MATCH_ALL else Q(pk__in=[])
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if group["match"] == MATCH_ALL else combined | part
    return combined


def _condition_q(condition: dict, now: datetime) -> Q:
    field = FIELDS[condition["field"]]
    compile_kind = {
        DATE: _date_q,
        COUNT: _count_q,
        CHOICE: _choice_q,
        NUMBER: _number_q,
        EXPIRY: _expiry_q,
        RELATION: _relation_q,
        ATTRIBUTE: _attribute_q,
    }[field.kind]
    return compile_kind(field, condition, now)


def _date_q(field: Field, condition: dict, now: datetime) -> Q:
    column, operator = field.column, condition["operator"]
    if operator == "never":
        return Q(**{f"{column}__isnull": True})
    if operator == "ever":
        return Q(**{f"{column}__isnull": False})
    cutoff = period_before(now, value=condition["value"], unit=condition["unit"])
    if operator == "more_than":
        return Q(**{f"{column}__lt": cutoff})
    if operator == "within":
        return Q(**{f"{column}__gte": cutoff})
    # not_within: never, or longer ago than the cut-off.
    return Q(**{f"{column}__isnull": True}) | Q(**{f"{column}__lt": cutoff})


def _count_q(field: Field, condition: dict, now: datetime) -> Q:
    events = Activity.objects.filter(kind__in=field.activity_kinds)
    if condition.get("within"):
        since = period_before(now, value=condition["within"], unit=condition["unit"])
        events = events.filter(occurred_at__gte=since)
    if field.machine_events and not condition.get("include_machine"):
        events = events.filter(is_machine=False)
    threshold = condition["value"]
    if threshold == 1:
        # "At least one": a semi-join (anti-join for "fewer than one") on the activity index.
        exists = Exists(events.filter(contact_id=OuterRef("pk")))
        return Q(exists) if condition["operator"] == "at_least" else ~Q(exists)
    if condition["operator"] == "at_least":
        # One pass over the window's events grouped by contact, joined as a set.
        reaching = (
            events.order_by()
            .values("contact_id")
            .annotate(events=Count("id"))
            .filter(events__gte=threshold)
            .values("contact_id")
        )
        return Q(pk__in=reaching)
    # "Fewer than N": NOT EXISTS of the contact's own count, read from the activity index.
    # (NOT IN over a large subquery would be quadratic on PostgreSQL once out of work_mem.)
    reaching_own = (
        events.filter(contact_id=OuterRef("pk"))
        .order_by()
        .values("contact_id")
        .annotate(events=Count("id"))
        .filter(events__gte=threshold)
    )
    return ~Q(Exists(reaching_own))


def _choice_q(field: Field, condition: dict, now: datetime) -> Q:
    q = Q(**{f"{field.column}__in": condition["value"]})
    return q if condition["operator"] == "is" else ~q


def _number_q(field: Field, condition: dict, now: datetime) -> Q:
    lookup = _NUMBER_LOOKUPS[condition["operator"]]
    return Q(**{f"{field.column}__{lookup}": condition["value"]})


def _expiry_q(field: Field, condition: dict, now: datetime) -> Q:
    # Dates, not instants: "within the next 30 days" runs from today to today + 30, local time.
    today = timezone.localdate(now)
    value, unit = condition["value"], condition["unit"]
    if unit == "months":
        last_day = today + relativedelta(months=value)
    else:
        last_day = today + (timedelta(weeks=value) if unit == "weeks" else timedelta(days=value))
    return Q(**{f"{field.column}__gte": today, f"{field.column}__lte": last_day})


def _relation_q(field: Field, condition: dict, now: datetime) -> Q:
    from segments.models import SegmentMembership

    ids = condition["value"]
    if field.relation == "lead_source":
        # Django's negation keeps the contacts without a source in "is none of".
        q = Q(lead_source_id__in=ids)
    elif field.relation == "tag":
        q = Q(
            Exists(Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag_id__in=ids))
        )
    elif field.relation == "list":
        q = Q(
            Exists(
                ListMembership.objects.filter(contact_id=OuterRef("pk"), contact_list_id__in=ids)
            )
        )
    else:
        q = Q(
            Exists(
                SegmentMembership.objects.filter(
                    segment_id__in=ids, contact_id=OuterRef("pk"), exited_at__isnull=True
                )
            )
        )
    return q if condition["operator"] == "is" else ~q


def _attribute_q(field: Field, condition: dict, now: datetime) -> Q:
    # A JSON null reads as NULL on PostgreSQL but as the text "null" on SQLite: both count as
    # "not set", the same on either database.
    text = NullIf(
        KeyTextTransform(condition["key"], "attributes"), Value("null"), output_field=TextField()
    )
    operator = condition["operator"]
    if operator in ("is_set", "is_not_set"):
        q = Q(IsNull(text, False))
        return q if operator == "is_set" else ~q
    # Case-insensitive, as a marketer reading "equals Paris" expects of "paris". Both sides
    # go through the database's UPPER: SQLite's leaves "é" as it is, Python's would not.
    value = Upper(Value(condition["value"], output_field=TextField()))
    if operator == "equals":
        return Q(Exact(Upper(text), value))
    return Q(Contains(Upper(text), value))
