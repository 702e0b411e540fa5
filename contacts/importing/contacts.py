"""The contact import: one service behind the admin's background jobs and `import_contacts`.

The file is streamed in chunks. Each chunk is validated in Python (rejects are reported with
their line and reason), de-duplicated, written to a temporary staging table (COPY on
PostgreSQL), then merged into the base with a handful of set-based statements:

1. create the lead sources the chunk names;
2. find which e-mails already exist, and which this very import already wrote;
3. insert the new contacts;
4. update existing ones (only with `update_existing`, or when an earlier row of the same file
   created them), never turning a suppressed contact back into subscribed;
5. add every contact of the chunk to the chosen list.

Each chunk is committed on its own, so a long import shows progress and a crash leaves the
chunks before it in place; running the same file again then finds them unchanged.
"""

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.exporting import escape_formula

try:
    from psycopg import errors as psycopg_errors
    from psycopg.types.json import Jsonb
except ImportError:  # SQLite-only installs never take the COPY path
    psycopg_errors = Jsonb = None
from contacts.importing.columns import HeaderError, map_headers
from contacts.importing.reading import CsvReader, UnreadableFile
from contacts.importing.rows import PLAIN_FIELDS, ContactRow, ContactRowBuilder, contact_row_merge
from contacts.models import (
    Contact,
    ContactList,
    EmailStatus,
    EngagementLevel,
    LeadSource,
    ListMembership,
    SmsStatus,
)
from contacts.normalize import InvalidValue

CHUNK_SIZE = 20000


