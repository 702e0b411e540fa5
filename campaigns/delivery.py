"""Delivering a campaign: claim its messages, hand them to a backend, record what happened.

Exactly once per recipient, whatever the workers do:
- messages are claimed in batches (pending -> sending, one conditional UPDATE ... RETURNING,
  FOR UPDATE SKIP LOCKED on PostgreSQL) and the claim is committed before a backend sees any
  of them: a second worker on the same campaign, or a retried task, claims other messages or
  none;
- each message is marked sent, with the provider's id, in its own commit as soon as the backend
  accepts it; a worker killed mid-batch leaves the messages it had not sent yet in `sending`;
- a message left in `sending` is claimed again once its claim is older than `CLAIM_LEASE`
  (longer than any batch takes), so a resumed campaign continues where it stopped. The
  message in flight on each connection (`RELANCE_SEND_CONNECTIONS`), whose acceptance and
  commit a kill could fall between, is sent again with the same Message-ID header, which
  receiving systems use to de-duplicate; every other message is sent once.

Transient failures (a 4xx reply, a dropped connection, a provider's 5xx or 429) are retried with
a backoff doubling from `RELANCE_SEND_RETRY_SECONDS`, up to `RELANCE_SEND_MAX_ATTEMPTS`; then,
like a permanent failure, the message is marked failed with the reason. A recipient refused
for good (5xx) is also a hard bounce. The `sent` activities (the "targeted" signal segments use)
are written in bulk after each batch, flagged on the message so a killed worker's are written
by the next run.
"""

import logging
import queue
import smtplib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.html import escape, strip_tags
from django.utils.translation import gettext

from campaigns import tracking
from campaigns.audience import campaign_audience
from campaigns.mime import mime_bytes
from campaigns.models import Campaign, Message, SenderProfile
from campaigns.rendering import RenderedMessage, campaign_render, email_render
from campaigns.services import CAMPAIGN_LEASE, campaign_messages_create
from campaigns.sms import SmsMessage, SmsSendError, get_sms_connection
from contacts.models import ActivityKind, Channel, Contact, EmailStatus, SmsStatus
from contacts.services.activity import ActivityEvent, activities_record

logger = logging.getLogger(__name__)

# A message claimed longer ago than this was abandoned by a killed worker (a batch takes about
# a minute at most: see `_batch_size`).
CLAIM_LEASE = timedelta(minutes=10)
# One task stops after this long and leaves the rest to the next (below django-q2's timeout).
TASK_BUDGET = timedelta(minutes=45)


@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    finished: bool = False


