"""Recording activity and keeping the contact rollups in step with it.

Every path that records events (imports, tracking endpoints, webhooks, sending) goes through
`activities_record`, so that the natural key de-duplicates them and the rollups and statuses
move in bulk, one statement per batch rather than one per event.
"""

import functools
import hashlib
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from contacts.models import Activity, ActivityKind, Channel, Contact, EmailStatus, SmsStatus

BATCH_SIZE = 2000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """One event to record; `contact_id` must exist."""

    contact_id: int
    kind: str
    occurred_at: datetime
    channel: str = Channel.EMAIL
    campaign: str = ""
    amount: Decimal | None = None
    is_machine: bool = False
    external_id: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass(slots=True)
class RecordResult:
    received: int = 0
    recorded: int = 0

    @property
    def duplicates(self) -> int:
        return self.received - self.recorded


def activity_natural_key(
    *, contact_id: int, kind: str, occurred_at: datetime, campaign: str = "", external_id: str = ""
) -> uuid.UUID:
    """The identity of an event: its external id when the source gives one, else its content.

    The timestamp is taken in whole microseconds since the epoch, so the key is the same
    whatever time zone the source wrote it in.
    """
    if external_id:
        text = f"x|{external_id}"
    else:
        micros = (occurred_at - _EPOCH) // _MICROSECOND
        text = f"{contact_id}|{kind}|{micros}|{campaign}"
    return uuid.UUID(bytes=hashlib.md5(text.encode(), usedforsecurity=False).digest())


# Which events each rollup follows. Machine opens and clicks (privacy proxies, security
# scanners) are logged but never count as engagement. "Keep me subscribed" is a click on a
# link of ours: it counts as one, so that neither the engagement levels nor a "never
# clicked" cleaning let go of a contact who has just asked to stay.
ROLLUP_KINDS: dict[str, tuple[list[str], bool]] = {
    "last_targeted_at": ([ActivityKind.SENT], False),
    "last_open_at": ([ActivityKind.OPEN], True),
    "last_click_at": ([ActivityKind.CLICK, ActivityKind.SMS_CLICK, ActivityKind.STAY], True),
    "last_purchase_at": ([ActivityKind.PURCHASE], False),
    "last_visit_at": ([ActivityKind.VISIT], False),
}


def _latest(kinds: list[str], human_only: bool) -> Subquery:
    events = Activity.objects.filter(contact=OuterRef("pk"), kind__in=kinds)
    if human_only:
        events = events.filter(is_machine=False)
    return Subquery(events.order_by("-occurred_at").values("occurred_at")[:1])


def contact_rollups_refresh(*, contacts: QuerySet[Contact]) -> int:
    """Recompute the rollups of `contacts` from the log, in one UPDATE; returns rows updated."""
    return contacts.update(
        **{name: _latest(kinds, human_only) for name, (kinds, human_only) in ROLLUP_KINDS.items()}
    )


@functools.cache
def _rollups_refresh_sql() -> tuple[str, list]:
    """The UPDATE of `contact_rollups_refresh`, written once: `{ids}` takes the placeholders.

    The tracking endpoints refresh one contact per request, and compiling the ORM's five
    correlated subqueries cost more than running them."""
    contacts, activities = Contact._meta.db_table, Activity._meta.db_table
    assignments, params = [], []
    for name, (kinds, human_only) in ROLLUP_KINDS.items():
        condition = "a.kind IN ({})".format(", ".join(["%s"] * len(kinds)))
        params += list(kinds)
        if human_only:
            condition += " AND a.is_machine = %s"
            params.append(False)
        assignments.append(
            f"{name} = (SELECT a.occurred_at FROM {activities} a"
            f" WHERE a.contact_id = {contacts}.id AND {condition}"
            " ORDER BY a.occurred_at DESC LIMIT 1)"
        )
    return f"UPDATE {contacts} SET {', '.join(assignments)} WHERE id IN ({{ids}})", params


def contact_rollups_refresh_ids(contact_ids: Collection[int]) -> int:
    """`contact_rollups_refresh` for a few contacts given by id, through prepared SQL."""
    if not contact_ids:
        return 0
    sql, params = _rollups_refresh_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.format(ids=", ".join(["%s"] * len(contact_ids))), [*params, *contact_ids]
        )
        return cursor.rowcount


