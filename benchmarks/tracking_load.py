"""Benchmark: the open pixel and the click redirect under load, served by gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_bench \\
        .venv/bin/python benchmarks/tracking_load.py [--messages 5000] [--duration 30] \\
        [--connections 32] [--workers 3] [--threads 4] [--keep]

On the base `benchmarks/seed_demo.py` leaves (1,000,000 contacts, ~30,000,000 events), migrated
if needed: times `message_content_track` on a typical 10-link e-mail (µs per message), then
creates a sent campaign with --messages messages to random existing contacts, starts gunicorn
on loopback (DEBUG off, gthread workers) and runs `wrk` for --duration seconds against the
open pixels of those messages, then against their click links (3 links each, picked at
random, a browser's User-Agent). Prints requests/s, p50, p90 and p99 latency, the errors
(socket errors and non-2xx/3xx answers) and the events recorded. At the end it deletes its
campaign, messages and events and recomputes the rollups of the contacts it touched, so the
base is left as it was (--keep leaves them). Needs `wrk` (apt-get install wrk).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")
# Plain HTTP on loopback: production's redirect to HTTPS would answer every request with a 301.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns import tracking  # noqa: E402
from campaigns.models import Campaign, Message, SenderProfile  # noqa: E402
from contacts.models import Activity, ActivityKind, Contact  # noqa: E402
from contacts.services import contact_rollups_refresh  # noqa: E402

_PREFIX = "bench-tracking"
LINKS = [
    f"https://shop.example.com/products/{n}?utm_source=relance&utm_medium=email" for n in (1, 2, 3)
]
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
# Each wrk thread reads the paths and requests them in random order, with a browser's UA.
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("TRACKING_PATHS")) do paths[#paths + 1] = line end
local headers = {["User-Agent"] = os.getenv("TRACKING_UA")}
function init(args) math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16)) end
function request() return wrk.format("GET", paths[math.random(#paths)], headers) end
"""


def content_tracking_us() -> float:
    """µs per message for `message_content_track` on a 10-link HTML body and its text part."""
    message = Message(pk=1, token="AbCdEfGhIjKlMnOpQrStUv")
    rows = "".join(
        f'<tr><td><a href="https://shop.example.com/p/{n}?utm_source=news&amp;utm_medium=email"'
        f' class="button" style="color:#fff;background:#c00">Product {n}</a>'
        f"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit {n}.</p></td></tr>"
        for n in range(10)
    )
    html = (
        f"<html><head><style>p{{margin:0}}</style></head><body><table>{rows}</table></body></html>"
    )
    text = "\n".join(
        f"Product {n}: https://shop.example.com/p/{n}?utm_source=news&utm_medium=email"
        for n in range(10)
    )
    run = lambda: tracking.message_content_track(message=message, html=html, text=text)  # noqa: E731
    run()
    return min(timeit.repeat(run, number=2000, repeat=5)) / 2000 * 1e6


def create_messages(count: int) -> tuple[Campaign, list[Message]]:
    profile = SenderProfile.objects.create(
        name=f"{_PREFIX} {timezone.now():%Y%m%d%H%M%S}",
        from_name="Bench",
        from_email="news@example.com",
    )
    campaign = Campaign.objects.create(
        name=f"{_PREFIX} {timezone.now():%Y-%m-%d %H:%M:%S}",
        sender_profile=profile,
        status=Campaign.Status.SENT,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Contact._meta.db_table} TABLESAMPLE SYSTEM (2) "
            "ORDER BY random() LIMIT %s",
            [count],
        )
        contact_ids = [row[0] for row in cursor.fetchall()]
    sent_at = timezone.now() - timedelta(hours=1)
    Message.objects.bulk_create(
        [
            Message(
                campaign=campaign,
                contact_id=contact_id,
                sender_profile=profile,
                status=Message.Status.SENT,
                sent_at=sent_at,
            )
            for contact_id in contact_ids
        ],
        batch_size=2000,
    )
    messages = list(Message.objects.filter(campaign=campaign).only("id", "token", "contact_id"))
    return campaign, messages


