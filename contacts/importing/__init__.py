"""Bringing contacts and their history in from CSV files (see contacts.importing.contacts)."""

from contacts.importing.columns import HeaderError, HeaderMap, map_headers
from contacts.importing.contacts import (
    ImportFileError,
    ImportOptions,
    ImportResult,
    contacts_import,
)
from contacts.importing.jobs import import_job_create, import_job_run
from contacts.importing.reading import CsvReader, UnreadableFile
from contacts.importing.rows import ContactRow, contact_row_build
from contacts.importing.validator import ValidatorError

__all__ = [
    "ContactRow",
    "CsvReader",
    "HeaderError",
    "HeaderMap",
    "ImportFileError",
    "ImportOptions",
    "ImportResult",
    "UnreadableFile",
    "ValidatorError",
    "contact_row_build",
    "contacts_import",
    "import_job_create",
    "import_job_run",
    "map_headers",
]
