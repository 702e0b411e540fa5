"""Every recurring worker job, in one place.

`schedules_ensure` creates or updates them by name (idempotent); it runs after each `migrate`
(see `contacts.apps`). Tasks are named by dotted path, so this module imports no app.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RecurringJob:
    """A task run every `minutes`, or once a day at `daily_at`, a wall-clock time in
    `settings.TIME_ZONE` (django-q2 keeps daily runs at that local hour across DST changes)."""

    name: str
    func: str
    minutes: int | None = None
    daily_at: time | None = None

    def __post_init__(self) -> None:
        if (self.minutes is None) == (self.daily_at is None):
            raise ValueError(f"{self.name}: give either minutes or daily_at")


RECURRING_JOBS = [
    # Starts scheduled campaigns and resumes sending ones left by a worker (campaigns.delivery).
    RecurringJob("campaigns: dispatch deliveries", "campaigns.tasks.campaigns_dispatch", 1),
    # Evaluates each active segment whose own interval has elapsed (see segments.services).
    RecurringJob("segments: evaluate due segments", "segments.tasks.segments_evaluate_due", 5),
    # Moves due scenario enrollments through their blocks (see scenarios.engine).
    RecurringJob("scenarios: run due enrollments", "scenarios.tasks.scenarios_tick", 1),
    # Engagement levels and scores from the rollups (see contacts.services.engagement).
    RecurringJob(
        "contacts: update engagement levels",
        "contacts.tasks.engagement_levels_update",
        daily_at=time(3, 30),
    ),
    # The dashboard's daily counts of the base, once the engagement levels are up to date
    # (see dashboard.services).
    RecurringJob(
        "dashboard: snapshot the contact base",
        "dashboard.tasks.base_snapshot_take",
        daily_at=time(4, 0),
    ),
    # Unconfirmed sign-ups past their form's delay, and old bot-guard rows (see signups.tasks).
    RecurringJob("signups: expire sign-ups", "signups.tasks.signups_expire", daily_at=time(4, 30)),
]


def next_daily_run(*, at: time, now: datetime, zone: ZoneInfo) -> datetime:
    """The first `at` (wall-clock time in `zone`) strictly after `now`."""
    local_now = now.astimezone(zone)
    candidate = datetime.combine(local_now.date(), at, tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate


def schedules_ensure(*, using: str = "default", now: datetime | None = None) -> None:
    from django.conf import settings
    from django.utils import timezone
    from django_q.models import Schedule

    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    for job in RECURRING_JOBS:
        defaults = {"func": job.func, "repeats": -1}
        if job.daily_at is None:
            defaults.update(schedule_type=Schedule.MINUTES, minutes=job.minutes)
        else:
            defaults.update(schedule_type=Schedule.DAILY, minutes=None)
            current = (
                Schedule.objects.using(using)
                .filter(name=job.name, schedule_type=Schedule.DAILY)
                .values_list("next_run", flat=True)
                .first()
            )
            # The worker moves next_run on after each run: keep it, so that a migrate just
            # before the hour neither skips nor repeats a day, unless the hour was changed.
            if current is None or current.astimezone(zone).time() != job.daily_at:
                defaults["next_run"] = next_daily_run(at=job.daily_at, now=now, zone=zone)
        Schedule.objects.using(using).update_or_create(name=job.name, defaults=defaults)
