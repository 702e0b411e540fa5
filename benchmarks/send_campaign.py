"""Benchmark: delivering a 100,000-recipient e-mail campaign over SMTP, next to a bare smtplib loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench \\
        .venv/bin/python benchmarks/send_campaign.py [--recipients 100000] \\
        [--ceiling-sample 20000] [--profile FILE] [--keep]

On the base `benchmarks/seed_demo.py` leaves (1,000,000 contacts, ~30,000,000 events), migrated
if needed, with the `inactive` segment evaluated if it has no members:

1. starts an SMTP sink (aiosmtpd) in a process of its own, so that it does not share the GIL
   with the worker: it accepts every message, parses nothing, and counts the messages and the
   distinct recipients;
2. makes a list of N existing subscribed contacts that no frequency cap can hold back (no send
   in the last 30 days; the cap itself is left as it is): N / 1.05 active ones and, for the 5 %
   dilution, as many members of the `inactive` segment as it admits; a sender profile pointing
   at the sink (no TLS, no pacing to speak of) and a regular campaign with a newsletter-like
   HTML body (5 tracked links, personalised) and a text body;
3. times `campaign_audience` (target: < 5 s with dilution on the 1M base), then
   `campaign_prepare` (the messages written);
4. times a bare `smtplib` loop over one connection sending `--ceiling-sample` pre-built copies
   of one of the campaign's messages, as the delivery builds it, to the same sink (the ceiling),
   before and after the delivery;
5. times `campaign_deliver` in this process (one worker) and checks what the sink received:
   every recipient once. Target: at least half the ceiling's messages per second.

Then it deletes the campaign, its messages and `sent` activities, the list and the profile,
recomputes the recipients' rollups from the log and checks that their `last_targeted_at` is
back to what it was (`--keep` leaves everything in place; the next run cleans it up first).
`--profile FILE` runs the delivery under cProfile, dumps the statistics to FILE and prints the
top functions (the rate is then the profiler's, not the engine's). Exits non-zero when a
target is missed.
"""

import argparse
import cProfile
import logging
import multiprocessing
import os
import pstats
import smtplib
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from aiosmtpd.controller import Controller  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Exists, OuterRef  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.audience import Audience, campaign_audience  # noqa: E402
from campaigns.delivery import campaign_deliver, campaign_prepare, email_build  # noqa: E402
from campaigns.models import Campaign, FrequencyCap, Message, SenderProfile  # noqa: E402
from campaigns.registry import reactivation_enrolled_q  # noqa: E402
from campaigns.rendering import campaign_render  # noqa: E402
from campaigns.services import campaign_schedule  # noqa: E402
from campaigns.tracking import unsubscribe_url  # noqa: E402
from contacts.models import (  # noqa: E402
    Activity,
    ActivityKind,
    Contact,
    ContactList,
    EmailStatus,
    ListMembership,
)
from contacts.services.activity import contact_rollups_refresh  # noqa: E402
from segments.models import Segment, SegmentMembership  # noqa: E402

TARGET_AUDIENCE = 5.0
TARGET_RATIO = 0.5
_PREFIX = "bench-send"
# A contact sent nothing for this long is under any frequency cap (the longest window).
_CAP_WINDOW = timedelta(days=30)
_REFRESH_CHUNK = 5000
_PROGRESS_SECONDS = 20

SUBJECT = "{{ first_name|default:'Hello' }}, the spring selection is here"
PREHEADER = "New arrivals, 20 % off this weekend and free delivery"
HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The spring selection</title></head>
<body style="margin:0;padding:0;background:#f4f4f4;font-family:Arial,Helvetica,sans-serif">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"
 style="background:#ffffff;border-radius:6px">
<tr><td style="padding:24px 32px 8px;font-size:24px;font-weight:bold;color:#1d3557">
<a href="https://shop.example.com/?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring"
 style="color:#1d3557;text-decoration:none">Maison Exemple</a></td></tr>
<tr><td style="padding:8px 32px;font-size:16px;line-height:24px;color:#333333">
<p>Hello {{ first_name|default:"there" }},</p>
<p>Spring is here, and so is our new selection: linen shirts, light jackets and the sandals
you asked us for. As one of our {{ loyalty_points }} points holders, you get 20 % off
everything this weekend, and delivery is on us.</p>
</td></tr>
<tr><td align="center" style="padding:16px 32px">
<a href="https://shop.example.com/spring?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring"
 style="display:inline-block;background:#e63946;color:#ffffff;padding:14px 28px;
 border-radius:4px;font-size:16px;font-weight:bold;text-decoration:none">See the selection</a>
