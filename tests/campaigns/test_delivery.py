"""Delivering a campaign over real SMTP to a local sink: what arrives, exactly once, whatever
the workers do (retried task, killed worker, two workers), retries, failures, suppression."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from campaigns import delivery
from campaigns.models import Campaign, Message
from campaigns.services import campaign_pause, campaign_resume, campaign_schedule
from contacts.models import Activity, ActivityKind, Contact, EmailStatus
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
    SenderProfileFactory,
)
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db

HTML = (
    "<html><body><p>Bonjour {{ first_name }},</p>"
    '<a href="https://shop.example.com/sale?utm=1&amp;x=2">Sale</a> '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>'
)
TEXT = "Bonjour {{ first_name }}, see https://shop.example.com/sale"


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def recipients():
    contact_list = ContactListFactory()
    contacts = [ContactFactory(first_name=f"Ann{i}") for i in range(5)]
    contact_list.contacts.add(*contacts)
    contact_list.recipients = contacts
    return contact_list


@pytest.fixture
def campaign(sink, recipients):
    profile = SenderProfileFactory(
        from_name="Boutique",
        from_email="news@boutique.example",
        reply_to="help@boutique.example",
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_use_tls=False,
        rate_per_minute=100000,
    )
    return CampaignFactory(
        sender_profile=profile,
        subject="Hello {{ first_name }}",
        preheader="Our spring sale",
        html_body=HTML,
        text_body=TEXT,
        target_lists=[recipients],
    )


def sent_to(sink) -> list[str]:
    return sorted(sink.recipients())


def test_each_recipient_gets_one_personalised_tracked_email_when_delivered(
    sink, campaign, recipients
):
    campaign_schedule(campaign=campaign)

    result = delivery.campaign_deliver(campaign_id=campaign.pk)

    assert result.sent == 5 and result.finished
    assert sent_to(sink) == sorted(c.email for c in recipients.recipients)
    mail = next(m for m in sink.received if m.rcpt_tos == [recipients.recipients[0].email])
    message = mail.message
    assert message["Subject"] == "Hello Ann0"
    assert message["From"] == "Boutique <news@boutique.example>"
    assert message["Reply-To"] == "help@boutique.example"
    db_message = Message.objects.get(campaign=campaign, contact=recipients.recipients[0])
    assert message["Message-ID"] == f"<{db_message.token}@boutique.example>"
    assert db_message.provider_message_id == message["Message-ID"]
    unsubscribe = message["List-Unsubscribe"]
    assert "<http" in unsubscribe and "/u/" in unsubscribe and "<mailto:unsubscribe+" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.startswith("Bonjour Ann0, see http") and "/t/c/" in text
    assert "shop.example.com" not in text
    assert "Bonjour Ann0" in html and "Our spring sale" in html
    assert "/t/o/" in html and "/t/c/" in html
    # The unsubscribe link is ours, not rewritten through the click redirect.
    assert 'href="http' in html and "/u/" in html
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and campaign.finished_at is not None


def test_sent_activity_and_targeted_rollup_when_delivered(sink, campaign, recipients):
    campaign_schedule(campaign=campaign)

    delivery.campaign_deliver(campaign_id=campaign.pk)

    sent = Activity.objects.filter(kind=ActivityKind.SENT, campaign=campaign.key)
    assert sent.count() == 5
    assert set(sent.values_list("contact_id", flat=True)) == {c.pk for c in recipients.recipients}
    assert not Contact.objects.filter(
        pk__in=[c.pk for c in recipients.recipients], last_targeted_at=None
    ).exists()
    assert not Message.objects.filter(campaign=campaign, activity_recorded=False).exists()


def test_nothing_is_sent_twice_when_the_task_runs_again(sink, campaign):
    campaign_schedule(campaign=campaign)
    delivery.campaign_deliver(campaign_id=campaign.pk)

    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    again = delivery.campaign_deliver(campaign_id=campaign.pk)

    assert again.sent == 0
    assert len(sink.received) == 5
    assert Activity.objects.filter(kind=ActivityKind.SENT, campaign=campaign.key).count() == 5


class WorkerKilled(BaseException):
    """Stands for SIGKILL: no except clause of the delivery code catches it."""


def test_a_worker_killed_mid_batch_is_resumed_without_a_double_or_a_gap(
    sink, campaign, monkeypatch
):
    campaign_schedule(campaign=campaign)
    real_transmit = delivery.EmailChannel.transmit
    calls = []

    def transmit_then_die(self, message, prepared):
        calls.append(message.pk)
        if len(calls) == 3:
            raise WorkerKilled
        return real_transmit(self, message, prepared)

    monkeypatch.setattr(delivery.EmailChannel, "transmit", transmit_then_die)
    with pytest.raises(WorkerKilled):
        delivery.campaign_deliver(campaign_id=campaign.pk)
    monkeypatch.setattr(delivery.EmailChannel, "transmit", real_transmit)
    assert len(sink.received) == 2
    assert Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).count() == 3

    # Within the claim's lease another run leaves those claims alone...
    assert delivery.campaign_deliver(campaign_id=campaign.pk).sent == 0
    # ... after it, they are taken over, and the campaign completes.
    with time_machine.travel(timezone.now() + delivery.CLAIM_LEASE + timedelta(minutes=1)):
        result = delivery.campaign_deliver(campaign_id=campaign.pk)

    assert result.sent == 3 and result.finished
    assert sorted(sink.recipients()) == sorted(set(sink.recipients()))
    assert len(sink.received) == 5
    assert Activity.objects.filter(kind=ActivityKind.SENT, campaign=campaign.key).count() == 5


def test_sent_activities_a_killed_worker_did_not_write_are_written_by_the_next_run(
    sink, campaign, monkeypatch
):
    campaign_schedule(campaign=campaign)

    real_record = delivery.sent_activities_record

    def die_after_the_batch(*, campaign, message_ids=None):
        if message_ids is not None:  # the write after a batch, not the sweep at the start
            raise WorkerKilled
        return real_record(campaign=campaign)

    monkeypatch.setattr(delivery, "sent_activities_record", die_after_the_batch)
    with pytest.raises(WorkerKilled):
        delivery.campaign_deliver(campaign_id=campaign.pk)
    monkeypatch.undo()
    sent = Message.objects.filter(campaign=campaign, status=Message.Status.SENT).count()
    assert sent > 0
    assert not Activity.objects.filter(kind=ActivityKind.SENT).exists()

    delivery.campaign_deliver(campaign_id=campaign.pk)

    assert Activity.objects.filter(kind=ActivityKind.SENT, campaign=campaign.key).count() == 5
    assert len(sink.received) == 5


def test_claims_never_overlap_when_two_workers_claim_the_same_campaign(campaign):
    campaign_schedule(campaign=campaign)
    delivery.campaign_prepare(campaign_id=campaign.pk, now=timezone.now())
    now = timezone.now()

    first = delivery.messages_claim(campaign_id=campaign.pk, limit=3, now=now)
    second = delivery.messages_claim(campaign_id=campaign.pk, limit=3, now=now)
    third = delivery.messages_claim(campaign_id=campaign.pk, limit=3, now=now)

    assert len(first) == 3 and len(second) == 2 and third == []
    assert not set(first) & set(second)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory SQLite test database locks tables between threads instead of waiting",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_campaign_send_each_message_once(sink, campaign, settings):
    settings.RELANCE_SEND_BATCH_SIZE = 1
    contacts = ContactFactory.create_batch(15)
    campaign.target_lists.first().contacts.add(*contacts)
    campaign_schedule(campaign=campaign)
    delivery.campaign_prepare(campaign_id=campaign.pk, now=timezone.now())
    errors = []

    def worker():
        try:
            delivery.campaign_deliver(campaign_id=campaign.pk)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(sink.received) == 20
    assert len(set(sink.recipients())) == 20
    assert Message.objects.filter(campaign=campaign, status=Message.Status.SENT).count() == 20


def test_a_temporary_refusal_is_retried_with_backoff_then_sent(sink, campaign, recipients):
    refused = recipients.recipients[0]
    sink.handler.refuse[refused.email] = (451, "Try again later")
    campaign_schedule(campaign=campaign)

    first = delivery.campaign_deliver(campaign_id=campaign.pk)

    message = Message.objects.get(campaign=campaign, contact=refused)
    assert first.retried == 1 and not first.finished
    assert message.status == Message.Status.PENDING and message.attempts == 1
    assert "451" in message.error and message.next_attempt_at > timezone.now()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING

    sink.handler.refuse.clear()
    with time_machine.travel(message.next_attempt_at + timedelta(seconds=1)):
        second = delivery.campaign_deliver(campaign_id=campaign.pk)

    message.refresh_from_db()
    assert second.sent == 1 and second.finished
    assert message.status == Message.Status.SENT and message.attempts == 2
    assert sink.recipients().count(refused.email) == 1


def test_a_message_still_refused_after_the_last_attempt_is_failed_with_the_reason(
    sink, campaign, recipients, settings
):
    settings.RELANCE_SEND_MAX_ATTEMPTS = 2
    refused = recipients.recipients[0]
    sink.handler.refuse[refused.email] = (452, "Mailbox full")
    campaign_schedule(campaign=campaign)

    delivery.campaign_deliver(campaign_id=campaign.pk)
    message = Message.objects.get(campaign=campaign, contact=refused)
    with time_machine.travel(message.next_attempt_at + timedelta(seconds=1)):
        result = delivery.campaign_deliver(campaign_id=campaign.pk)

    message.refresh_from_db()
    assert result.failed == 1 and result.finished
    assert message.status == Message.Status.FAILED and "452 Mailbox full" in message.error
    refused.refresh_from_db()
    assert refused.email_status == EmailStatus.SUBSCRIBED


def test_a_recipient_refused_for_good_fails_at_once_as_a_hard_bounce(sink, campaign, recipients):
    refused = recipients.recipients[1]
    sink.handler.refuse[refused.email] = (550, "No such user")
    campaign_schedule(campaign=campaign)

    result = delivery.campaign_deliver(campaign_id=campaign.pk)

    message = Message.objects.get(campaign=campaign, contact=refused)
    assert result.failed == 1 and result.sent == 4 and result.finished
    assert message.status == Message.Status.FAILED and "550" in message.error
    assert message.bounced_at is not None
    refused.refresh_from_db()
    assert refused.email_status == EmailStatus.BOUNCED
    assert Activity.objects.filter(contact=refused, kind=ActivityKind.BOUNCE).count() == 1


def test_an_unreachable_server_keeps_messages_for_a_retry(campaign, recipients):
    campaign.sender_profile.smtp_port = 1  # nothing listens there
    campaign.sender_profile.save()
    campaign_schedule(campaign=campaign)

    result = delivery.campaign_deliver(campaign_id=campaign.pk)

    assert result.sent == 0 and result.retried == 5
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.PENDING}


def test_a_contact_who_unsubscribed_after_the_messages_were_written_is_not_sent_to(
    sink, campaign, recipients
):
    campaign_schedule(campaign=campaign)
    delivery.campaign_prepare(campaign_id=campaign.pk, now=timezone.now())
    gone = recipients.recipients[2]
    Contact.objects.filter(pk=gone.pk).update(email_status=EmailStatus.UNSUBSCRIBED)

    delivery.campaign_deliver(campaign_id=campaign.pk)

    assert gone.email not in sink.recipients() and len(sink.received) == 4
    message = Message.objects.get(campaign=campaign, contact=gone)
    assert message.status == Message.Status.FAILED and "Suppressed" in message.error


def test_a_paused_campaign_stops_after_the_batch_and_resumes_where_it_stopped(
    sink, campaign, settings, monkeypatch
):
    settings.RELANCE_SEND_BATCH_SIZE = 2
    campaign_schedule(campaign=campaign)
    real_transmit = delivery.EmailChannel.transmit

    def transmit_and_pause(self, message, prepared):
        provider_id = real_transmit(self, message, prepared)
        paused = Campaign.objects.get(pk=campaign.pk)
        if paused.status == Campaign.Status.SENDING:  # staff click "Pause" during the first send
            campaign_pause(campaign=paused)
        return provider_id

    monkeypatch.setattr(delivery.EmailChannel, "transmit", transmit_and_pause)
    paused = delivery.campaign_deliver(campaign_id=campaign.pk)
    monkeypatch.undo()

    assert paused.sent == 2 and not paused.finished
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert Message.objects.filter(campaign=campaign, status=Message.Status.PENDING).count() == 3

    campaign_resume(campaign=campaign)
    resumed = delivery.campaign_deliver(campaign_id=campaign.pk)

    assert resumed.sent == 3 and resumed.finished
    assert len(sink.received) == 5 and len(set(sink.recipients())) == 5


def test_a_cancelled_campaign_sends_nothing_more(sink, campaign):
    campaign_schedule(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)

    result = delivery.campaign_deliver(campaign_id=campaign.pk)

    assert result.sent == 0 and sink.received == []


def test_the_dispatcher_starts_a_scheduled_campaign_only_when_its_time_comes(sink, campaign):
    at = timezone.now() + timedelta(hours=2)
    campaign_schedule(campaign=campaign, at=at)

    assert delivery.campaigns_dispatch(now=timezone.now()) == []
    claimed = delivery.campaigns_dispatch(now=at + timedelta(seconds=1))

    campaign.refresh_from_db()
    assert claimed == [campaign.pk]
    assert campaign.status == Campaign.Status.SENDING and campaign.started_at is not None
    # Its lease is held: the next tick does not send a second worker.
    assert delivery.campaigns_dispatch(now=at + timedelta(minutes=1)) == []
    # A worker that died leaves the lease to run out; then the campaign is picked up again.
    assert delivery.campaigns_dispatch(now=at + timedelta(minutes=10)) == [campaign.pk]


def test_the_dispatch_task_delivers_a_due_campaign(sink, campaign):
    from campaigns.tasks import campaigns_dispatch

    campaign_schedule(campaign=campaign, at=timezone.now() + timedelta(minutes=5))
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        queued = campaigns_dispatch()

    assert queued == 1
    assert len(sink.received) == 5
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT


def test_a_test_send_reaches_the_address_marked_as_a_test_and_records_nothing(
    sink, campaign, recipients
):
    delivery.campaign_test_send(
        campaign=campaign, to="me@agency.example", contact=recipients.recipients[3]
    )

    assert sink.recipients() == ["me@agency.example"]
    assert sink.received[0].message["Subject"] == "[Test] Hello Ann3"
    assert not Message.objects.exists()
    assert not Activity.objects.exists()


def test_a_test_send_shows_the_footer_recipients_get(sink, campaign, recipients):
    # The campaign's template has no preference-centre link: delivery adds the footer.
    delivery.campaign_test_send(
        campaign=campaign, to="me@agency.example", contact=recipients.recipients[0]
    )

    body = sink.received[0].message.get_body(("plain",)).get_content()
    assert "Manage your preferences: #" in body


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="a second process cannot open the in-memory SQLite test database",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_while_sending_is_resumed_without_a_double_or_a_gap(sink, campaign):
    """A real `kill -9` of a worker process in the middle of an SMTP conversation."""
    import os
    import signal
    import subprocess
    import sys

    campaign_schedule(campaign=campaign)
    reached, release = threading.Event(), threading.Event()
    rcpts = []

    def hold_the_third(address):
        rcpts.append(address)
        if len(rcpts) == 3:
            reached.set()
            release.wait(timeout=30)

    sink.handler.on_rcpt = hold_the_third
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django; django.setup();"
            "from campaigns.delivery import campaign_deliver;"
            f"campaign_deliver(campaign_id={campaign.pk})",
        ],
        env=env,
    )
    try:
        assert reached.wait(timeout=30), "the worker never reached the third recipient"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        release.set()
        if worker.poll() is None:
            worker.kill()
    sink.handler.on_rcpt = None
    assert len(sink.received) == 2
    assert Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).count() == 3

    with time_machine.travel(timezone.now() + delivery.CLAIM_LEASE + timedelta(minutes=1)):
        result = delivery.campaign_deliver(campaign_id=campaign.pk)

    assert result.sent == 3 and result.finished
    assert len(sink.received) == 5 and len(set(sink.recipients())) == 5
    assert Activity.objects.filter(kind=ActivityKind.SENT, campaign=campaign.key).count() == 5
