"""Benchmark: segment evaluation, rule preview and the engagement-level job on a big base.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench \\
        .venv/bin/python benchmarks/evaluate_segments.py [--runs 3] [--change 0.01] [--all]

Reads the base `benchmarks/seed_demo.py` leaves (1,000,000 contacts, ~30,000,000 events) and
migrates it if needed. Targets on the 2-core machine:

- full evaluation of `inactive` (query and membership written, from an empty membership): < 5 s
- re-evaluation after --change (1 %) of the contacts changed: < 2 s
- rule preview (count, sample and split by source) of the `inactive` rule: < 1 s
- engagement-level job over the whole base: < 30 s

The 1 % change: half of the changed contacts are current members who open an e-mail now (they
must leave), half are non-members made inactive (they must enter). Their previous values are
saved and put back at the end, and the segment is evaluated again, so the base is left as it was
(apart from the engagement levels, which the job sets as it would every night).
With --all, every built-in segment is evaluated once more and timed (no target).
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
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from contacts.models import Contact  # noqa: E402
from segments.models import Segment, SegmentMembership  # noqa: E402
from segments.rules import rule_clean  # noqa: E402
from segments.selectors import rule_preview  # noqa: E402
from segments.services import segment_evaluate  # noqa: E402

TARGETS = {"full": 5.0, "re-evaluation": 2.0, "preview": 1.0, "engagement": 30.0}
_SAVED = "bench_segments_saved"


def timed(function, *args, **kwargs):
    started = time.monotonic()
    result = function(*args, **kwargs)
    return time.monotonic() - started, result


def report(name: str, seconds: list[float], detail: str = "") -> bool:
    target = TARGETS.get(name)
    median = statistics.median(seconds)
    verdict = "" if target is None else (" ok" if median < target else " OVER TARGET")
    target_text = "" if target is None else f" (target < {target:g} s)"
    runs = ", ".join(f"{s:.2f}" for s in seconds)
    print(f"{name:<16} median {median:6.2f} s  [{runs}]{target_text}{verdict}  {detail}")
    return target is None or median < target


def membership_reset(segment: Segment) -> None:
    SegmentMembership.objects.filter(segment=segment).delete()
    Segment.objects.filter(pk=segment.pk).update(member_count=0, evaluation_started_at=None)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE segments_segmentmembership")


def contacts_change(segment: Segment, *, share: float) -> int:
    """Change `share` of the base: members who open now, non-members made inactive."""
    half = max(1, int(Contact.objects.count() * share / 2))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_SAVED}")
        cursor.execute(
            f"""CREATE TABLE {_SAVED} AS
            (SELECT c.id, c.created_at, c.email_status, c.last_targeted_at, c.last_open_at,
                    c.last_click_at
               FROM contacts_contact c
               JOIN segments_segmentmembership m
                 ON m.contact_id = c.id AND m.segment_id = %s AND m.exited_at IS NULL
              ORDER BY hashint4(c.id::int) LIMIT %s)
            UNION ALL
            (SELECT c.id, c.created_at, c.email_status, c.last_targeted_at, c.last_open_at,
                    c.last_click_at
               FROM contacts_contact c
              WHERE NOT EXISTS (SELECT 1 FROM segments_segmentmembership m
                                 WHERE m.contact_id = c.id AND m.segment_id = %s
                                   AND m.exited_at IS NULL)
              ORDER BY hashint4(c.id::int) LIMIT %s)""",
            [segment.pk, half, segment.pk, half],
        )
        cursor.execute(
            f"""UPDATE contacts_contact c SET last_open_at = now()
                 FROM {_SAVED} s, segments_segmentmembership m
                WHERE c.id = s.id AND m.contact_id = c.id AND m.segment_id = %s
                  AND m.exited_at IS NULL""",
            [segment.pk],
        )
        cursor.execute(
            f"""UPDATE contacts_contact c
                   SET email_status = 'subscribed', created_at = now() - interval '2 years',
                       last_targeted_at = now() - interval '1 day', last_open_at = NULL,
                       last_click_at = NULL
                 WHERE c.id IN (SELECT id FROM {_SAVED})
                   AND NOT EXISTS (SELECT 1 FROM segments_segmentmembership m
                                    WHERE m.contact_id = c.id AND m.segment_id = %s
                                      AND m.exited_at IS NULL)""",
            [segment.pk],
        )
        cursor.execute(f"SELECT count(*) FROM {_SAVED}")
        return cursor.fetchone()[0]


def contacts_restore() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE contacts_contact c
                   SET created_at = s.created_at, email_status = s.email_status,
                       last_targeted_at = s.last_targeted_at, last_open_at = s.last_open_at,
                       last_click_at = s.last_click_at
                  FROM {_SAVED} s WHERE c.id = s.id"""
        )
        cursor.execute(f"DROP TABLE {_SAVED}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--change", type=float, default=0.01, help="share of contacts changed")
    parser.add_argument("--all", action="store_true", help="also time every built-in segment")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to the PostgreSQL benchmark base (relance_bench)")
    call_command("migrate", "--noinput", verbosity=0)
    contacts = Contact.objects.count()
    if contacts < 100_000:
        sys.exit(f"only {contacts} contacts: run benchmarks/seed_demo.py first")
    print(f"{contacts:,} contacts on {connection.settings_dict['NAME']}\n")
    segment = Segment.objects.get(slug="inactive")
    rule = rule_clean(segment.rule, segment_id=segment.pk)
    ok = True

    times = []
    for _ in range(args.runs):
        seconds, preview = timed(rule_preview, rule=rule)
        times.append(seconds)
    ok &= report("preview", times, f"{preview.count:,} contacts, {len(preview.by_source)} sources")

    full, again = [], []
    for _ in range(args.runs):
        membership_reset(segment)
        seconds, result = timed(segment_evaluate, segment_id=segment.pk)
        full.append(seconds)
        seconds, unchanged = timed(segment_evaluate, segment_id=segment.pk)
        again.append(seconds)
    ok &= report("full", full, f"entered {result.entered:,}, members {result.members:,}")
    report("unchanged", again, f"entered {unchanged.entered}, exited {unchanged.exited}")

    changed = []
    for _ in range(args.runs):
        count = contacts_change(segment, share=args.change)
        try:
            seconds, result = timed(segment_evaluate, segment_id=segment.pk)
            changed.append(seconds)
        finally:
            contacts_restore()
            segment_evaluate(segment_id=segment.pk)
    ok &= report(
        "re-evaluation",
        changed,
        f"{count:,} contacts changed: entered {result.entered:,}, exited {result.exited:,}",
    )

    try:
        from contacts.services import engagement_levels_update
    except ImportError:
        print("engagement       (no engagement_levels_update service yet)")
    else:
        seconds, outcome = timed(engagement_levels_update, now=timezone.now())
        ok &= report("engagement", [seconds], str(outcome))
        seconds, outcome = timed(engagement_levels_update, now=timezone.now())
        report("engagement again", [seconds], str(outcome))

    if args.all:
        print()
        for other in Segment.objects.filter(is_builtin=True).order_by("slug"):
            seconds, result = timed(segment_evaluate, segment_id=other.pk)
            report(other.slug, [seconds], f"members {result.members:,} {result.error}")

    print("\nall targets met" if ok else "\nsome targets missed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
