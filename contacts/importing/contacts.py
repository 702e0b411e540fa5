"""The contact import: one service behind the admin's background jobs and `import_contacts`.

The file is streamed in chunks: each is validated in Python (rejects are reported with their
line and reason), de-duplicated (contacts.importing.chunks), then written into the base with a
staging table and a handful of set-based statements (contacts.importing.merging).

A large file is validated in a second process (contacts.importing.validator) while this one
writes the chunks before: on two cores, Python's half and the database's half of the work
then overlap.

Each chunk is committed on its own, so a long import shows progress and a crash leaves the
chunks before it in place; running the same file again then finds them unchanged.
"""

import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from contacts.exporting import escape_formula
from contacts.importing.chunks import Chunk, ChunkReader
from contacts.importing.columns import HeaderError, HeaderMap, map_headers
from contacts.importing.merging import ChunkMerger
from contacts.importing.reading import CsvReader, UnreadableFile
from contacts.importing.rows import ContactRowBuilder
from contacts.importing.validator import ValidatorProcess
from contacts.models import ContactList, LeadSource
from contacts.privacy import erased_addresses_load

CHUNK_SIZE = 20000
# Below this size, starting a second interpreter (~0.5 s) costs more than it saves.
VALIDATOR_PROCESS_MIN_BYTES = 8 * 1024 * 1024


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
    they are counted, sampled in the result and written to `rejects`), ValidatorError when
    the validating process fails.
    """
    try:
        reader = CsvReader(stream)
        mapping = map_headers(reader.headers)
    except (UnreadableFile, HeaderError) as exc:
        raise ImportFileError(str(exc)) from None
    result = ImportResult(bytes_total=reader.size)
    reject_writer = RejectWriter(rejects, reader.headers)
    merger = ChunkMerger(options)
    # A dry run does everything in one transaction and rolls it back.
    with (
        transaction.atomic() if options.dry_run else nullcontext(),
        _chunks_read(
            stream, reader, mapping, options, chunk_size or CHUNK_SIZE, merger.postgres
        ) as chunks,
    ):
        merger.setup()
        try:
            for chunk in chunks:
                result.rows = chunk.rows_read
                result.merged += chunk.merged
                for line, reason, values in chunk.rejects:
                    reject_writer.reject(result, line, reason, values)
                if chunk.count:
                    merger.merge(chunk, result)
                result.bytes_read = chunk.bytes_read
                if progress is not None:
                    progress(result)
        finally:
            merger.teardown()
        if options.dry_run:
            transaction.set_rollback(True)
    result.bytes_read = result.bytes_total
    if progress is not None:
        progress(result)
    return result


@contextmanager
def _chunks_read(
    stream: BinaryIO,
    reader: CsvReader,
    mapping: HeaderMap,
    options: ImportOptions,
    chunk_size: int,
    copy: bool,
) -> Iterator[Iterator[Chunk]]:
    """The file's chunks: validated in a second process for a large file, here otherwise."""
    region = options.region or settings.RELANCE_PHONE_REGION
    # Rows of addresses erased under the GDPR are rejected (loaded here: the validating
    # process never touches the database).
    erased = erased_addresses_load()
    # The child needs a Python executable (an embedding server, uWSGI say, may have none)
    # and a settings module to set Django up as here.
    if (
        reader.size < VALIDATOR_PROCESS_MIN_BYTES
        or not sys.executable
        or not settings.SETTINGS_MODULE
    ):
        try:
            builder = ContactRowBuilder(mapping, region=region, erased=erased)
            yield iter(ChunkReader(reader, builder, chunk_size=chunk_size, copy=copy))
        finally:
            reader.close()
        return
    reader.close()
    with ValidatorProcess(
        stream,
        encoding=reader.encoding,
        size=reader.size,
        chunk_size=chunk_size,
        region=region,
        erased=erased,
        copy=copy,
    ) as process:
        yield iter(process)