class DeliveryError(Exception):
    """A message could not be handed over. `transient`: worth another attempt later."""

    def __init__(self, reason: str, *, transient: bool, bounce: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        # The recipient's address was refused for good: a hard bounce.
        self.bounce = bounce


def _db_datetime(value: datetime):
    return Message._meta.get_field("claimed_at").get_db_prep_value(value, connection)


# Preparing -----------------------------------------------------------------------------------


def campaign_prepare(*, campaign_id: int, now: datetime) -> bool:
    """Write the campaign's messages from its audience, once; returns whether it wrote them.

    In one transaction with the campaign row locked: a second worker waits, then finds it
    prepared. A worker killed half-way writes nothing and leaves it unprepared."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.prepared_at is not None:
            return False
        if campaign.kind == Campaign.Kind.SCENARIO:
            # Its messages are written by the scenario's send blocks, one per enrollment.
            Campaign.objects.filter(pk=campaign_id).update(prepared_at=now)
            return False
        campaign_messages_create(campaign=campaign, audience=campaign_audience(campaign=campaign))
        Campaign.objects.filter(pk=campaign_id).update(prepared_at=now)
    return True


# Claiming ------------------------------------------------------------------------------------


def messages_claim(*, campaign_id: int, limit: int, now: datetime) -> list[int]:
    """Claim up to `limit` of the campaign's messages that are due: abandoned claims first,
    then pending messages in id order. Returns their ids; the claim is committed."""
    table = connection.ops.quote_name(Message._meta.db_table)
    claimed_at = _db_datetime(now)
    stale_before = _db_datetime(now - CLAIM_LEASE)
    conditions = [
        # Two statements, each an ordered walk of the (campaign, status, id) index.
        ("status = %s AND claimed_at < %s", [Message.Status.SENDING, stale_before]),
        (
            "status = %s AND (next_attempt_at IS NULL OR next_attempt_at <= %s)",
            [Message.Status.PENDING, claimed_at],
        ),
    ]
    if connection.vendor == "postgresql":
        # The locked rows are chosen once, in a materialized CTE: as `id IN (subquery)`,
        # PostgreSQL may run the LIMIT subquery again and claim more than asked.
        statement = (
            "WITH chosen AS MATERIALIZED (SELECT id FROM {table} WHERE campaign_id = %s"
            " AND {condition} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
            " UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1"
            " FROM chosen WHERE {table}.id = chosen.id RETURNING {table}.id"
        )

        def arguments(params, limit):
            return [campaign_id, *params, limit, Message.Status.SENDING, claimed_at]
    else:
        # SQLite runs one write at a time: the conditional UPDATE alone is atomic.
        statement = (
            "UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM {table} WHERE campaign_id = %s AND {condition}"
            " ORDER BY id LIMIT %s) AND {condition} RETURNING id"
        )

        def arguments(params, limit):
            return [Message.Status.SENDING, claimed_at, campaign_id, *params, limit, *params]

    ids: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for condition, params in conditions:
            if len(ids) >= limit:
                break
            cursor.execute(
                statement.format(table=table, condition=condition),
                arguments(params, limit - len(ids)),
            )
            ids.extend(row[0] for row in cursor.fetchall())
    return sorted(ids)


# Sending -------------------------------------------------------------------------------------


def sender_connection(profile: SenderProfile | None) -> BaseEmailBackend:
    """The e-mail connection of a sender profile: its SMTP server, its provider through
    django-anymail, or (an SMTP profile with no host) the site's EMAIL_BACKEND."""
    if profile is None or (
        profile.connection == SenderProfile.Connection.SMTP and not profile.smtp_host
    ):
        return get_connection()
    if profile.connection == SenderProfile.Connection.ESP:
        options = dict(profile.esp_settings or {})
        if profile.esp_api_key:
            options.setdefault("api_key", profile.esp_api_key)
        return get_connection(f"anymail.backends.{profile.esp_name}.EmailBackend", **options)
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=profile.smtp_host,
        port=profile.smtp_port,
        username=profile.smtp_username or None,
        password=profile.smtp_password or None,
        use_tls=profile.smtp_use_tls and not profile.smtp_use_ssl,
        use_ssl=profile.smtp_use_ssl,
        timeout=30,
    )


def message_id_header(message: Message, profile: SenderProfile | None) -> str:
    domain = (profile.from_email if profile else settings.DEFAULT_FROM_EMAIL).rpartition("@")[2]
    return f"<{message.token}@{domain or 'localhost'}>"


def _preheader_html(html: str, preheader: str) -> str:
    """The preheader as the first, hidden, text of the body (what inboxes show after the
    subject)."""
    if not preheader or not html:
        return html
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        f"{escape(preheader)}</div>"
    )
    lower = html.lower()
    start = lower.find("<body")
    if start != -1:
        end = lower.find(">", start)
        if end != -1:
            return html[: end + 1] + hidden + html[end + 1 :]
    return hidden + html


def email_build(
    *,
    campaign: Campaign,
    message: Message,
    contact: Contact,
    profile: SenderProfile | None,
    rendered: RenderedMessage,
) -> EmailMultiAlternatives:
    """The e-mail of one message: tracked links and pixel, both bodies, the preheader, and
    the one-click unsubscribe headers (RFC 8058)."""
    html, text = tracking.message_content_track(
        message=message, html=rendered.html, text=rendered.text
    )
    html = _preheader_html(html, rendered.preheader)
    if not text and html:
        text = strip_tags(html).strip()
    from_email = (
        formataddr((profile.from_name, profile.from_email))
        if profile
        else settings.DEFAULT_FROM_EMAIL
    )
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=text,
        from_email=from_email,
        to=[contact.email],
        reply_to=[profile.reply_to] if profile and profile.reply_to else None,
        headers={
            "Message-ID": message_id_header(message, profile),
            "List-Unsubscribe": (
                f"<{tracking.unsubscribe_url(message)}>, <{tracking.unsubscribe_mailto(message)}>"
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Relance-Campaign": campaign.key,
        },
    )
    if html:
        email.attach_alternative(html, "text/html")
    # django-anymail passes this to the provider, and its webhooks hand it back.
    email.metadata = {"relance_message": message.token}
    return email