def _rollups_rebuild_sql() -> str:
    """PostgreSQL: one aggregate over a range of contact ids, written back only where it
    differs (the rules of ROLLUP_KINDS, as in `contact_rollups_refresh`). Returns the number
    of contacts in the range and the number changed."""
    contacts, activities = Contact._meta.db_table, Activity._meta.db_table
    names = list(ROLLUP_KINDS)
    latest = []
    for name, (kinds, human_only) in ROLLUP_KINDS.items():
        condition = "kind IN ({})".format(", ".join(f"'{kind}'" for kind in kinds))
        if human_only:
            condition += " AND NOT is_machine"
        latest.append(f"max(occurred_at) FILTER (WHERE {condition}) AS {name}")
    kinds = ", ".join(sorted({f"'{kind}'" for kinds, _ in ROLLUP_KINDS.values() for kind in kinds}))
    return f"""
        WITH fresh AS (
            SELECT c.id, {", ".join(f"a.{name}" for name in names)}
            FROM {contacts} c
            LEFT JOIN (
                SELECT contact_id, {", ".join(latest)}
                FROM {activities}
                WHERE contact_id >= %(low)s AND contact_id < %(high)s AND kind IN ({kinds})
                GROUP BY contact_id
            ) a ON a.contact_id = c.id
            WHERE c.id >= %(low)s AND c.id < %(high)s
        ), changed AS (
            UPDATE {contacts} c SET {", ".join(f"{name} = f.{name}" for name in names)}
            FROM fresh f
            WHERE c.id = f.id AND c.id >= %(low)s AND c.id < %(high)s
              AND ({" OR ".join(f"c.{name} IS DISTINCT FROM f.{name}" for name in names)})
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM fresh), (SELECT count(*) FROM changed)
    """


def contact_rollups_rebuild(*, chunk_size: int = 20000, progress=None) -> int:
    """Recompute every contact's rollups, by ranges of ids so memory and locks stay bounded;
    returns the number of contacts.

    On PostgreSQL each range is one aggregate of its events and one UPDATE of the contacts
    whose rollups changed (a million contacts in well under a minute); elsewhere it is
    `contact_rollups_refresh`, with a subquery per contact and rollup.
    """
    bounds = Contact.objects.order_by("pk").values_list("pk", flat=True)
    first, last = bounds.first(), bounds.last()
    if first is None:
        return 0
    postgresql = connection.vendor == "postgresql"
    sql = _rollups_rebuild_sql() if postgresql else ""
    done = 0
    for start in range(first, last + 1, chunk_size):
        with transaction.atomic():
            if postgresql:
                with connection.cursor() as cursor:
                    # Compiling this short statement would cost more than running it.
                    cursor.execute("SET LOCAL jit = off")
                    cursor.execute(sql, {"low": start, "high": start + chunk_size})
                    done += cursor.fetchone()[0]
            else:
                done += contact_rollups_refresh(
                    contacts=Contact.objects.filter(pk__gte=start, pk__lt=start + chunk_size)
                )
        if progress is not None:
            progress(done)
    return done


# Status changes carried by events: (kind, channel) → (status field, new status, statuses it
# may replace, reason). A complaint overrides everything; nothing here ever resubscribes.
_STATUS_EFFECTS = [
    (
        ActivityKind.UNSUBSCRIBE,
        Channel.EMAIL,
        "email_status",
        EmailStatus.UNSUBSCRIBED,
        [EmailStatus.SUBSCRIBED, EmailStatus.CLEANED],
        "unsubscribe",
    ),
    (
        ActivityKind.BOUNCE,
        Channel.EMAIL,
        "email_status",
        EmailStatus.BOUNCED,
        [EmailStatus.SUBSCRIBED, EmailStatus.CLEANED, EmailStatus.UNSUBSCRIBED],
        "hard bounce",
    ),
    (
        ActivityKind.COMPLAINT,
        Channel.EMAIL,
        "email_status",
        EmailStatus.COMPLAINED,
        [
            EmailStatus.SUBSCRIBED,
            EmailStatus.CLEANED,
            EmailStatus.UNSUBSCRIBED,
            EmailStatus.BOUNCED,
        ],
        "complaint",
    ),
    (
        ActivityKind.UNSUBSCRIBE,
        Channel.SMS,
        "sms_status",
        SmsStatus.UNSUBSCRIBED,
        [SmsStatus.SUBSCRIBED, SmsStatus.CLEANED, SmsStatus.NO_CONSENT],
        "",
    ),
]


