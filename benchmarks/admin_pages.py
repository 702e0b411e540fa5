"""Benchmark: admin pages on a big base (1,000,000 contacts, ~30,000,000 events).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench \\
        .venv/bin/python benchmarks/admin_pages.py [--runs 10] [--explain]

Reads an existing base (build one with `manage.py seed_demo --contacts 1000000`); the only
write is a `bench-admin` superuser, created if missing. Each page is requested through the
Django test client (logged in with `force_login`, DEBUG off), once to warm up and then
--runs times; the script prints the median and worst time, the number of SQL queries and the
slowest query of each page. Target: under 300 ms per page. With --explain, the slowest
query of each page is also shown with its PostgreSQL plan (EXPLAIN ANALYZE).
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
# The test client speaks plain HTTP: production's redirect to HTTPS would answer every page.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from contacts.models import Activity, Contact, ContactList, EngagementLevel  # noqa: E402
from segments.models import Segment  # noqa: E402

TARGET_MS = 300


def pick_pages() -> list[tuple[str, str]]:
    """The pages to time, with real values from the base (a contact near the middle)."""
    changelist = reverse("admin:contacts_contact_changelist")
    last_id = Contact.objects.order_by("-pk").values_list("pk", flat=True).first()
    if last_id is None:
        sys.exit("the base is empty: run `manage.py seed_demo` first")
    middle = Contact.objects.filter(pk__lte=last_id // 2).order_by("-pk").first()
    # A common and a rare last name, from a sample (a GROUP BY over the table would be slow).
    sample = (
        Contact.objects.filter(pk__gt=last_id - 20000)
        .exclude(last_name="")
        .values("last_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "last_name")
    )
    common = sample.first()["last_name"]
    rare = sample.order_by("n", "last_name").first()["last_name"]
    busy = (
        Activity.objects.filter(contact_id__gt=last_id // 2, contact_id__lt=last_id // 2 + 2000)
        .values("contact_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    pages = [
        ("contact list", changelist),
        ("search: full e-mail", f"{changelist}?q={middle.email.upper()}"),
        ("search: e-mail prefix", f"{changelist}?q={middle.email.split('@')[0][:6]}"),
        (f"search: common name ({common})", f"{changelist}?q={common}"),
        (f"search: rare name ({rare})", f"{changelist}?q={rare}"),
        (
            f"search: first + last name ({middle.first_name} {middle.last_name})",
            f"{changelist}?q={middle.first_name} {middle.last_name}",
        ),
        (
            "filter: engagement inactive",
            f"{changelist}?engagement_level__exact={EngagementLevel.INACTIVE}",
        ),
        ("contact page", reverse("admin:contacts_contact_change", args=[middle.pk])),
    ]
    if busy is not None:
        pages.append(
            (
                f"contact page, busiest nearby contact ({busy['n']} events)",
                reverse("admin:contacts_contact_change", args=[busy["contact_id"]]),
            )
        )
    first_list = ContactList.objects.order_by("pk").first()
    if first_list is not None:
        pages.append((f"filter: list {first_list.name}", f"{changelist}?list={first_list.pk}"))
    activity = reverse("admin:contacts_activity_changelist")
    pages += [
        ("activity list", activity),
        ("activity: one contact", f"{activity}?contact={middle.pk}"),
        ("activity: kind = click", f"{activity}?kind__exact=click"),
    ]
    inactive = Segment.objects.filter(slug="inactive").first()
    if inactive is not None:
        memberships = reverse("admin:segments_segmentmembership_changelist")
        clean = reverse("admin:segments_cleaning_clean")
        pages += [
            ("segment list", reverse("admin:segments_segment_changelist")),
            (
                "segment page: inactive",
                reverse("admin:segments_segment_change", args=[inactive.pk]),
            ),
            ("members of inactive", f"{memberships}?segment__id__exact={inactive.pk}&stay=open"),
            (
                "clean the base: never opened in 365 days",
                f"{clean}?criterion=never_opened&days=365",
            ),
            (
                "inactivity by lead source",
                reverse("admin:segments_leadsourceinactivity_changelist"),
            ),
        ]
    return pages


def time_page(
    client: Client, url: str, runs: int, *, cold: bool = False
) -> tuple[list[float], int, int, dict]:
    """With `cold`, the cache is emptied before each request (the dashboard's numbers are
    computed again, as after its 5 minutes or a segment evaluation)."""
    response = client.get(url)  # warm-up (and fail fast on an error page)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    times = []
    for _ in range(runs):
        if cold:
            cache.clear()
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    return times, response.status_code, len(queries), slowest


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(f"      {row[0]}" for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="show the slowest query's plan")
    args = parser.parse_args()

    # The test client's host. (setup_test_environment() would also instrument template
    # rendering, which slows every page down.)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    settings_db = connection.settings_dict
    print(
        f"database {settings_db['NAME']} ({connection.vendor}): "
        f"{Contact.objects.order_by('-pk').values_list('pk', flat=True).first():,} contacts "
        f"(highest id), {args.runs} runs per page, target {TARGET_MS} ms\n"
    )
    failures = 0
    home = reverse("admin:index")
    pages = [
        (label, url, False)
        for label, url in [*pick_pages(), ("admin home: dashboard (cached numbers)", home)]
    ]
    pages.append(("admin home: dashboard (cache emptied)", home, True))
    for label, url, cold in pages:
        times, status, query_count, slowest = time_page(client, url, args.runs, cold=cold)
        median, worst = statistics.median(times), max(times)
        verdict = "ok" if median < TARGET_MS else "SLOW"
        failures += verdict != "ok"
        print(
            f"{verdict:4} {label:58} median {median:7.1f} ms  max {worst:7.1f} ms  "
            f"{query_count:2} queries  slowest {float(slowest['time']) * 1000:6.1f} ms"
        )
        if args.explain:
            print(f"      {slowest['sql'][:300]}")
            if connection.vendor == "postgresql":
                print(explain(slowest["sql"]))
    print(f"\n{failures} page(s) over {TARGET_MS} ms")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