def _smtp_error(error: Exception) -> DeliveryError:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in error.recipients.values()]
        reply = "; ".join(
            f"{code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
            for code, reply in error.recipients.values()
        )
        permanent = any(code >= 500 for code in codes)
        return DeliveryError(
            f"recipient refused: {reply}", transient=not permanent, bounce=permanent
        )
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode(errors="replace")
        return DeliveryError(f"{error.smtp_code} {reply}", transient=error.smtp_code < 500)
    # Dropped connections, timeouts, refused connections.
    return DeliveryError(f"{type(error).__name__}: {error}", transient=True)


def _anymail_error(error: AnymailError) -> DeliveryError:
    if isinstance(error, AnymailRecipientsRefused):
        return DeliveryError(str(error), transient=False, bounce=True)
    status = getattr(error, "status_code", None)
    transient = not isinstance(error, AnymailAPIError) or status is None
    transient = transient or status == 429 or status >= 500
    return DeliveryError(str(error), transient=transient)


class _Pacer:
    """Each sender profile's rate, shared by the connections of one delivery run."""

    def __init__(self):
        self.lock = threading.Lock()
        self.next_send_at: dict[int, float] = {}

    def wait(self, profile: SenderProfile | None) -> None:
        if profile is None:
            return
        with self.lock:
            now = time.monotonic()
            at = max(self.next_send_at.get(profile.pk, now), now)
            self.next_send_at[profile.pk] = at + 60 / profile.rate_per_minute
        if at > now:
            time.sleep(at - now)


class EmailChannel:
    """Open connections per sender profile for one delivery run, each paced to its profile's
    rate. `prepare` (render, track, build) and `transmit` (hand over) are separate steps, so
    that a worker can build the next messages while the server answers (see `_Transmitter`)."""

    def __init__(self, campaign: Campaign, pacer: _Pacer | None = None):
        self.campaign = campaign
        self.pacer = pacer or _Pacer()
        self.profiles: dict[int | None, SenderProfile | None] = {None: None}
        self.connections: dict[int | None, BaseEmailBackend] = {}

    def _profile(self, profile_id: int | None) -> SenderProfile | None:
        if profile_id not in self.profiles:
            self.profiles[profile_id] = SenderProfile.objects.filter(pk=profile_id).first()
        return self.profiles[profile_id]

    def _connection(self, profile_id: int | None) -> BaseEmailBackend:
        backend = self.connections.get(profile_id)
        if backend is None:
            backend = sender_connection(self._profile(profile_id))
            try:
                backend.open()
            except (OSError, AnymailError) as error:
                raise self._error(error) from error
            self.connections[profile_id] = backend
        return backend

    @staticmethod
    def _error(error: Exception) -> DeliveryError:
        if isinstance(error, AnymailError):
            return _anymail_error(error)
        return _smtp_error(error)

    def prepare(self, message: Message):
        """What `transmit` hands over: the raw bytes for an SMTP profile (written by
        `campaigns.mime`), else the `EmailMessage` for the profile's backend."""
        profile = self._profile(message.sender_profile_id)
        contact = message.contact
        # Every e-mail links to both pages, placed by its template or in a footer.
        rendered = email_render(
            campaign=self.campaign,
            contact=contact,
            unsubscribe_url=tracking.unsubscribe_url(message),
            preferences_url=tracking.preferences_url(message),
        )
        email = email_build(
            campaign=self.campaign,
            message=message,
            contact=contact,
            profile=profile,
            rendered=rendered,
        )
        if profile is None or profile.connection != SenderProfile.Connection.SMTP:
            return email
        if not profile.smtp_host:
            return email
        html = next((body for body, kind in email.alternatives if kind == "text/html"), "")
        headers = dict(email.extra_headers)
        if email.reply_to:
            headers["Reply-To"] = ", ".join(email.reply_to)
        data = mime_bytes(
            from_email=email.from_email,
            to=contact.email,
            subject=email.subject,
            text=email.body,
            html=html,
            headers=headers,
            boundary=f"=_relance_{message.token}",
        )
        return (profile.from_email, contact.email, data)

    def transmit(self, message: Message, prepared) -> str:
        """Hand the prepared message to its connection; returns the provider's id."""
        profile_id = message.sender_profile_id
        self.pacer.wait(self._profile(profile_id))
        backend = self._connection(profile_id)
        try:
            if isinstance(prepared, tuple):
                envelope_from, to, data = prepared
                backend.connection.sendmail(envelope_from, [to], data)
                return f"<{message.token}@{envelope_from.rpartition('@')[2]}>"
            prepared.connection = backend
            backend.send_messages([prepared])
        except (OSError, AnymailError) as error:
            delivery_error = self._error(error)
            if delivery_error.transient:
                # The connection may be dead: a fresh one for the next message.
                self._close(profile_id)
            raise delivery_error from error
        status = getattr(prepared, "anymail_status", None)
        if status is not None and status.message_id:
            return str(status.message_id)
        return prepared.extra_headers["Message-ID"]

    def _close(self, profile_id: int | None) -> None:
        backend = self.connections.pop(profile_id, None)
        if backend is not None:
            try:
                backend.close()
            except Exception:  # Closing a broken connection: nothing left to do.
                logger.debug("closing a broken e-mail connection failed", exc_info=True)

    def close(self) -> None:
        for profile_id in list(self.connections):
            self._close(profile_id)


