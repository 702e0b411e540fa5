"""One CSV record → the contact values it carries, validated and normalised."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.utils.translation import gettext as _

from contacts.importing.columns import HEADER_ALIASES, HeaderMap, header_key
from contacts.models import EmailStatus, SmsStatus
from contacts.normalize import (
    InvalidValue,
    normalize_email,
    normalize_phone,
    parse_date_value,
    parse_datetime_value,
    parse_int_value,
)

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


HEADER_FIELDS = tuple(HEADER_ALIASES)


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


def _status(value: str, table: dict[str, str], column: str) -> str:
    status = table.get(header_key(value))
    if status is None:
        raise InvalidValue(
            _("unknown status %(value)r in column %(column)s") % {"value": value, "column": column}
        )
    return status


def _text(value: str, limit: int) -> str | None:
    value = value.strip()
    return value[:limit] if value else None


class ContactRowBuilder:
    """Validates records of one file; the column positions are looked up once, not per row."""

    _TEXT_LIMITS = {
        "first_name": 150,
        "last_name": 150,
        "language": 10,
        "time_zone": 64,
        "source": 100,
    }

    def __init__(self, mapping: HeaderMap, *, region: str | None = None) -> None:
        self.mapping = mapping
        self.region = region or settings.RELANCE_PHONE_REGION
        fields = mapping.fields
        self.email = fields["email"]
        self.texts = [
            (name, fields[name], limit)
            for name, limit in self._TEXT_LIMITS.items()
            if name in fields
        ]
        self.columns = {name: mapping.column_name(name) for name in fields}
        self.optional = {name: fields.get(name) for name in HEADER_FIELDS}
        self.extras = list(mapping.extras.items())

    def build(self, values: list[str], line: int) -> ContactRow:
        """Validate and normalise one record; raises InvalidValue naming the faulty column."""
        width = len(values)
        optional = self.optional
        columns = self.columns

        def get(name: str) -> str:
            position = optional[name]
            return values[position] if position is not None and position < width else ""

        row = ContactRow(
            line=line, email=normalize_email(values[self.email] if self.email < width else "")
        )
        if optional["phone"] is not None and (raw := get("phone")):
            try:
                row.phone = normalize_phone(raw, self.region) or None
            except InvalidValue as exc:
                raise InvalidValue(f"{exc} ({columns['phone']})") from None
        for name, position, limit in self.texts:
            if position < width and (value := values[position].strip()):
                setattr(row, name, value[:limit])
        if optional["created_at"] is not None:
            row.created_at = parse_datetime_value(get("created_at"), column=columns["created_at"])
        if raw := get("email_status").strip():
            row.email_status = _status(raw, _EMAIL_STATUS, columns["email_status"])
        if raw := get("sms_status").strip():
            row.sms_status = _status(raw, _SMS_STATUS, columns["sms_status"])
        if optional["loyalty_points"] is not None:
            row.loyalty_points = parse_int_value(
                get("loyalty_points"), column=columns["loyalty_points"]
            )
        if optional["loyalty_points_expire_on"] is not None:
            row.loyalty_points_expire_on = parse_date_value(
                get("loyalty_points_expire_on"), column=columns["loyalty_points_expire_on"]
            )
        if optional["score"] is not None:
            row.score = parse_int_value(get("score"), column=columns["score"])
        for name, position in self.extras:
            if position < width and (value := values[position].strip()):
                row.attributes[name] = value
        return row


def contact_row_build(
    values: list[str], mapping: HeaderMap, *, line: int, region: str | None = None
) -> ContactRow:
    """Validate and normalise one record; raises InvalidValue naming the faulty column."""
    return ContactRowBuilder(mapping, region=region).build(values, line)
