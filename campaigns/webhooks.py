"""Deliveries, bounces and complaints reported by e-mail providers, through django-anymail.

Providers post their events to anymail's tracking webhooks, `/anymail/<esp>/tracking/`
(`/anymail/postmark/tracking/`, `/anymail/mailgun/tracking/`...). anymail authenticates them
(HTTP basic auth with ANYMAIL["WEBHOOK_SECRET"], plus the provider's signature where it has one,
e.g. MAILGUN_WEBHOOK_SIGNING_KEY), answers 400 to a call that fails, and sends each event it
parsed to its `tracking` signal, received here (connected in `CampaignsConfig.ready`).

What each event becomes, in the activity log of the message's contact:

- delivered → `delivered`;
- bounced → `bounce`, hard unless the provider says otherwise (see `bounce_is_soft`);
- deferred (a 4xx answer, greylisting: the provider tries again) → `bounce`, soft;
- complained → `complaint`; unsubscribed → `unsubscribe`;
- rejected by the provider itself because of an earlier bounce or invalid address → hard
  `bounce`, an earlier complaint → `complaint`, an earlier unsubscribe → `unsubscribe`;
- anything else (queued, sent, opened, clicked...) is ignored: Relance records sends, opens and
  clicks itself.

`activities_record` turns hard bounces, complaints and unsubscribes into the contact's e-mail
status at once. Soft bounces suppress the address (status bounced, reason "soft bounces") once
`BouncePolicy.soft_bounce_limit` messages in a row soft-bounced with nothing delivered since:
messages, not events, because a provider reports each failed attempt of one message (Mailgun and
SendGrid retry a greylisted message for hours), and a delay is not yet a failed address.

Every event has an external id (the provider's event id, else a hash of the event), so a
replayed webhook records nothing and changes nothing.
"""

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import BouncePolicy, Message
from campaigns.outcomes import message_outcome_mark
from contacts.models import Activity, ActivityKind, Channel, Contact, EmailStatus
from contacts.services import ActivityEvent, activities_record

logger = logging.getLogger(__name__)

SOFT_BOUNCES_REASON = "soft bounces"
# The statuses a soft-bounce suppression may replace: those a hard bounce replaces.
_SUPPRESSIBLE = [EmailStatus.SUBSCRIBED, EmailStatus.CLEANED, EmailStatus.UNSUBSCRIBED]
# How far back the run of soft bounces is read (events, newest first): far more than any
# sensible limit times the attempts a provider reports per message.
_RUN_SCAN_LIMIT = 500


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: str
    bounce_type: str = ""  # "hard" or "soft", for bounces
    message_outcome: str = ""  # the `Message` column it sets (campaigns.outcomes)


def anymail_tracking_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs):
    """Receiver of anymail's `tracking` signal."""
    email_tracking_event_record(event=event, esp_name=esp_name)


