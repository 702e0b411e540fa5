"""List cleaning: suppress the contacts who stopped engaging, and undo it.

A cleaning sets the e-mail status of the subscribed contacts a criterion picks to `cleaned`
(suppressed from sending). Nothing is deleted: each cleaned contact keeps a `CleanedContact` row
with the status, reason and date it had, so that `cleaning_revert` can put them back.

The three criteria are segment rules ("never opened in N days" is "subscribed, in the base for
more than N days, no human open within the last N days"; a segment is "subscribed, and in that
segment"), so the rule compiler selects the contacts in one query and `rule_preview` counts
them. Both writes are set-based (one INSERT ... SELECT, one UPDATE), whatever the size of the
base.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contacts.models import Activity, ActivityKind, Channel, Contact, EmailStatus
from segments.models import CleanedContact, Cleaning, Segment
from segments.rules import rule_clean, rule_contacts
from segments.selectors import RulePreview, rule_preview


class CleaningKind(models.TextChoices):
    NEVER_OPENED = "never_opened", _("Never opened in the last N days")
    NEVER_CLICKED = "never_clicked", _("Never clicked in the last N days")
    SEGMENT = "segment", _("Members of a segment")


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


@transaction.atomic
def contacts_clean(*, criterion: CleaningCriterion, user, now: datetime | None = None) -> Cleaning:
    """Suppress the contacts `criterion` picks: their e-mail status becomes `cleaned`.

    1. Record the cleaning: its id names it in the contacts' status reason.
    2. One INSERT ... SELECT: a `CleanedContact` per matching contact, with the status, reason
       and date it has now.
    3. One UPDATE of those contacts that are still subscribed (a concurrent unsubscribe
       between the two statements wins): status `cleaned`, reason, date.
    4. Drop the rows of contacts the UPDATE skipped, and store the count.

    Raises ValidationError when the criterion does not hold (a bad number of days, a segment
    deleted meanwhile); nothing is written then.
    """
    now = now or timezone.now()
    candidates = cleaning_candidates(criterion=criterion, now=now)
    cleaning = Cleaning.objects.create(
        criterion=criterion.label()[: Cleaning._meta.get_field("criterion").max_length],
        segment=criterion.segment if criterion.kind == CleaningKind.SEGMENT else None,
        created_by=user,
        created_at=now,
    )
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
    cleaning.contact_count = cleaned
    cleaning.save(update_fields=["contact_count"])
    return cleaning


@transaction.atomic
def cleaning_revert(*, cleaning: Cleaning, user, now: datetime | None = None) -> int:
    """Undo `cleaning`; return how many contacts got their previous status back.

    1. Claim the revert with a conditional update (`reverted_at` still empty): a second revert,
       or one racing this one, changes nothing and returns 0.
    2. One UPDATE ... FROM the `CleanedContact` rows: the contacts still suppressed by this
       cleaning get back their previous status, reason and date (the date too, so that an
       unsubscribe or bounce that happened meanwhile and is recorded later still applies).
       Contacts whose status changed since (an unsubscribe, a bounce, a decision by staff)
       are left alone, and so are those with an unsubscribe or complaint recorded after their
       previous status: one that arrived late, while they were cleaned, and that the
       cleaned status hid. They stay suppressed.
    3. Store the count on the cleaning.
    """
    now = now or timezone.now()
    claimed = Cleaning.objects.filter(pk=cleaning.pk, reverted_at__isnull=True).update(
        reverted_at=now, reverted_by=user
    )
    if not claimed:
        cleaning.refresh_from_db()
        return 0
    restored = _contacts_restore(cleaning=cleaning, now=now)
    Cleaning.objects.filter(pk=cleaning.pk).update(restored_count=restored)
    cleaning.reverted_at, cleaning.reverted_by, cleaning.restored_count = now, user, restored
    return restored


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
