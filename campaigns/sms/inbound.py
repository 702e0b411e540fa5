"""Incoming SMS replies: a STOP from a contact's phone unsubscribes that number from SMS.

The provider posts each reply it receives (see `campaigns.views.sms`); `sms_reply_receive` finds
the contacts with that number and, when the whole message is an opt-out keyword, records an
SMS `unsubscribe` for each of them through `activities_record`, which sets their SMS status.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from contacts.models import ActivityKind, Channel, Contact
from contacts.normalize import InvalidValue, normalize_phone
from contacts.services import ActivityEvent, activities_record

# Opt-out keywords, compared with the whole message once it is trimmed, lower-cased, stripped
# of accents and with punctuation turned into spaces ("Arrêt !" → "arret"): French and the
# usual English ones.
STOP_KEYWORDS = frozenset(
    {
        "stop",
        "stop sms",
        "stopsms",
        "stop all",
        "stopall",
        "arret",
        "arret sms",
        "arreter",
        "desinscription",
        "desinscrire",
        "desinscrivez moi",
        "desabonner",
        "desabonnement",
        "desabonnez moi",
        "unsubscribe",
        "opt out",
        "optout",
        "cancel",
        "end",
        "quit",
    }
)

_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class SmsReplyResult:
    is_stop: bool = False
    contacts: int = 0  # contacts with the sender's number
    unsubscribed: int = 0  # new unsubscribe activities recorded (0 for a replay)


def sms_text_normalize(text: str) -> str:
    """Lower-case words without accents or punctuation, separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    without_accents = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", without_accents.casefold()).strip()


def sms_is_stop(text: str) -> bool:
    return sms_text_normalize(text) in STOP_KEYWORDS


def sms_sender_normalize(raw: str) -> str:
    """The sender's number in E.164, or '' when it is not a phone number (a short code, a
    name). Providers often send international numbers without the '+' (33612345678)."""
    value = (raw or "").strip()
    try:
        return normalize_phone(value, settings.RELANCE_PHONE_REGION)
    except InvalidValue:
        pass
    digits = value.lstrip("+")
    if digits.isdigit() and not digits.startswith("0"):
        try:
            return normalize_phone(f"+{digits}")
        except InvalidValue:
            return ""
    return ""


def sms_reply_receive(*, sender: str, text: str, provider_message_id: str = "") -> SmsReplyResult:
    """Handle one incoming SMS.

    Steps:
    1. ignore it unless the whole text is a STOP keyword and the sender a phone number;
    2. find every contact with that number (a shared family phone: all of them);
    3. record an SMS `unsubscribe` for each, whose external id comes from the provider's message
       id (or, without one, from a hash of the number, the text and the day), so that a
       replayed request records nothing twice; `activities_record` then moves their SMS status
       to unsubscribed.
    """
    if not sms_is_stop(text):
        return SmsReplyResult()
    phone = sms_sender_normalize(sender)
    if not phone:
        return SmsReplyResult(is_stop=True)
    contact_ids = list(Contact.objects.filter(phone=phone).values_list("pk", flat=True))
    if not contact_ids:
        return SmsReplyResult(is_stop=True)
    now = timezone.now()
    if provider_message_id:
        reply_key = f"id:{provider_message_id}"
    else:
        # The same STOP posted twice the same day is one; a STOP sent again after the contact
        # opted back in (another day) still counts.
        content = f"{phone}|{text}|{now:%Y-%m-%d}"
        reply_key = "sha256:" + hashlib.sha256(content.encode()).hexdigest()
    events = [
        ActivityEvent(
            contact_id=contact_id,
            kind=ActivityKind.UNSUBSCRIBE,
            occurred_at=now,
            channel=Channel.SMS,
            # Per contact: the natural key comes from the external id alone, and one reply
            # unsubscribes every contact sharing the number.
            external_id=_bounded(f"sms-reply:{reply_key}:{contact_id}"),
            metadata={
                "phone": phone,
                "text": text[:160],
                "provider_message_id": provider_message_id,
            },
        )
        for contact_id in contact_ids
    ]
    result = activities_record(events=events)
    return SmsReplyResult(is_stop=True, contacts=len(contact_ids), unsubscribed=result.recorded)


def _bounded(external_id: str) -> str:
    # Activity.external_id holds 255 characters; a longer provider id is hashed.
    if len(external_id) <= 255:
        return external_id
    return "sms-reply:sha256:" + hashlib.sha256(external_id.encode()).hexdigest()
