"""Contacts in and out of the admin through django-import-export.

Import: `ContactCsvFormat` reads the upload with the reader and header aliases of the
command-line import (any common encoding and delimiter, English and French headers), and
`ContactResource` applies the rules of `contacts.importing.contacts` row by row, so that the
admin can show a preview before anything is written:

- e-mails are matched lower-cased; a later row with the same e-mail is merged into the first
  one (its non-empty values win) and counted as a merged duplicate;
- an existing contact changes only when "update existing contacts" is chosen, otherwise it
  counts as unchanged; an empty cell never erases a stored value; extra columns are merged
  into `attributes`;
- the file's e-mail status only changes a contact that is currently subscribed (SMS status:
  one that is subscribed or has not consented), so an import never resubscribes anyone;
  a new contact takes the file's status;
- a `source` value names the lead source (created when missing); the default lead source is
  for new contacts whose row names none;
- every contact of the file (new or not) joins the chosen list.

A row that cannot be imported is reported as a row validation error: its line in the file and
the reason (which names the column).

Export: every text cell that a spreadsheet would run as a formula is escaped.
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field

import tablib
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from import_export import resources
from import_export.fields import Field
from import_export.formats.base_formats import Format
from import_export.results import Result, RowResult
from import_export.widgets import JSONWidget

from contacts.exporting import escape_formula
from contacts.importing.columns import HeaderMap, map_headers
from contacts.importing.reading import CsvReader
from contacts.importing.rows import PLAIN_FIELDS, ContactRow, ContactRowBuilder, contact_row_merge
from contacts.models import Contact, ContactList, EmailStatus, LeadSource, ListMembership, SmsStatus
from contacts.normalize import InvalidValue
from contacts.privacy import erased_addresses_load

# Columns of the import preview, in order; `source` is the lead source's name.
IMPORT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "language",
    "time_zone",
    "source",
    "created_at",
    "email_status",
    "sms_status",
    "loyalty_points",
    "loyalty_points_expire_on",
    "score",
    "attributes",
)
# Exported but never imported: computed by Relance.
COMPUTED_FIELDS = (
    "engagement_level",
    "last_targeted_at",
    "last_open_at",
    "last_click_at",
    "last_purchase_at",
    "last_visit_at",
)
# Columns of an export. Custom attributes are left out: each contact has its own keys.
EXPORT_FIELDS = (*[name for name in IMPORT_FIELDS if name != "attributes"], *COMPUTED_FIELDS)
# The SMS statuses a file may change: a contact who said no stays that way.
_SMS_OPEN = (SmsStatus.SUBSCRIBED, SmsStatus.NO_CONSENT)
_LOOKUP_BATCH = 1000


class ContactDataset(tablib.Dataset):
    """The rows of an uploaded file, with what is needed to report on them.

    Headers are the canonical field names for the columns `map_headers` recognised, and the
    file's own header for the others; `header_map` keeps the file's headers for messages.
    """

    def __init__(self, *args, header_map: HeaderMap | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.header_map = header_map
        self.lines: list[int] = []  # the file line where each row starts
        self.record_errors: dict[int, str] = {}  # row index -> why csv could not parse it


class ContactCsvFormat(Format):
    """CSV for contacts, read as `import_contacts` reads it; written spreadsheet-safe."""

    def __init__(self, encoding: str | None = None) -> None:
        # The reader detects the encoding itself; import-export passes one in anyway.
        self.encoding = encoding

    def get_title(self) -> str:
        return "csv"

    def get_extension(self) -> str:
        return "csv"

    def get_content_type(self) -> str:
        return "text/csv"

    def can_import(self) -> bool:
        return True

    def can_export(self) -> bool:
        return True

    def is_binary(self) -> bool:
        # The upload is kept as bytes: decoding is the reader's job (UTF-8, UTF-16,
        # Windows-1252...), not import-export's fixed `from_encoding`.
        return True

    def get_read_mode(self) -> str:
        return "rb"

    def create_dataset(self, in_stream: bytes | str) -> ContactDataset:
        """Raises UnreadableFile or HeaderError (with a message for the user) on a bad file."""
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8")
        reader = CsvReader(io.BytesIO(in_stream))
        try:
            mapping = map_headers(reader.headers)
            dataset = ContactDataset(headers=_dataset_headers(mapping), header_map=mapping)
            width = len(mapping.headers)
            for line, values, error in reader:
                if values is None:
                    dataset.record_errors[len(dataset)] = error
                    values = []
                dataset.append((values + [""] * width)[:width])
                dataset.lines.append(line)
        finally:
            reader.close()
        return dataset

    def export_data(self, dataset: tablib.Dataset, **kwargs) -> str:
        out = io.StringIO()
        # The byte-order mark makes Excel read the file as UTF-8 (accents intact).
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow([escape_formula(header) for header in dataset.headers or []])
        for row in dataset:
            writer.writerow([_safe_cell(value) for value in row])
        return out.getvalue()


_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def _safe_cell(value) -> str:
    text = "" if value is None else str(value)
    # A plain number (a negative score) cannot run anything; keep it a number.
    if _NUMBER.fullmatch(text):
        return text
    return escape_formula(text)


def _dataset_headers(mapping: HeaderMap) -> list[str]:
    canonical = {position: name for name, position in mapping.fields.items()}
    headers: list[str] = []
    for position, header in enumerate(mapping.headers):
        name = canonical.get(position) or header or f"column {position + 1}"
        candidate, suffix = name, 2
        while candidate in headers:
            candidate, suffix = f"{name} ({suffix})", suffix + 1
        headers.append(candidate)
    return headers


@dataclass(slots=True)
class _RowPlan:
    """What the pre-pass decided for one row of the file."""

    line: int
    row: ContactRow | None = None
    error: str = ""
    merged_into: int | None = None  # line of the first row of this e-mail


@dataclass(slots=True)
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    merged: int = 0
    contact_list: ContactList | None = None
    list_members: list[Contact] = field(default_factory=list)


class _AttributesWidget(JSONWidget):
    """Custom attributes as readable JSON ("Orléans", not "Orl\\u00e9ans"); empty when none."""

    def render(self, value, obj=None, **kwargs) -> str:
        return json.dumps(value, ensure_ascii=False) if value else ""


class ContactResource(resources.ModelResource):
    source = Field(attribute="lead_source__name", column_name="source")
    attributes = Field(attribute="attributes", column_name="attributes", widget=_AttributesWidget())

    class Meta:
        model = Contact
        fields = (*IMPORT_FIELDS, *COMPUTED_FIELDS)
        import_id_fields = ("email",)
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = False
        # Creates and updates are written 1,000 at a time instead of one statement (and one
        # savepoint) per row: a 20,000-row preview takes seconds, not half a minute.
        use_bulk = True
        batch_size = 1000
        # Export reads the queryset in chunks of this size.
        chunk_size = 2000

    def __init__(
        self,
        *,
        update_existing: bool = False,
        contact_list: ContactList | None = None,
        lead_source: LeadSource | None = None,
        region: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.update_existing = update_existing
        self.contact_list = contact_list
        self.lead_source = lead_source
        self.region = region
        self._reset()

    def _reset(self) -> None:
        self._plans: list[_RowPlan] = []
        self._file_headers: list[str] = []
        self._existing: dict[str, Contact] = {}
        self._instances: dict[str, Contact] = {}
        self._sources: dict[str, LeadSource] = {}
        self._plan: _RowPlan | None = None
        self._changed = False
        self.summary = ImportSummary(contact_list=self.contact_list)

    # Which fields show where ---------------------------------------------------------------

    def get_import_fields(self) -> list[Field]:
        return [self.fields[name] for name in IMPORT_FIELDS]

    def get_export_order(self) -> tuple[str, ...]:
        return EXPORT_FIELDS

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.select_related("lead_source")

    # Import --------------------------------------------------------------------------------

    def before_import(self, dataset: tablib.Dataset, **kwargs) -> None:
        """Validate every row, merge duplicate e-mails, and load what the rows refer to.

        Runs before any row is imported, so that a duplicate later in the file is merged
        into the first row of its e-mail, and existing contacts and lead sources are
        fetched in a few queries instead of one per row.
        """
        self._reset()
        mapping = getattr(dataset, "header_map", None) or map_headers(list(dataset.headers))
        self._file_headers = list(mapping.headers)
        lines = getattr(dataset, "lines", None) or [i + 2 for i in range(len(dataset))]
        record_errors = getattr(dataset, "record_errors", {})
        builder = ContactRowBuilder(mapping, region=self.region, erased=erased_addresses_load())
        first_rows: dict[str, _RowPlan] = {}
        for index, values in enumerate(dataset):
            plan = _RowPlan(line=lines[index])
            self._plans.append(plan)
            if index in record_errors:
                plan.error = gettext("unreadable row: %(error)s") % {"error": record_errors[index]}
                continue
            try:
                row = builder.build(
                    ["" if value is None else str(value) for value in values], plan.line
                )
            except InvalidValue as exc:
                plan.error = str(exc)
                continue
            if (first := first_rows.get(row.email)) is not None:
                contact_row_merge(first.row, row)
                plan.row, plan.merged_into = first.row, first.line
            else:
                plan.row = row
                first_rows[row.email] = plan
        self._load_existing(list(first_rows))
        self._load_sources({plan.row.source for plan in first_rows.values() if plan.row.source})

    def _load_existing(self, emails: list[str]) -> None:
        for start in range(0, len(emails), _LOOKUP_BATCH):
            for contact in Contact.objects.filter(
                email__in=emails[start : start + _LOOKUP_BATCH]
            ).select_related("lead_source"):
                self._existing[contact.email] = contact

    def _load_sources(self, names: set[str]) -> None:
        """Fetch the lead sources the file names, creating the missing ones."""
        if not names:
            return
        known = {source.name for source in LeadSource.objects.filter(name__in=names)}
        LeadSource.objects.bulk_create(
            [LeadSource(name=name) for name in sorted(names - known)], ignore_conflicts=True
        )
        self._sources = {
            source.name: source for source in LeadSource.objects.filter(name__in=names)
        }

    def before_import_row(self, row, **kwargs) -> None:
        self._plan = plan = self._plans[kwargs["row_number"] - 1]
        self._changed = False
        if plan.error:
            raise ValidationError(plan.error, code="rejected")

    def get_or_init_instance(self, instance_loader, row) -> tuple[Contact, bool]:
        email = self._plan.row.email
        if self._plan.merged_into is not None:
            return self._instances[email], False
        contact = self._existing.get(email)
        new = contact is None
        if new:
            contact = Contact(email=email)
        self._instances[email] = contact
        return contact, new

    def import_instance(self, instance: Contact, row, **kwargs) -> None:
        plan = self._plan
        new = instance._state.adding
        if plan.merged_into is not None or (not new and not self.update_existing):
            return
        self._changed = self._apply(instance, plan.row, new=new)

    def _apply(self, contact: Contact, row: ContactRow, *, new: bool) -> bool:
        """Copy the row's values onto the contact by the import rules; True if any changed."""
        values = {name: getattr(row, name) for name in PLAIN_FIELDS}
        if row.email_status is not None and (new or contact.email_status == EmailStatus.SUBSCRIBED):
            values["email_status"] = row.email_status
        if row.sms_status is not None and (new or contact.sms_status in _SMS_OPEN):
            values["sms_status"] = row.sms_status
        if row.attributes:
            values["attributes"] = {**(contact.attributes or {}), **row.attributes}
        changed = False
        for name, value in values.items():
            if value is not None and getattr(contact, name) != value:
                setattr(contact, name, value)
                changed = True
        source = self._sources.get(row.source) if row.source else None
        if source is None and new:
            source = self.lead_source
        if source is not None and contact.lead_source_id != source.pk:
            contact.lead_source = source
            changed = True
        if changed and not new:
            contact.updated_at = timezone.now()  # bulk_update does not apply auto_now
        return changed

    def get_bulk_update_fields(self) -> list[str]:
        return [
            *PLAIN_FIELDS,
            "email_status",
            "sms_status",
            "attributes",
            "lead_source",
            "updated_at",
        ]

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """Write the pending updates, one UPDATE per contact.

        Django's bulk_update builds a CASE expression per field and row, which takes seconds
        per thousand contacts; plain UPDATEs inside the import's transaction are much faster.
        """
        if not self.update_instances or (dry_run and not using_transactions):
            self.update_instances.clear()
            return
        fields = self.get_bulk_update_fields()
        try:
            for contact in self.update_instances:
                contact.save(update_fields=fields)
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)
        finally:
            self.update_instances.clear()

    def skip_row(self, instance, original, row, import_validation_errors=None) -> bool:
        if import_validation_errors:
            return False
        if self._plan.merged_into is not None:
            return True
        return not instance._state.adding and not self._changed

    def after_import_row(self, row, row_result: RowResult, **kwargs) -> None:
        plan = self._plans[kwargs["row_number"] - 1]
        row_result.line = plan.line
        row_result.merged_into = plan.merged_into
        summary = self.summary
        if plan.merged_into is not None:
            summary.merged += 1
            return
        if row_result.import_type == RowResult.IMPORT_TYPE_NEW:
            summary.created += 1
        elif row_result.import_type == RowResult.IMPORT_TYPE_UPDATE:
            summary.updated += 1
        elif row_result.import_type == RowResult.IMPORT_TYPE_SKIP:
            summary.unchanged += 1
        if self.contact_list is not None:
            # New contacts get their id when their batch is written, before after_import.
            summary.list_members.append(self._instances[plan.row.email])

    def after_import(self, dataset: tablib.Dataset, result: Result, **kwargs) -> None:
        """Add the file's contacts to the list and report rows by their line in the file.

        ModelResource.after_import is not called on purpose: it resets the table's id
        sequence, which is only needed when ids are imported and which could move the
        sequence under a concurrent import.
        """
        summary = self.summary
        if summary.contact_list is not None and summary.list_members:
            ids = [contact.pk for contact in summary.list_members if contact.pk]
            if len(ids) < len(summary.list_members):  # a database that returns no ids
                ids = list(
                    Contact.objects.filter(
                        email__in=[contact.email for contact in summary.list_members]
                    ).values_list("pk", flat=True)
                )
            ListMembership.objects.bulk_create(
                [ListMembership(contact_list=summary.contact_list, contact_id=pk) for pk in ids],
                ignore_conflicts=True,
                batch_size=_LOOKUP_BATCH,
            )
        # A rejected row is shown as it is in the file, under the file's own headers.
        result.file_headers = self._file_headers
        for invalid in result.invalid_rows:
            if 0 < invalid.number <= len(dataset):
                invalid.values = tuple(dataset[invalid.number - 1])
            invalid.number = self._line(invalid.number)
        for error_row in result.error_rows:
            error_row.number = self._line(error_row.number)
            for error in error_row.errors:
                error.number = self._line(error.number)
        summary.rejected = len(result.invalid_rows) + len(result.error_rows)
        result.contact_summary = summary

    def _line(self, row_number: int | None) -> int | None:
        if row_number is None or not 0 < row_number <= len(self._plans):
            return row_number
        return self._plans[row_number - 1].line
