"""Seeding the demo base, on any database (Python) or fast on PostgreSQL (SQL)."""

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Case, Value, When
from django.db.models.deletion import CASCADE, get_candidate_relations_to_delete
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import GreaterThanOrEqual, IsNull
from django.utils import timezone

from contacts.demo import postgres
from contacts.demo.behaviour import (
    ENGAGEMENT_LEVELS,
    INACTIVE,
    MAX_SEED,
    NEVER,
    Calendar,
    DemoContact,
    contact_events,
    demo_calendar,
)
from contacts.demo.names import LISTS, SOURCES, TAGS
from contacts.demo.people import LIST_BITS, TAG_BITS, demo_contacts
from contacts.models import Activity, Contact, ContactList, LeadSource, ListMembership, Tag
from contacts.services import activity_natural_key, contact_rollups_rebuild

BATCH = 1000  # contacts per batch on the Python path
METHODS = ("auto", "python", "sql")


class DemoSeedError(Exception):
    """The demo base cannot be seeded as asked; the message says why."""


class DemoBaseNotEmpty(DemoSeedError):
    pass


@dataclass(frozen=True, slots=True)
class DemoSeedResult:
    contacts: int
    events: int
    memberships: int  # list memberships and tags
    seconds: float


def _contact_models() -> list[type[models.Model]]:
    """Contact and every model whose rows are deleted with their contact (CASCADE)."""
    found: list[type[models.Model]] = []
    todo: list[type[models.Model]] = [Contact]
    while todo:
        model = todo.pop(0)
        if model in found:
            continue
        found.append(model)
        for relation in get_candidate_relations_to_delete(model._meta):
            if relation.on_delete is not CASCADE:
                raise DemoSeedError(
                    f"--flush cannot empty the contact base: {relation.related_model._meta.label}"
                    f".{relation.field.name} refers to {model._meta.label} without CASCADE."
                )
            todo.append(relation.related_model)
    return found


def contacts_flush() -> None:
    """Delete every contact and every row that belongs to one (activity, memberships, and what
    other apps cascade from contacts), resetting their ids; TRUNCATE on PostgreSQL."""
    tables = [model._meta.db_table for model in _contact_models()]
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with foreign-key checks still deferred in this transaction.
        connection.check_constraints()
    connection.ops.execute_sql_flush(
        connection.ops.sql_flush(no_style(), tables, reset_sequences=True)
    )


def _next_contact_ids(count: int) -> int:
    if connection.vendor == "postgresql":
        return postgres.reserve_contact_ids(count)
    last = Contact.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _reference_data(calendar: Calendar) -> tuple[dict[str, int], dict[int, int], dict[int, int]]:
    """Lead sources, lists and tags, reused when they exist: (source ids, list ids by bit, tag
    ids by bit)."""
    since = datetime.fromtimestamp(calendar.end, UTC) - timedelta(days=3 * 365)
    source_ids = {
        source.name: LeadSource.objects.get_or_create(
            name=source.name, defaults={"description": source.description, "created_at": since}
        )[0].pk
        for source in SOURCES
    }
    list_ids = {
        LIST_BITS[name]: ContactList.objects.get_or_create(
            name=name, defaults={"description": description, "created_at": since}
        )[0].pk
        for name, description in LISTS
    }
    tag_ids = {
        TAG_BITS[name]: Tag.objects.get_or_create(name=name, defaults={"created_at": since})[0].pk
        for name in TAGS
    }
    return source_ids, list_ids, tag_ids


