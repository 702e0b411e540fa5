"""The engine: moves due enrollments through their scenario's blocks, each block once.

A tick (every minute, see `scenarios.tasks`):
1. exits: enrollments whose contact can no longer be written to (e-mail status not
   subscribed) exit as "unsubscribed"; those whose contact left the trigger segment after
   engaging (an open, click or purchase after entry) exit as "reactivated";
2. wakes the enrollments waiting for a click that came (one UPDATE per wait-for-click block);
3. claims the due enrollments in batches, one transaction per batch (`select_for_update(
   skip_locked=True)` on PostgreSQL; on SQLite the IMMEDIATE transaction serialises writers),
   runs the handlers block by block, writes the log and moves the enrollments in bulk.

Each executed block writes an `EnrollmentStep` numbered `steps + 1`; the unique (enrollment,
step) key makes a doubled run fail (and roll back) rather than repeat. Holding at a wait block
writes no step: the step is written when the enrollment leaves it. Whatever a handler wrote
(messages, tags, activity) commits or rolls back with the batch, so a crash leaves every
enrollment of the batch before its block, never lost, never doubled.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from contacts.models import Activity, ActivityKind, EmailStatus, SmsStatus
from scenarios.blocks import REGISTRY, BlockHandler, handlers_load
from scenarios.models import Block, Enrollment, EnrollmentStep, Scenario
from scenarios.outcomes import BLOCK_REMOVED, EXIT_STEP, REACTIVATED, UNSUBSCRIBED
from segments.models import SegmentMembership

logger = logging.getLogger(__name__)

# How many blocks one enrollment may run in one batch: enough for any sane run of blocks
# between two waits, and a bound on a cycle without a wait (which activation refuses anyway).
MAX_STEPS_PER_BATCH = 50
# An enrollment stopped by that bound goes on at the next tick.
STEP_BOUND_DELAY = timedelta(minutes=1)
# A block that raised is tried again for its enrollments after this long (they stay where they
# are, nothing of the failed run kept).
BLOCK_ERROR_DELAY = timedelta(minutes=10)

# E-mail statuses no scenario mail reaches.
UNREACHABLE_EMAIL = [
    EmailStatus.UNSUBSCRIBED,
    EmailStatus.BOUNCED,
    EmailStatus.COMPLAINED,
    EmailStatus.CLEANED,
]

_UPDATED_FIELDS = [
    "block",
    "state",
    "wake_at",
    "waiting_since",
    "branch",
    "steps",
    "finished_at",
    "outcome",
]


@dataclass
class TickResult:
    # Blocks executed (each a log row), enrollments left holding, enrollments completed by an
    # end block, enrollments that exited.
    advanced: int = 0
    waiting: int = 0
    completed: int = 0
    exited: int = 0
    # Enrollments whose block raised: retried after BLOCK_ERROR_DELAY.
    failed: int = 0

    def add(self, other: "TickResult") -> None:
        self.advanced += other.advanced
        self.waiting += other.waiting
        self.completed += other.completed
        self.exited += other.exited
        self.failed += other.failed

    def __str__(self) -> str:
        text = (
            f"advanced {self.advanced}, waiting {self.waiting}, completed {self.completed}, "
            f"exited {self.exited}"
        )
        return text + (f", failed {self.failed}" if self.failed else "")


def scenarios_tick(*, now: datetime | None = None, batch_size: int = 1000) -> TickResult:
    """One tick of the engine (see the module's docstring for the steps)."""
    now = now or timezone.now()
    if not REGISTRY:
        handlers_load()
    result = TickResult()
    result.exited += enrollments_exit(now=now, batch_size=batch_size)
    click_wakes(now=now)
    while True:
        with transaction.atomic():
            batch = _claim(now=now, batch_size=batch_size)
            if not batch:
                break
            result.add(_batch_run(batch, now=now))
    return result


def _open_in_active() -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(
        state__in=Enrollment.OPEN_STATES, scenario__status=Scenario.Status.ACTIVE
    )


def _locked(queryset: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
    if connection.vendor == "postgresql":
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def _claim(*, now: datetime, batch_size: int) -> list[Enrollment]:
    due = _open_in_active().filter(wake_at__lte=now).order_by("wake_at", "pk")
    return list(_locked(due)[:batch_size])


# 1. Exits


def enrollments_exit(*, now: datetime, batch_size: int = 1000) -> int:
    """Exit the open enrollments of active scenarios whose contact unsubscribed, whose contact
    left the trigger segment after engaging, or whose block was removed; returns how many
    exited.

    "Unsubscribed" means: an unsubscribe or a complaint on any channel since the enrollment
    began (a scenario's own unsubscribe block included), or no channel left to reach the
    contact on. A contact who was never subscribed to e-mail but can get SMS stays in: the
    SMS branch of a scenario is for such contacts too.
    """
    opted_out = Activity.objects.filter(
        contact_id=OuterRef("contact_id"),
        kind__in=[ActivityKind.UNSUBSCRIBE, ActivityKind.COMPLAINT],
        occurred_at__gte=OuterRef("entered_at"),
    )
    unreachable = Q(contact__email_status__in=UNREACHABLE_EMAIL) & ~Q(
        contact__sms_status=SmsStatus.SUBSCRIBED
    )
    exited = _exits_apply(
        _open_in_active().filter(Exists(opted_out) | unreachable),
        outcome=UNSUBSCRIBED,
        now=now,
        batch_size=batch_size,
    )
    entries = Block.objects.filter(
        kind="entry", scenario__status=Scenario.Status.ACTIVE
    ).values_list("scenario_id", "config")
    for scenario_id, config in entries:
        segment_id = (config or {}).get("segment")
        if not segment_id:
            continue
        in_segment = SegmentMembership.objects.filter(
            segment_id=segment_id, contact_id=OuterRef("contact_id"), exited_at__isnull=True
        )
        engaged = (
            Q(contact__last_open_at__gt=F("entered_at"))
            | Q(contact__last_click_at__gt=F("entered_at"))
            | Q(contact__last_purchase_at__gt=F("entered_at"))
        )
        exited += _exits_apply(
            _open_in_active().filter(engaged, ~Exists(in_segment), scenario_id=scenario_id),
            outcome=REACTIVATED,
            now=now,
            batch_size=batch_size,
        )
    exited += _exits_apply(
        _open_in_active().filter(block__isnull=True),
        outcome=BLOCK_REMOVED,
        now=now,
        batch_size=batch_size,
    )
    return exited


def _exits_apply(queryset: QuerySet, *, outcome: str, now: datetime, batch_size: int) -> int:
    done = 0
    while True:
        with transaction.atomic():
            batch = list(_locked(queryset.order_by("pk"))[:batch_size])
            if not batch:
                return done
            steps = []
            for enrollment in batch:
                enrollment.steps += 1
                steps.append(
                    EnrollmentStep(
                        enrollment_id=enrollment.pk,
                        step=enrollment.steps,
                        block_id=enrollment.block_id,
                        kind=EXIT_STEP,
                        result=outcome,
                        executed_at=now,
                    )
                )
                enrollment.state = Enrollment.State.EXITED
                enrollment.outcome = outcome
                enrollment.finished_at = now
                enrollment.wake_at = None
            EnrollmentStep.objects.bulk_create(steps)
            _enrollments_save(batch)
            done += len(batch)


# 2. Click wakes


def click_wakes(*, now: datetime) -> int:
    """Make due the enrollments holding at a block that something lets go early (a click);
    one UPDATE per such block. Returns how many were woken."""
    woken = 0
    kinds = [kind for kind, handler in REGISTRY.items() if _overrides_wake(handler)]
    blocks = Block.objects.filter(kind__in=kinds, scenario__status=Scenario.Status.ACTIVE).order_by(
        "pk"
    )
    for block in blocks:
        condition = REGISTRY[block.kind].wake_condition(block)
        if condition is None:
            continue
        woken += Enrollment.objects.filter(
            condition, block=block, state=Enrollment.State.WAITING, wake_at__gt=now
        ).update(wake_at=now)
    return woken


def _overrides_wake(handler) -> bool:
    return type(handler).wake_condition is not BlockHandler.wake_condition


# 3. Running blocks


def _batch_run(batch: list[Enrollment], *, now: datetime) -> TickResult:
    """Run the claimed enrollments until each holds, ends or reaches the step bound; write
    their log and their new positions."""
    result = TickResult()
    blocks = {
        block.pk: block
        for block in Block.objects.filter(
            scenario_id__in={enrollment.scenario_id for enrollment in batch}
        ).select_related("campaign")
    }
    by_key = {(block.scenario_id, block.key): block for block in blocks.values()}
    steps: list[EnrollmentStep] = []
    pending = batch
    for _round in range(MAX_STEPS_PER_BATCH):
        if not pending:
            break
        groups: dict[int, list[Enrollment]] = defaultdict(list)
        for enrollment in pending:
            groups[enrollment.block_id].append(enrollment)
        pending = []
        for block_id, enrollments in groups.items():
            block = blocks.get(block_id)
            if block is None or block.kind not in REGISTRY:
                # Removed under it, or a kind no longer known: it cannot go on.
                for enrollment in enrollments:
                    _finish(
                        enrollment,
                        steps,
                        block=None,
                        kind=EXIT_STEP,
                        result=BLOCK_REMOVED,
                        state=Enrollment.State.EXITED,
                        now=now,
                    )
                    result.exited += 1
                continue
            handler = REGISTRY[block.kind]
            try:
                # A savepoint: a block that fails undoes only its own writes, and only its
                # enrollments wait; the rest of the batch (and of the base) goes on.
                with transaction.atomic():
                    moves = handler.run(block=block, enrollments=enrollments, now=now)
            except Exception:
                logger.exception(
                    "Block %s (%s) of scenario %s failed for %d enrollments; retried in %s",
                    block.key,
                    block.kind,
                    block.scenario_id,
                    len(enrollments),
                    BLOCK_ERROR_DELAY,
                )
                for enrollment in enrollments:
                    enrollment.wake_at = now + BLOCK_ERROR_DELAY
                result.failed += len(enrollments)
                continue
            for enrollment in enrollments:
                move = moves[enrollment.pk]
                if move.holds:
                    if enrollment.state != Enrollment.State.WAITING:
                        enrollment.waiting_since = now
                    enrollment.state = Enrollment.State.WAITING
                    # Never due again within this tick: a hold is a hold.
                    wake_at = move.wake_at or now + STEP_BOUND_DELAY
                    enrollment.wake_at = max(wake_at, now + timedelta(microseconds=1))
                    result.waiting += 1
                    continue
                if move.outcome:
                    _finish(
                        enrollment,
                        steps,
                        block=block,
                        kind=block.kind,
                        result=move.outcome,
                        state=Enrollment.State.COMPLETED,
                        now=now,
                        detail=move.detail,
                    )
                    result.advanced += 1
                    result.completed += 1
                    continue
                enrollment.steps += 1
                steps.append(
                    _step(enrollment, block=block, result=move.branch, now=now, detail=move.detail)
                )
                result.advanced += 1
                if handler.records_branch:
                    enrollment.branch = move.branch
                target_key = (block.next or {}).get(move.branch) or ""
                target = by_key.get((block.scenario_id, target_key))
                if target is None:
                    # A path without an end block (activation refuses it, an edit may leave
                    # it): the scenario is over for this contact.
                    enrollment.state = Enrollment.State.COMPLETED
                    enrollment.finished_at = now
                    enrollment.wake_at = None
                    enrollment.waiting_since = None
                    result.completed += 1
                    continue
                enrollment.block = target
                enrollment.state = Enrollment.State.ACTIVE
                enrollment.wake_at = now
                enrollment.waiting_since = None
                pending.append(enrollment)
    for enrollment in pending:
        # Stopped by the step bound: goes on at a later tick.
        enrollment.wake_at = now + STEP_BOUND_DELAY
    EnrollmentStep.objects.bulk_create(steps)
    _enrollments_save(batch)
    return result


def _step(enrollment: Enrollment, *, block, result: str, now: datetime, detail=None, kind=""):
    return EnrollmentStep(
        enrollment_id=enrollment.pk,
        step=enrollment.steps,
        block_id=block.pk if block is not None else None,
        kind=kind or block.kind,
        result=result,
        detail=detail or {},
        executed_at=now,
    )


def _finish(enrollment, steps, *, block, kind, result, state, now, detail=None) -> None:
    enrollment.steps += 1
    steps.append(_step(enrollment, block=block, result=result, now=now, detail=detail, kind=kind))
    enrollment.state = state
    enrollment.outcome = result[:40]
    enrollment.finished_at = now
    enrollment.wake_at = None
    enrollment.waiting_since = None


def _enrollments_save(enrollments: list[Enrollment]) -> None:
    """Write the new positions of a batch: on PostgreSQL one UPDATE ... FROM (VALUES ...) per
    chunk (the ORM's bulk_update, a CASE per field, grows with the square of the batch)."""
    if connection.vendor != "postgresql":
        Enrollment.objects.bulk_update(enrollments, _UPDATED_FIELDS, batch_size=500)
        return
    table = connection.ops.quote_name(Enrollment._meta.db_table)
    row = (
        "(%s::bigint, %s::bigint, %s::varchar, %s::timestamptz, %s::timestamptz, %s::varchar,"
        " %s::integer, %s::timestamptz, %s::varchar)"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(enrollments), 2000):
            chunk = enrollments[start : start + 2000]
            params = []
            for e in chunk:
                params += [
                    e.pk,
                    e.block_id,
                    e.state,
                    e.wake_at,
                    e.waiting_since,
                    e.branch,
                    e.steps,
                    e.finished_at,
                    e.outcome,
                ]
            cursor.execute(
                f"UPDATE {table} e SET block_id = v.block_id, state = v.state,"
                " wake_at = v.wake_at, waiting_since = v.waiting_since, branch = v.branch,"
                " steps = v.steps, finished_at = v.finished_at, outcome = v.outcome"
                f" FROM (VALUES {', '.join([row] * len(chunk))})"
                " AS v(id, block_id, state, wake_at, waiting_since, branch, steps, finished_at,"
                " outcome) WHERE e.id = v.id",
                params,
            )