class SmsChannel:
    """One connection to the SMS backend for a delivery run."""

    def __init__(self, campaign: Campaign, pacer: _Pacer | None = None):
        self.campaign = campaign
        self.pacer = pacer
        self.backend = None

    def prepare(self, message: Message) -> SmsMessage:
        rendered = campaign_render(campaign=self.campaign, contact=message.contact)
        return SmsMessage(to=message.contact.phone, body=rendered.sms, reference=message.token)

    def transmit(self, message: Message, sms: SmsMessage) -> str:
        if self.backend is None:
            self.backend = get_sms_connection()
            self.backend.open()
        try:
            self.backend.send_messages([sms])
        except SmsSendError as error:
            raise DeliveryError(error.reason, transient=error.transient) from error
        return sms.provider_message_id

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None


# Recording -----------------------------------------------------------------------------------


def _message_sent(message: Message, provider_message_id: str) -> None:
    # Its own commit, right away: what a killed worker could send twice is this one message.
    # Plain SQL: this runs once per message, and the ORM's compilation would double its cost.
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, provider_message_id = %s,"
            " next_attempt_at = NULL, error = '' WHERE id = %s AND status = %s",
            [
                Message.Status.SENT,
                _db_datetime(timezone.now()),
                provider_message_id[:255],
                message.pk,
                Message.Status.SENDING,
            ],
        )


def _message_failed(
    campaign: Campaign, message: Message, error: DeliveryError, now: datetime
) -> bool:
    """Schedule another attempt, or mark the message failed; returns whether it is retried."""
    retry = error.transient and message.attempts < settings.RELANCE_SEND_MAX_ATTEMPTS
    changes = {"error": error.reason[:2000], "claimed_at": None}
    if retry:
        delay = settings.RELANCE_SEND_RETRY_SECONDS * 2 ** (message.attempts - 1)
        changes.update(
            status=Message.Status.PENDING, next_attempt_at=now + timedelta(seconds=delay)
        )
    else:
        changes.update(status=Message.Status.FAILED, next_attempt_at=None)
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(**changes)
    if error.bounce:
        activities_record(
            events=[
                ActivityEvent(
                    contact_id=message.contact_id,
                    kind=ActivityKind.BOUNCE,
                    occurred_at=now,
                    campaign=campaign.key,
                    external_id=f"message:{message.pk}:refused",
                    metadata={"message": message.pk, "bounce_type": "hard", "reason": error.reason},
                )
            ]
        )
        Message.objects.filter(pk=message.pk, bounced_at__isnull=True).update(bounced_at=now)
    return retry


