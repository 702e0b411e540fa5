"""Demo only: a past of daily snapshots, rebuilt from the activity log (`seed_demo_dashboard`).

The demo base (`seed_demo`) comes with two years of activity but no history of engagement
levels or segment stays: its levels are set directly, and the `inactive` segment is evaluated
once. So each past day is rebuilt from the events before that day's snapshot time (04:00):

- the engagement level, with the engagement policy's periods, from the latest human open,
  click or visit before then (the events behind the rollups that the daily job reads);
- the `inactive` segment, by its built-in definition: subscribed, in the base for more than
  6 months, sent an e-mail within the last 3 months, no human open nor click within 6 months.

Approximations, which is why such snapshots are marked `reconstructed`: the contacts deleted
since are missing, an e-mail status changed since is taken as subscribed before its change,
and an edited `inactive` rule is not followed. Each day is one aggregate query whose
subqueries probe the activity index once per contact: fine for a demo base of a few thousand
contacts, not meant for a production base.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Count,
    OuterRef,
    Q,
    Subquery,
)
from django.utils import timezone

from contacts.models import Activity, Contact, EmailStatus, EngagementLevel, EngagementPolicy
from contacts.services.activity import ROLLUP_KINDS
from contacts.services.engagement import ENGAGEMENT_ROLLUPS
from dashboard.models import BaseSnapshot
from dashboard.services import snapshots_upsert
from segments.rules.compiler import period_before

# When the daily snapshot is taken (config.schedules), local time.
SNAPSHOT_TIME = time(4, 0)


def _latest_before(rollup: str, moment: datetime) -> Subquery:
    """What the contact's `rollup` was at `moment`: its latest event of that kind before then."""
    kinds, human_only = ROLLUP_KINDS[rollup]
    events = Activity.objects.filter(contact=OuterRef("pk"), kind__in=kinds, occurred_at__lt=moment)
    if human_only:
        events = events.filter(is_machine=False)
    return Subquery(events.order_by("-occurred_at").values("occurred_at")[:1])


def _any_since(rollups: tuple[str, ...], cutoff: datetime) -> Q:
    """One of these past rollups at `cutoff` or later (a NULL one simply does not match)."""
    condition = Q(pk__in=[])
    for rollup in rollups:
        condition |= Q(**{f"past_{rollup}__gte": cutoff})
    return condition


def snapshot_moment(day: date) -> datetime:
    """When the daily job would have taken `day`'s snapshot."""
    return datetime.combine(day, SNAPSHOT_TIME, tzinfo=timezone.get_current_timezone())


def snapshot_reconstruct(*, day: date, policy: EngagementPolicy) -> BaseSnapshot:
    """`day`'s snapshot as the daily job would have taken it, from the activity log."""
    moment = snapshot_moment(day)
    # The rollups as they were at `moment`, one subquery each, so that each one walks the
    # (contact, kind, occurred_at) index backwards (as `past_last_open_at`, ...).
    rollups = (*ENGAGEMENT_ROLLUPS, "last_targeted_at")
    past = {f"past_{rollup}": _latest_before(rollup, moment) for rollup in rollups}
    # Counted "engaged since each cut-off", then subtracted: a negated condition on a NULL
    # rollup would be NULL and count nowhere. Only plain columns of the inner SELECT are
    # compared, so Django runs each subquery once per contact.
    cutoffs = {
        EngagementLevel.RECENT: policy.recent_days,
        EngagementLevel.ENGAGED: policy.engaged_days,
        EngagementLevel.DISENGAGED: policy.disengaged_days,
    }
    six_months_ago = period_before(moment, value=6, unit="months")
    candidates = (
        (Q(email_status=EmailStatus.SUBSCRIBED) | Q(email_status_changed_at__gte=moment))
        & Q(created_at__lt=six_months_ago)
        & Q(past_last_targeted_at__gte=period_before(moment, value=3, unit="months"))
    )
    counts = (
        Contact.objects.filter(created_at__lt=moment)
        .order_by()
        .annotate(**past)
        .aggregate(
            total=Count("pk"),
            never=Count(
                "pk", filter=Q(**{f"past_{rollup}__isnull": True for rollup in ENGAGEMENT_ROLLUPS})
            ),
            **{
                f"since_{level}": Count(
                    "pk",
                    filter=_any_since(ENGAGEMENT_ROLLUPS, moment - timedelta(days=days)),
                )
                for level, days in cutoffs.items()
            },
            candidates=Count("pk", filter=candidates),
            engaged_candidates=Count(
                "pk",
                filter=candidates & _any_since(("last_open_at", "last_click_at"), six_months_ago),
            ),
        )
    )
    since = {level: counts[f"since_{level}"] for level in cutoffs}
    return BaseSnapshot(
        day=day,
        total=counts["total"],
        recent=since[EngagementLevel.RECENT],
        engaged=since[EngagementLevel.ENGAGED] - since[EngagementLevel.RECENT],
        disengaged=since[EngagementLevel.DISENGAGED] - since[EngagementLevel.ENGAGED],
        inactive=counts["total"] - since[EngagementLevel.DISENGAGED] - counts["never"],
        never=counts["never"],
        # The built-in rule's "no human open and no click within 6 months".
        inactive_segment_size=counts["candidates"] - counts["engaged_candidates"],
        reconstructed=True,
        taken_at=timezone.now(),
    )


def history_reconstruct(
    *,
    days: int,
    today: date,
    dry_run: bool = False,
    progress: Callable[[BaseSnapshot], None] | None = None,
) -> list[BaseSnapshot]:
    """Rebuild the `days` days before `today` (not today itself), oldest first.

    A day that has a snapshot taken by the daily job is kept as it is; a day rebuilt before is
    rebuilt again (the same base gives the same numbers). Each day is written as soon as it is
    counted, unless `dry_run`.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    policy = EngagementPolicy.load()
    first = today - timedelta(days=days)
    taken = set(
        BaseSnapshot.objects.filter(day__gte=first, day__lt=today, reconstructed=False).values_list(
            "day", flat=True
        )
    )
    rebuilt = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day in taken:
            continue
        snapshot = snapshot_reconstruct(day=day, policy=policy)
        if not dry_run:
            snapshots_upsert([snapshot])
        rebuilt.append(snapshot)
        if progress is not None:
            progress(snapshot)
    return rebuilt
