"""Run Relance on this machine: the web admin and a django-q2 worker, side by side.

What `make run` does, in order:
1. apply the migrations (SQLite file in var/ unless DATABASE_URL says otherwise);
2. when the base has no contact yet, load the demo data (`seed_demo --contacts 2000 --seed 1`),
   evaluate the active segments, add demo sender profiles and a draft campaign
   (`seed_demo_campaigns`), an active Inactivity scenario (`seed_demo_scenarios`), the
   dashboard's past (`seed_demo_dashboard`) and a sign-up form (`seed_demo_signups`); e-mails
   and SMS sent go to files in var/ (sent-mail/, sms/);
3. make sure the `admin` superuser exists and print its login (`ensure_admin`);
4. start `runserver 127.0.0.1:$PORT` (8000 by default) and `qcluster`, and supervise them:
   Ctrl-C (or SIGTERM) stops both gracefully, a second Ctrl-C or a stuck process after
   GRACE_SECONDS kills them; when either one dies on its own the other is stopped too.

    python scripts/dev_run.py
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
GRACE_SECONDS = 20
DEMO_SEED_ARGS = ["--contacts", "2000", "--seed", "1"]


def port_from_env() -> int:
    raw = os.environ.get("PORT", "8000")
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        sys.exit(f"PORT must be a TCP port number, got {raw!r}")
    return port


def prepare(admin_url: str) -> None:
    """Steps 1-3, in this process; connections are closed before the servers start."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Demo sends land in files (var/sent-mail, var/sms) rather than flooding the terminal;
    # the web and worker processes started later inherit this environment.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    os.environ.setdefault("RELANCE_SMS_BACKEND", "campaigns.sms.backends.file.SmsBackend")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connections

    from contacts.models import Contact

    try:
        call_command("migrate", "--noinput")
        if not Contact.objects.exists():
            print(f"No contact yet: loading demo data (seed_demo {' '.join(DEMO_SEED_ARGS)})")
            call_command("seed_demo", *DEMO_SEED_ARGS)
            # The worker would do it within minutes; the demo shows members at once.
            call_command("evaluate_segments")
            call_command("seed_demo_campaigns")
            call_command("seed_demo_scenarios")
            # Twelve weeks of daily counts rebuilt from the demo's activity: the dashboard's
            # charts over time have a past from the first start.
            call_command("seed_demo_dashboard")
            call_command("seed_demo_signups")
        call_command("ensure_admin", "--url", admin_url)
    except CommandError as error:
        sys.exit(f"make run: {error}")
    finally:
        connections.close_all()


class Supervisor:
    """Runs child processes until a signal or the first exit, then stops them all."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen] = {}
        self.stop_requests = 0

    def start(self, name: str, args: list[str]) -> None:
        # Each child gets its own session so that Ctrl-C reaches this supervisor only, and
        # every child is signalled exactly once, the way it expects (see stop()).
        self.children[name] = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def on_signal(self, signum: int, frame: object) -> None:
        self.stop_requests += 1

    def stop(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                continue
            if name == "web":
                # runserver's autoreloader runs the server in a child process: stop both.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGINT)
            else:
                # qcluster's main process stops its sentinel and lets the workers finish their
                # task; the sentinel itself dies at once on a signal, so only the main gets one.
                child.send_signal(signal.SIGINT)

    def kill(self) -> None:
        for child in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

    def run(self) -> int:
        exit_code = 0
        stopping_since: float | None = None
        handled_requests = 0
        while True:
            if self.stop_requests > handled_requests:
                handled_requests = self.stop_requests
                if stopping_since is None:
                    print("\nStopping the web server and the worker (Ctrl-C again to kill them)")
                    stopping_since = time.monotonic()
                    self.stop()
                else:
                    print("Killing the web server and the worker")
                    self.kill()
            if stopping_since is None:
                for name, child in self.children.items():
                    if child.poll() is not None:
                        print(f"The {name} process exited with code {child.returncode}: stopping")
                        # Killed by a signal: the shell's convention, 128 + its number.
                        code = child.returncode
                        exit_code = 128 - code if code < 0 else code or 1
                        stopping_since = time.monotonic()
                        self.stop()
                        break
            elif time.monotonic() - stopping_since > GRACE_SECONDS:
                print(f"Still running after {GRACE_SECONDS} s: killing")
                self.kill()
                stopping_since = time.monotonic()
            if all(child.poll() is not None for child in self.children.values()):
                break
            time.sleep(0.2)
        # Whatever a child left behind in its process group (workers of a crashed cluster).
        self.kill()
        return exit_code


def main() -> int:
    port = port_from_env()
    # Tracking and unsubscribe links in demo messages lead back to this server.
    os.environ.setdefault("RELANCE_PUBLIC_URL", f"http://{HOST}:{port}")
    admin_url = f"http://{HOST}:{port}/admin/"
    try:
        prepare(admin_url)
    except KeyboardInterrupt:
        print("\nInterrupted before the servers started.")
        return 130

    supervisor = Supervisor()
    signal.signal(signal.SIGINT, supervisor.on_signal)
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    signal.signal(signal.SIGHUP, supervisor.on_signal)
    supervisor.start("web", ["runserver", f"{HOST}:{port}"])
    supervisor.start("worker", ["qcluster"])
    print(f"Relance is starting: web admin at {admin_url}, and a django-q2 worker.")
    print("Press Ctrl-C to stop both.")
    code = supervisor.run()
    print("Relance stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