@dataclass
class ImportOptions:
    contact_list: ContactList | None = None
    lead_source: LeadSource | None = None
    update_existing: bool = False
    dry_run: bool = False
    region: str | None = None


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    merged: int = 0
    bytes_read: int = 0
    bytes_total: int = 0
    rejects_sample: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why."""


class RejectWriter:
    """Writes rejected records (line, reason, original values) as a spreadsheet-safe CSV."""

    SAMPLE = 20

    def __init__(self, out: TextIO | None, headers: list[str]) -> None:
        import csv

        self._writer = csv.writer(out) if out is not None else None
        if self._writer is not None:
            self._writer.writerow([_("line"), _("reason"), *map(escape_formula, headers)])

    def reject(self, result: ImportResult, line: int, reason: str, values: list[str]) -> None:
        result.rejected += 1
        if len(result.rejects_sample) < self.SAMPLE:
            result.rejects_sample.append((line, reason))
        if self._writer is not None:
            self._writer.writerow([line, escape_formula(reason), *map(escape_formula, values)])


def contacts_import(
    *,
    stream: BinaryIO,
    options: ImportOptions,
    rejects: TextIO | None = None,
    progress: Callable[[ImportResult], None] | None = None,
    chunk_size: int | None = None,
) -> ImportResult:
    """Import the contacts of a CSV file; see the module docstring for the steps.

    Raises ImportFileError when the file cannot be read at all (rejected rows are not errors:
    they are counted, sampled in the result and written to `rejects`).
    """
    try:
        reader = CsvReader(stream)
        mapping = map_headers(reader.headers)
    except (UnreadableFile, HeaderError) as exc:
        raise ImportFileError(str(exc)) from None
    chunk_size = chunk_size or CHUNK_SIZE
    result = ImportResult(bytes_total=reader.size)
    reject_writer = RejectWriter(rejects, reader.headers)
    builder = ContactRowBuilder(mapping, region=options.region)
    merger = _ChunkMerger(options)
    # On PostgreSQL, outside any transaction, a second thread (with its own connection) writes
    # each chunk while this one validates the next: the two halves of the work overlap.
    threaded = merger.postgres and not options.dry_run and not connection.in_atomic_block
    writer = (
        _ThreadedWriter(merger, result, progress)
        if threaded
        else _InlineWriter(merger, result, progress)
    )
    outer = transaction.atomic() if options.dry_run else _NoTransaction()
    with outer:
        writer.start()
        try:
            chunk: dict[str, ContactRow] = {}
            for line, values, error in reader:
                result.rows += 1
                row = _build(values, error, line, builder, reject_writer, result)
                if row is None:
                    continue
                if (kept := chunk.get(row.email)) is not None:
                    contact_row_merge(kept, row)
                    result.merged += 1
                    continue
                chunk[row.email] = row
                if len(chunk) >= chunk_size:
                    writer.write(list(chunk.values()), reader.bytes_read)
                    chunk = {}
            if chunk:
                writer.write(list(chunk.values()), reader.bytes_read)
        finally:
            writer.finish()
            reader.close()
        if options.dry_run:
            transaction.set_rollback(True)
    result.bytes_read = result.bytes_total
    if progress is not None:
        progress(result)
    return result


class _InlineWriter:
    def __init__(self, merger: "_ChunkMerger", result: ImportResult, progress) -> None:
        self.merger, self.result, self.progress = merger, result, progress

    def start(self) -> None:
        self.merger.setup()

    def write(self, rows: list[ContactRow], bytes_read: int) -> None:
        self.merger.merge(rows, self.result)
        self.result.bytes_read = bytes_read
        if self.progress is not None:
            self.progress(self.result)

    def finish(self) -> None:
        self.merger.teardown()


class _ThreadedWriter(_InlineWriter):
    """Runs the merger in a thread fed through a short queue; its errors surface here."""

    def start(self) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="contacts-import", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.merger.setup()
            while (item := self.queue.get()) is not None:
                if self.error is None:
                    super().write(*item)
            self.merger.teardown()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = exc
            while self.queue.get() is not None:
                pass
        finally:
            connection.close()

    def write(self, rows: list[ContactRow], bytes_read: int) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((rows, bytes_read))

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _build(
    values: list[str] | None,
    error: str,
    line: int,
    builder: ContactRowBuilder,
    reject_writer: RejectWriter,
    result: ImportResult,
) -> ContactRow | None:
    if values is None:
        reject_writer.reject(result, line, _("unreadable row: %(error)s") % {"error": error}, [])
        return None
    try:
        return builder.build(values, line)
    except InvalidValue as exc:
        reject_writer.reject(result, line, str(exc), values)
        return None


class _NoTransaction:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _ChunkMerger:
    """Writes one chunk of validated rows (unique e-mails) into the base with set-based SQL."""

    staging = "relance_import_chunk"
    touched = "relance_import_touched"

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self.postgres = connection.vendor == "postgresql"
        self.contact = Contact._meta.db_table
        self.membership = ListMembership._meta.db_table
        self.sources: dict[str, int] = {}
        self.last_id_before = 0
        self.optimistic = self.postgres

    def setup(self) -> None:
        """Create the temporary tables (dropping leftovers of a crashed import first).

        Contacts with an id above `last_id_before` were created by this import; the
        `touched` table remembers the pre-existing contacts it has already written, so that a
        later duplicate row is recognised even many chunks later, without holding every
        e-mail of the file in memory.
        """
        json_type = "jsonb" if self.postgres else "text"
        timestamp = "timestamptz" if self.postgres else "datetime"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.staging}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.touched}")
            cursor.execute(
                f"""CREATE TEMPORARY TABLE {self.staging} (
                    action varchar(1), contact_id bigint, email varchar(254), phone varchar(20),
                    first_name varchar(150), last_name varchar(150), language varchar(10),
                    time_zone varchar(64), created_at {timestamp}, email_status varchar(16),
                    sms_status varchar(16), loyalty_points integer,
                    loyalty_points_expire_on date, score integer, source_id bigint,
                    attributes {json_type}
                )"""
            )
            cursor.execute(f"CREATE TEMPORARY TABLE {self.touched} (contact_id bigint PRIMARY KEY)")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.contact}")
            self.last_id_before = cursor.fetchone()[0]

    def teardown(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.staging}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.touched}")

    def merge(self, rows: list[ContactRow], result: ImportResult) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if self.postgres:
                # A chunk lost in a crash is found again by re-running the file, so waiting
                # for the WAL flush on every chunk buys nothing.
                cursor.execute("SET LOCAL synchronous_commit = off")
                # Every statement of a chunk looks rows up by key. While a large import fills
                # the table, its statistics lag behind (a million rows may still look empty)
                # and the planner would scan the whole table for each chunk.
                cursor.execute("SET LOCAL enable_seqscan = off")
                if self.optimistic:
                    # Until a chunk meets an existing contact, COPY it whole without looking
                    # its e-mails up first: the unique index tells when that stops being true.
                    if self._copy_new(cursor, rows) is not None:
                        result.created += len(rows)
                        if self.options.contact_list is not None:
                            self._add_to_list(cursor, [row.email for row in rows])
                        return
                    self.optimistic = False
            existing = self._existing_ids(cursor, [row.email for row in rows])
            seen = self._already_written(
                cursor, [i for i in existing.values() if i <= self.last_id_before]
            )
            new: list[ContactRow] = []
            staged: list[tuple[str, int | None, ContactRow]] = []
            first_sightings: list[int] = []
            for row in rows:
                contact_id = existing.get(row.email)
                if contact_id is None:
                    new.append(row)
                elif contact_id > self.last_id_before or contact_id in seen:
                    # A later row of a contact this file already wrote: a duplicate, merged
                    # into it when this file created it or when updates were asked for.
                    result.merged += 1
                    if contact_id > self.last_id_before or self.options.update_existing:
                        staged.append((MERGE, contact_id, row))
                else:
                    first_sightings.append(contact_id)
                    if self.options.update_existing:
                        staged.append((UPDATE, contact_id, row))
                    else:
                        result.unchanged += 1
            new_ids = self._copy_new(cursor, new) if self.postgres and new else None
            if new_ids is None:
                staged.extend((NEW, None, row) for row in new)
            self._stage(cursor, staged)
            if new_ids is None:
                result.created += self._insert_new(cursor)
            else:
                result.created += len(new_ids)
            if self.options.update_existing:
                updated = self._update(cursor, UPDATE)
                result.updated += updated
                result.unchanged += len(first_sightings) - updated
            self._update(cursor, MERGE)
            self._remember(cursor, first_sightings)
            if self.options.contact_list is not None:
                self._add_to_list(cursor, [row.email for row in rows])

    def _copy_new(self, cursor, rows: list[ContactRow]) -> list[int] | None:
        """COPY new contacts straight into the table: the fast path on PostgreSQL.

        Their e-mails were just found missing; should another import create one of them in
        the meantime, the COPY fails on the unique index, and returning None sends the chunk
        through the staging table's INSERT ... ON CONFLICT instead.
        """
        now = timezone.now()
        # Resolved before the COPY: no other statement can run on the connection during it.
        sources = [self._source_id(row.source) for row in rows]
        try:
            with transaction.atomic():
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [self.contact, len(rows)],
                )
                ids = [i for (i,) in cursor.fetchall()]
                with cursor.cursor.copy(
                    f"COPY {self.contact} ({', '.join(_CONTACT_COLUMNS)}) FROM STDIN "
                    "(FORMAT BINARY)"
                ) as copy:
                    # Binary COPY spares the server parsing dates and numbers from text.
                    copy.set_types(_CONTACT_COLUMN_TYPES)
                    for contact_id, source_id, row in zip(ids, sources, rows, strict=True):
                        copy.write_row(
                            (
                                contact_id,
                                row.email,
                                row.phone or "",
                                row.first_name or "",
                                row.last_name or "",
                                row.language or "",
                                row.time_zone or "",
                                source_id,
                                row.created_at or now,
                                now,
                                row.email_status or EmailStatus.SUBSCRIBED.value,
                                "",
                                row.sms_status or SmsStatus.NO_CONSENT.value,
                                row.loyalty_points or 0,
                                row.loyalty_points_expire_on,
                                row.score or 0,
                                EngagementLevel.NEVER.value,
                                Jsonb(row.attributes),
                            )
                        )
        except (IntegrityError, psycopg_errors.UniqueViolation):
            return None
        return ids

    def _source_id(self, name: str | None) -> int | None:
        if name is None:
            return self.options.lead_source.pk if self.options.lead_source else None
        if name not in self.sources:
            source, _ = LeadSource.objects.get_or_create(name=name)
            self.sources[name] = source.pk
        return self.sources[name]

    def _existing_ids(self, cursor, emails: list[str]) -> dict[str, int]:
        if self.postgres:
            cursor.execute(f"SELECT email, id FROM {self.contact} WHERE email = ANY(%s)", [emails])
            return dict(cursor.fetchall())
        return dict(Contact.objects.filter(email__in=emails).values_list("email", "id"))

    def _already_written(self, cursor, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        if self.postgres:
            cursor.execute(
                f"SELECT contact_id FROM {self.touched} WHERE contact_id = ANY(%s)", [ids]
            )
        else:
            placeholders = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT contact_id FROM {self.touched} WHERE contact_id IN ({placeholders})",
                ids,
            )
        return {contact_id for (contact_id,) in cursor.fetchall()}

    def _remember(self, cursor, ids: list[int]) -> None:
        if not ids:
            return
        if self.postgres:
            cursor.execute(
                f"INSERT INTO {self.touched} SELECT unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                [ids],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {self.touched} VALUES (%s) ON CONFLICT DO NOTHING",
                [(i,) for i in ids],
            )

    def _stage(self, cursor, staged: list[tuple[str, int | None, ContactRow]]) -> None:
        cursor.execute(
            f"TRUNCATE {self.staging}" if self.postgres else f"DELETE FROM {self.staging}"
        )
        if not staged:
            return
        records = [
            (
                action,
                contact_id,
                row.email,
                row.phone,
                row.first_name,
                row.last_name,
                row.language,
                row.time_zone,
                row.created_at,
                row.email_status,
                row.sms_status,
                row.loyalty_points,
                row.loyalty_points_expire_on,
                row.score,
                self._source_id(row.source),
                row.attributes or None,
            )
            for action, contact_id, row in staged
        ]
        if self.postgres:
            with cursor.cursor.copy(f"COPY {self.staging} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_STAGING_COLUMN_TYPES)
                for record in records:
                    copy.write_row((*record[:-1], Jsonb(record[-1]) if record[-1] else None))
            return
        ops = connection.ops
        records = [
            (
                *record[:8],
                ops.adapt_datetimefield_value(record[8]),
                *record[9:12],
                ops.adapt_datefield_value(record[12]),
                *record[13:-1],
                json.dumps(record[-1]) if record[-1] else None,
            )
            for record in records
        ]
        placeholders = ", ".join(["%s"] * len(records[0]))
        cursor.executemany(f"INSERT INTO {self.staging} VALUES ({placeholders})", records)

    def _insert_new(self, cursor) -> int:
        s = self.staging
        now = timezone.now()
        empty_json = "'{}'::jsonb" if self.postgres else "'{}'"
        cursor.execute(
            f"""INSERT INTO {self.contact} (
                    email, phone, first_name, last_name, language, time_zone, lead_source_id,
                    created_at, updated_at, email_status, email_status_reason, sms_status,
                    loyalty_points, loyalty_points_expire_on, score, engagement_level, attributes
                )
                SELECT s.email, COALESCE(s.phone, ''), COALESCE(s.first_name, ''),
                    COALESCE(s.last_name, ''), COALESCE(s.language, ''),
                    COALESCE(s.time_zone, ''), s.source_id, COALESCE(s.created_at, %s), %s,
                    COALESCE(s.email_status, %s), '', COALESCE(s.sms_status, %s),
                    COALESCE(s.loyalty_points, 0), s.loyalty_points_expire_on,
                    COALESCE(s.score, 0), %s, COALESCE(s.attributes, {empty_json})
                FROM {s} s
                WHERE s.action = %s
                ON CONFLICT (email) DO NOTHING""",
            [
                now,
                now,
                EmailStatus.SUBSCRIBED.value,
                SmsStatus.NO_CONSENT.value,
                EngagementLevel.NEVER.value,
                NEW,
            ],
        )
        return cursor.rowcount

    def _update(self, cursor, action: str) -> int:
        """Apply staged values to existing contacts; returns how many actually changed.

        An empty cell keeps the stored value, extra columns merge into the attributes, a
        source only fills a contact that has none from the default, and the file's status
        applies only to a contact currently subscribed (or, for SMS, not refused): an import
        never resubscribes a suppressed address.
        """
        s, c = self.staging, self.contact
        differs = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        merged_attributes = (
            f"{c}.attributes || s.attributes"
            if self.postgres
            else f"json_patch({c}.attributes, s.attributes)"
        )
        new_values = {
            **{name: f"COALESCE(s.{name}, {c}.{name})" for name in PLAIN_FIELDS},
            "lead_source_id": f"COALESCE(s.source_id, {c}.lead_source_id)",
            "email_status": (
                f"CASE WHEN {c}.email_status = 'subscribed' AND s.email_status IS NOT NULL "
                f"THEN s.email_status ELSE {c}.email_status END"
            ),
            "sms_status": (
                f"CASE WHEN {c}.sms_status IN ('subscribed', 'no_consent') "
                f"AND s.sms_status IS NOT NULL THEN s.sms_status ELSE {c}.sms_status END"
            ),
            "attributes": (
                f"CASE WHEN s.attributes IS NULL THEN {c}.attributes ELSE {merged_attributes} END"
            ),
        }
        assignments = ", ".join(f"{name} = {value}" for name, value in new_values.items())
        # SQLite keeps JSON as text: compare it minified, as json_patch writes it.
        compared = {name: (value, f"{c}.{name}") for name, value in new_values.items()}
        if not self.postgres:
            attributes, stored = compared["attributes"]
            compared["attributes"] = (f"json({attributes})", f"json({stored})")
        changed = " OR ".join(f"({new}) {differs} {old}" for new, old in compared.values())
        cursor.execute(
            f"""UPDATE {c} SET {assignments}, updated_at = %s
                FROM {s} s
                WHERE s.action = %s AND {c}.id = s.contact_id AND ({changed})""",
            [timezone.now(), action],
        )
        return cursor.rowcount

    def _add_to_list(self, cursor, emails: list[str]) -> None:
        list_id = self.options.contact_list.pk
        now = timezone.now()
        if self.postgres:
            cursor.execute(
                f"""INSERT INTO {self.membership} (contact_list_id, contact_id, subscribed_at)
                    SELECT %s, c.id, %s FROM {self.contact} c WHERE c.email = ANY(%s)
                    ON CONFLICT (contact_list_id, contact_id) DO NOTHING""",
                [list_id, now, emails],
            )
            return
        ids = Contact.objects.filter(email__in=emails).values_list("id", flat=True)
        ListMembership.objects.bulk_create(
            [ListMembership(contact_list_id=list_id, contact_id=i, subscribed_at=now) for i in ids],
            ignore_conflicts=True,
        )


NEW, UPDATE, MERGE = "n", "u", "m"
_CONTACT_COLUMNS = [
    "id", "email", "phone", "first_name", "last_name", "language", "time_zone",
    "lead_source_id", "created_at", "updated_at", "email_status", "email_status_reason",
    "sms_status", "loyalty_points", "loyalty_points_expire_on", "score", "engagement_level",
    "attributes",
]  # fmt: skip
_CONTACT_COLUMN_TYPES = [
    "int8", "varchar", "varchar", "varchar", "varchar", "varchar", "varchar", "int8",
    "timestamptz", "timestamptz", "varchar", "varchar", "varchar", "int4", "date", "int4",
    "varchar", "jsonb",
]  # fmt: skip
_STAGING_COLUMN_TYPES = [
    "varchar", "int8", "varchar", "varchar", "varchar", "varchar", "varchar", "varchar",
    "timestamptz", "varchar", "varchar", "int4", "date", "int4", "int8", "jsonb",
]  # fmt: skip
