"""Loading an activity history exported from another tool (`import_activity`).

Columns: email, kind, occurred_at, and optionally campaign, channel, amount, external_id,
machine, bounce_type. Rows are validated, matched to contacts by e-mail in one query per chunk
and recorded through `activities_record`, whose natural key makes a re-run add nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, TextIO

from django.utils.translation import gettext as _

from contacts.importing.columns import header_key
from contacts.importing.contacts import ImportFileError, RejectWriter
from contacts.importing.reading import CsvReader, UnreadableFile
from contacts.models import ActivityKind, Channel, Contact
from contacts.normalize import InvalidValue, normalize_email, parse_datetime_value
from contacts.services import ActivityEvent, activities_record

CHUNK_SIZE = 5000

_COLUMNS = {
    "email": ("email", "mail", "emailaddress", "adresseemail", "courriel", "contact"),
    "kind": ("kind", "type", "event", "eventtype", "evenement", "action"),
    "occurred_at": ("occurredat", "date", "datetime", "timestamp", "time", "dateevenement"),
    "campaign": ("campaign", "campagne", "campaignname"),
    "channel": ("channel", "canal"),
    "amount": ("amount", "montant", "value", "total"),
    "external_id": ("externalid", "eventid", "id", "identifiant"),
    "machine": ("machine", "ismachine", "machineopen", "prefetch"),
    "bounce_type": ("bouncetype", "typederebond"),
}
_COLUMN_OF = {alias: name for name, aliases in _COLUMNS.items() for alias in aliases}
_KIND_WORDS = {
    **{kind.value: kind.value for kind in ActivityKind},
    "opened": ActivityKind.OPEN, "ouverture": ActivityKind.OPEN,
    "clicked": ActivityKind.CLICK, "clic": ActivityKind.CLICK,
    "unsubscribed": ActivityKind.UNSUBSCRIBE, "desabonnement": ActivityKind.UNSUBSCRIBE,
    "bounced": ActivityKind.BOUNCE, "hardbounce": ActivityKind.BOUNCE,
    "softbounce": ActivityKind.BOUNCE, "spam": ActivityKind.COMPLAINT,
    "spamreport": ActivityKind.COMPLAINT, "plainte": ActivityKind.COMPLAINT,
    "order": ActivityKind.PURCHASE, "achat": ActivityKind.PURCHASE,
    "pageview": ActivityKind.VISIT, "visite": ActivityKind.VISIT,
    "smssent": ActivityKind.SMS_SENT, "smsclick": ActivityKind.SMS_CLICK,
    "envoi": ActivityKind.SENT, "delivre": ActivityKind.DELIVERED,
}  # fmt: skip
_KIND_OF = {header_key(word): kind for word, kind in _KIND_WORDS.items()}
_TRUE_WORDS = {"1", "true", "yes", "oui", "y", "o", "x"}
_FALSE_WORDS = {"", "0", "false", "no", "non", "n"}


@dataclass
class ActivityImportResult:
    rows: int = 0
    recorded: int = 0
    duplicates: int = 0
    rejected: int = 0
    bytes_read: int = 0
    bytes_total: int = 0
    rejects_sample: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return f"recorded {self.recorded}, duplicates {self.duplicates}, rejected {self.rejected}"


@dataclass
class _Row:
    line: int
    values: list[str]
    email: str
    event: dict


def _parse(values: list[str], positions: dict[str, int], line: int) -> _Row:
    def get(name: str) -> str:
        position = positions.get(name)
        return values[position].strip() if position is not None and position < len(values) else ""

    email = normalize_email(get("email"))
    raw_kind = get("kind")
    kind = _KIND_OF.get(header_key(raw_kind))
    if kind is None:
        raise InvalidValue(_("unknown activity kind %(value)r") % {"value": raw_kind[:40]})
    occurred_at = parse_datetime_value(get("occurred_at"), column="occurred_at")
    if occurred_at is None:
        raise InvalidValue(_("missing date in column occurred_at"))
    event = {"kind": kind, "occurred_at": occurred_at, "campaign": get("campaign")[:200]}
    if channel := get("channel").lower():
        if channel not in Channel.values:
            raise InvalidValue(_("unknown channel %(value)r") % {"value": channel[:20]})
        event["channel"] = channel
    elif kind in (ActivityKind.SMS_SENT, ActivityKind.SMS_CLICK):
        event["channel"] = Channel.SMS
    elif kind == ActivityKind.VISIT:
        event["channel"] = Channel.WEB
    if amount := get("amount"):
        try:
            event["amount"] = Decimal(amount.replace(",", ".").replace(" ", ""))
        except InvalidOperation:
            raise InvalidValue(_("unreadable amount %(value)r") % {"value": amount[:40]}) from None
    machine = get("machine").lower()
    if machine not in _TRUE_WORDS | _FALSE_WORDS:
        raise InvalidValue(_("machine must be yes or no, not %(value)r") % {"value": machine})
    event["is_machine"] = machine in _TRUE_WORDS
    event["external_id"] = get("external_id")[:255]
    bounce_type = get("bounce_type").lower() or (
        "soft" if header_key(raw_kind) == "softbounce" else ""
    )
    if bounce_type:
        event["metadata"] = {"bounce_type": "soft" if bounce_type.startswith("soft") else "hard"}
    return _Row(line=line, values=values, email=email, event=event)


def activities_import(
    *,
    stream: BinaryIO,
    rejects: TextIO | None = None,
    progress: Callable[[ActivityImportResult], None] | None = None,
) -> ActivityImportResult:
    """Record the events of a CSV file; rows with unknown e-mails or bad values are rejected."""
    try:
        reader = CsvReader(stream)
    except UnreadableFile as exc:
        raise ImportFileError(str(exc)) from None
    positions: dict[str, int] = {}
    for position, header in enumerate(reader.headers):
        name = _COLUMN_OF.get(header_key(header))
        if name is not None and name not in positions:
            positions[name] = position
    missing = [name for name in ("email", "kind", "occurred_at") if name not in positions]
    if missing:
        raise ImportFileError(_("missing column(s): %(columns)s") % {"columns": ", ".join(missing)})
    result = ActivityImportResult(bytes_total=reader.size)
    reject_writer = RejectWriter(rejects, reader.headers)
    chunk: list[_Row] = []
    try:
        for line, values, error in reader:
            result.rows += 1
            if values is None:
                reject_writer.reject(result, line, _("unreadable row: %(e)s") % {"e": error}, [])
                continue
            try:
                chunk.append(_parse(values, positions, line))
            except InvalidValue as exc:
                reject_writer.reject(result, line, str(exc), values)
                continue
            if len(chunk) >= CHUNK_SIZE:
                _record_chunk(chunk, result, reject_writer)
                chunk = []
                result.bytes_read = reader.bytes_read
                if progress is not None:
                    progress(result)
        if chunk:
            _record_chunk(chunk, result, reject_writer)
    finally:
        reader.close()
    result.bytes_read = result.bytes_total
    return result


def _record_chunk(
    chunk: list[_Row], result: ActivityImportResult, reject_writer: RejectWriter
) -> None:
    contacts = dict(
        Contact.objects.filter(email__in={row.email for row in chunk}).values_list("email", "pk")
    )
    events = []
    for row in chunk:
        contact_id = contacts.get(row.email)
        if contact_id is None:
            reject_writer.reject(
                result, row.line, _("unknown contact %(email)s") % {"email": row.email}, row.values
            )
            continue
        events.append(ActivityEvent(contact_id=contact_id, **row.event))
    recorded = activities_record(events=events)
    result.recorded += recorded.recorded
    result.duplicates += recorded.duplicates
