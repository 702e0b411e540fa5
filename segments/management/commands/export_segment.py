import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.exporting import escape_formula
from contacts.resources import EXPORT_FIELDS
from segments.models import Segment
from segments.selectors import segment_export_rows


class Command(BaseCommand):
    help = (
        "Write the current members of a segment to a CSV file (e-mail, names, phone, source, "
        "statuses, rollups), spreadsheet-safe, in the columns the contact import reads back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", metavar="SLUG")
        parser.add_argument("--output", "-o", type=Path, required=True, metavar="PATH.csv")

    def handle(self, *, slug: str, output: Path, **options) -> None:
        try:
            segment = Segment.objects.get(slug=slug)
        except Segment.DoesNotExist:
            raise CommandError(f"no segment with the slug {slug!r}") from None
        if segment.last_evaluated_at is None:
            self.stderr.write(f"{slug} was never evaluated: run evaluate_segments {slug} first")
        try:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = _write_rows(out, segment_export_rows(segment))
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        self.stdout.write(f"{slug}: {count} members written to {output}")


def _write_rows(out: TextIO, rows: Iterable[list]) -> int:
    writer = csv.writer(out)
    writer.writerow(EXPORT_FIELDS)
    count = 0
    for row in rows:
        writer.writerow([_safe_cell(value) for value in row])
        count += 1
    return count


def _safe_cell(value: Any) -> Any:
    # A number cannot run anything: a negative score stays "-5", which the import reads back
    # ("'-5" would be rejected). Text is escaped.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return escape_formula(value)
