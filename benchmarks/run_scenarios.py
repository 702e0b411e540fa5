"""Benchmark: 100,000 contacts entering the Inactivity scenario, advanced by one worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench \\
        .venv/bin/python benchmarks/run_scenarios.py [--contacts N] [--batch-size N] [--keep]

Reads the base `benchmarks/seed_demo.py` leaves (1,000,000 contacts). Creates a scenario from
the "Inactivity" template on a new list of --contacts inactive contacts (members of the
`inactive` segment), a reactivation sender profile, activates it with "only new entries", then
enrolls the contacts set-based (what a segment evaluation does when they enter) and times
`scenarios_tick` run by this one process, at a moment inside the template's sending window
(a Tuesday at 10:30, Paris), until no enrollment moves: entry, the A/B split, the wait-until
(open at once), the SMS or e-mail send (one message per enrollment and block, written in the
same transaction) and, on the e-mail branch, the wait for a click, where they hold. Target:
at least 2,000 block executions per second, memory bounded (peak RSS printed).
Everything it creates is deleted at the end (--keep leaves it).
"""

import argparse
import os
import resource
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402

from campaigns.models import Campaign, Message, SenderProfile  # noqa: E402
from contacts.models import Contact, ContactList, EmailStatus, ListMembership  # noqa: E402
from scenarios.engine import scenarios_tick  # noqa: E402
from scenarios.enrollment import enrollments_create  # noqa: E402
from scenarios.models import Enrollment, EnrollmentStep, Scenario, ScenarioTemplate  # noqa: E402
from scenarios.services import scenario_activate, scenario_create_from_template  # noqa: E402
from segments.models import Segment  # noqa: E402

TARGET = 2000
NAME = "bench-scenarios"
# Inside the Inactivity template's sending window (10:00-12:00 on weekdays, Paris).
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cleanup() -> None:
    scenarios = Scenario.objects.filter(name=NAME)
    campaign_ids = list(
        Campaign.objects.filter(name__startswith=f"{NAME} ").values_list("pk", flat=True)
    )
    with transaction.atomic():
        for scenario in scenarios:
            EnrollmentStep.objects.filter(enrollment__scenario=scenario).delete()
            scenario.delete()
        Message.objects.filter(campaign_id__in=campaign_ids).delete()
        Campaign.objects.filter(pk__in=campaign_ids).delete()
        ContactList.objects.filter(name=NAME).delete()
        SenderProfile.objects.filter(name=NAME).delete()


def setup(contacts: int) -> Scenario:
    inactive = Segment.objects.get(slug="inactive")
    contact_list = ContactList.objects.create(name=NAME)
    table = connection.ops.quote_name(ListMembership._meta.db_table)
    members = inactive.memberships.filter(
        exited_at__isnull=True, contact__email_status=EmailStatus.SUBSCRIBED
    ).order_by("contact_id")[:contacts]
    sql, params = members.values_list("contact_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (contact_id, contact_list_id, subscribed_at)"
            f" SELECT contact_id, %s, now() FROM ({sql}) chosen",
            [contact_list.pk, *params],
        )
    SenderProfile.objects.create(
        name=NAME,
        purpose=SenderProfile.Purpose.REACTIVATION,
        from_name="Relance",
        from_email="bonjour@relance.example",
    )
    scenario = scenario_create_from_template(
        template=ScenarioTemplate.objects.get(slug="inactivity"),
        name=NAME,
        contact_list=contact_list,
    )
    scenario.only_new_entries = True
    scenario.save(update_fields=["only_new_entries"])
    scenario_activate(scenario=scenario, now=NOW)
    return scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("run it on PostgreSQL: DATABASE_URL=postgres://...")
    cleanup()
    scenario = setup(args.contacts)
    members = ContactList.objects.get(name=NAME).memberships.values("contact_id")

    started = time.perf_counter()
    enrolled = enrollments_create(
        scenario=scenario, contacts=Contact.objects.filter(pk__in=members), now=NOW
    )
    enrolling = time.perf_counter() - started
    print(f"enrolled {enrolled:,} contacts in {enrolling:.1f} s")

    started = time.perf_counter()
    ticks, executed = 0, 0
    while True:
        result = scenarios_tick(now=NOW, batch_size=args.batch_size)
        ticks += 1
        executed += result.advanced
        print(f"  tick {ticks}: {result}")
        if result.advanced == 0:
            break
    elapsed = time.perf_counter() - started
    steps = EnrollmentStep.objects.filter(enrollment__scenario=scenario).count()
    messages = Message.objects.filter(campaign_id__in=scenario.blocks.values("campaign_id")).count()
    by_block = dict(
        Enrollment.objects.filter(scenario=scenario)
        .values_list("block__key")
        .annotate(n=Count("pk"))
        .values_list("block__key", "n")
    )
    rate = steps / elapsed if elapsed else 0.0
    print(
        f"block executions: {steps:,} logged ({executed:,} counted by the ticks) in {elapsed:.1f} s"
        f" = {rate:,.0f}/s (target >= {TARGET:,}/s) {'ok' if rate >= TARGET else 'BELOW TARGET'}"
    )
    print(f"messages written: {messages:,}; enrollments by block now: {by_block}")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    if not args.keep:
        cleanup()
        print("cleaned up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
