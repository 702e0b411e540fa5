from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from segments.models import Segment
from segments.services import SegmentBusy, segment_evaluate, segment_evaluation_dry_run


class Command(BaseCommand):
    help = (
        "Evaluate segments now and print, per segment, who entered and left and how many members "
        "it has. Names segments by slug; with none, evaluates every active segment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", metavar="SLUG", help="segments to evaluate")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="count who would enter and leave, change nothing",
        )

    def handle(self, *, slugs: list[str], dry_run: bool, **options) -> None:
        if slugs:
            segments = list(Segment.objects.filter(slug__in=slugs))
            unknown = sorted(set(slugs) - {segment.slug for segment in segments})
            if unknown:
                raise CommandError(f"no segment with the slug: {', '.join(unknown)}")
            segments.sort(key=lambda segment: slugs.index(segment.slug))
        else:
            segments = list(Segment.objects.filter(is_active=True).order_by("slug"))
            if not segments:
                self.stdout.write("no active segment")
        problems = []
        for segment in segments:
            if dry_run:
                try:
                    change = segment_evaluation_dry_run(segment=segment)
                except ValidationError as error:  # a stored rule that no longer holds
                    problems.append(segment.slug)
                    self.stderr.write(f"{segment.slug}: failed: {' '.join(error.messages)}")
                    continue
                self.stdout.write(
                    f"{segment.slug}: would enter {change.entered}, would exit {change.exited}, "
                    f"members {change.members}"
                )
                continue
            try:
                result = segment_evaluate(segment_id=segment.pk)
            except SegmentBusy:
                problems.append(segment.slug)
                self.stderr.write(f"{segment.slug}: skipped, another worker is evaluating it")
                continue
            if result.failed:
                problems.append(segment.slug)
                self.stderr.write(f"{segment.slug}: failed: {result.error}")
                continue
            self.stdout.write(
                f"{segment.slug}: entered {result.entered}, exited {result.exited}, "
                f"members {result.members}"
            )
        if problems:
            raise CommandError(f"not evaluated: {', '.join(problems)}")