def server_start(*, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "RELANCE_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=gthread",
        f"--threads={threads}",
        "--log-level=warning",
        "--keep-alive=30",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    probe = f"http://127.0.0.1:{port}/t/o/not-a-token.gif"
    for _ in range(100):
        try:
            urllib.request.urlopen(probe, timeout=1)  # noqa: S310
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return server
        except OSError:
            pass
        if server.poll() is not None:
            sys.exit("gunicorn did not start")
        time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not answer within 20 s")


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by gunicorn's workers, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk_run(*, url: str, paths: list[str], duration: int, connections: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        paths_file, script = Path(folder, "paths.txt"), Path(folder, "tracking.lua")
        paths_file.write_text("\n".join(paths) + "\n")
        script.write_text(WRK_SCRIPT)
        output = subprocess.run(
            [
                "wrk",
                "--threads=2",
                f"--connections={connections}",
                f"--duration={duration}s",
                "--timeout=10s",
                "--latency",
                f"--script={script}",
                url,
            ],
            env={**os.environ, "TRACKING_PATHS": str(paths_file), "TRACKING_UA": BROWSER},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", output, flags=re.MULTILINE))
    if len(latency) != 3:
        sys.exit(f"could not read wrk's output:\n{output}")
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad_status = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _milliseconds(latency["50"]),
        "p90": _milliseconds(latency["90"]),
        "p99": _milliseconds(latency["99"]),
        "errors": (sum(int(n) for n in socket.groups()) if socket else 0)
        + (int(bad_status.group(1)) if bad_status else 0),
    }


def recorded(kind: str, campaign: Campaign, contact_ids: list[int]) -> tuple[int, int]:
    """(events, of which machine) of `kind` for the campaign, through the contact index."""
    events = Activity.objects.filter(contact_id__in=contact_ids, kind=kind, campaign=campaign.key)
    return events.count(), events.filter(is_machine=True).count()


def cleanup(campaign: Campaign, contact_ids: list[int]) -> None:
    for start in range(0, len(contact_ids), 2000):
        chunk = contact_ids[start : start + 2000]
        Activity.objects.filter(contact_id__in=chunk, campaign=campaign.key).delete()
        contact_rollups_refresh(contacts=Contact.objects.filter(pk__in=chunk))
    Message.objects.filter(campaign=campaign).delete()
    profile = campaign.sender_profile
    campaign.delete()
    profile.delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--duration", type=int, default=30, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep", action="store_true", help="keep the campaign and its events")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This benchmark runs on PostgreSQL: set DATABASE_URL.")
        return 2
    if not shutil.which("wrk"):
        print("This benchmark needs wrk: apt-get install wrk")
        return 2

    print(
        f"message_content_track, 10 links in HTML and text: {content_tracking_us():.0f} µs/message"
    )
    call_command("migrate", "--noinput", verbosity=0)
    started = time.monotonic()
    campaign, messages = create_messages(args.messages)
    contact_ids = [message.contact_id for message in messages]
    print(
        f"campaign {campaign.key}: {len(messages)} messages in {time.monotonic() - started:.1f} s"
    )

    base = f"http://127.0.0.1:{args.port}"
    settings.RELANCE_PUBLIC_URL = base
    opens = [tracking.open_url(message).removeprefix(base) for message in messages]
    clicks = [
        tracking.click_url(message, link).removeprefix(base)
        for message in messages
        for link in LINKS
    ]
    server = server_start(port=args.port, workers=args.workers, threads=args.threads)
    print(
        f"gunicorn: {args.workers} gthread workers x {args.threads} threads; "
        f"wrk: 2 threads, {args.connections} connections, {args.duration} s per endpoint"
    )
    ok = True
    try:
        for name, kind, paths in (
            ("open pixel", ActivityKind.OPEN, opens),
            ("click redirect", ActivityKind.CLICK, clicks),
        ):
            load = os.getloadavg()[0]
            cpu = server_cpu_seconds(server)
            result = wrk_run(
                url=base, paths=paths, duration=args.duration, connections=args.connections
            )
            cpu = server_cpu_seconds(server) - cpu
            events, machine = recorded(kind, campaign, contact_ids)
            ok &= result["errors"] == 0
            print(
                f"{name}: {result['rps']:,.0f} requests/s, p50 {result['p50']:.1f} ms, "
                f"p90 {result['p90']:.1f} ms, p99 {result['p99']:.1f} ms, "
                f"errors {result['errors']}; {result['requests']:,} requests, "
                f"{events:,} {kind} events recorded ({machine:,} machine); "
                f"gunicorn CPU {cpu / max(result['requests'], 1) * 1000:.1f} ms/request; "
                f"load average before: {load:.2f}"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if not args.keep:
            cleanup(campaign, contact_ids)
            print("campaign, messages and events deleted; rollups of their contacts recomputed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