def _moment(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _contact(c: DemoContact, source_id: int) -> Contact:
    return Contact(
        id=c.id,
        email=c.email,
        phone=c.phone,
        first_name=c.first_name,
        last_name=c.last_name,
        language=c.language,
        time_zone="Europe/Paris",
        lead_source_id=source_id,
        created_at=_moment(c.created),
        email_status=c.email_status,
        email_status_reason=c.email_status_reason,
        email_status_changed_at=_moment(c.email_status_changed),
        sms_status=c.sms_status,
        loyalty_points=c.loyalty_points,
        loyalty_points_expire_on=c.loyalty_expire,
        attributes={"ville": c.city} if c.city else {},
    )


class _ActivityWriter:
    """Inserts activity rows with `executemany`: bulk_create's per-field machinery would take
    most of the Python path's time."""

    COLUMNS = (
        "contact_id", "kind", "occurred_at", "channel", "campaign", "amount", "is_machine",
        "external_id", "metadata", "natural_key", "recorded_at",
    )  # fmt: skip

    def __init__(self) -> None:
        fields = {field.attname: field for field in Activity._meta.concrete_fields}
        self.at = fields["occurred_at"]
        self.amount = fields["amount"]
        self.key = fields["natural_key"]
        self.empty_metadata = fields["metadata"].get_db_prep_save({}, connection)
        quote = connection.ops.quote_name
        self.sql = (
            f"INSERT INTO {quote(Activity._meta.db_table)} "
            f"({', '.join(quote(column) for column in self.COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(self.COLUMNS))})"
        )

    def rows(self, c: DemoContact, calendar: Calendar, seed: int) -> Iterator[tuple]:
        for event in contact_events(c, calendar, seed):
            moment = _moment(event.at)
            at = self.at.get_db_prep_save(moment, connection)
            amount = None
            if event.amount_cents is not None:
                amount = self.amount.get_db_prep_save(Decimal(event.amount_cents) / 100, connection)
            key = activity_natural_key(
                contact_id=c.id, kind=event.kind, occurred_at=moment, campaign=event.campaign
            )
            yield (
                c.id, event.kind, at, event.channel, event.campaign, amount, event.is_machine,
                "", self.empty_metadata, self.key.get_db_prep_save(key, connection), at,
            )  # fmt: skip

    def write(self, rows: list[tuple]) -> None:
        with connection.cursor() as cursor:
            cursor.executemany(self.sql, rows)


def _engagement_update(calendar: Calendar) -> None:
    """Engagement level and score from the rollups (the rule of behaviour.ENGAGEMENT_LEVELS)."""
    # Greatest is NULL on SQLite when one argument is: each Coalesce starts with another rollup.
    latest = Greatest(
        Coalesce("last_open_at", "last_click_at", "last_visit_at"),
        Coalesce("last_click_at", "last_visit_at", "last_open_at"),
        Coalesce("last_visit_at", "last_open_at", "last_click_at"),
    )
    levels, scores = (
        [When(IsNull(latest, True), then=Value(NEVER[0]))],
        [When(IsNull(latest, True), then=Value(NEVER[1]))],
    )
    for days, level, score in ENGAGEMENT_LEVELS:
        since = GreaterThanOrEqual(latest, _moment(calendar.end - days * 86400))
        levels.append(When(since, then=Value(level)))
        scores.append(When(since, then=Value(score)))
    Contact.objects.update(
        engagement_level=Case(*levels, default=Value(INACTIVE[0])),
        score=Case(*scores, default=Value(INACTIVE[1])),
    )


def _seed_python(
    *,
    contacts: Iterable[DemoContact],
    count: int,
    seed: int,
    calendar: Calendar,
    source_ids: dict[str, int],
    list_ids: dict[int, int],
    tag_ids: dict[int, int],
    progress: Callable[[str], None],
) -> tuple[int, int]:
    """Contacts, events, memberships and tags in batches; then the rollups from the log."""
    tagging = Contact.tags.through
    writer = _ActivityWriter()
    events = memberships = 0

    def store(batch: list[DemoContact]) -> None:
        nonlocal events, memberships
        Contact.objects.bulk_create([_contact(c, source_ids[c.source]) for c in batch])
        activities = [row for c in batch for row in writer.rows(c, calendar, seed)]
        writer.write(activities)
        lists = [
            ListMembership(contact_id=c.id, contact_list_id=pk, subscribed_at=_moment(c.created))
            for c in batch
            for bit, pk in list_ids.items()
            if c.lists & bit
        ]
        tags = [
            tagging(contact_id=c.id, tag_id=pk)
            for c in batch
            for bit, pk in tag_ids.items()
            if c.tags & bit
        ]
        ListMembership.objects.bulk_create(lists)
        tagging.objects.bulk_create(tags)
        events += len(activities)
        memberships += len(lists) + len(tags)
        progress(f"contacts: {batch[-1].n + 1:,}/{count:,}, events: {events:,}")

    batch: list[DemoContact] = []
    for contact in contacts:
        batch.append(contact)
        if len(batch) == BATCH:
            store(batch)
            batch = []
    if batch:
        store(batch)
    progress("rollups")
    contact_rollups_rebuild()
    _engagement_update(calendar)
    return events, memberships


def demo_base_seed(
    *,
    contacts: int,
    seed: int = 1,
    flush: bool = False,
    method: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> DemoSeedResult:
    """Fill an empty contact base with `contacts` realistic contacts and their history.

    Steps, in one transaction:
    1. refuse when the base has contacts, unless `flush`, which first deletes them all;
    2. get or create the lead sources, lists and tags;
    3. draw the contacts (`contacts.demo.people`) and their events (`contacts.demo.behaviour`),
       and store them: set-based SQL on PostgreSQL (`method="sql"`, the default there), batched
       inserts elsewhere (`method="python"`); both store the same data for a seed;
    4. bring the rollups, engagement levels and scores in line with the events.

    The history ends at the start of today (UTC) by `timezone.now()`: the same seed gives the
    same base all day long.
    """
    started = time.perf_counter()
    progress = progress or (lambda message: None)
    if contacts < 1:
        raise DemoSeedError("the number of contacts must be at least 1")
    if not 0 <= seed < MAX_SEED:
        raise DemoSeedError(f"the seed must be between 0 and {MAX_SEED - 1}")
    if method not in METHODS:
        raise DemoSeedError(f"unknown method {method!r}, expected one of {', '.join(METHODS)}")
    postgresql = connection.vendor == "postgresql"
    if method == "auto":
        method = "sql" if postgresql else "python"
    if method == "sql" and not postgresql:
        raise DemoSeedError("the SQL method needs PostgreSQL")

    now = timezone.now()
    calendar = demo_calendar(now=now)
    nested = connection.in_atomic_block
    try:
        with transaction.atomic():
            if postgresql:
                # One seeding at a time: another one waits here, then finds contacts and stops.
                with connection.cursor() as cursor:
                    table = connection.ops.quote_name(Contact._meta.db_table)
                    cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            if flush:
                progress("deleting the existing contacts")
                contacts_flush()
            elif Contact.objects.exists():
                raise DemoBaseNotEmpty(
                    "the base already has contacts; seed_demo fills an empty base only "
                    "(--flush deletes every contact and its history first)"
                )
            source_ids, list_ids, tag_ids = _reference_data(calendar)
            drawn = demo_contacts(
                count=contacts, seed=seed, calendar=calendar, first_id=_next_contact_ids(contacts)
            )
            arguments = {
                "contacts": drawn,
                "count": contacts,
                "seed": seed,
                "calendar": calendar,
                "source_ids": source_ids,
                "list_ids": list_ids,
                "tag_ids": tag_ids,
                "progress": progress,
            }
            if method == "sql":
                tables = [
                    Contact._meta.db_table,
                    Activity._meta.db_table,
                    ListMembership._meta.db_table,
                    Contact.tags.through._meta.db_table,
                ]
                with postgres.bulk_load(tables, progress):
                    events, memberships = postgres.seed_postgres(**arguments, now=now)
                postgres.analyze(tables)
            else:
                events, memberships = _seed_python(**arguments)
    except BaseException:
        if method == "sql" and not nested:
            # A failed run may leave the helper's staging tables behind (they are committed).
            with suppress(DatabaseError), connection.cursor() as cursor:
                postgres.staging_drop(cursor)
        raise
    return DemoSeedResult(
        contacts=contacts,
        events=events,
        memberships=memberships,
        seconds=time.perf_counter() - started,
    )