</td></tr>
<tr><td style="padding:8px 32px;font-size:16px;line-height:24px;color:#333333">
<p>Our favourites this week:</p>
<ul>
<li><a href="https://shop.example.com/p/linen-shirt?utm_source=newsletter&amp;utm_campaign=spring"
 style="color:#457b9d">The linen shirt</a>, in six colours</li>
<li><a href="https://shop.example.com/p/rain-jacket?utm_source=newsletter&amp;utm_campaign=spring"
 style="color:#457b9d">The light rain jacket</a>, folds into its pocket</li>
</ul>
<p>See you soon,<br>The Maison Exemple team</p>
</td></tr>
<tr><td style="padding:16px 32px 24px;font-size:12px;line-height:18px;color:#888888">
You receive this e-mail as a customer of Maison Exemple ({{ email }}).
<a href="https://shop.example.com/account/preferences" style="color:#888888">Your preferences</a>
&middot; <a href="{{ unsubscribe_url }}" style="color:#888888">Unsubscribe</a><br>
Maison Exemple, 12 rue de l'Exemple, 75011 Paris
</td></tr>
</table></td></tr></table>
</body></html>
"""
TEXT = """Hello {{ first_name|default:"there" }},

Spring is here, and so is our new selection: linen shirts, light jackets and the sandals you
asked us for. As one of our {{ loyalty_points }} points holders, you get 20 % off everything
this weekend, and delivery is on us.

See the selection: https://shop.example.com/spring?utm_source=newsletter&utm_campaign=spring

Our favourites this week:
- The linen shirt: https://shop.example.com/p/linen-shirt?utm_source=newsletter
- The light rain jacket: https://shop.example.com/p/rain-jacket?utm_source=newsletter

See you soon,
The Maison Exemple team

Your preferences: https://shop.example.com/account/preferences
Unsubscribe: {{ unsubscribe_url }}
"""


# The sink ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SinkCount:
    messages: int = 0
    recipients: int = 0
    unique: int = 0
    bytes: int = 0


class CountingHandler:
    """Accepts every message and keeps nothing but counts and the recipients' addresses."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = self.recipients = self.bytes = 0
        self.addresses: set[str] = set()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages += 1
            self.recipients += len(envelope.rcpt_tos)
            self.addresses.update(envelope.rcpt_tos)
            self.bytes += len(envelope.content)
        return "250 Message accepted"

    def count(self, *, reset: bool) -> SinkCount:
        with self.lock:
            count = SinkCount(self.messages, self.recipients, len(self.addresses), self.bytes)
            if reset:
                self.messages = self.recipients = self.bytes = 0
                self.addresses = set()
        return count


def sink_serve(port: int, pipe: Connection) -> None:
    """The sink process: answers "peek" and "take" (count, then reset) until "stop"."""
    # aiosmtpd logs each connection at INFO through the root handler this process inherited:
    # that would make the sink, not the sender, what is measured.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="sink")
    controller.start()
    pipe.send("ready")
    while (command := pipe.recv()) != "stop":
        pipe.send(handler.count(reset=command == "take"))
    controller.stop()


class Sink:
    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.pipe, child = multiprocessing.Pipe()
        self.lock = threading.Lock()
        # Forked before this process opens any database connection.
        self.process = multiprocessing.get_context("fork").Process(
            target=sink_serve, args=(self.port, child), daemon=True
        )

    def __enter__(self):
        self.process.start()
        if not self.pipe.poll(30) or self.pipe.recv() != "ready":
            raise RuntimeError("the SMTP sink did not start")
        return self

    def __exit__(self, *exc):
        if self.process.is_alive():
            self.pipe.send("stop")
            self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()

    def _ask(self, command: str) -> SinkCount:
        with self.lock:
            self.pipe.send(command)
            return self.pipe.recv()

    def peek(self) -> SinkCount:
        return self._ask("peek")

    def take(self) -> SinkCount:
        """What it received since the last `take`."""
        return self._ask("take")