def email_tracking_event_record(*, event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Record one provider event about one of our e-mails; returns whether it was new.

    Steps:
    1. map the event to an activity (`_outcome`); ignore the kinds Relance does not follow;
    2. find the message: by the `relance_message` metadata the delivery engine sends along, else
       by the provider's message id; ignore events about messages that are not ours;
    3. in one transaction, with the contact's row locked (events about one contact are handled
       one after the other): record the activity through `activities_record` (which applies
       hard bounces, complaints and unsubscribes to the contact's status), mark the message's
       outcome and, after a new soft bounce, suppress the address when the run is long enough.
    """
    outcome = _outcome(event, esp_name)
    if outcome is None:
        return False
    message = _message_find(event)
    if message is None:
        logger.debug(
            "%s %s event for message %r: not a Relance message, ignored",
            esp_name,
            event.event_type,
            event.message_id,
        )
        return False
    occurred_at = event.timestamp or timezone.now()
    metadata = {"message": message["pk"], "esp": esp_name, "event_id": event.event_id or ""}
    if outcome.bounce_type:
        metadata["bounce_type"] = outcome.bounce_type
        metadata["esp_event_type"] = event.event_type
        reason = event.mta_response or event.description
        if reason:
            metadata["reason"] = str(reason)[:300]
    activity = ActivityEvent(
        contact_id=message["contact_id"],
        kind=outcome.kind,
        occurred_at=occurred_at,
        channel=Channel.EMAIL,
        campaign=message["campaign__key"],
        external_id=_external_id(event, esp_name, message["pk"]),
        metadata=metadata,
    )
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update()
            .filter(pk=message["contact_id"])
            .values("email_status", "email_status_changed_at")
            .first()
        )
        if contact is None:
            return False
        new = activities_record(events=[activity]).recorded > 0
        if outcome.message_outcome:
            message_outcome_mark(
                message_id=message["pk"], outcome=outcome.message_outcome, at=occurred_at
            )
        if new and outcome.bounce_type == "soft" and contact["email_status"] in _SUPPRESSIBLE:
            _soft_bounces_suppress(
                contact_id=message["contact_id"],
                since=contact["email_status_changed_at"],
                occurred_at=occurred_at,
            )
    return new


def _soft_bounces_suppress(*, contact_id: int, since: datetime | None, occurred_at) -> bool:
    """Set the e-mail status to bounced when the last `soft_bounce_limit` messages to the
    contact soft-bounced, with no delivery in between (events before the last status change,
    e.g. a resubscription by staff, do not count). One conditional UPDATE; returns whether it
    changed the contact."""
    limit = BouncePolicy.load().soft_bounce_limit
    events = Activity.objects.filter(
        contact_id=contact_id,
        channel=Channel.EMAIL,
        kind__in=[ActivityKind.BOUNCE, ActivityKind.DELIVERED],
    )
    if since is not None:
        events = events.filter(occurred_at__gt=since)
    messages: set = set()
    for pk, kind, metadata in events.order_by("-occurred_at", "-id").values_list(
        "pk", "kind", "metadata"
    )[:_RUN_SCAN_LIMIT]:
        metadata = metadata if isinstance(metadata, dict) else {}
        if kind != ActivityKind.BOUNCE or metadata.get("bounce_type") != "soft":
            return False  # a delivery breaks the run (a hard bounce has suppressed already)
        # A bounce imported without its message counts on its own.
        messages.add(metadata.get("message") or f"activity:{pk}")
        if len(messages) >= limit:
            break
    else:
        return False
    changed = Contact.objects.filter(
        Q(pk=contact_id),
        Q(email_status__in=_SUPPRESSIBLE),
        # As for a hard bounce: never over a later decision, except a cleaning.
        Q(email_status_changed_at__isnull=True)
        | Q(email_status_changed_at__lt=occurred_at)
        | Q(email_status=EmailStatus.CLEANED),
    ).update(
        email_status=EmailStatus.BOUNCED,
        email_status_reason=SOFT_BOUNCES_REASON,
        email_status_changed_at=occurred_at,
    )
    if changed:
        logger.info("contact %s suppressed after %s soft bounces in a row", contact_id, limit)
    return bool(changed)


# Mapping events ----------------------------------------------------------------------------


def _outcome(event: AnymailTrackingEvent, esp_name: str) -> _Outcome | None:
    event_type = event.event_type
    if event_type == EventType.DELIVERED:
        return _Outcome(ActivityKind.DELIVERED, message_outcome="delivered_at")
    if event_type == EventType.BOUNCED:
        bounce_type = "soft" if bounce_is_soft(event, esp_name) else "hard"
        return _Outcome(ActivityKind.BOUNCE, bounce_type, "bounced_at")
    if event_type == EventType.DEFERRED:
        # Not a failure of the message yet: no outcome on it.
        return _Outcome(ActivityKind.BOUNCE, "soft")
    if event_type == EventType.COMPLAINED:
        return _Outcome(ActivityKind.COMPLAINT, message_outcome="complained_at")
    if event_type == EventType.UNSUBSCRIBED:
        return _Outcome(ActivityKind.UNSUBSCRIBE, message_outcome="unsubscribed_at")
    if event_type == EventType.REJECTED:
        # The provider did not even try, because of what it knows about the address.
        if event.reject_reason in (RejectReason.BOUNCED, RejectReason.INVALID):
            return _Outcome(ActivityKind.BOUNCE, "hard", "bounced_at")
        if event.reject_reason == RejectReason.SPAM:
            return _Outcome(ActivityKind.COMPLAINT, message_outcome="complained_at")
        if event.reject_reason == RejectReason.UNSUBSCRIBED:
            return _Outcome(ActivityKind.UNSUBSCRIBE, message_outcome="unsubscribed_at")
    return None


def _message_find(event: AnymailTrackingEvent) -> dict | None:
    fields = ("pk", "contact_id", "campaign__key")
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    token = metadata.get("relance_message")
    if token and isinstance(token, str):
        message = Message.objects.filter(token=token).values(*fields).first()
        if message is not None:
            return message
    if event.message_id:
        return (
            Message.objects.filter(provider_message_id=str(event.message_id))
            .values(*fields)
            .first()
        )
    return None


def _external_id(event: AnymailTrackingEvent, esp_name: str, message_pk: int) -> str:
    """The event's identity for the activity log: the provider's event id when it gives one,
    else a hash of what the event says (provider, message, type, time)."""
    event_id = _esp_event_id(event, esp_name)
    if event_id:
        external_id = f"{esp_name}:{event_id}"
    else:
        stamp = event.timestamp.isoformat() if event.timestamp else ""
        content = f"{esp_name}|{event.message_id or message_pk}|{event.event_type}|{stamp}"
        external_id = f"{esp_name}:sha256:{hashlib.sha256(content.encode()).hexdigest()}"
    if len(external_id) > 255:  # Activity.external_id
        external_id = f"{esp_name[:40]}:sha256:{hashlib.sha256(external_id.encode()).hexdigest()}"
    return external_id


def _esp_event_id(event: AnymailTrackingEvent, esp_name: str) -> str:
    if esp_name == "Mailgun":
        # anymail gives the signature's token, which is new each time Mailgun signs a post;
        # Mailgun's own event id is unique within a day, so with the event's time it is stable.
        try:
            data = event.esp_event["event-data"]
            return f"{data['id']}@{data['timestamp']}"
        except (KeyError, TypeError):
            pass
    return str(event.event_id or "")


# Soft or hard ------------------------------------------------------------------------------

# SMTP reply code ("452 ...", "smtp;550 ...") or enhanced status code ("4.2.2") of an answer.
_SMTP_REPLY = re.compile(r"^\s*(?:smtp;\s*)?([245])\d\d(?!\d)", re.IGNORECASE)
_SMTP_ENHANCED = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?![\d.])")

# SparkPost bounce classes that mean the address is bad ("hard" and "admin" in SparkPost's
# table); the others (soft, block, undetermined) are usually temporary.
_SPARKPOST_HARD_CLASSES = frozenset({"10", "25", "26", "30", "90"})


def _postmark(raw) -> bool | None:
    # "Transient" and "DnsError" already arrive as deferred; a virus notification says nothing
    # about the address.
    kind = raw.get("Type")
    return kind in ("SoftBounce", "VirusNotification") if kind else None


def _sendgrid(raw) -> bool | None:
    kind = raw.get("type")  # "bounce" (permanent) or "blocked" (temporary)
    return kind == "blocked" if kind else None


def _brevo(raw) -> bool | None:
    kind = raw.get("event")
    return kind == "soft_bounce" if kind else None


def _mailersend(raw) -> bool | None:
    kind = raw["data"]["type"]
    return kind == "soft_bounced" if kind else None


def _mailjet(raw) -> bool | None:
    return not raw["hard_bounce"] if "hard_bounce" in raw else None


def _sparkpost(raw) -> bool | None:
    for event in raw["msys"].values():
        if isinstance(event, dict) and "bounce_class" in event:
            return str(event["bounce_class"]) not in _SPARKPOST_HARD_CLASSES
    return None


def _amazon_ses(raw) -> bool | None:
    kind = raw["bounce"]["bounceType"]  # Permanent, Transient or Undetermined
    return kind != "Permanent" if kind else None


def _resend(raw) -> bool | None:
    kind = raw["data"]["bounce"]["type"]
    return kind != "Permanent" if kind else None


# What each provider says about a "bounced" event, by anymail's esp_name; the others (Mailgun:
# its temporary failures arrive as deferred) go by the SMTP code of the answer.
_SOFT_BOUNCE_RULES: dict[str, Callable[[dict], bool | None]] = {
    "Postmark": _postmark,
    "SendGrid": _sendgrid,
    "Brevo": _brevo,
    "SendinBlue": _brevo,
    "Mandrill": _brevo,  # "soft_bounce" / "hard_bounce" in the same field
    "MailerSend": _mailersend,
    "Mailjet": _mailjet,
    "SparkPost": _sparkpost,
    "Amazon SES": _amazon_ses,
    "Resend": _resend,
}


def bounce_is_soft(event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Whether a "bounced" event is a temporary failure (a full mailbox, a server that is down
    or refusing us for now) rather than a bad address. anymail reports both as "bounced" for
    several providers; their own payload tells them apart (Postmark's Type, SendGrid's type,
    Brevo's and Mandrill's event, Mailjet's hard_bounce, SparkPost's bounce_class, Amazon SES's
    and Resend's bounceType). Otherwise a 4xx answer from the receiving server is soft and
    anything else hard."""
    rule = _SOFT_BOUNCE_RULES.get(esp_name)
    if rule is not None and event.esp_event is not None:
        try:
            verdict = rule(event.esp_event)
        except (AttributeError, KeyError, TypeError, ValueError):
            verdict = None
        if verdict is not None:
            return verdict
    for text in (event.mta_response, event.description):
        if not text:
            continue
        match = _SMTP_REPLY.search(str(text)) or _SMTP_ENHANCED.search(str(text))
        if match:
            return match.group(1) == "4"
    return False
