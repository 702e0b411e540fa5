from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dashboard.demo import history_reconstruct
from dashboard.services import base_snapshot_take


class Command(BaseCommand):
    help = (
        "DEMO ONLY: give the dashboard a past. Rebuilds a daily snapshot of the base for each of "
        "the last N weeks from the activity log (marked 'reconstructed'; days already counted "
        "by the daily job are kept), then takes today's snapshot. Meant for a demo base "
        "(seed_demo): one aggregate per day, each probing the activity log per contact."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--weeks", type=int, default=12, help="how many weeks back (default 12, at most 104)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count and print each day, write nothing"
        )

    def handle(self, *, weeks: int, dry_run: bool, **options) -> None:
        if not 1 <= weeks <= 104:
            raise CommandError(f"--weeks must be between 1 and 104, got {weeks}")
        verbose = options["verbosity"] >= 2
        today = timezone.localdate()

        def progress(snapshot) -> None:
            if verbose:
                self.stdout.write(
                    f"{snapshot.day}: {snapshot.total} contacts, "
                    f"inactive segment {snapshot.inactive_segment_size}"
                )

        # No transaction around it all: each day is one upsert, so an interrupted run keeps the
        # days done and a second run completes it.
        rebuilt = history_reconstruct(
            days=7 * weeks, today=today, dry_run=dry_run, progress=progress
        )
        if not dry_run:
            base_snapshot_take()
        verb = "would rebuild" if dry_run else "rebuilt"
        today_note = "" if dry_run else ", and took today's"
        self.stdout.write(f"{verb} {len(rebuilt)} daily snapshots{today_note}")
