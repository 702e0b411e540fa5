from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.services import contact_rollups_rebuild


class Command(BaseCommand):
    help = (
        "Recompute every contact's activity rollups (last targeted, open, click, purchase and "
        "visit) from the activity log, by ranges of contact ids. Machine opens never count."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=20000,
            help="contact ids per transaction (default 20000)",
        )

    def handle(self, *, chunk_size: int, **options) -> None:
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        verbose = options["verbosity"] >= 1

        def progress(done: int) -> None:
            if verbose:
                self.stdout.write(f"{done:,} contacts")

        done = contact_rollups_rebuild(chunk_size=chunk_size, progress=progress)
        self.stdout.write(f"rebuilt rollups of {done} contacts")
