from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.importing import (
    ImportFileError,
    ImportOptions,
    ImportResult,
    ValidatorError,
    contacts_import,
)
from contacts.models import ContactList, LeadSource


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file (any common encoding and delimiter, English or French "
        "headers). Prints 'created N, updated N, unchanged N, rejected N'; rejected rows are "
        "reported, not fatal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="CSV file to import")
        parser.add_argument("--list", dest="list_name", help="add every imported contact to it")
        parser.add_argument("--source", dest="source_name", help="lead source for rows without")
        parser.add_argument(
            "--update-existing",
            action="store_true",
            help="update contacts that already exist (otherwise they are left unchanged)",
        )
        parser.add_argument("--rejects", type=Path, help="write rejected rows to this CSV")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and count, change nothing"
        )

    def handle(
        self,
        path: Path,
        list_name: str | None,
        source_name: str | None,
        update_existing: bool,
        rejects: Path | None,
        dry_run: bool,
        **options,
    ) -> None:
        if not path.is_file():
            raise CommandError(f"cannot read {path}: no such file")
        import_options = ImportOptions(update_existing=update_existing, dry_run=dry_run)
        if list_name:
            import_options.contact_list, _ = ContactList.objects.get_or_create(name=list_name)
        if source_name:
            import_options.lead_source, _ = LeadSource.objects.get_or_create(name=source_name)
        verbosity = options["verbosity"]

        def progress(result: ImportResult) -> None:
            if verbosity >= 1 and result.bytes_total:
                percent = result.bytes_read * 100 // result.bytes_total
                self.stderr.write(f"\r{percent:3d}%  {result.rows} rows read", ending="")

        rejects_file = rejects.open("w", encoding="utf-8", newline="") if rejects else None
        try:
            with path.open("rb") as stream:
                result = contacts_import(
                    stream=stream, options=import_options, rejects=rejects_file, progress=progress
                )
        except ImportFileError as exc:
            raise CommandError(f"cannot import {path}: {exc}") from None
        except ValidatorError as exc:
            # The validating process failed: its own message says why; no traceback here.
            raise CommandError(f"import of {path} stopped: {exc}") from None
        finally:
            if rejects_file is not None:
                rejects_file.close()
        if verbosity >= 1:
            self.stderr.write("")
            for line, reason in result.rejects_sample:
                self.stderr.write(f"line {line}: {reason}")
            if result.rejected > len(result.rejects_sample):
                self.stderr.write(f"... and {result.rejected - len(result.rejects_sample)} more")
            if result.merged:
                self.stdout.write(f"{result.merged} duplicate rows merged")
            if dry_run:
                self.stdout.write("dry run: nothing was saved")
        self.stdout.write(result.summary())