# Measuring ---------------------------------------------------------------------------------


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def ceiling_measure(*, sink: Sink, message: bytes, count: int) -> float:
    """A bare smtplib loop over one connection: `count` copies of `message`, one recipient
    each, to the sink. Returns messages/s; checks the sink got each recipient once."""
    sender = "news@example.com"
    recipients = [f"ceiling-{index}@example.com" for index in range(count)]
    with smtplib.SMTP("127.0.0.1", sink.port) as client:
        started = time.perf_counter()
        for recipient in recipients:
            client.sendmail(sender, [recipient], message)
        elapsed = time.perf_counter() - started
    received = sink.take()
    if received.messages != count or received.unique != count:
        raise RuntimeError(f"ceiling: sent {count}, the sink received {received}")
    return count / elapsed


class Progress(threading.Thread):
    """Prints what the sink has received every few seconds while the delivery runs."""

    def __init__(self, sink: Sink):
        super().__init__(daemon=True)
        self.sink = sink
        self.done = threading.Event()
        self.started_at = time.perf_counter()

    def run(self):
        while not self.done.wait(_PROGRESS_SECONDS):
            received = self.sink.peek().messages
            elapsed = time.perf_counter() - self.started_at
            print(f"  ... {received:,} received in {elapsed:.0f} s ({received / elapsed:,.0f}/s)")

    def stop(self):
        self.done.set()
        self.join()


# The campaign ------------------------------------------------------------------------------


def recipients_select(*, contact_list: ContactList, active: int, inactive: int) -> tuple[int, int]:
    """Add `active` subscribed contacts outside the `inactive` segment and `inactive` members
    of it (not in a reactivation scenario) to `contact_list`, all of them sent nothing in the
    last 30 days: INSERT ... SELECT. Returns the counts added."""
    segment_id = Segment.objects.get(slug="inactive").pk
    in_inactive = Exists(
        SegmentMembership.objects.filter(
            contact=OuterRef("pk"), segment_id=segment_id, exited_at__isnull=True
        )
    )
    recently_sent = Exists(
        Activity.objects.filter(
            contact=OuterRef("pk"),
            kind__in=[ActivityKind.SENT, ActivityKind.SMS_SENT],
            occurred_at__gt=timezone.now() - _CAP_WINDOW,
        )
    )
    uncapped = Contact.objects.filter(email_status=EmailStatus.SUBSCRIBED).filter(~recently_sent)
    choices = [
        uncapped.filter(~in_inactive).order_by("pk")[:active],
        uncapped.filter(in_inactive).exclude(reactivation_enrolled_q()).order_by("pk")[:inactive],
    ]
    table = connection.ops.quote_name(ListMembership._meta.db_table)
    added = []
    with connection.cursor() as cursor:
        for contacts in choices:
            select_sql, params = contacts.values("id").query.sql_with_params()
            cursor.execute(
                f"INSERT INTO {table} (contact_list_id, contact_id, subscribed_at)"
                f" SELECT %s, chosen.id, now() FROM ({select_sql}) chosen",
                [contact_list.pk, *params],
            )
            added.append(cursor.rowcount)
    return added[0], added[1]


