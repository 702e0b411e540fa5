"""Read the CSV files real tools export: any common encoding, delimiter and line ending.

The file is streamed: memory stays bounded whatever its size. Each record comes with the line
number where it starts in the file, so that a rejected row can be found again by a person.
"""

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext as _

_CHUNK = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")
# Fields larger than csv's default 128 KiB appear in the wild (HTML in a note column).
csv.field_size_limit(16 * 1024 * 1024)


class UnreadableFile(ValueError):
    """The file as a whole cannot be read as CSV (empty, binary, no header)."""


def detect_encoding(stream: BinaryIO) -> str:
    """UTF-8 (with or without BOM) or UTF-16 by BOM, else Windows-1252, else Latin-1.

    Decides on the whole file in one streamed pass, so a single accented character on the last
    line cannot be mis-decoded. Leaves the stream at its start.
    """
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := stream.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            stream.seek(0)
            continue
        stream.seek(0)
        return encoding
    return "latin-1"


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the header line into the most columns."""
    header = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {delimiter: header.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        return ","
    return best


def _lines(text: io.TextIOBase) -> Iterator[str]:
    """The text's lines (split as `newline=""` does), without NUL characters.

    Read by blocks, each split by a StringIO, so that handing a line to csv runs no Python
    code (this runs once per line of million-row files).
    """
    return itertools.chain.from_iterable(_blocks(text))


def _blocks(text: io.TextIOBase) -> Iterator[io.StringIO]:
    """Blocks of whole lines. Each is cut after its last LF (a CR at its very end might be
    the first half of a CRLF), or after its last CR for files that end lines with CR only."""
    rest = ""
    while block := text.read(_CHUNK):
        if "\0" in block:
            block = block.replace("\0", "")
        block = rest + block if rest else block
        cut = block.rfind("\n")
        if cut < 0:
            cut = block.rfind("\r", 0, len(block) - 1)
        rest = block[cut + 1 :]
        if cut >= 0:
            yield io.StringIO(block[: cut + 1], newline="")
    if rest:
        yield io.StringIO(rest, newline="")


@dataclass
class CsvRecord:
    line: int
    values: list[str]


class CsvReader:
    """Iterates over a CSV file's records after its header.

    `headers` is the first non-blank row; `bytes_read` tells how far the reader has gone.
    Records that csv cannot parse are yielded with `values=None` and the error in `error`.
    `encoding` skips the detection (a pass over the whole file) when it is known already.
    """

    def __init__(
        self, raw: BinaryIO, *, size: int | None = None, encoding: str | None = None
    ) -> None:
        self._raw = raw
        raw.seek(0)
        if raw.read(4) == b"PK\x03\x04":
            raise UnreadableFile(
                _("this is a spreadsheet or zip file, not CSV: save it as CSV and try again")
            )
        raw.seek(0)
        self.encoding = encoding or detect_encoding(raw)
        self.size = size if size is not None else _stream_size(raw)
        self._text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
        sample = self._text.read(64 * 1024)
        if sample.count("\0") > max(16, len(sample) // 100):
            raise UnreadableFile(_("this file is not a CSV text file"))
        self._text.seek(0)
        self.delimiter = sniff_delimiter(sample)
        self._reader = csv.reader(_lines(self._text), delimiter=self.delimiter)
        self.headers: list[str] = []
        self.header_line = 0
        for values in self._reader:
            if any(value.strip() for value in values):
                self.headers = values
                self.header_line = self._reader.line_num
                break
        if not self.headers:
            raise UnreadableFile(_("the file is empty"))

    @property
    def bytes_read(self) -> int:
        try:
            return min(self._raw.tell(), self.size)
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[tuple[int, list[str] | None, str]]:
        """Yield (line where the record starts, values or None, csv error message)."""
        reader = self._reader
        previous = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield previous + 1, None, str(exc)
                previous = reader.line_num
                continue
            start, previous = previous + 1, reader.line_num
            # Blank lines and lines of delimiters only are skipped; most lines start with a
            # value, which settles it at once.
            if values and (values[0].strip() or "".join(values).strip()):
                yield start, values, ""

    def close(self) -> None:
        self._text.detach()


def _stream_size(raw: BinaryIO) -> int:
    try:
        position = raw.tell()
        raw.seek(0, io.SEEK_END)
        size = raw.tell()
        raw.seek(position)
        return size
    except (OSError, ValueError):
        return 0


def open_csv_path(path: str | Path) -> tuple[BinaryIO, CsvReader]:
    """Open a file on disk for reading as CSV; raises UnreadableFile with a clear message."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller, after streaming
    except OSError as exc:
        raise UnreadableFile(
            _("cannot open %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}
        ) from None
    try:
        return raw, CsvReader(raw)
    except Exception:
        raw.close()
        raise
