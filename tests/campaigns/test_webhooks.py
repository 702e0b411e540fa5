"""Provider tracking webhooks (django-anymail): deliveries, bounces and complaints change the
contact's e-mail status; unauthenticated and replayed calls change nothing."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from anymail.signals import AnymailTrackingEvent
from django.utils import timezone

from campaigns.models import BouncePolicy, Message
from campaigns.webhooks import bounce_is_soft
from contacts.models import Activity, ActivityKind, EmailStatus
from tests.factories import ContactFactory, MessageFactory

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "relance:test-webhook-secret"
MAILGUN_SIGNING_KEY = "test-mailgun-signing-key"
POSTMARK_URL = "/anymail/postmark/tracking/"
MAILGUN_URL = "/anymail/mailgun/tracking/"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }


def basic_auth(credentials: str = WEBHOOK_SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def sent_message(contact=None, **kwargs) -> Message:
    contact = contact or ContactFactory()
    n = Message.objects.count() + 1
    defaults = {
        "status": Message.Status.SENT,
        "sent_at": T0 - timedelta(hours=1),
        "provider_message_id": f"pm-{contact.pk}-{n}",
    }
    return MessageFactory(contact=contact, **{**defaults, **kwargs})


# Postmark: basic auth only; bounces carry an ID, deliveries do not.


def postmark_bounce(message, *, bounce_id, kind="HardBounce", at=T0, details=None) -> dict:
    codes = {"HardBounce": 1, "SoftBounce": 4096, "Transient": 2}
    return {
        "RecordType": "Bounce",
        "ID": bounce_id,
        "Type": kind,
        "TypeCode": codes.get(kind, 1),
        "ServerID": 23,
        "MessageStream": "outbound",
        "Name": kind,
        "MessageID": message.provider_message_id,
        "Description": "The server was unable to deliver your message.",
        "Details": details or "smtp;550 5.1.1 The email account does not exist.",
        "Email": message.contact.email,
        "From": "news@example.com",
        "BouncedAt": at.isoformat(),
        "DumpAvailable": False,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "News",
        "Metadata": {"relance_message": message.token},
    }


def postmark_delivery(message, *, at=T0) -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message.provider_message_id,
        "Recipient": message.contact.email,
        "Tag": "",
        "DeliveredAt": at.isoformat(),
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {"relance_message": message.token},
    }


def postmark_complaint(message, *, complaint_id=7001, at=T0) -> dict:
    return {
        "RecordType": "SpamComplaint",
        "ID": complaint_id,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "MessageID": message.provider_message_id,
        "ServerID": 23,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": message.contact.email,
        "From": "news@example.com",
        "BouncedAt": at.isoformat(),
        "Metadata": {"relance_message": message.token},
    }


def postmark_unsubscribe(message, *, at=T0) -> dict:
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": message.provider_message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": at.isoformat(),
        "Recipient": message.contact.email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Metadata": {"relance_message": message.token},
    }


def post_postmark(client, payload: dict, auth: dict | None = None):
    return client.post(
        POSTMARK_URL,
        data=json.dumps(payload),
        content_type="application/json",
        **(basic_auth() if auth is None else auth),
    )


# Mailgun: basic auth and an HMAC signature of the signing key; no metadata here, so the
# message is found by the provider's message id.


def mailgun_payload(message, *, event="failed", severity="permanent", event_id="ev-1", at=T0):
    code, text = (550, "5.1.1 No such user") if severity == "permanent" else (450, "Greylisted")
    event_data = {
        "id": event_id,
        "event": event,
        "timestamp": at.timestamp(),
        "recipient": message.contact.email,
        "message": {
            "headers": {
                "to": message.contact.email,
                "message-id": message.provider_message_id.strip("<>"),
                "from": "news@example.com",
                "subject": "News",
            }
        },
        "user-variables": {},
        "tags": [],
    }
    if event == "failed":
        event_data.update(severity=severity, reason="bounce" if severity == "permanent" else "")
        event_data["delivery-status"] = {"code": code, "message": text, "description": text}
    token = hashlib.sha256(f"{event_id}{at}".encode()).hexdigest()[:50]
    timestamp = str(int(at.timestamp()))
    signature = hmac.new(
        MAILGUN_SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event_data,
    }


def post_mailgun(client, payload: dict, auth: dict | None = None):
    return client.post(
        MAILGUN_URL,
        data=json.dumps(payload),
        content_type="application/json",
        **(basic_auth() if auth is None else auth),
    )


def mailgun_message(contact=None) -> Message:
    message = sent_message(contact)
    message.provider_message_id = f"<{message.provider_message_id}@mg.example.com>"
    message.save(update_fields=["provider_message_id"])
    return message


def status_of(contact) -> tuple[str, str]:
    contact.refresh_from_db()
    return contact.email_status, contact.email_status_reason


# Hard bounces, complaints, unsubscribes, deliveries ------------------------------------------


def test_hard_bounce_suppresses_the_contact_at_once(client):
    message = sent_message()

    response = post_postmark(client, postmark_bounce(message, bounce_id=901))

    assert response.status_code == 200
    assert status_of(message.contact) == (EmailStatus.BOUNCED, "hard bounce")
    (activity,) = Activity.objects.filter(contact=message.contact)
    assert activity.kind == ActivityKind.BOUNCE
    assert activity.occurred_at == T0
    assert activity.campaign == message.campaign.key
    assert activity.external_id == "Postmark:901"
    assert activity.metadata["bounce_type"] == "hard"
    assert activity.metadata["message"] == message.pk
    assert activity.metadata["esp"] == "Postmark"
    message.refresh_from_db()
    assert message.bounced_at == T0


def test_complaint_marks_the_contact_complained(client):
    message = sent_message()

    post_postmark(client, postmark_complaint(message))

    assert status_of(message.contact)[0] == EmailStatus.COMPLAINED
    assert Activity.objects.get().kind == ActivityKind.COMPLAINT
    message.refresh_from_db()
    assert message.complained_at == T0


def test_unsubscribe_reported_by_the_provider_unsubscribes_the_contact(client):
    message = sent_message()

    post_postmark(client, postmark_unsubscribe(message))

    assert status_of(message.contact)[0] == EmailStatus.UNSUBSCRIBED
    assert Activity.objects.get().kind == ActivityKind.UNSUBSCRIBE


def test_delivery_is_recorded_and_leaves_the_status_alone(client):
    message = sent_message()

    post_postmark(client, postmark_delivery(message))

    assert status_of(message.contact)[0] == EmailStatus.SUBSCRIBED
    activity = Activity.objects.get()
    assert activity.kind == ActivityKind.DELIVERED
    assert activity.external_id.startswith("Postmark:sha256:")
    message.refresh_from_db()
    assert message.delivered_at == T0


def test_message_is_found_by_the_provider_id_without_metadata(client):
    message = sent_message()
    payload = postmark_bounce(message, bounce_id=902)
    del payload["Metadata"]

    post_postmark(client, payload)

    assert status_of(message.contact)[0] == EmailStatus.BOUNCED


def test_opens_and_clicks_reported_by_the_provider_are_ignored(client):
    message = sent_message()
    opened = {
        "RecordType": "Open",
        "MessageID": message.provider_message_id,
        "Recipient": message.contact.email,
        "ReceivedAt": T0.isoformat(),
        "Metadata": {"relance_message": message.token},
    }

    response = post_postmark(client, opened)

    assert response.status_code == 200
    assert not Activity.objects.exists()


def test_unknown_message_is_accepted_and_changes_nothing(client):
    contact = ContactFactory()
    stranger = Message(token="not-ours", provider_message_id="somebody-elses-id", contact=contact)

    response = post_postmark(client, postmark_bounce(stranger, bounce_id=903))

    assert response.status_code == 200
    assert not Activity.objects.exists()
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


# Authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [{}, basic_auth("relance:wrong"), basic_auth("someone:else")])
def test_unauthenticated_call_is_rejected_and_changes_nothing(client, auth):
    message = sent_message()

    response = post_postmark(client, postmark_bounce(message, bounce_id=904), auth=auth)

    assert 400 <= response.status_code < 500
    assert not Activity.objects.exists()
    assert status_of(message.contact)[0] == EmailStatus.SUBSCRIBED


def test_signed_mailgun_bounce_is_recorded(client):
    message = mailgun_message()

    response = post_mailgun(client, mailgun_payload(message))

    assert response.status_code == 200
    assert status_of(message.contact) == (EmailStatus.BOUNCED, "hard bounce")
    assert Activity.objects.get().external_id.startswith("Mailgun:ev-1@")


@pytest.mark.parametrize("tamper", ["signature", "basic auth"])
def test_mailgun_call_is_rejected_when_the_signature_or_the_secret_is_wrong(client, tamper):
    message = mailgun_message()
    payload = mailgun_payload(message)
    auth = None
    if tamper == "signature":
        payload["signature"]["signature"] = "0" * 64
    else:
        auth = basic_auth("relance:wrong")

    response = post_mailgun(client, payload, auth=auth)

    assert 400 <= response.status_code < 500
    assert not Activity.objects.exists()
    assert status_of(message.contact)[0] == EmailStatus.SUBSCRIBED


# Replays ------------------------------------------------------------------------------------


def test_replayed_hard_bounce_changes_nothing(client):
    message = sent_message()
    payload = postmark_bounce(message, bounce_id=905)
    post_postmark(client, payload)
    # Staff resubscribe the address after checking with the customer.
    message.contact.email_status = EmailStatus.SUBSCRIBED
    message.contact.email_status_changed_at = timezone.now()
    message.contact.save()

    response = post_postmark(client, payload)

    assert response.status_code == 200
    assert Activity.objects.count() == 1
    assert status_of(message.contact)[0] == EmailStatus.SUBSCRIBED


def test_replayed_delivery_is_recorded_once(client):
    message = sent_message()

    post_postmark(client, postmark_delivery(message))
    post_postmark(client, postmark_delivery(message))

    assert Activity.objects.count() == 1


def test_replayed_mailgun_event_signed_again_is_recorded_once(client):
    message = mailgun_message()
    first = mailgun_payload(message)
    again = json.loads(json.dumps(first))
    # Mailgun signs each post: same event, new token.
    token = "f" * 50
    again["signature"]["token"] = token
    again["signature"]["signature"] = hmac.new(
        MAILGUN_SIGNING_KEY.encode(),
        f"{again['signature']['timestamp']}{token}".encode(),
        hashlib.sha256,
    ).hexdigest()

    post_mailgun(client, first)
    response = post_mailgun(client, again)

    assert response.status_code == 200
    assert Activity.objects.count() == 1


# Soft bounces -------------------------------------------------------------------------------


def soft_bounce(client, contact, n: int, *, at: datetime):
    message = sent_message(contact)
    payload = postmark_bounce(
        message,
        bounce_id=1000 + n,
        kind="SoftBounce",
        at=at,
        details="smtp;452 4.2.2 Mailbox full",
    )
    response = post_postmark(client, payload)
    assert response.status_code == 200
    return payload


def delivered(client, contact, *, at: datetime):
    response = post_postmark(client, postmark_delivery(sent_message(contact), at=at))
    assert response.status_code == 200


def test_soft_bounce_is_recorded_without_suppressing(client):
    contact = ContactFactory()

    soft_bounce(client, contact, 1, at=T0)

    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED
    activity = Activity.objects.get()
    assert activity.kind == ActivityKind.BOUNCE
    assert activity.metadata["bounce_type"] == "soft"
    assert "4.2.2" in activity.metadata["reason"]


def test_three_soft_bounces_in_a_row_suppress_the_contact(client):
    contact = ContactFactory()

    soft_bounce(client, contact, 1, at=T0)
    soft_bounce(client, contact, 2, at=T0 + timedelta(days=1))
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED
    soft_bounce(client, contact, 3, at=T0 + timedelta(days=2))

    assert status_of(contact) == (EmailStatus.BOUNCED, "soft bounces")
    contact.refresh_from_db()
    assert contact.email_status_changed_at == T0 + timedelta(days=2)


def test_a_delivery_in_between_resets_the_run(client):
    contact = ContactFactory()

    soft_bounce(client, contact, 1, at=T0)
    soft_bounce(client, contact, 2, at=T0 + timedelta(days=1))
    delivered(client, contact, at=T0 + timedelta(days=2))
    soft_bounce(client, contact, 3, at=T0 + timedelta(days=3))
    soft_bounce(client, contact, 4, at=T0 + timedelta(days=4))

    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


def test_a_delivery_reported_late_still_breaks_the_run(client):
    contact = ContactFactory()

    soft_bounce(client, contact, 1, at=T0)
    delivered(client, contact, at=T0 + timedelta(days=1))
    soft_bounce(client, contact, 2, at=T0 + timedelta(days=2))
    soft_bounce(client, contact, 3, at=T0 + timedelta(days=3))

    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


def test_the_limit_comes_from_the_bounce_policy(client):
    policy = BouncePolicy.load()
    policy.soft_bounce_limit = 2
    policy.save()
    contact = ContactFactory()

    soft_bounce(client, contact, 1, at=T0)
    soft_bounce(client, contact, 2, at=T0 + timedelta(days=1))

    assert status_of(contact) == (EmailStatus.BOUNCED, "soft bounces")


def test_replayed_third_soft_bounce_changes_nothing(client):
    contact = ContactFactory()
    soft_bounce(client, contact, 1, at=T0)
    soft_bounce(client, contact, 2, at=T0 + timedelta(days=1))
    third = soft_bounce(client, contact, 3, at=T0 + timedelta(days=2))
    assert status_of(contact)[0] == EmailStatus.BOUNCED
    # Staff resubscribe the address.
    contact.email_status = EmailStatus.SUBSCRIBED
    contact.email_status_changed_at = timezone.now()
    contact.save()

    post_postmark(client, third)

    assert Activity.objects.filter(contact=contact).count() == 3
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


def test_bounces_before_a_resubscription_do_not_count(client):
    contact = ContactFactory()
    soft_bounce(client, contact, 1, at=T0)
    soft_bounce(client, contact, 2, at=T0 + timedelta(days=1))
    soft_bounce(client, contact, 3, at=T0 + timedelta(days=2))
    contact.email_status = EmailStatus.SUBSCRIBED
    contact.email_status_changed_at = T0 + timedelta(days=3)
    contact.save()

    soft_bounce(client, contact, 4, at=T0 + timedelta(days=4))

    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


def test_attempts_of_one_deferred_message_count_once(client):
    contact = ContactFactory()
    message = mailgun_message(contact)

    for attempt in range(4):
        post_mailgun(
            client,
            mailgun_payload(
                message,
                severity="temporary",
                event_id=f"try-{attempt}",
                at=T0 + timedelta(minutes=5 * attempt),
            ),
        )

    assert Activity.objects.filter(contact=contact, kind=ActivityKind.BOUNCE).count() == 4
    assert status_of(contact)[0] == EmailStatus.SUBSCRIBED


def test_deferred_messages_suppress_like_soft_bounces(client):
    contact = ContactFactory()

    for n in range(3):
        post_mailgun(
            client,
            mailgun_payload(
                mailgun_message(contact),
                severity="temporary",
                event_id=f"defer-{n}",
                at=T0 + timedelta(days=n),
            ),
        )

    assert status_of(contact) == (EmailStatus.BOUNCED, "soft bounces")
    assert not Message.objects.filter(bounced_at__isnull=False).exists()


def test_a_hard_bounce_is_not_overridden_by_soft_bounces(client):
    contact = ContactFactory()
    post_postmark(client, postmark_bounce(sent_message(contact), bounce_id=42, at=T0))

    for n in range(3):
        soft_bounce(client, contact, n, at=T0 + timedelta(days=n + 1))

    assert status_of(contact) == (EmailStatus.BOUNCED, "hard bounce")


# Soft or hard, per provider -----------------------------------------------------------------


def tracking_event(esp_event, **kwargs) -> AnymailTrackingEvent:
    return AnymailTrackingEvent(event_type="bounced", esp_event=esp_event, **kwargs)


@pytest.mark.parametrize(
    "esp_name, esp_event, soft",
    [
        ("Postmark", {"Type": "SoftBounce"}, True),
        ("Postmark", {"Type": "HardBounce"}, False),
        ("SendGrid", {"event": "bounce", "type": "blocked"}, True),
        ("SendGrid", {"event": "bounce", "type": "bounce"}, False),
        ("Brevo", {"event": "soft_bounce"}, True),
        ("Brevo", {"event": "hard_bounce"}, False),
        ("Mandrill", {"event": "soft_bounce"}, True),
        ("MailerSend", {"data": {"type": "soft_bounced"}}, True),
        ("MailerSend", {"data": {"type": "hard_bounced"}}, False),
        ("Mailjet", {"event": "bounce", "hard_bounce": False}, True),
        ("Mailjet", {"event": "bounce", "hard_bounce": True}, False),
        ("SparkPost", {"msys": {"message_event": {"bounce_class": "22"}}}, True),
        ("SparkPost", {"msys": {"message_event": {"bounce_class": "10"}}}, False),
        ("Amazon SES", {"bounce": {"bounceType": "Transient"}}, True),
        ("Amazon SES", {"bounce": {"bounceType": "Permanent"}}, False),
        ("Resend", {"data": {"bounce": {"type": "Transient"}}}, True),
        ("Resend", {"data": {"bounce": {"type": "Permanent"}}}, False),
    ],
)
def test_bounce_type_is_read_from_the_provider_payload(esp_name, esp_event, soft):
    assert bounce_is_soft(tracking_event(esp_event), esp_name) is soft


@pytest.mark.parametrize(
    "mta_response, soft",
    [
        ("452 4.2.2 Mailbox full", True),
        ("smtp;421 Try again later", True),
        ("4.7.1 Greylisted, come back later", True),
        ("550 5.1.1 User unknown", False),
        ("smtp;554 rejected", False),
        ("Mailbox does not exist", False),
        (None, False),
    ],
)
def test_bounce_type_is_read_from_the_smtp_answer_otherwise(mta_response, soft):
    event = tracking_event({}, mta_response=mta_response)

    assert bounce_is_soft(event, "Mailgun") is soft
