"""Benchmark: a campaign's audience (suppression, frequency cap, dilution) and its messages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench \\
        .venv/bin/python benchmarks/campaign_audience.py [--runs 3] [--explain]

Reads the base `benchmarks/seed_demo.py` leaves (1,000,000 contacts, ~30,000,000 events),
migrates it if needed and evaluates the `inactive` segment if it has no members. Then, for two
regular e-mail campaigns (the biggest list; every list minus an excluded segment), it times
`campaign_audience` (target: < 5 s with dilution at 1M contacts) and `campaign_messages_create`.
The campaigns, their messages and the sender profiles it creates are deleted at the end, so the
base is left as it was. --explain prints the plan of the counting query.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Q  # noqa: E402

from campaigns.audience import campaign_audience  # noqa: E402
from campaigns.models import Campaign, FrequencyCap, Message, SenderProfile  # noqa: E402
from campaigns.services import campaign_messages_create  # noqa: E402
from contacts.models import Contact, ContactList  # noqa: E402
from segments.models import Segment  # noqa: E402

TARGET_AUDIENCE = 5.0
_PREFIX = "bench-audience"


def timed(function, *args, **kwargs):
    started = time.monotonic()
    result = function(*args, **kwargs)
    return time.monotonic() - started, result


def explain(campaign: Campaign) -> None:
    """EXPLAIN ANALYZE the counting query, as campaign_audience runs it."""
    captured: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        if "COUNT(" in sql.upper() and "contacts_contact" in sql:
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        campaign_audience(campaign=campaign)
    sql, params = captured[-1]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        print("\n".join(row[0] for row in cursor.fetchall()))


def run(campaign: Campaign, *, runs: int, show_plan: bool) -> bool:
    seconds = []
    for _ in range(runs):
        elapsed, audience = timed(campaign_audience, campaign=campaign)
        seconds.append(elapsed)
    median = statistics.median(seconds)
    verdict = "ok" if median < TARGET_AUDIENCE else "OVER TARGET"
    print(
        f"{campaign.name}: audience median {median:.2f} s "
        f"[{', '.join(f'{s:.2f}' for s in seconds)}] (target < {TARGET_AUDIENCE:g} s) {verdict}"
    )
    print(
        f"  targeted {audience.targeted}, excluded {audience.excluded}, "
        f"suppressed {audience.suppressed} {audience.suppressed_by_reason}, "
        f"capped {audience.capped_active} active + {audience.capped_inactive} inactive, "
        f"active {audience.active}, inactive {audience.inactive} "
        f"(candidates {audience.inactive_candidates}, limit {audience.inactive_limit}, "
        f"included {audience.inactive_included}), recipients {audience.recipients}"
    )
    if show_plan:
        explain(campaign)
    elapsed, created = timed(campaign_messages_create, campaign=campaign, audience=audience)
    print(f"  messages written: {created} in {elapsed:.2f} s ({created / elapsed:,.0f}/s)")
    elapsed, again = timed(campaign_messages_create, campaign=campaign, audience=audience)
    print(f"  written again (idempotent): {again} in {elapsed:.2f} s")
    written = Message.objects.filter(campaign=campaign).aggregate(
        inactive=Count("pk", filter=Q(is_inactive=True))
    )
    print(f"  inactive messages: {written['inactive']} (limit {audience.inactive_limit})")
    return median < TARGET_AUDIENCE


def cleanup(had_cap: bool) -> None:
    campaigns = Campaign.objects.filter(name__startswith=_PREFIX)
    Message.objects.filter(campaign__in=campaigns).delete()
    campaigns.delete()
    SenderProfile.objects.filter(name__startswith=_PREFIX).delete()
    if not had_cap:
        FrequencyCap.objects.all().delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This benchmark runs on PostgreSQL: set DATABASE_URL.")
        return 2

    call_command("migrate", "--noinput", verbosity=0)
    inactive = Segment.objects.get(slug="inactive")
    if not inactive.member_count:
        call_command("evaluate_segments", "inactive")
    print(f"contacts: {Contact.objects.count():,}; inactive members: {inactive.member_count:,}")
    had_cap = FrequencyCap.objects.exists()
    cap = FrequencyCap.load()
    print(f"frequency cap: {cap.per_day}/day, {cap.per_week}/week, {cap.per_month}/month")

    ok = True
    try:
        main_profile = SenderProfile.objects.create(
            name=f"{_PREFIX} main", from_name="Bench", from_email="news@example.com"
        )
        reactivation = SenderProfile.objects.create(
            name=f"{_PREFIX} winback",
            from_name="Bench",
            from_email="hello@example.com",
            purpose=SenderProfile.Purpose.REACTIVATION,
        )
        lists = ContactList.objects.annotate(size=Count("memberships")).order_by("-size")
        biggest = lists[0]
        by_list = Campaign.objects.create(
            name=f"{_PREFIX} {biggest.name}",
            sender_profile=main_profile,
            reactivation_profile=reactivation,
        )
        by_list.target_lists.set([biggest])
        ok &= run(by_list, runs=args.runs, show_plan=args.explain)

        every_list = Campaign.objects.create(
            name=f"{_PREFIX} every list but loyalty-expiring",
            sender_profile=main_profile,
            reactivation_profile=reactivation,
        )
        every_list.target_lists.set(list(ContactList.objects.all()))
        every_list.exclude_segments.set(Segment.objects.filter(slug="loyalty-expiring"))
        ok &= run(every_list, runs=args.runs, show_plan=args.explain)
    finally:
        cleanup(had_cap)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
