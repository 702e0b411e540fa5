"""Who a campaign goes to: targeting, exclusions, suppression, frequency cap and dilution.

Every step is a condition on `Contact` compiled into SQL; the counts come from one aggregate
over the targeted contacts, and `campaigns.services.campaign_messages_create` writes the
recipients with INSERT ... SELECT from the same querysets. No loop over contacts in Python.

A contact is counted once, under the first step that drops it:

    targeted (in a target list or a current member of a target segment)
    ├─ excluded (in an excluded list or segment)
    ├─ suppressed, by reason (e-mail status; for SMS, no phone or SMS status)
    └─ deliverable
       ├─ active (not in the `inactive` segment)
       │  ├─ capped (frequency cap reached)
       │  └─ active recipient
       └─ inactive (regular campaigns only)
          ├─ capped
          ├─ enrolled in a reactivation scenario (see `campaigns.registry`)
          └─ dilution candidate: the least recently targeted ones are included, up to
             floor(inactive_share_percent / 100 × active recipients)
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from campaigns.models import Campaign, FrequencyCap
from campaigns.registry import reactivation_enrolled_q
from contacts.models import (
    Activity,
    ActivityKind,
    Contact,
    EmailStatus,
    ListMembership,
    SmsStatus,
)
from segments.models import Segment, SegmentMembership
from segments.reports import INACTIVE_SEGMENT_SLUG

# The events that count as a marketing message received, for the frequency cap.
CAPPED_KINDS = [ActivityKind.SENT, ActivityKind.SMS_SENT]
NO_PHONE = "no_phone"

_NOBODY = Q(pk__in=[])


@dataclass(frozen=True)
class Audience:
    campaign_id: int
    channel: str
    now: datetime
    targeted: int
    excluded: int
    # Reason -> contacts: an e-mail status, or for SMS `no_phone` or an SMS status.
    suppressed_by_reason: dict[str, int]
    capped_active: int
    capped_inactive: int
    active: int
    inactive: int
    enrolled_skipped: int
    inactive_candidates: int
    inactive_limit: int
    # The recipients, as querysets of contacts (unordered / in dilution order, unlimited).
    active_contacts: QuerySet[Contact] = field(repr=False, compare=False)
    inactive_candidate_contacts: QuerySet[Contact] = field(repr=False, compare=False)

    @property
    def suppressed(self) -> int:
        return sum(self.suppressed_by_reason.values())

    @property
    def capped(self) -> int:
        return self.capped_active + self.capped_inactive

    @property
    def inactive_included(self) -> int:
        return min(self.inactive_limit, self.inactive_candidates)

    @property
    def recipients(self) -> int:
        return self.active + self.inactive_included

    @property
    def inactive_contacts(self) -> QuerySet[Contact]:
        """The inactive contacts dilution includes: least recently targeted first."""
        return self.inactive_candidate_contacts[: self.inactive_included]


def inactive_limit_compute(*, active: int, share_percent: Decimal) -> int:
    """floor(share_percent % of `active`), in exact decimal arithmetic: 25,000 at 5 % -> 1,250."""
    limit = (Decimal(active) * Decimal(share_percent) / 100).to_integral_value(ROUND_FLOOR)
    return max(0, int(limit))


def campaign_audience(*, campaign: Campaign, now: datetime | None = None) -> Audience:
    """Compute `campaign`'s audience as of `now`.

    Steps:
    1. build the conditions: targeted, excluded, deliverable on the channel, inactive,
       frequency-capped (one aggregate over the recent sends), enrolled in reactivation;
    2. put each targeted contact in one bucket (the first step that drops it) and count the
       buckets in one grouped query;
    3. derive the dilution limit from the active recipients and the campaign's share.
    """
    now = now or timezone.now()
    targeted = _targeted_q(campaign)
    if targeted is None:
        return _empty(campaign, now)
    excluded = _excluded_q(campaign)
    deliverable, reasons = _deliverable_q(campaign.channel)
    regular = campaign.kind == Campaign.Kind.REGULAR
    inactive = _inactive_q() if regular else _NOBODY
    capped = _capped_q(campaign, now=now)
    enrolled = reactivation_enrolled_q()

    kept = ~excluded & deliverable
    active = kept & ~inactive & ~capped
    candidates = kept & inactive & ~capped & ~enrolled
    # Each contact falls in one bucket. A CASE tests each condition once per contact, in
    # order, so that every subquery (the cap's aggregate above all) is planned and run once:
    # with one COUNT(... FILTER) per step, PostgreSQL ran the same aggregate for each.
    bucket = Case(
        When(excluded, then=Value("excluded")),
        *(When(condition, then=Value(f"suppressed:{r}")) for r, condition in reasons.items()),
        When(
            capped,
            then=Case(
                When(inactive, then=Value("capped_inactive")), default=Value("capped_active")
            ),
        ),
        When(
            inactive,
            then=Case(
                When(enrolled, then=Value("enrolled_skipped")),
                default=Value("inactive_candidates"),
            ),
        ),
        default=Value("active"),
        output_field=CharField(),
    )
    targeted_contacts = Contact.objects.filter(targeted).order_by()
    with transaction.atomic():
        _tune_session()
        totals = dict.fromkeys(
            ["excluded", "capped_active", "capped_inactive", "enrolled_skipped"]
            + ["inactive_candidates", "active"],
            0,
        ) | dict(
            targeted_contacts.annotate(bucket=bucket)
            .values("bucket")
            .annotate(contacts=Count("*"))
            .values_list("bucket", "contacts")
        )

    active_count = totals["active"]
    return Audience(
        campaign_id=campaign.pk,
        channel=campaign.channel,
        now=now,
        targeted=sum(totals.values()),
        excluded=totals["excluded"],
        suppressed_by_reason={
            reason: totals[f"suppressed:{reason}"]
            for reason in reasons
            if totals.get(f"suppressed:{reason}")
        },
        capped_active=totals["capped_active"],
        capped_inactive=totals["capped_inactive"],
        active=active_count,
        inactive=(
            totals["capped_inactive"] + totals["enrolled_skipped"] + totals["inactive_candidates"]
        ),
        enrolled_skipped=totals["enrolled_skipped"],
        inactive_candidates=totals["inactive_candidates"],
        inactive_limit=(
            inactive_limit_compute(
                active=active_count, share_percent=campaign.inactive_share_percent
            )
            if regular
            else 0
        ),
        active_contacts=targeted_contacts.filter(active),
        inactive_candidate_contacts=targeted_contacts.filter(candidates).order_by(
            F("last_targeted_at").asc(nulls_first=True), "pk"
        ),
    )


def _empty(campaign: Campaign, now: datetime) -> Audience:
    nobody = Contact.objects.none()
    return Audience(
        campaign_id=campaign.pk,
        channel=campaign.channel,
        now=now,
        targeted=0,
        excluded=0,
        suppressed_by_reason={},
        capped_active=0,
        capped_inactive=0,
        active=0,
        inactive=0,
        enrolled_skipped=0,
        inactive_candidates=0,
        inactive_limit=0,
        active_contacts=nobody,
        inactive_candidate_contacts=nobody,
    )


def _in_lists(list_ids: list[int]) -> Q:
    return Q(
        Exists(ListMembership.objects.filter(contact=OuterRef("pk"), contact_list_id__in=list_ids))
    )


def _in_segments(segment_ids: list[int]) -> Q:
    return Q(
        Exists(
            SegmentMembership.objects.filter(
                contact=OuterRef("pk"), segment_id__in=segment_ids, exited_at__isnull=True
            )
        )
    )


def _membership_q(list_ids: list[int], segment_ids: list[int]) -> Q | None:
    q = None
    if list_ids:
        q = _in_lists(list_ids)
    if segment_ids:
        q = _in_segments(segment_ids) if q is None else q | _in_segments(segment_ids)
    return q


def _targeted_q(campaign: Campaign) -> Q | None:
    """In a target list or a current member of a target segment; None: no target at all."""
    return _membership_q(
        list(campaign.target_lists.values_list("pk", flat=True)),
        list(campaign.target_segments.values_list("pk", flat=True)),
    )


def _excluded_q(campaign: Campaign) -> Q:
    q = _membership_q(
        list(campaign.exclude_lists.values_list("pk", flat=True)),
        list(campaign.exclude_segments.values_list("pk", flat=True)),
    )
    return _NOBODY if q is None else q


def _deliverable_q(channel: str) -> tuple[Q, dict[str, Q]]:
    """Who may receive `channel`, and the reasons (exclusive) why the others may not."""
    if channel == Campaign.Channel.SMS:
        reasons = {NO_PHONE: Q(phone="")} | {
            status: ~Q(phone="") & Q(sms_status=status)
            for status in SmsStatus.values
            if status != SmsStatus.SUBSCRIBED
        }
        return ~Q(phone="") & Q(sms_status=SmsStatus.SUBSCRIBED), reasons
    reasons = {
        status: Q(email_status=status)
        for status in EmailStatus.values
        if status != EmailStatus.SUBSCRIBED
    }
    return Q(email_status=EmailStatus.SUBSCRIBED), reasons


def _inactive_q() -> Q:
    """Current members of the built-in `inactive` segment (no one if it was deleted)."""
    segment_id = (
        Segment.objects.filter(slug=INACTIVE_SEGMENT_SLUG).values_list("pk", flat=True).first()
    )
    return _NOBODY if segment_id is None else _in_segments([segment_id])


def _capped_q(campaign: Campaign, *, now: datetime) -> Q:
    """Contacts who already received as many marketing messages as the frequency cap allows,
    in the last day, 7 days or 30 days: one grouped aggregate over the recent sends, read from
    the partial index of sends alone (`activity_send_at_idx`: date and contact, no table read).

    Sending records each message as a send, so the audience of a campaign is computed once,
    when its messages are written (see `campaign_messages_create`), not again mid-sending."""
    cap = FrequencyCap.load()
    windows = [
        (limit, now - timedelta(days=days))
        for limit, days in ((cap.per_day, 1), (cap.per_week, 7), (cap.per_month, 30))
        if limit
    ]
    if not windows:
        return _NOBODY
    oldest = min(since for _limit, since in windows)
    having = Q()
    counts = {}
    for index, (limit, since) in enumerate(windows):
        counts[f"window_{index}"] = Count("contact_id", filter=Q(occurred_at__gt=since))
        having |= Q(**{f"window_{index}__gte": limit})
    capped_ids = (
        Activity.objects.filter(kind__in=CAPPED_KINDS, occurred_at__gt=oldest, occurred_at__lte=now)
        .order_by()
        .values("contact_id")
        .annotate(**counts)
        .filter(having)
        .values("contact_id")
    )
    return Q(pk__in=capped_ids)


def _tune_session() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The cap's aggregate and the memberships are hashed: keep them in memory. JIT
            # compilation costs more than it saves on these one-pass queries.
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL jit = off")
