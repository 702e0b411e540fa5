"""List cleaning: suppress the contacts who stopped engaging, and undo it.

A cleaning sets the e-mail status of the subscribed contacts a criterion picks to `cleaned`
(suppressed from sending). Nothing is deleted: each cleaned contact keeps a `CleanedContact` row
with the status, reason and date it had, so that a revert can put them back.

Both take tens of seconds on a large base, so the admin only asks for them
(`cleaning_request`, `cleaning_revert_request`) and a worker runs them (`cleaning_run`,
`cleaning_revert_run`), with the state on the cleaning (`status`, `revert_status`). A worker
claims its run with a conditional update, so a task delivered twice runs once, and does the
work in one transaction, so a failed run changes no contact.

The three criteria are segment rules ("never opened in N days" is "subscribed, in the base for
more than N days, no human open within the last N days"; a segment is "subscribed, and in that
segment"), so the rule compiler selects the contacts in one query and `rule_preview` counts
them. Both writes are set-based (one INSERT ... SELECT, one UPDATE), whatever the size of the
base.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django_q.tasks import async_task

from contacts.models import Activity, ActivityKind, Channel, Contact, EmailStatus
from segments.models import CleanedContact, Cleaning, Segment
from segments.rules import rule_clean, rule_contacts
from segments.selectors import RulePreview, rule_preview
from segments.services.evaluation import evaluation_lock_expiry

logger = logging.getLogger(__name__)

CleaningKind = Cleaning.Kind

# The rollup each "never ... in N days" criterion reads (human opens only, see contacts).
_ROLLUP = {CleaningKind.NEVER_OPENED: "last_open_at", CleaningKind.NEVER_CLICKED: "last_click_at"}
# Events that keep a contact suppressed when a revert would otherwise resubscribe it.
_OPT_OUTS = (ActivityKind.UNSUBSCRIBE, ActivityKind.COMPLAINT)


@dataclass(frozen=True)
class CleaningCriterion:
    """Which contacts a cleaning concerns: always subscribed ones, picked by `kind`."""

    kind: str
    days: int | None = None
    segment: Segment | None = None

    @classmethod
    def of(cls, cleaning: Cleaning) -> "CleaningCriterion":
        """The criterion a requested cleaning stored; ValidationError when it cannot run."""
        if cleaning.kind == CleaningKind.SEGMENT:
            if cleaning.segment_id is None:
                raise ValidationError(gettext("The segment was deleted before the cleaning ran."))
            return cls(kind=cleaning.kind, segment=cleaning.segment)
        return cls(kind=cleaning.kind, days=cleaning.days)

    def rule(self) -> dict:
        """The criterion as a cleaned segment rule; ValidationError when it does not hold."""
        subscribed = {"field": "email_status", "operator": "is", "value": [EmailStatus.SUBSCRIBED]}
        if self.kind == CleaningKind.SEGMENT:
            if self.segment is None:
                raise ValidationError(gettext("Choose a segment."))
            extra = [{"field": "segment", "operator": "is", "value": [self.segment.pk]}]
        elif self.kind in _ROLLUP:
            period = {"value": self.days, "unit": "days"}
            extra = [
                {"field": "created_at", "operator": "more_than", **period},
                {"field": _ROLLUP[self.kind], "operator": "not_within", **period},
            ]
        else:
            raise ValidationError(gettext("Unknown criterion."))
        return rule_clean({"match": "all", "conditions": [subscribed, *extra]})

    def label(self) -> str:
        """How the cleaning is named in its list (in the language of whoever runs it)."""
        if self.kind == CleaningKind.NEVER_OPENED:
            return gettext("Never opened in the last %(days)d days") % {"days": self.days}
        if self.kind == CleaningKind.NEVER_CLICKED:
            return gettext("Never clicked in the last %(days)d days") % {"days": self.days}
        return gettext("Members of the segment “%(segment)s”") % {"segment": self.segment}


def cleaning_reason(cleaning: Cleaning) -> str:
    """The e-mail status reason of the contacts `cleaning` suppressed (names the cleaning)."""
    return f"cleaning #{cleaning.pk}"


def cleaning_candidates(
    *, criterion: CleaningCriterion, now: datetime | None = None
) -> QuerySet[Contact]:
    """The contacts a cleaning by `criterion` would suppress now (one unevaluated query)."""
    return rule_contacts(criterion.rule(), now=now or timezone.now())


def cleaning_preview(*, criterion: CleaningCriterion, now: datetime | None = None) -> RulePreview:
    """How many contacts a cleaning would suppress, a sample, and the split by lead source."""
    return rule_preview(rule=criterion.rule(), now=now)


# Cleaning --------------------------------------------------------------------------------------


@transaction.atomic
def cleaning_request(
    *, criterion: CleaningCriterion, user, now: datetime | None = None
) -> Cleaning:
    """Ask a worker to suppress the contacts `criterion` picks; return the pending cleaning.

    1. Check the criterion: ValidationError (a bad number of days, no segment) writes nothing.
    2. Record the cleaning as pending, with the criterion, who asked and when.
    3. Queue `segments.tasks.cleaning_run` once the transaction commits (the worker must see
       the row).
    """
    now = now or timezone.now()
    criterion.rule()
    cleaning = Cleaning.objects.create(
        criterion=criterion.label()[: Cleaning._meta.get_field("criterion").max_length],
        kind=criterion.kind,
        days=criterion.days if criterion.kind in _ROLLUP else None,
        segment=criterion.segment if criterion.kind == CleaningKind.SEGMENT else None,
        status=Cleaning.Status.PENDING,
        created_by=user,
        created_at=now,
    )
    _task_queue("segments.tasks.cleaning_run", cleaning=cleaning, name="cleaning")
    return cleaning


def cleaning_run(*, cleaning_id: int, now: datetime | None = None) -> Cleaning | None:
    """Run a requested cleaning (in a worker). None when it was not pending: already run,
    running in another worker, or unknown.

    1. Claim it: a conditional update pending → running, with the start time. Only one
       worker gets it, however often the task is delivered; a run abandoned by a killed
       worker (running for longer than the task timeout) is claimed again.
    2. In one transaction, with the criterion applied now:
       a. one INSERT ... SELECT: a `CleanedContact` per matching contact, with the status,
          reason and date it has now;
       b. one UPDATE of those contacts that are still subscribed (a concurrent unsubscribe
          between the two statements wins): status `cleaned`, reason, date;
       c. drop the rows of contacts the UPDATE skipped;
       d. status done, with the count and the end time.
    3. On an error the transaction changed nothing: status failed, with the reason. A
       criterion that no longer holds (its segment deleted) is reported that way; anything
       unexpected is also logged and raised again, for the task log.
    """
    now = now or timezone.now()
    # A run older than the task timeout has no living worker (it was killed, and its
    # transaction rolled back): the task's redelivery takes it over instead of leaving the
    # cleaning "running" for ever.
    abandoned = Q(status=Cleaning.Status.RUNNING, started_at__lt=now - evaluation_lock_expiry())
    claimed = Cleaning.objects.filter(
        Q(status=Cleaning.Status.PENDING) | abandoned, pk=cleaning_id
    ).update(status=Cleaning.Status.RUNNING, started_at=now)
    if not claimed:
        return None
    cleaning = Cleaning.objects.select_related("segment").get(pk=cleaning_id)
    try:
        with transaction.atomic():
            count = _contacts_clean(cleaning=cleaning, now=now)
            Cleaning.objects.filter(pk=cleaning_id).update(
                status=Cleaning.Status.DONE, contact_count=count, finished_at=timezone.now()
            )
    except ValidationError as error:
        _cleaning_fail(cleaning_id=cleaning_id, error=" ".join(error.messages))
    except Exception as error:
        logger.exception("cleaning %s failed", cleaning_id)
        _cleaning_fail(cleaning_id=cleaning_id, error=_unexpected(error))
        raise
    cleaning.refresh_from_db()
    return cleaning


# Revert ----------------------------------------------------------------------------------------


@transaction.atomic
def cleaning_revert_request(*, cleaning: Cleaning, user, now: datetime | None = None) -> Cleaning:
    """Ask a worker to undo `cleaning`; return it, its revert pending.

    1. Claim the revert with a conditional update: only a done cleaning that is neither
       reverted nor being reverted (a failed revert changed nothing: it may be asked again).
       Otherwise ValidationError saying why, and nothing changes: a second request, or one
       racing this one, is refused.
    2. Record who asked and when; queue `segments.tasks.cleaning_revert_run` once committed.
    """
    now = now or timezone.now()
    claimed = Cleaning.objects.filter(
        pk=cleaning.pk,
        status=Cleaning.Status.DONE,
        revert_status__in=[Cleaning.RevertStatus.NONE, Cleaning.RevertStatus.FAILED],
    ).update(
        revert_status=Cleaning.RevertStatus.PENDING,
        reverted_by=user,
        revert_requested_at=now,
        revert_error="",
    )
    cleaning.refresh_from_db()
    if not claimed:
        # Read after the claim: another request may have just taken the revert.
        refusal = cleaning_revert_refusal(cleaning=cleaning)
        raise ValidationError(refusal or gettext("This cleaning is already being reverted."))
    _task_queue("segments.tasks.cleaning_revert_run", cleaning=cleaning, name="cleaning-revert")
    return cleaning


def cleaning_revert_run(*, cleaning_id: int, now: datetime | None = None) -> Cleaning | None:
    """Undo a cleaning whose revert was requested (in a worker). None when no revert was
    pending: already run, running in another worker, or unknown.

    1. Claim the revert: a conditional update pending → running.
    2. In one transaction:
       a. one UPDATE ... FROM the `CleanedContact` rows: the contacts still suppressed by this
          cleaning get back their previous status, reason and date (the date too, so that an
          unsubscribe or bounce that happened meanwhile and is recorded later still applies).
          Contacts whose status changed since (an unsubscribe, a bounce, a decision by staff)
          are left alone, and so are those with an unsubscribe or complaint recorded after
          their previous status: one that arrived late, while they were cleaned, and that the
          cleaned status hid. They stay suppressed;
       b. revert done, with the count and the time.
    3. On an error the transaction changed nothing: revert failed, with the reason (logged,
       and raised again for the task log). It may be asked again.
    """
    now = now or timezone.now()
    claimed = Cleaning.objects.filter(
        pk=cleaning_id, revert_status=Cleaning.RevertStatus.PENDING
    ).update(revert_status=Cleaning.RevertStatus.RUNNING)
    if not claimed:
        return None
    cleaning = Cleaning.objects.get(pk=cleaning_id)
    try:
        with transaction.atomic():
            restored = _contacts_restore(cleaning=cleaning, now=now)
            Cleaning.objects.filter(pk=cleaning_id).update(
                revert_status=Cleaning.RevertStatus.DONE, reverted_at=now, restored_count=restored
            )
    except Exception as error:
        logger.exception("revert of cleaning %s failed", cleaning_id)
        Cleaning.objects.filter(pk=cleaning_id).update(
            revert_status=Cleaning.RevertStatus.FAILED, revert_error=_unexpected(error)
        )
        raise
    cleaning.refresh_from_db()
    return cleaning


def cleaning_revert_refusal(*, cleaning: Cleaning) -> str | None:
    """Why `cleaning` cannot be reverted, as loaded; None when it can."""
    if cleaning.can_be_reverted:
        return None
    if cleaning.revert_status == Cleaning.RevertStatus.DONE:
        return gettext("This cleaning was already reverted.")
    if cleaning.revert_status in (Cleaning.RevertStatus.PENDING, Cleaning.RevertStatus.RUNNING):
        return gettext("This cleaning is already being reverted.")
    if cleaning.status == Cleaning.Status.FAILED:
        return gettext("This cleaning failed and changed no contact: there is nothing to revert.")
    return gettext("This cleaning has not finished yet: it can be reverted once it is done.")


# Helpers ---------------------------------------------------------------------------------------


def _task_queue(task: str, *, cleaning: Cleaning, name: str) -> None:
    transaction.on_commit(partial(async_task, task, cleaning.pk, task_name=f"{name}-{cleaning.pk}"))


def _cleaning_fail(*, cleaning_id: int, error: str) -> None:
    Cleaning.objects.filter(pk=cleaning_id).update(
        status=Cleaning.Status.FAILED, error=error, finished_at=timezone.now()
    )


def _unexpected(error: Exception) -> str:
    return gettext("unexpected error: %(error)s") % {"error": error}


def _contacts_clean(*, cleaning: Cleaning, now: datetime) -> int:
    # Steps 2a-2c of cleaning_run; returns how many contacts were cleaned.
    candidates = cleaning_candidates(criterion=CleaningCriterion.of(cleaning), now=now)
    recorded = _cleaned_contacts_insert(cleaning=cleaning, candidates=candidates)
    reason = cleaning_reason(cleaning)
    cleaned = Contact.objects.filter(
        Exists(CleanedContact.objects.filter(cleaning=cleaning, contact_id=OuterRef("pk"))),
        email_status=EmailStatus.SUBSCRIBED,
    ).update(
        email_status=EmailStatus.CLEANED,
        email_status_reason=reason,
        email_status_changed_at=now,
        updated_at=now,
    )
    if cleaned != recorded:
        CleanedContact.objects.filter(cleaning=cleaning).exclude(
            Exists(
                Contact.objects.filter(
                    pk=OuterRef("contact_id"),
                    email_status=EmailStatus.CLEANED,
                    email_status_reason=reason,
                )
            )
        ).delete()
    return cleaned


def _cleaned_contacts_insert(*, cleaning: Cleaning, candidates: QuerySet[Contact]) -> int:
    rows = candidates.order_by().values(
        candidate_id=F("pk"),
        candidate_status=F("email_status"),
        candidate_reason=F("email_status_reason"),
        candidate_changed_at=F("email_status_changed_at"),
    )
    select_sql, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(CleanedContact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "
            "(cleaning_id, contact_id, previous_status, previous_reason, previous_changed_at) "
            "SELECT %s, candidate.candidate_id, candidate.candidate_status, "
            "candidate.candidate_reason, candidate.candidate_changed_at "
            f"FROM ({select_sql}) candidate",
            [cleaning.pk, *params],
        )
        return cursor.rowcount


def _contacts_restore(*, cleaning: Cleaning, now: datetime) -> int:
    # UPDATE ... FROM (PostgreSQL, SQLite 3.33+): one join instead of a correlated subquery
    # per column and contact; the opt-outs are probed per row on the activity index.
    quote = connection.ops.quote_name
    contact = quote(Contact._meta.db_table)
    cleaned = quote(CleanedContact._meta.db_table)
    activity = quote(Activity._meta.db_table)
    updated_at = Contact._meta.get_field("updated_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {contact} SET email_status = previous.previous_status, "
            "email_status_reason = previous.previous_reason, "
            "email_status_changed_at = previous.previous_changed_at, "
            "updated_at = %s "
            f"FROM {cleaned} previous "
            f"WHERE previous.cleaning_id = %s AND previous.contact_id = {contact}.id "
            f"AND {contact}.email_status = %s AND {contact}.email_status_reason = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {activity} opt_out "
            f"WHERE opt_out.contact_id = {contact}.id "
            "AND opt_out.kind IN (%s, %s) AND opt_out.channel = %s "
            "AND (previous.previous_changed_at IS NULL "
            "OR opt_out.occurred_at > previous.previous_changed_at))",
            [
                updated_at,
                cleaning.pk,
                EmailStatus.CLEANED.value,
                cleaning_reason(cleaning),
                *[kind.value for kind in _OPT_OUTS],
                Channel.EMAIL.value,
            ],
        )
        return cursor.rowcount