def sent_activities_record(*, campaign: Campaign, message_ids: Iterable[int] | None = None) -> int:
    """Write the `sent` activity of the campaign's sent messages that have none yet (those of
    `message_ids` only, when given), in chunks; returns how many were written."""
    sent = Message.objects.filter(
        campaign_id=campaign.pk, status=Message.Status.SENT, activity_recorded=False
    )
    if message_ids is not None:
        sent = sent.filter(pk__in=list(message_ids))
    kind, channel = (
        (ActivityKind.SMS_SENT, Channel.SMS)
        if campaign.channel == Campaign.Channel.SMS
        else (ActivityKind.SENT, Channel.EMAIL)
    )
    written = 0
    while True:
        rows = list(sent.order_by("pk").values_list("pk", "contact_id", "sent_at")[:2000])
        if not rows:
            return written
        with transaction.atomic():
            activities_record(
                events=[
                    ActivityEvent(
                        contact_id=contact_id,
                        kind=kind,
                        occurred_at=sent_at,
                        channel=channel,
                        campaign=campaign.key,
                        external_id=f"message:{pk}:sent",
                        metadata={"message": pk},
                    )
                    for pk, contact_id, sent_at in rows
                ]
            )
            Message.objects.filter(pk__in=[row[0] for row in rows]).update(activity_recorded=True)
        written += len(rows)


def _campaign_finish_if_done(campaign: Campaign, now: datetime) -> bool:
    unfinished = Message.objects.filter(
        campaign_id=OuterRef("pk"), status__in=[Message.Status.PENDING, Message.Status.SENDING]
    )
    return bool(
        # A scenario campaign keeps sending while its scenario enrolls contacts.
        Campaign.objects.filter(
            pk=campaign.pk, status=Campaign.Status.SENDING, kind=Campaign.Kind.REGULAR
        )
        .exclude(prepared_at=None)
        .filter(~Exists(unfinished))
        .update(status=Campaign.Status.SENT, finished_at=now, delivery_lease_until=None)
    )


def _lease_renew(campaign: Campaign, now: datetime) -> bool:
    """Renew the lease; False once the campaign is no longer sending (paused, cancelled)."""
    return bool(
        Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING).update(
            delivery_lease_until=now + CAMPAIGN_LEASE
        )
    )


def _batch_size(campaign: Campaign) -> int:
    """At most a minute of sending at the slowest profile's rate, so a claim never outlives
    `CLAIM_LEASE`."""
    rates = SenderProfile.objects.filter(
        pk__in=[campaign.sender_profile_id, campaign.reactivation_profile_id]
    ).values_list("rate_per_minute", flat=True)
    return max(1, min([settings.RELANCE_SEND_BATCH_SIZE, *rates]))


def suppression_reason(campaign: Campaign, contact: Contact) -> str:
    """Why `contact` may no longer be sent the campaign (an opt-out, a bounce or a complaint
    recorded since its messages were written), or ""."""
    if campaign.channel == Campaign.Channel.SMS:
        if contact.sms_status != SmsStatus.SUBSCRIBED:
            return gettext("Suppressed: SMS status is %(status)s") % {
                "status": contact.get_sms_status_display()
            }
        if not contact.phone:
            return gettext("Suppressed: no phone number")
    elif contact.email_status != EmailStatus.SUBSCRIBED:
        return gettext("Suppressed: e-mail status is %(status)s") % {
            "status": contact.get_email_status_display()
        }
    return ""


def _prepare(campaign: Campaign, channel, message: Message, result: DeliveryResult):
    """The message ready for `transmit`, or None when it is not to be sent (marked failed)."""
    reason = suppression_reason(campaign, message.contact)
    error = DeliveryError(reason, transient=False) if reason else None
    if error is None:
        try:
            return channel.prepare(message)
        except Exception as exception:  # A template that fails for this contact, say.
            logger.exception("message %s could not be built", message.pk)
            error = DeliveryError(f"{type(exception).__name__}: {exception}", transient=False)
    _message_failed(campaign, message, error, timezone.now())
    result.failed += 1
    return None


