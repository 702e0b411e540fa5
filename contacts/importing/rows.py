"""One CSV record → the contact values it carries, validated and normalised."""

from dataclasses import dataclass, field
from datetime import date, datetime

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


def contact_row_build(
    values: list[str], mapping: HeaderMap, *, line: int, region: str | None = None
) -> ContactRow:
    """Validate and normalise one record; raises InvalidValue naming the faulty column."""
    fields = mapping.fields
    width = len(values)

    def get(name: str) -> str:
        position = fields.get(name)
        return values[position] if position is not None and position < width else ""

    row = ContactRow(line=line, email=normalize_email(get("email")))
    if "phone" in fields:
        try:
            row.phone = normalize_phone(get("phone"), region) or None
        except InvalidValue as exc:
            raise InvalidValue(f"{exc} ({mapping.column_name('phone')})") from None
    row.first_name = _text(get("first_name"), 150)
    row.last_name = _text(get("last_name"), 150)
    row.language = _text(get("language"), 10)
    row.time_zone = _text(get("time_zone"), 64)
    row.source = _text(get("source"), 100)
    if "created_at" in fields:
        row.created_at = parse_datetime_value(
            get("created_at"), column=mapping.column_name("created_at")
        )
    if raw := get("email_status").strip():
        row.email_status = _status(raw, _EMAIL_STATUS, mapping.column_name("email_status"))
    if raw := get("sms_status").strip():
        row.sms_status = _status(raw, _SMS_STATUS, mapping.column_name("sms_status"))
    if "loyalty_points" in fields:
        row.loyalty_points = parse_int_value(
            get("loyalty_points"), column=mapping.column_name("loyalty_points")
        )
    if "loyalty_points_expire_on" in fields:
        row.loyalty_points_expire_on = parse_date_value(
            get("loyalty_points_expire_on"),
            column=mapping.column_name("loyalty_points_expire_on"),
        )
    if "score" in fields:
        row.score = parse_int_value(get("score"), column=mapping.column_name("score"))
    for name, position in mapping.extras.items():
        if position < width and (value := values[position].strip()):
            row.attributes[name] = value
    return row
