"""Engagement levels: how long ago each contact last engaged, as a level, a history and a score.

A contact engages by a human open, a click or a visit; the rollups `last_open_at`,
`last_click_at` and `last_visit_at` already leave machine opens out. The periods and the score
amounts come from the `EngagementPolicy` singleton.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from contacts.models import Contact, EngagementChange, EngagementLevel, EngagementPolicy

BATCH_SIZE = 100_000
# What counts as engaging. Machine opens never reach `last_open_at` (see services.activity).
ENGAGEMENT_ROLLUPS = ("last_open_at", "last_click_at", "last_visit_at")
# Both say "engaged": moving between them is recorded but leaves the score alone.
ENGAGED_LEVELS = (EngagementLevel.RECENT, EngagementLevel.ENGAGED)


@dataclass(slots=True)
class EngagementUpdateResult:
    """What a run did (or, with `dry_run`, would do): contacts examined, and how many moved
    to each level."""

    examined: int = 0
    changed: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(EngagementLevel.values, 0)
    )
    duration: float = 0.0
    dry_run: bool = False

    @property
    def changed_total(self) -> int:
        return sum(self.changed.values())


def _engaged_since(cutoff: datetime) -> Q:
    """Engaged at `cutoff` or later. Each rollup is compared on its own: a NULL one simply
    does not match, which sidesteps GREATEST (NULL if any argument is NULL on SQLite)."""
    engaged = Q()
    for name in ENGAGEMENT_ROLLUPS:
        engaged |= Q(**{f"{name}__gte": cutoff})
    return engaged


def _never_engaged() -> Q:
    return Q(**{f"{name}__isnull": True for name in ENGAGEMENT_ROLLUPS})


def _periods(policy: EngagementPolicy, now: datetime) -> list[tuple[str, Q]]:
    """Each timed level with its condition, shortest period first: the first match wins.

    A period of N days includes its end: engaged exactly N × 24 hours ago still counts.
    """
    return [
        (level, _engaged_since(now - timedelta(days=days)))
        for level, days in (
            (EngagementLevel.RECENT, policy.recent_days),
            (EngagementLevel.ENGAGED, policy.engaged_days),
            (EngagementLevel.DISENGAGED, policy.disengaged_days),
        )
    ]


def engagement_level_expression(*, policy: EngagementPolicy, now: datetime) -> Case:
    """The level a contact should have at `now`, as an expression over its rollups."""
    whens = [When(condition, then=Value(level)) for level, condition in _periods(policy, now)]
    whens.append(When(_never_engaged(), then=Value(EngagementLevel.NEVER)))
    return Case(*whens, default=Value(EngagementLevel.INACTIVE), output_field=CharField())


def _score_delta_expression(*, policy: EngagementPolicy, now: datetime) -> Case:
    """The score change when a contact moves from its current level to the one above.

    Only meaningful where the level changes: SET and SELECT expressions read the row as it
    was, so `engagement_level` here is the level being left.
    """
    whens = []
    for level, condition in _periods(policy, now):
        if level in ENGAGED_LEVELS:
            whens.append(When(condition & Q(engagement_level__in=ENGAGED_LEVELS), then=Value(0)))
        whens.append(When(condition, then=Value(policy.score_for(level))))
    whens.append(When(_never_engaged(), then=Value(policy.score_never)))
    return Case(*whens, default=Value(policy.score_inactive), output_field=IntegerField())


def _changes(*, low: int, high: int, level: Case, delta: Case) -> QuerySet[Contact]:
    """Contacts with ids in [low, high) whose level differs from the computed one."""
    return (
        Contact.objects.filter(pk__gte=low, pk__lt=high)
        .annotate(new_level=level)
        .exclude(engagement_level=F("new_level"))
        .annotate(score_delta=delta)
        .order_by()
    )


def _history_rows_sql(changes: QuerySet[Contact], now: datetime) -> tuple[str, tuple]:
    """SELECT of the history rows (contact, from, to, delta, when) for `changes`."""
    rows = changes.annotate(changed_at=Value(now, output_field=DateTimeField())).values_list(
        "pk", "engagement_level", "new_level", "score_delta", "changed_at"
    )
    return rows.query.get_compiler(connection=connection).as_sql()


def _count_per_level(changes: QuerySet[Contact]) -> dict[str, int]:
    return dict(changes.values("new_level").annotate(n=Count("pk")).values_list("new_level", "n"))


_HISTORY_COLUMNS = "contact_id, from_level, to_level, score_delta, changed_at"

# One statement, so the history and the contacts cannot disagree under concurrent writers:
# the UPDATE writes exactly the rows it logs. A contact updated meanwhile (new rollups, a
# concurrent run) is re-checked on its latest version: if its level already changed, it is
# left alone and not logged; its rollups are picked up by the next run.
_APPLY_POSTGRESQL = """
    WITH fresh (id, from_level, to_level, score_delta, changed_at) AS ({rows}),
    changed AS (
        UPDATE {contacts} c
        SET engagement_level = f.to_level, score = c.score + f.score_delta
        FROM fresh f
        -- The range again, on this side of the join too: the planner does not carry it over.
        WHERE c.id = f.id AND c.id >= %s AND c.id < %s AND c.engagement_level = f.from_level
        RETURNING f.id, f.from_level, f.to_level, f.score_delta, f.changed_at
    ),
    logged AS (
        INSERT INTO {history} ({columns})
        SELECT id, from_level, to_level, score_delta, changed_at FROM changed
    )
    SELECT to_level, count(*) FROM changed GROUP BY to_level
