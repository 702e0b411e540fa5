"""One CSV record → the contact values it carries, validated and normalised."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.utils.translation import gettext as _

from contacts.importing.columns import HeaderMap, header_key
from contacts.models import EmailStatus, SmsStatus
from contacts.normalize import (
    InvalidValue,
    normalize_email,
    normalize_phone,
    parse_date_value,
    parse_datetime_value,
    parse_int_value,
)
from contacts.privacy import ErasedAddresses

# Status words as exports write them (compared after header_key), English and French.
_EMAIL_STATUS_WORDS = {
    EmailStatus.SUBSCRIBED: ("subscribed", "active", "optin", "abonne", "inscrit", "actif", "oui"),
    EmailStatus.UNSUBSCRIBED: (
        "unsubscribed", "optout", "desabonne", "desinscrit", "inactive", "non",
    ),
    EmailStatus.BOUNCED: ("bounced", "bounce", "hardbounce", "rebond", "npai", "invalide"),
    EmailStatus.COMPLAINED: ("complained", "complaint", "spam", "plainte"),
    EmailStatus.CLEANED: ("cleaned", "nettoye"),
}  # fmt: skip
_SMS_STATUS_WORDS = {
    SmsStatus.SUBSCRIBED: ("subscribed", "optin", "abonne", "yes", "oui", "true", "1", "y", "o"),
    SmsStatus.UNSUBSCRIBED: ("unsubscribed", "optout", "desabonne", "stop"),
    SmsStatus.NO_CONSENT: ("noconsent", "no", "non", "false", "0", "n", "none"),
    SmsStatus.BOUNCED: ("bounced", "invalid", "invalide"),
    SmsStatus.COMPLAINED: ("complained", "plainte"),
    SmsStatus.CLEANED: ("cleaned", "nettoye"),
}  # fmt: skip


def _word_table(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {word: status for status, spellings in words.items() for word in spellings}


_EMAIL_STATUS = _word_table(_EMAIL_STATUS_WORDS)
_SMS_STATUS = _word_table(_SMS_STATUS_WORDS)


@dataclass(slots=True)
class ContactRow:
    """Values read from one record. None means "the file says nothing": keep what is stored."""

    line: int
    email: str
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language: str | None = None
    time_zone: str | None = None
    source: str | None = None
    created_at: datetime | None = None
    email_status: str | None = None
    sms_status: str | None = None
    loyalty_points: int | None = None
    loyalty_points_expire_on: date | None = None
    score: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)


# Values an import copies onto a contact when the file has one; statuses and the lead source
# follow their own rules (see contacts.importing.contacts and contacts.resources).
PLAIN_FIELDS = (
    "phone",
    "first_name",
    "last_name",
    "language",
    "time_zone",
    "created_at",
    "loyalty_points",
    "loyalty_points_expire_on",
    "score",
)


def contact_row_merge(kept: ContactRow, later: ContactRow) -> None:
    """A later row of the same e-mail in one file: its non-empty values win."""
    for name in (*PLAIN_FIELDS, "email_status", "sms_status", "source"):
        value = getattr(later, name)
        if value is not None:
            setattr(kept, name, value)
    kept.attributes.update(later.attributes)


def contact_record_merge(kept: list, later: list) -> None:
    """`contact_row_merge` for records (see `ContactRowBuilder.record`)."""
    for position in range(1, _ATTRIBUTES):
        if (value := later[position]) is not None:
            kept[position] = value
    if later[_ATTRIBUTES]:
        if kept[_ATTRIBUTES]:
            kept[_ATTRIBUTES].update(later[_ATTRIBUTES])
        else:
            kept[_ATTRIBUTES] = later[_ATTRIBUTES]


def _status(value: str, table: dict[str, str], column: str) -> str:
    status = table.get(header_key(value))
    if status is None:
        raise InvalidValue(
            _("unknown status %(value)r in column %(column)s") % {"value": value, "column": column}
        )
    return status


# A record: ContactRow's values after `line`, in its order (that of the staging table).
RECORD_FIELDS = tuple(name for name in ContactRow.__slots__ if name != "line")
_ATTRIBUTES = RECORD_FIELDS.index("attributes")
_CACHE_SIZE = 4096


class ContactRowBuilder:
    """Validates records of one file; the column positions are looked up once, not per row.

    `record` is the import's hot path (a million calls for a million-row file): straight-line
    code over positions fixed per file, where a column the file lacks reads an empty cell.
    """

    def __init__(
        self,
        mapping: HeaderMap,
        *,
        region: str | None = None,
        erased: ErasedAddresses | None = None,
    ) -> None:
        self.mapping = mapping
        self.region = region or settings.RELANCE_PHONE_REGION
        # Addresses erased under the GDPR: their rows are rejected (none: nothing to check).
        self.erased = erased
        fields = mapping.fields
        self.columns = {name: mapping.column_name(name) for name in fields}
        # A record is read with an empty cell at its end (see `record`): position -1, where
        # the fields the file lacks point.
        self._width = len(mapping.headers)
        self._padding = [""] * (self._width + 1)
        self._positions = tuple(fields.get(name, -1) for name in RECORD_FIELDS[:_ATTRIBUTES])
        self.extras = list(mapping.extras.items())
        # Values that files repeat, parsed once each (bounded caches).
        self._dates: dict[str, object] = {}
        self._days: dict[str, object] = {}
        self._statuses: dict[str, str] = {}
        self._sms_statuses: dict[str, str] = {}

    def build(self, values: list[str], line: int) -> ContactRow:
        """Validate and normalise one record; raises InvalidValue naming the faulty column."""
        record = self.record(values)
        if record[_ATTRIBUTES] is None:
            record[_ATTRIBUTES] = {}
        return ContactRow(line, *record)

    def record(self, values: list[str]) -> list:
        """The values of `build`, as a list in RECORD_FIELDS order (attributes None if none)."""
        # An empty cell goes at the end of `values` for the time of the call (copying every
        # record would cost more), or the record is padded when shorter than the header.
        short = len(values) < self._width
        cells = values + self._padding if short else values
        if not short:
            values.append("")
        try:
            return self._record(cells)
        finally:
            if not short:
                values.pop()

    def _record(self, cells: list[str]) -> list:
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
        ) = self._positions
        email = normalize_email(cells[email])
        if raw := cells[phone]:
            try:
                phone = normalize_phone(raw, self.region) or None
            except InvalidValue as exc:
                raise InvalidValue(f"{exc} ({self.columns['phone']})") from None
        else:
            phone = None
        if self.erased is not None and (refusal := self.erased.refusal(email, phone)):
            raise InvalidValue(refusal)
        if raw := cells[created_at].strip():
            created_at = self._dates.get(raw) or self._parse(
                self._dates, raw, "created_at", parse_datetime_value
            )
        else:
            created_at = None
        if raw := cells[email_status].strip():
            email_status = self._statuses.get(raw) or self._parse(
                self._statuses, raw, "email_status", _email_status
            )
        else:
            email_status = None
        if raw := cells[sms_status].strip():
            sms_status = self._sms_statuses.get(raw) or self._parse(
                self._sms_statuses, raw, "sms_status", _sms_status
            )
        else:
            sms_status = None
        if raw := cells[loyalty_points].strip():
            loyalty_points = parse_int_value(raw, column=self.columns["loyalty_points"])
        else:
            loyalty_points = None
        if raw := cells[expire_on].strip():
            expire_on = self._days.get(raw) or self._parse(
                self._days, raw, "loyalty_points_expire_on", parse_date_value
            )
        else:
            expire_on = None
        if raw := cells[score].strip():
            score = parse_int_value(raw, column=self.columns["score"])
        else:
            score = None
        attributes = {
            name: value for name, position in self.extras if (value := cells[position].strip())
        }
        return [
            email,
            phone,
            cells[first_name].strip()[:150] or None,
            cells[last_name].strip()[:150] or None,
            cells[language].strip()[:10] or None,
            cells[time_zone].strip()[:64] or None,
            cells[source].strip()[:100] or None,
            created_at,
            email_status,
            sms_status,
            loyalty_points,
            expire_on,
            score,
            attributes or None,
        ]

    def _parse(self, cache: dict, raw: str, name: str, parse):
        """Parse a value the cache lacks (raising InvalidValue naming the column), keep it."""
        value = parse(raw, column=self.columns[name])
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[raw] = value
        return value


def _email_status(value: str, *, column: str) -> str:
    return _status(value, _EMAIL_STATUS, column)


def _sms_status(value: str, *, column: str) -> str:
    return _status(value, _SMS_STATUS, column)


def contact_row_build(
    values: list[str], mapping: HeaderMap, *, line: int, region: str | None = None
) -> ContactRow:
    """Validate and normalise one record; raises InvalidValue naming the faulty column."""
    return ContactRowBuilder(mapping, region=region).build(values, line)
