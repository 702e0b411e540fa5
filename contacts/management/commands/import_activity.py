from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.importing.activity import activities_import
from contacts.importing.contacts import ImportFileError


class Command(BaseCommand):
    help = (
        "Load an activity history from CSV (columns email, kind, occurred_at; optional "
        "campaign, channel, amount, external_id, machine, bounce_type). Re-running the same file "
        "adds nothing. Prints 'recorded N, duplicates N, rejected N'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="CSV file of events")
        parser.add_argument("--rejects", type=Path, help="write rejected rows to this CSV")

    def handle(self, path: Path, rejects: Path | None, **options) -> None:
        if not path.is_file():
            raise CommandError(f"cannot read {path}: no such file")
        rejects_file = rejects.open("w", encoding="utf-8", newline="") if rejects else None
        try:
            with path.open("rb") as stream:
                result = activities_import(stream=stream, rejects=rejects_file)
        except ImportFileError as exc:
            raise CommandError(f"cannot import {path}: {exc}") from None
        finally:
            if rejects_file is not None:
                rejects_file.close()
        if options["verbosity"] >= 1:
            for line, reason in result.rejects_sample:
                self.stderr.write(f"line {line}: {reason}")
            if result.rejected > len(result.rejects_sample):
                self.stderr.write(f"... and {result.rejected - len(result.rejects_sample)} more")
        self.stdout.write(result.summary())