"""


def _batch_apply(
    *, changes: QuerySet[Contact], level: Case, delta: Case, now: datetime, low: int, high: int
) -> dict[str, int]:
    """Log and apply the changes of one id range; returns how many moved to each level."""
    rows_sql, params = _history_rows_sql(changes, now)
    history = connection.ops.quote_name(EngagementChange._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Compiling this statement for each batch would cost more than running it.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(
                _APPLY_POSTGRESQL.format(
                    rows=rows_sql,
                    contacts=connection.ops.quote_name(Contact._meta.db_table),
                    history=history,
                    columns=_HISTORY_COLUMNS,
                ),
                (*params, low, high),
            )
            return dict(cursor.fetchall())
    # SQLite has no data-modifying CTE. Its single writer makes the three statements below
    # see the same rows: no one else can write until this batch commits.
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {history} ({_HISTORY_COLUMNS}) {rows_sql}", params)
    counts = _count_per_level(changes)
    Contact.objects.filter(pk__gte=low, pk__lt=high).exclude(engagement_level=level).update(
        engagement_level=level, score=F("score") + delta
    )
    return counts


def engagement_levels_update(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    progress: Callable[[EngagementUpdateResult], None] | None = None,
) -> EngagementUpdateResult:
    """Bring every contact's engagement level in line with its rollups at `now`.

    Steps:
    1. read the policy and turn its periods into cut-off datetimes before `now`;
    2. walk the contacts by ranges of `batch_size` ids, one short transaction each;
    3. in each range, select the contacts whose computed level differs from the stored one,
       insert one history row per contact (from, to, score change) and update their level
       and score, in one INSERT ... SELECT and one UPDATE (a single statement on PostgreSQL);
    4. count them per new level, and report progress after each range.

    With `dry_run`, step 3 only counts. A contact whose level did not change gets no history
    row, so running twice at the same moment changes nothing the second time. The score moves
    by the policy's amount for the new level, except between `recent` and `engaged`.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    now = now or timezone.now()
    policy = EngagementPolicy.load()
    level = engagement_level_expression(policy=policy, now=now)
    delta = _score_delta_expression(policy=policy, now=now)
    result = EngagementUpdateResult(dry_run=dry_run)
    bounds = Contact.objects.aggregate(first=Min("pk"), last=Max("pk"))
    if bounds["first"] is not None:
        for low in range(bounds["first"], bounds["last"] + 1, batch_size):
            high = low + batch_size
            changes = _changes(low=low, high=high, level=level, delta=delta)
            if dry_run:
                counts = _count_per_level(changes)
            else:
                with transaction.atomic():
                    counts = _batch_apply(
                        changes=changes, level=level, delta=delta, now=now, low=low, high=high
                    )
            result.examined += Contact.objects.filter(pk__gte=low, pk__lt=high).count()
            for name, count in counts.items():
                result.changed[name] += count
            if progress is not None:
                progress(result)
    result.duration = time.perf_counter() - started
    return result