def targeted_fingerprint(contact_ids: list[int]) -> str:
    """One md5 of the recipients' `last_targeted_at`, the rollup sending moves, to check the
    clean-up restored it. (Not the other rollups: a benchmark running at the same time, the
    tracking one say, may record opens and clicks of some of these contacts meanwhile.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(concat_ws('|', id, last_targeted_at::text), ',' ORDER BY id))"
            f" FROM {Contact._meta.db_table} WHERE id = ANY(%s)",
            [contact_ids],
        )
        return cursor.fetchone()[0]


def campaign_create(*, port: int, recipients: int) -> tuple[Campaign, list[int]]:
    profile = SenderProfile.objects.create(
        name=f"{_PREFIX} sink",
        from_name="Maison Exemple",
        from_email="news@maison.example",
        reply_to="help@maison.example",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_use_tls=False,
        rate_per_minute=10_000_000,
    )
    contact_list = ContactList.objects.create(name=f"{_PREFIX} recipients")
    # Active recipients A and dilution D = floor(5 % of A) adding up to N.
    active = -(-recipients * 100 // 105)
    while active + active * 5 // 100 > recipients:
        active -= 1
    added_active, added_inactive = recipients_select(
        contact_list=contact_list, active=active, inactive=recipients - active
    )
    print(
        f"list: {added_active:,} active + {added_inactive:,} inactive contacts, none sent "
        f"anything in the last {_CAP_WINDOW.days} days"
    )
    campaign = Campaign.objects.create(
        name=f"{_PREFIX} spring selection",
        sender_profile=profile,
        subject=SUBJECT,
        preheader=PREHEADER,
        html_body=HTML,
        text_body=TEXT,
    )
    campaign.target_lists.set([contact_list])
    contact_ids = list(
        ListMembership.objects.filter(contact_list=contact_list).values_list(
            "contact_id", flat=True
        )
    )
    return campaign, contact_ids


def audience_describe(audience: Audience) -> str:
    return (
        f"targeted {audience.targeted:,}, suppressed {audience.suppressed:,}, "
        f"capped {audience.capped:,}, active {audience.active:,}, "
        f"inactive {audience.inactive:,} (candidates {audience.inactive_candidates:,}, "
        f"limit {audience.inactive_limit:,}), recipients {audience.recipients:,}"
    )


def message_bytes(campaign: Campaign) -> bytes:
    """One of the campaign's messages as the delivery puts it on the wire."""
    message = (
        Message.objects.filter(campaign=campaign).select_related("contact__lead_source").first()
    )
    rendered = campaign_render(
        campaign=campaign, contact=message.contact, unsubscribe_url=unsubscribe_url(message)
    )
    email = email_build(
        campaign=campaign,
        message=message,
        contact=message.contact,
        profile=campaign.sender_profile,
        rendered=rendered,
    )
    return email.message().as_bytes(linesep="\r\n")


def deliver(campaign: Campaign, *, sink: Sink, profile_path: str | None):
    progress = Progress(sink)
    profiler = cProfile.Profile() if profile_path else None
    progress.start()
    try:
        if profiler:
            profiler.enable()
        elapsed, result = timed(campaign_deliver, campaign_id=campaign.pk)
        if profiler:
            profiler.disable()
    finally:
        progress.stop()
    if profiler:
        profiler.dump_stats(profile_path)
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    return elapsed, result


# Clean-up ----------------------------------------------------------------------------------


def cleanup() -> int:
    """Delete what this benchmark created (this run's or a kept one's) and recompute its
    recipients' rollups from the log; returns the number of contacts refreshed."""
    lists = ContactList.objects.filter(name__startswith=_PREFIX)
    contact_ids = list(
        ListMembership.objects.filter(contact_list__in=lists)
        .order_by("contact_id")
        .values_list("contact_id", flat=True)
        .distinct()
    )
    for campaign in Campaign.objects.filter(name__startswith=_PREFIX):
        if campaign.started_at is not None:
            # Through the partial index of sends: the ones since the campaign started.
            Activity.objects.filter(
                kind=ActivityKind.SENT,
                occurred_at__gte=campaign.started_at,
                campaign=campaign.key,
            ).delete()
        Message.objects.filter(campaign=campaign).delete()
        campaign.delete()
    lists.delete()
    SenderProfile.objects.filter(name__startswith=_PREFIX).delete()
    for start in range(0, len(contact_ids), _REFRESH_CHUNK):
        contact_rollups_refresh(
            contacts=Contact.objects.filter(pk__in=contact_ids[start : start + _REFRESH_CHUNK])
        )
    return len(contact_ids)


# Main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--ceiling-sample", type=int, default=20_000)
    parser.add_argument("--profile", metavar="FILE", help="run the delivery under cProfile")
    parser.add_argument("--keep", action="store_true", help="leave the campaign and its data")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This benchmark runs on PostgreSQL: set DATABASE_URL.")
        return 2

    with Sink() as sink:
        return run(args, sink)


