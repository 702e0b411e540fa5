"""Reads about segments: previews of a rule, members for export, reports."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, QuerySet
from django.utils import timezone

from contacts.models import Contact
from contacts.resources import EXPORT_FIELDS
from segments.models import Segment, SegmentMembership
from segments.rules import rule_contacts

PREVIEW_SAMPLE_SIZE = 10
EXPORT_CHUNK = 5000

# Contact columns behind each export header (`source` is the lead source's name).
_EXPORT_COLUMNS = {name: name for name in EXPORT_FIELDS} | {"source": "lead_source__name"}


@dataclass(frozen=True)
class RulePreview:
    count: int
    sample: list[dict] = field(default_factory=list)
    # (lead source name or "", contacts), largest first.
    by_source: list[tuple[str, int]] = field(default_factory=list)


def rule_preview(
    *, rule: dict, now: datetime | None = None, sample_size: int = PREVIEW_SAMPLE_SIZE
) -> RulePreview:
    """How many contacts a cleaned rule matches, a sample of them and the split by lead source.

    Two queries: the count comes from the split by source (one aggregate over the matches),
    the sample reads the newest matching contacts.
    """
    matching = rule_contacts(rule, now=now or timezone.now())
    by_source = [
        (name or "", count)
        for name, count in matching.order_by()
        .values_list("lead_source__name")
        .annotate(contacts=Count("pk"))
        # "No source" last among equals, on SQLite (NULLs first) as on PostgreSQL (last).
        .order_by("-contacts", F("lead_source__name").asc(nulls_last=True))
    ]
    sample = list(
        matching.order_by("-pk").values(
            "pk", "email", "first_name", "last_name", "lead_source__name", "email_status"
        )[:sample_size]
    )
    return RulePreview(
        count=sum(count for _name, count in by_source), sample=sample, by_source=by_source
    )


def segment_member_contacts(segment: Segment) -> QuerySet[Contact]:
    """The contacts currently in `segment`."""
    return Contact.objects.filter(
        Exists(
            SegmentMembership.objects.filter(
                segment=segment, contact_id=OuterRef("pk"), exited_at__isnull=True
            )
        )
    )


def contact_export_rows(contacts: QuerySet[Contact]) -> Iterator[list]:
    """`contacts` as export rows (headers: `EXPORT_FIELDS`, the columns the import reads back),
    read in id-ordered chunks so that memory stays bounded at any size."""
    columns = [_EXPORT_COLUMNS[name] for name in EXPORT_FIELDS]
    contacts = contacts.order_by("pk")
    last_id = 0
    while True:
        chunk = list(contacts.filter(pk__gt=last_id).values_list("pk", *columns)[:EXPORT_CHUNK])
        if not chunk:
            return
        for _pk, *values in chunk:
            yield [_export_cell(value) for value in values]
        last_id = chunk[-1][0]


def segment_export_rows(segment: Segment) -> Iterator[list]:
    """The current members of `segment` as export rows."""
    return contact_export_rows(segment_member_contacts(segment))


def _export_cell(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    return value