class _Transmitter:
    """Hands prepared messages to the channel and marks each one sent (or retried, or failed)
    as soon as the backend answers.

    In worker threads, each with its own database connection and its own connections to the
    sender (`RELANCE_SEND_CONNECTIONS`, 2 by default), when the caller works in autocommit (a
    worker): the next messages are rendered and built while the servers answer. Inline, in
    order, when the caller holds a transaction (the test suite), since another connection
    would not see its rows. A `BaseException` in a thread (the worker being stopped) stops the
    threads and is raised again in the caller."""

    def __init__(self, campaign: Campaign, channel, result: DeliveryResult, *, queue_size: int):
        self.campaign = campaign
        self.channel = channel
        self.result = result
        self.lock = threading.Lock()
        self.sent_ids: list[int] = []
        self.error: BaseException | None = None
        self.threads: list[threading.Thread] = []
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
            for number in range(max(1, settings.RELANCE_SEND_CONNECTIONS)):
                thread = threading.Thread(
                    target=self._run,
                    args=(type(channel)(campaign, pacer=channel.pacer),),
                    name=f"relance-transmit-{number}",
                    daemon=True,
                )
                thread.start()
                self.threads.append(thread)

    def _transmit(self, channel, message: Message, prepared) -> None:
        try:
            provider_message_id = channel.transmit(message, prepared)
        except DeliveryError as error:
            retried = _message_failed(self.campaign, message, error, timezone.now())
            with self.lock:
                if retried:
                    self.result.retried += 1
                else:
                    self.result.failed += 1
            return
        _message_sent(message, provider_message_id)
        with self.lock:
            self.sent_ids.append(message.pk)
            self.result.sent += 1

    def _run(self, channel) -> None:
        try:
            with connection.cursor() as cursor:
                # This connection only marks messages sent. Not waiting for each mark to reach
                # the disk halves its cost; a worker killed still finds every mark it made,
                # and only a crash of PostgreSQL itself could lose the last fraction of a
                # second of them (those messages would be sent again, with their Message-ID).
                cursor.execute("SET synchronous_commit TO off")
            while self.error is None and (item := self.queue.get()) is not None:
                self._transmit(channel, *item)
        except BaseException as error:  # Handed to the caller, which raises it.
            self.error = error
        finally:
            channel.close()
            connection.close()

    def _raise_if_stopped(self) -> None:
        if self.error is not None:
            raise self.error
        if not any(thread.is_alive() for thread in self.threads):
            raise RuntimeError("the transmitting threads stopped")

    def submit(self, message: Message, prepared) -> None:
        if not self.threads:
            self._transmit(self.channel, message, prepared)
            return
        while True:
            self._raise_if_stopped()
            try:
                self.queue.put((message, prepared), timeout=0.5)
                return
            except queue.Full:
                continue

    def sent_ids_take(self) -> list[int]:
        with self.lock:
            taken, self.sent_ids = self.sent_ids, []
        return taken

    def _end_threads(self, *, timeout: float | None) -> None:
        for _thread in self.threads:
            while any(thread.is_alive() for thread in self.threads):
                try:
                    self.queue.put(None, timeout=0.5)
                    break
                except queue.Full:
                    continue
        for thread in self.threads:
            thread.join(timeout)

    def finish(self) -> None:
        """Wait until everything submitted is handed over."""
        self._end_threads(timeout=None)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """After an error in the caller: the threads end once what they hold is sent."""
        if any(thread.is_alive() for thread in self.threads):
            self._end_threads(timeout=60)


