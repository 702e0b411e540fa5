"""A file's records → chunks of validated, de-duplicated contacts, ready for the staging table.

This half of an import needs no database, so that a large file can run it in a second process
(see contacts.importing.validator) while the first one writes the chunks before it.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from json import dumps as json_dumps
from json.encoder import encode_basestring_ascii

from django.utils.translation import gettext as _

from contacts.importing.reading import CsvReader
from contacts.importing.rows import RECORD_FIELDS, ContactRowBuilder, contact_record_merge
from contacts.normalize import InvalidValue

# The staging table's columns: those of a record. `source` is the lead source's name: the
# database resolves it, so this half never needs an id.
STAGING_COLUMNS = RECORD_FIELDS


@dataclass(slots=True)
class Chunk:
    """Up to `chunk_size` distinct contacts (and the rejects met on the way), in file order.

    `data` holds the staging records: text for PostgreSQL's COPY, or tuples of Python values
    for the other databases. None (an empty field in COPY's text) means "the file says
    nothing".
    """

    rows_read: int
    bytes_read: int
    merged: int = 0
    rejects: list[tuple[int, str, list[str]]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    count: int = 0
    data: bytes | list[tuple] = b""


class ChunkReader:
    """Iterates over the chunks of one file; `copy=True` encodes them for PostgreSQL's COPY.

    COPY's text format, with NULL written as an empty field: a record never holds an empty
    string (the builder turns empty cells into None), and the common line needs no escaping.
    """

    _DATETIME_TEXTS = 4096

    def __init__(
        self, reader: CsvReader, builder: ContactRowBuilder, *, chunk_size: int, copy: bool
    ) -> None:
        self.reader = reader
        self.builder = builder
        self.chunk_size = chunk_size
        self.copy = copy
        # Files repeat their dates, and the builder hands back the same objects for the same
        # text: formatting each once saves ~1.5 µs a row.
        self._datetime_texts: dict[datetime, str] = {}

    def __iter__(self) -> Iterator[Chunk]:
        reader, record = self.reader, self.builder.record
        # A small first chunk sets the database to work sooner (the others wait on it).
        chunk_size = max(1, self.chunk_size // 10)
        records: dict[str, list] = {}
        chunk = Chunk(rows_read=0, bytes_read=0)
        rows_read = 0
        for line, values, error in reader:
            rows_read += 1
            if values is None:
                chunk.rejects.append((line, _("unreadable row: %(error)s") % {"error": error}, []))
            else:
                try:
                    new = record(values)
                except InvalidValue as exc:
                    chunk.rejects.append((line, str(exc), values))
                else:
                    kept = records.get(new[0])
                    if kept is None:
                        records[new[0]] = new
                    else:
                        contact_record_merge(kept, new)
                        chunk.merged += 1
            if len(records) >= chunk_size or len(chunk.rejects) >= chunk_size:
                yield self._finish(chunk, records, rows_read)
                records = {}
                chunk = Chunk(rows_read=0, bytes_read=0)
                chunk_size = self.chunk_size
        if records or chunk.rejects or chunk.merged:
            yield self._finish(chunk, records, rows_read)

    def _finish(self, chunk: Chunk, records: dict[str, list], rows_read: int) -> Chunk:
        chunk.rows_read = rows_read
        chunk.bytes_read = self.reader.bytes_read
        chunk.count = len(records)
        chunk.sources = {source for r in records.values() if (source := r[_SOURCE]) is not None}
        if self.copy:
            lines = [self._copy_line(r) for r in records.values()]
            lines.append("")
            chunk.data = "\n".join(lines).encode()
        else:
            for r in records.values():
                r[_ATTRIBUTES] = json_dumps(r[_ATTRIBUTES]) if r[_ATTRIBUTES] else None
            chunk.data = [tuple(r) for r in records.values()]
        return chunk

    def _copy_line(self, record: list) -> str:
        (
            email,
            phone,
            first_name,
            last_name,
            language,
            time_zone,
            source,
            created_at,
            email_status,
            sms_status,
            loyalty_points,
            expire_on,
            score,
            attributes,
        ) = record
        if created_at is not None:
            text = self._datetime_texts.get(created_at)
            if text is None:
                if len(self._datetime_texts) >= self._DATETIME_TEXTS:
                    self._datetime_texts.clear()
                text = self._datetime_texts[created_at] = created_at.isoformat()
            created_at = text
        fields = (
            email,
            phone or "",
            first_name or "",
            last_name or "",
            language or "",
            time_zone or "",
            source or "",
            created_at or "",
            email_status or "",
            sms_status or "",
            "" if loyalty_points is None else str(loyalty_points),
            "" if expire_on is None else expire_on.isoformat(),
            "" if score is None else str(score),
            _attributes_json(attributes) if attributes else "",
        )
        line = "\t".join(fields)
        # Tabs, line breaks and backslashes inside a value need escaping; they are rare.
        if line.count("\t") != _LAST or "\\" in line or "\n" in line or "\r" in line:
            line = "\t".join(
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
                for value in fields
            )
        return line


_SOURCE = RECORD_FIELDS.index("source")
_ATTRIBUTES = RECORD_FIELDS.index("attributes")
_LAST = len(RECORD_FIELDS) - 1


def _attributes_json(attributes: dict[str, str]) -> str:
    """json.dumps for a dict of strings, its output to the byte, without its per-call cost."""
    if len(attributes) == 1:
        ((name, value),) = attributes.items()
        return f"{{{encode_basestring_ascii(name)}: {encode_basestring_ascii(value)}}}"
    return (
        "{"
        + ", ".join(
            f"{encode_basestring_ascii(name)}: {encode_basestring_ascii(value)}"
            for name, value in attributes.items()
        )
        + "}"
    )