def is_hard_bounce(event: ActivityEvent) -> bool:
    return event.kind == ActivityKind.BOUNCE and event.metadata.get("bounce_type") != "soft"


def _apply_status_effects(new_events: Sequence[ActivityEvent], keys: list[uuid.UUID]) -> None:
    for kind, channel, status_field, new_status, replaces, reason in _STATUS_EFFECTS:
        matching = [
            (event, key)
            for event, key in zip(new_events, keys, strict=True)
            if event.kind == kind
            and (event.channel == channel or (channel == Channel.EMAIL and not event.channel))
            and (kind != ActivityKind.BOUNCE or is_hard_bounce(event))
        ]
        if not matching:
            continue
        event_at = Subquery(
            Activity.objects.filter(
                contact=OuterRef("pk"), natural_key__in=[key for _, key in matching]
            )
            .order_by("-occurred_at")
            .values("occurred_at")[:1]
        )
        changes = {status_field: new_status}
        if status_field == "email_status":
            changes.update(email_status_reason=reason, email_status_changed_at=event_at)
            # An older event never overrides a later decision (a resubscription by staff); a
            # cleaning is no such decision, so an opt-out or bounce reported late still counts.
            recent_enough = (
                Q(email_status_changed_at__isnull=True)
                | Q(email_status_changed_at__lt=event_at)
                | Q(email_status=EmailStatus.CLEANED)
            )
        else:
            recent_enough = Q()
        Contact.objects.filter(
            Q(pk__in={event.contact_id for event, _ in matching}),
            Q(**{f"{status_field}__in": replaces}),
            recent_enough,
        ).update(**changes)


def _record_batch(batch: list[ActivityEvent], result: RecordResult) -> None:
    keys = [
        activity_natural_key(
            contact_id=e.contact_id,
            kind=e.kind,
            occurred_at=e.occurred_at,
            campaign=e.campaign,
            external_id=e.external_id,
        )
        for e in batch
    ]
    # The same event twice in one batch is stored once.
    unique: dict[uuid.UUID, ActivityEvent] = dict(zip(keys, batch, strict=True))
    existing = set(
        Activity.objects.filter(natural_key__in=list(unique)).values_list("natural_key", flat=True)
    )
    new = {key: event for key, event in unique.items() if key not in existing}
    result.received += len(batch)
    if not new:
        return
    now = timezone.now()
    Activity.objects.bulk_create(
        [
            Activity(
                contact_id=e.contact_id,
                kind=e.kind,
                occurred_at=e.occurred_at,
                channel=e.channel or Channel.EMAIL,
                campaign=e.campaign,
                amount=e.amount,
                is_machine=e.is_machine,
                external_id=e.external_id,
                metadata=e.metadata,
                natural_key=key,
                recorded_at=now,
            )
            for key, e in new.items()
        ],
        # A concurrent writer may store the same event between our look-up and this insert.
        ignore_conflicts=True,
    )
    result.recorded += len(new)
    contact_rollups_refresh_ids(sorted({e.contact_id for e in new.values()}))
    _apply_status_effects(list(new.values()), list(new))


def activities_record(
    *, events: Iterable[ActivityEvent], batch_size: int = BATCH_SIZE
) -> RecordResult:
    """Store events once each and bring the contacts' rollups and statuses up to date.

    Steps, per batch of `batch_size` events (one transaction each):
    1. compute each event's natural key and drop the ones already stored;
    2. insert the new ones in one statement;
    3. recompute the rollups of the contacts concerned in one UPDATE;
    4. apply unsubscribes, hard bounces and complaints to the contacts' statuses.
    """
    result = RecordResult()
    batch: list[ActivityEvent] = []
    for event in events:
        batch.append(event)
        if len(batch) >= batch_size:
            with transaction.atomic():
                _record_batch(batch, result)
            batch = []
    if batch:
        with transaction.atomic():
            _record_batch(batch, result)
    return result