def run(args: argparse.Namespace, sink: Sink) -> int:
    call_command("migrate", "--noinput", verbosity=0)
    inactive = Segment.objects.get(slug="inactive")
    if not inactive.member_count:
        call_command("evaluate_segments", "inactive")
        inactive.refresh_from_db()
    if any(
        model.objects.filter(name__startswith=_PREFIX).exists()
        for model in (Campaign, ContactList, SenderProfile)
    ):
        elapsed, refreshed = timed(cleanup)
        print(f"cleaned up a kept run first ({refreshed:,} contacts refreshed, {elapsed:.1f} s)")
    had_cap = FrequencyCap.objects.exists()
    cap = FrequencyCap.load()
    print(
        f"contacts: {Contact.objects.count():,}; inactive members: {inactive.member_count:,}; "
        f"frequency cap {cap.per_day}/day, {cap.per_week}/week, {cap.per_month}/month (kept); "
        f"{os.cpu_count()} cores, {load()}"
    )

    ok = True
    fingerprint = None
    contact_ids: list[int] = []
    try:
        elapsed, (campaign, contact_ids) = timed(
            campaign_create, port=sink.port, recipients=args.recipients
        )
        fingerprint = targeted_fingerprint(contact_ids)
        print(f"campaign set up in {elapsed:.1f} s")

        seconds = []
        for _ in range(3):
            elapsed, audience = timed(campaign_audience, campaign=campaign)
            seconds.append(elapsed)
        audience_seconds = statistics.median(seconds)
        ok &= audience_seconds < TARGET_AUDIENCE
        print(
            f"audience: median {audience_seconds:.2f} s "
            f"[{', '.join(f'{s:.2f}' for s in seconds)}] (target < {TARGET_AUDIENCE:g} s)"
        )
        print(f"  {audience_describe(audience)}")

        campaign = campaign_schedule(campaign=campaign)
        prepare_seconds, _ = timed(campaign_prepare, campaign_id=campaign.pk, now=timezone.now())
        campaign.refresh_from_db()
        written = campaign.recipients_count
        print(
            f"prepare: {written:,} messages ({campaign.active_count:,} active, "
            f"{campaign.inactive_count:,} inactive) written in {prepare_seconds:.1f} s "
            f"({written / prepare_seconds:,.0f}/s)"
        )

        sample = min(args.ceiling_sample or written, written)
        wire = message_bytes(campaign)
        print(f"ceiling: {sample:,} copies of one campaign message ({len(wire):,} bytes), {load()}")
        ceilings = [ceiling_measure(sink=sink, message=wire, count=sample)]
        print(f"  bare smtplib loop: {ceilings[0]:,.0f} messages/s")

        print(f"delivery: one worker, {load()}")
        deliver_seconds, result = deliver(campaign, sink=sink, profile_path=args.profile)
        received = sink.take()
        ours = result.sent / deliver_seconds
        print(
            f"  campaign_deliver: sent {result.sent:,}, retried {result.retried}, "
            f"failed {result.failed}, finished {result.finished}, in {deliver_seconds:.1f} s: "
            f"{ours:,.0f} messages/s"
        )
        exact = received.messages == written and received.unique == written == result.sent
        print(
            f"  sink: {received.messages:,} messages, {received.unique:,} distinct recipients "
            f"({received.bytes / received.messages:,.0f} bytes each): "
            f"{'each recipient once' if exact else 'NOT each recipient once'}"
        )
        logged = Activity.objects.filter(
            kind=ActivityKind.SENT, occurred_at__gte=campaign.started_at, campaign=campaign.key
        ).count()
        by_status = dict(
            Message.objects.filter(campaign=campaign)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        print(f"  messages by status {by_status}; sent activities logged {logged:,}")
        ok &= exact and logged == written

        ceilings.append(ceiling_measure(sink=sink, message=wire, count=sample))
        print(f"ceiling again: {ceilings[1]:,.0f} messages/s, {load()}")
        ceiling = max(ceilings)
        ratio = ours / ceiling
        verdict = "ok" if ratio >= TARGET_RATIO else "BELOW TARGET"
        ok &= ratio >= TARGET_RATIO
        print()
        print(
            f"audience {audience_seconds:.2f} s | prepare {prepare_seconds:.1f} s | "
            f"ours {ours:,.0f} msg/s | ceiling {ceiling:,.0f} msg/s | ratio {ratio:.2f} "
            f"(target >= {TARGET_RATIO:g}) {verdict}"
        )
    finally:
        if args.keep:
            print("--keep: the campaign, its messages and activities and the list are kept")
        else:
            elapsed, refreshed = timed(cleanup)
            if not had_cap:
                FrequencyCap.objects.all().delete()
            restored = fingerprint is None or targeted_fingerprint(contact_ids) == fingerprint
            print(
                f"cleaned up in {elapsed:.1f} s: {refreshed:,} contacts' rollups recomputed, "
                f"last_targeted_at {'as it was' if restored else 'NOT as it was'}"
            )
            ok &= restored
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
