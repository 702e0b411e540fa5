from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.models import EngagementLevel
from contacts.services import EngagementUpdateResult, engagement_levels_update
from contacts.services.engagement import BATCH_SIZE


class Command(BaseCommand):
    help = (
        "Set every contact's engagement level from the days since its last human open, click "
        "or visit (periods of the engagement policy), record each change in its history and "
        "adjust its score. What the daily worker job does, run now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="count the contacts that would change level, per level, and change nothing",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"contact ids per transaction (default {BATCH_SIZE})",
        )

    def handle(self, *, dry_run: bool, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        verbose = options["verbosity"] >= 1

        def progress(result: EngagementUpdateResult) -> None:
            if verbose:
                self.stdout.write(
                    f"{result.examined:,} contacts examined, {result.changed_total:,} "
                    + ("to change" if dry_run else "changed")
                )

        result = engagement_levels_update(batch_size=batch_size, dry_run=dry_run, progress=progress)
        per_level = ", ".join(
            f"{level} {result.changed[level]}" for level in EngagementLevel.values
        )
        if dry_run:
            self.stdout.write("dry run: nothing was saved")
            summary = f"would change {result.changed_total} of {result.examined} contacts"
        else:
            summary = f"changed {result.changed_total} of {result.examined} contacts"
        self.stdout.write(f"{summary} ({per_level}) in {result.duration:.1f} s")