def campaign_deliver(*, campaign_id: int, budget: timedelta = TASK_BUDGET) -> DeliveryResult:
    """Deliver the campaign's due messages until none is left, it is paused or cancelled, or
    `budget` is spent. Safe to run any number of times, in any number of workers at once."""
    result = DeliveryResult()
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != Campaign.Status.SENDING:
        return result
    started = timezone.now()
    if not _lease_renew(campaign, started):
        return result
    campaign_prepare(campaign_id=campaign.pk, now=started)
    # What a killed worker sent but did not log.
    sent_activities_record(campaign=campaign)
    channel = (
        SmsChannel(campaign) if campaign.channel == Campaign.Channel.SMS else EmailChannel(campaign)
    )
    batch_size = _batch_size(campaign)
    transmitter = _Transmitter(campaign, channel, result, queue_size=batch_size)
    try:
        while True:
            now = timezone.now()
            if now - started > budget or not _lease_renew(campaign, now):
                break
            ids = messages_claim(campaign_id=campaign.pk, limit=batch_size, now=now)
            if not ids:
                break
            messages = Message.objects.filter(pk__in=ids).select_related("contact__lead_source")
            for message in messages.order_by("pk"):
                prepared = _prepare(campaign, channel, message, result)
                if prepared is not None:
                    transmitter.submit(message, prepared)
            # The sends of the batch before, while this one is on its way.
            sent_activities_record(campaign=campaign, message_ids=transmitter.sent_ids_take())
        transmitter.finish()
    finally:
        transmitter.stop()
        channel.close()
    sent_activities_record(campaign=campaign, message_ids=transmitter.sent_ids_take())
    now = timezone.now()
    result.finished = _campaign_finish_if_done(campaign, now)
    if not result.finished:
        # Let the dispatcher send a worker as soon as retries are due.
        Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING).update(
            delivery_lease_until=None
        )
    logger.info(
        "campaign %s: sent %s, retried %s, failed %s%s",
        campaign.pk,
        result.sent,
        result.retried,
        result.failed,
        ", finished" if result.finished else "",
    )
    return result


def campaigns_dispatch(*, now: datetime) -> list[int]:
    """Start the scheduled campaigns whose time has come, and take the lease of each sending
    campaign no worker holds; returns the ids to deliver (one task each)."""
    for campaign_id in Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, scheduled_at__lte=now
    ).values_list("pk", flat=True):
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SCHEDULED).update(
            status=Campaign.Status.SENDING, started_at=now
        )
    claimed = []
    free = Campaign.objects.filter(status=Campaign.Status.SENDING).filter(
        Q(delivery_lease_until__isnull=True) | Q(delivery_lease_until__lt=now)
    )
    for campaign_id, lease in free.values_list("pk", "delivery_lease_until"):
        if Campaign.objects.filter(
            pk=campaign_id, status=Campaign.Status.SENDING, delivery_lease_until=lease
        ).update(delivery_lease_until=now + CAMPAIGN_LEASE):
            claimed.append(campaign_id)
    return claimed


def campaign_test_send(*, campaign: Campaign, to: str, contact: Contact | None = None) -> None:
    """Send the campaign, rendered for `contact` (else the sample contact), to `to` (an e-mail
    address, or a phone number for an SMS campaign): subject marked as a test, links not
    tracked, no message written, nothing recorded. Raises `DeliveryError`."""
    from campaigns.rendering import sample_contact

    contact = contact or sample_contact()
    if campaign.channel == Campaign.Channel.SMS:
        rendered = campaign_render(campaign=campaign, contact=contact)
        backend = get_sms_connection()
        try:
            backend.send_messages([SmsMessage(to=to, body=rendered.sms)])
        except SmsSendError as error:
            raise DeliveryError(error.reason, transient=error.transient) from error
        return
    # With the footer the recipients get (its links lead nowhere: a test records nothing).
    rendered = email_render(campaign=campaign, contact=contact)
    profile = campaign.sender_profile
    email = EmailMultiAlternatives(
        subject=f"[Test] {rendered.subject}",
        body=rendered.text or strip_tags(rendered.html).strip(),
        from_email=formataddr((profile.from_name, profile.from_email))
        if profile
        else settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[profile.reply_to] if profile and profile.reply_to else None,
        connection=sender_connection(profile),
    )
    if rendered.html:
        email.attach_alternative(_preheader_html(rendered.html, rendered.preheader), "text/html")
    try:
        email.send()
    except (OSError, AnymailError) as error:
        raise EmailChannel._error(error) from error
